import { buildDashboards } from '../dashboards/build-dashboards.js';
import { provisioningFiles, writeProvisioningTree } from '../dashboards/provisioning.js';
import type { JourneyConfig } from '../config/config.js';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

export interface DashboardsOptions {
  out: string;
  host: string;
  port: string;
  protocol: string;
  database?: string;
  username: string;
  passwordEnv: string;
}

/** The configured funnels' step event names (a step matching several events names them all). */
export function funnelStepNames(config: JourneyConfig): Record<string, string[]> {
  return Object.fromEntries(config.journeys.funnels.map((f) => [f.name, f.steps.map((step) => step.flatMap((m) => m.events).join('|'))]));
}

/** `journeyctl dashboards --out DIR`: the provisioning tree, deterministic for a given config and flags. */
export async function runDashboards(context: CommandContext, options: DashboardsOptions): Promise<Map<string, string>> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError(`--port must be a TCP port (got "${options.port}")`);
  if (options.protocol !== 'http' && options.protocol !== 'native') throw new UsageError(`--protocol must be http or native (got "${options.protocol}")`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.passwordEnv)) throw new UsageError(`--password-env must be an environment variable name (got "${options.passwordEnv}")`);
  const { config } = context;
  const analytics = config.stores.analytics;
  const database = options.database ?? (!analytics.registered && analytics.engine === 'clickhouse' ? analytics.database : 'journeyctl');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new UsageError(`--database must be a plain identifier (got "${database}")`);
  const dashboards = buildDashboards({ database, funnelSteps: funnelStepNames(config) });
  const files = provisioningFiles(dashboards, { host: options.host, port, protocol: options.protocol, database, username: options.username, passwordEnv: options.passwordEnv });
  await writeProvisioningTree(options.out, files);
  context.log(`wrote ${files.size} files to ${options.out}: ${dashboards.map((d) => `${d.title} (${d.panels.length} panels)`).join(', ')}`);
  return files;
}
