import type { Command } from 'commander';
import type { CommandContext } from './context.js';

/** `journeyctl dashboards` on the command tree; the SDK loads when it runs. */
export function registerDashboardsCommand(program: Command, context: () => CommandContext): void {
  program
    .command('dashboards')
    .description('write a Grafana provisioning tree: the ClickHouse datasource, a dashboards provider and the journeyctl dashboards')
    .requiredOption('--out <dir>', 'directory to write (e.g. deploy/grafana/provisioning)')
    .option('--host <host>', 'ClickHouse host as Grafana reaches it', 'clickhouse')
    .option('--port <port>', 'ClickHouse port (HTTP 8123, native 9000)', '8123')
    .option('--protocol <protocol>', 'http or native', 'http')
    .option('--database <name>', 'analytics database (default: the configured one, else journeyctl)')
    .option('--username <name>', 'ClickHouse user Grafana connects as', 'default')
    .option('--password-env <name>', "environment variable of Grafana holding that user's password", 'JOURNEY_CLICKHOUSE_PASSWORD')
    .action(async (options: { out: string; host: string; port: string; protocol: string; database?: string; username: string; passwordEnv: string }) => {
      const { runDashboards } = await import('./dashboards.js');
      await runDashboards(context(), options);
    });
}
