// The golden_journeys derivation, in a process of its own: chdb binds one data directory per
// process, and the checking process may hold the main analytics store. Ingests the fixture into
// a scratch embedded data directory with the given config (the ingest service, as `run` does)
// and prints what was derived as JSON. src/checks/golden.ts starts it by path, so the checks
// tier imports nothing above it.
//   node dist/services/golden-child.js --input FILE [--config FILE]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../config/config.js';
import { describeCause, isJourneyError } from '../errors.js';
import { findingRecord, funnelOutcomeRecord, sessionRecord } from '../render/records.js';
import { openAnalyticsStore, openRawStore } from '../stores/open-stores.js';
import { ingestFile } from './ingest.js';

const { values } = parseArgs({ options: { input: { type: 'string' }, config: { type: 'string' } } });
const dataDir = mkdtempSync(join(tmpdir(), 'journeyctl-golden-'));
try {
  const resolved = resolveConfig({ configPath: values.config }, {});
  if (!resolved.ok) {
    process.stderr.write(`${resolved.errors.join('\n')}\n`);
    process.exitCode = 2;
  } else {
    const config = { ...resolved.config, dataDir, stores: { raw: { engine: 'sqlite' as const }, analytics: { engine: 'chdb' as const } } };
    await ingestFile(config, { input: values.input!, stdin: new PassThrough(), lease: { command: 'journeyctl check (golden journeys)', waitMs: 0, log: () => {} } });
    const raw = await openRawStore(config, { create: true });
    const analytics = await openAnalyticsStore(config, raw, { command: 'journeyctl check (golden journeys)', waitMs: 0, log: () => {} });
    const snapshot: Record<string, Array<Record<string, unknown>>> = { sessions: [], findings: [], journeys: [] };
    try {
      for await (const s of analytics.streamSessions({})) snapshot.sessions!.push(sessionRecord(s));
      for await (const f of analytics.streamFindings({})) snapshot.findings!.push(findingRecord(f));
      for await (const o of analytics.streamFunnelOutcomes({})) snapshot.journeys!.push(funnelOutcomeRecord(o));
    } finally {
      await analytics.close();
      await raw.close();
    }
    process.stdout.write(`${JSON.stringify(snapshot)}\n`);
  }
} catch (error) {
  process.stderr.write(`${describeCause(error)}\n`);
  process.exitCode = isJourneyError(error) ? error.exitCode : 3;
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
