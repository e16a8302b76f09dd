import { type Command, Option } from 'commander';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { DoctorComponent } from './doctor.js';
import type { KafkaContext } from './produce.js';

/** `journeyctl doctor` on the command tree; the engines' clients load when it runs. */
export function registerDoctorCommand(program: Command, context: KafkaContext): void {
  program
    .command('doctor')
    .description('check each configured engine (raw store, analytics store, Kafka, Pub/Sub): reachable, version, indexes/tables/topic/subscription; exit 3 when something is down')
    .addOption(new Option('--source <kind>', "which stream --topic names: kafka or pubsub (default the config's source:, env JOURNEY_SOURCE; --only decides it too)").choices(['kafka', 'pubsub']))
    .option('--topic <name>', 'topic to check: Kafka (env JOURNEY_KAFKA_TOPIC, config kafka.topic) or Pub/Sub (projects/P/topics/T; env JOURNEY_PUBSUB_TOPIC, config pubsub.topic)')
    .option('--brokers <list>', 'kafka: host:port[,host:port…]; env JOURNEY_KAFKA_BROKERS, config kafka.brokers')
    .option('--group <id>', 'kafka: consumer group whose lag to show (default journeyctl)')
    .option('--subscription <name>', "pubsub: the pipeline's subscription (default journeyctl); env JOURNEY_PUBSUB_SUBSCRIPTION, config pubsub.subscription")
    .option('--project <id>', 'pubsub: project of short names; env JOURNEY_PUBSUB_PROJECT, config pubsub.project')
    .addOption(new Option('--only <component>', "check one component only (a probe: `--only kafka` or `--only pubsub` for a consumer's liveness)").choices(['raw', 'analytics', 'kafka', 'pubsub']))
    .option('--thorough', 'embedded stores: SQLite integrity_check instead of quick_check (reads every index too)')
    .addOption(outputOption(OUTPUTS.records))
    .action(
      async (options: {
        source?: 'kafka' | 'pubsub';
        topic?: string;
        brokers?: string;
        group?: string;
        subscription?: string;
        project?: string;
        output?: string;
        thorough?: boolean;
        only?: DoctorComponent;
      }) => {
        const { doctorCommand } = await import('./doctor.js');
        const { contextForStream } = await import('./stream-flags.js');
        const chosen = options.source ?? (options.only === 'pubsub' || options.only === 'kafka' ? options.only : undefined);
        const { ctx } = contextForStream(context, { brokers: options.brokers, topic: options.topic, group: options.group, subscription: options.subscription, project: options.project }, chosen);
        await doctorCommand(ctx, options);
      },
    );
}
