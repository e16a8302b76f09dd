// Issue 14: a store engine added by registration alone — no edit to any shipped file. The
// in-memory raw store is registered as `memory` through buildEngineRegistry, opened by the same
// open-stores path `run` uses, fed through the ingest service, and must store what SQLite stores.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checksParser } from '../src/checks/definitions.js';
import { type EngineNames, type JourneyConfig, resolveConfig, validateConfigDocument } from '../src/config/config.js';
import type { Session } from '../src/domain/session.js';
import { UsageError } from '../src/errors.js';
import { ingestSource } from '../src/services/ingest.js';
import { createFileSource } from '../src/sources/file-source.js';
import { rawEngineAdmin } from '../src/stores/engine-admin.js';
import { ANALYTICS_ENGINES } from '../src/stores/analytics-engines.js';
import { REGISTERED_ENGINE_NAMES } from '../src/stores/engine-names.js';
import { buildEngineRegistry, type RawEngineRegistry, type RawEngineSpec } from '../src/stores/engines.js';
import { openMemoryRawStore } from '../src/stores/memory/memory-raw-store.js';
import { openRawStore, openStores } from '../src/stores/open-stores.js';
import { mongoEngine, RAW_ENGINES, sqliteEngine } from '../src/stores/raw-engines.js';
import { noisyJourneyLines } from './helpers/journeys.js';

/** The whole engine: open and admin, nothing else. */
const memoryEngine: RawEngineSpec = {
  name: 'memory',
  open: async () => openMemoryRawStore(),
  admin: {
    location: () => 'this process',
    label: () => 'memory',
    migrate: async () => 'nothing to create (in memory)',
    unreachableFix: () => '',
    health: async () => [],
  },
};

const withMemory = buildEngineRegistry([sqliteEngine, mongoEngine, memoryEngine]);
const lease = { command: 'test', waitMs: 0, log: () => {} };

function baseConfig(dataDir: string): JourneyConfig {
  const resolved = resolveConfig({ dataDir }, {}, { checks: checksParser() });
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  return resolved.config;
}

/** `stores.raw.engine: memory`, validated against the names `registry` registers (as createContext does). */
function memoryConfigResult(dataDir: string, raw: readonly string[]) {
  const engines: EngineNames = { raw, analytics: ANALYTICS_ENGINES.names };
  return validateConfigDocument({ stores: { raw: { engine: 'memory' } } }, 'journeyctl.yaml', { dataDir }, { checks: checksParser(), engines });
}

async function ingestAndExport(config: JourneyConfig, input: string, engines: RawEngineRegistry): Promise<Session[]> {
  const stores = await openStores(config, { ...lease, create: true, engines });
  try {
    const source = createFileSource({ input, batchSize: config.pipeline.batchSize, maxLineBytes: config.pipeline.maxLineBytes, stdin: new PassThrough() });
    try {
      const report = await ingestSource(config, stores, source, { lease, acceptAllRejected: true });
      expect(report.accepted).toBeGreaterThan(0);
    } finally {
      await source.close();
    }
    const sessions: Session[] = [];
    for await (const session of stores.analytics.streamSessions({})) sessions.push(session);
    return sessions.sort((a, b) => a.sessionId.localeCompare(b.sessionId));
  } finally {
    await stores.close();
  }
}

describe('a raw store engine added by registration alone', () => {
  it('opens, ingests and derives through the shipped paths and stores what SQLite stores', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journey-engine-'));
    const input = join(dir, 'events.ndjson');
    writeFileSync(input, `${noisyJourneyLines().join('\n')}\n`);

    const resolved = memoryConfigResult(join(dir, 'memory-data'), withMemory.names);
    if (!resolved.ok) throw new Error(resolved.errors.join('; '));
    const memoryConfig = resolved.config;
    expect(memoryConfig.stores.raw).toEqual({ engine: 'memory', registered: true });
    const fromMemory = await ingestAndExport(memoryConfig, input, withMemory);
    const fromSqlite = await ingestAndExport(baseConfig(join(dir, 'sqlite-data')), input, withMemory);

    expect(fromMemory.length).toBeGreaterThan(0);
    expect(fromMemory).toEqual(fromSqlite);
    // Its admin comes from the same registration.
    const admin = rawEngineAdmin(memoryConfig, withMemory);
    expect(admin).toMatchObject({ engine: 'memory', location: 'this process', label: 'memory' });
    expect(await admin.health()).toEqual([{ check: 'reachable', status: 'ok', detail: 'memory at this process', fix: '' }]);
  });

  it('refuses an engine name that is not registered, naming the registered ones', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'journey-engine-'));
    // The config, validated against the shipped registry's names, refuses `memory` ...
    expect(memoryConfigResult(dataDir, RAW_ENGINES.names)).toEqual({ ok: false, errors: [`journeyctl.yaml: stores.raw.engine must be one of ${RAW_ENGINES.names.join(', ')} (got "memory")`] });
    // ... and so does the shipped registry, handed a config that names it.
    const accepted = memoryConfigResult(dataDir, withMemory.names);
    if (!accepted.ok) throw new Error(accepted.errors.join('; '));
    const config = accepted.config;
    const refused = openRawStore(config, { create: true });
    await expect(refused).rejects.toBeInstanceOf(UsageError);
    await expect(refused).rejects.toThrow(`stores.raw.engine is memory, which is not a registered engine (registered: ${RAW_ENGINES.names.join(', ')})`);
    expect(() => rawEngineAdmin(config)).toThrow(UsageError);
  });

  it('validates the config against the names the shipped registries register', () => {
    expect(REGISTERED_ENGINE_NAMES).toEqual({ raw: RAW_ENGINES.names, analytics: ANALYTICS_ENGINES.names });
  });

  it('refuses two engines under one name', () => {
    expect(() => buildEngineRegistry([sqliteEngine, { ...memoryEngine, name: 'sqlite' }])).toThrow('engine sqlite is registered twice');
  });

  it('migrate --cluster runs the raw engine migrateCluster before anything opens the store; without --cluster it is not run', async () => {
    const steps: string[] = [];
    const clustered: RawEngineSpec = {
      ...memoryEngine,
      open: async () => {
        steps.push('open');
        return openMemoryRawStore();
      },
      admin: {
        ...memoryEngine.admin,
        migrateCluster: async (_config, cluster) => {
          steps.push(`cluster ${cluster}`);
          return `raw tables on cluster ${cluster}`;
        },
      },
    };
    const accepted = memoryConfigResult(mkdtempSync(join(tmpdir(), 'journey-engine-')), ['memory']);
    if (!accepted.ok) throw new Error(accepted.errors.join('; '));
    const admin = rawEngineAdmin(accepted.config, buildEngineRegistry([clustered]));
    expect(await admin.migrate({ ...lease, cluster: 'prod' })).toBe('raw tables on cluster prod; nothing to create (in memory)');
    expect(steps).toEqual(['cluster prod', 'open']);
    expect(await admin.migrate(lease)).toBe('nothing to create (in memory)');
    expect(steps).toEqual(['cluster prod', 'open', 'open']);
  });
});
