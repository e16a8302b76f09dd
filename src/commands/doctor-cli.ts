import { type Command, Option } from 'commander';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { KafkaContext } from './produce.js';

/** `journeyctl doctor` on the command tree; the engines' clients load when it runs. */
export function registerDoctorCommand(program: Command, context: KafkaContext): void {
  program
    .command('doctor')
    .description('check each configured engine (raw store, analytics store, Kafka): reachable, version, indexes/tables/topic; exit 3 when something is down')
    .option('--topic <name>', 'Kafka topic to check; env JOURNEY_KAFKA_TOPIC, config kafka.topic')
    .option('--brokers <list>', 'host:port[,host:port…]; env JOURNEY_KAFKA_BROKERS, config kafka.brokers')
    .option('--group <id>', 'consumer group whose lag to show (default journeyctl)')
    .addOption(new Option('--only <component>', "check one component only (a probe: `--only kafka` for a consumer's liveness)").choices(['raw', 'analytics', 'kafka']))
    .option('--thorough', 'embedded stores: SQLite integrity_check instead of quick_check (reads every index too)')
    .addOption(outputOption(OUTPUTS.records))
    .action(async (options: { topic?: string; brokers?: string; group?: string; output?: string; thorough?: boolean; only?: 'raw' | 'analytics' | 'kafka' }) => {
      const { doctorCommand } = await import('./doctor.js');
      await doctorCommand(context({ brokers: options.brokers, topic: options.topic, group: options.group }), options);
    });
}
