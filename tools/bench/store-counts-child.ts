// What a data directory's raw store holds, as one JSON line on stdout: its counts and accepted
// events per day. Its own process, so an embedded engine's lock is let go when it exits.
//   node store-counts-child.js --data-dir DIR [--config FILE]
import { resolveConfig } from '../../src/config/config.js';
import { REGISTERED_ENGINE_NAMES } from '../../src/stores/engine-names.js';
import { openRawStore } from '../../src/stores/open-stores.js';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const resolved = resolveConfig({ dataDir: option('--data-dir'), configPath: option('--config') }, {}, { engines: REGISTERED_ENGINE_NAMES });
if (!resolved.ok) throw new Error(resolved.errors.join('\n'));
const raw = await openRawStore(resolved.config);
try {
  const counts = await raw.counts();
  const perDay = await raw.acceptedPerDay({});
  process.stdout.write(`${JSON.stringify({ counts, perDay })}\n`);
} finally {
  await raw.close();
}
