// `npm run bench -- --stages`: what each stage of `run` costs, in CPU seconds (user + system, all
// threads of this process: chdb works in-process) and wall seconds per million lines. CPU is the
// steadier figure on a shared machine. Every stage runs alone, in the order `run` runs them, on
// one thread, so each figure is that stage's own cost (issue 19; docs/decisions/*-throughput-plan.md).
//   --input PATH   measure this NDJSON file (default: the generator's ~1M lines, seed 2026, written
//                  once to ~/.cache/journeyctl-bench/ and reused)
//   --events N     size of the generated file (default 1,000,000)
//   --no-store     only the per-line stages (no raw store, no derivation)
//   --sql-derivation  then the same users by the SQL derivation (sql-derivation-stage.ts, ADR 0017)
//   --raw-engine NAME  the raw store engine (default sqlite; chdb: raw events in chdb, ADR 0015)
//   --reingest     then the same file again through the raw store: its write row, and rows added (must be 0)
//   --sql-round    derive as a derivation.engine sql round instead, events written both ways (sql-derivation-stage.ts, ADR 0024)
import { hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/config.js';
import { compileCorrections, type CorrectionPlan } from '../../src/corrections/apply-corrections.js';
import { effectiveCorrections } from '../../src/domain/correction.js';
import { appendTo, emptyGroup, EVENTS_PER_WRITE } from '../../src/pipeline/derive-dirty-users.js';
import { loadEventsOfUsers, deriveUsers } from '../../src/pipeline/derive-users.js';
import { fromWire, processToWire } from '../../src/pipeline/line-processor.js';
import { createCheckTrackingPlan } from '../../src/pipeline/check-tracking-plan.js';
import { createCheckTimeRange } from '../../src/pipeline/check-time-range.js';
import { createCorrectClockSkew } from '../../src/pipeline/correct-clock-skew.js';
import { createParseLine } from '../../src/pipeline/parse-line.js';
import { createProcessLine } from '../../src/pipeline/process-line.js';
import { planIdentityChanges } from '../../src/pipeline/stitch-identities.js';
import { validateEvent } from '../../src/pipeline/validate-event.js';
import { createDerivation, type DerivationStages } from '../../src/services/derivation.js';
import { createFileSource } from '../../src/sources/file-source.js';
import { openStores } from '../../src/stores/open-stores.js';
import type { RawEventInput } from '../../src/domain/event.js';
import { cachedGeneratorFile } from './generated-input.js';
import { sqlDerivationMeasured, sqlRoundMeasured } from './sql-derivation-stage.js';

/** CPU (all threads of this process) and wall time spent inside `measure`, summed over calls. */
interface Meter {
  cpuUs: number;
  wallMs: number;
}

function createMeters() {
  const meters = new Map<string, Meter>();
  const add = (name: string, cpu: NodeJS.CpuUsage, startedMs: number) => {
    const meter = meters.get(name) ?? { cpuUs: 0, wallMs: 0 };
    const spent = process.cpuUsage(cpu);
    meter.cpuUs += spent.user + spent.system;
    meter.wallMs += performance.now() - startedMs;
    meters.set(name, meter);
  };
  return {
    meters,
    measure<T>(name: string, work: () => T): T {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const result = work();
      add(name, cpu, started);
      return result;
    },
    async measureAsync<T>(name: string, work: () => Promise<T>): Promise<T> {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const result = await work();
      add(name, cpu, started);
      return result;
    },
  };
}

export async function runStageBench(args: readonly string[]): Promise<void> {
  const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const input = option('--input') ?? (await cachedGeneratorFile(Number(option('--events') ?? 1_000_000)));
  const work = mkdtempSync(join(tmpdir(), 'journeyctl-stage-bench-'));
  const resolved = resolveConfig({ dataDir: join(work, 'data') }, {});
  if (!resolved.ok) throw new Error(resolved.errors.join('\n'));
  const rawEngine = option('--raw-engine') ?? 'sqlite';
  const config = rawEngine === 'sqlite' ? resolved.config : { ...resolved.config, stores: { ...resolved.config.stores, raw: { engine: rawEngine, registered: true as const } } };
  const { pipeline } = config;
  const meter = createMeters();
  const source = createFileSource({ input, batchSize: pipeline.batchSize, maxLineBytes: pipeline.maxLineBytes });
  const parseLine = createParseLine({ maxEventBytes: pipeline.maxEventBytes, maxNestingDepth: pipeline.maxNestingDepth });
  const checkTrackingPlan = createCheckTrackingPlan(config.trackingPlan);
  const correctClockSkew = createCorrectClockSkew(pipeline);
  const checkTimeRange = createCheckTimeRange({ minEventTimeMs: pipeline.minEventTimeMs, futureToleranceMs: pipeline.futureToleranceMs });
  const processLine = createProcessLine({ pipeline, trackingPlan: config.trackingPlan });
  const store = !args.includes('--no-store');
  const pending = pendingWrites();
  const stores = store ? await openStores(config, { command: 'bench', waitMs: 0, log: () => {}, create: true }) : null;
  let lines = 0;
  try {
    console.log(`stage costs: ${input}, Node ${process.version}; each stage alone, one thread`);
    // As `run` stores a file into an empty store: the read-only indexes are built once, after (ADR 0028).
    const bulkLoad = stores?.raw.beginBulkLoad ? await stores.raw.beginBulkLoad() : false;
    const batches = source.batches()[Symbol.asyncIterator]();
    for (;;) {
      const next = await meter.measureAsync('read + split lines', () => batches.next());
      if (next.done) break;
      const batch = next.value.lines;
      lines += batch.length;
      // The stages one by one, each over the whole batch, on what the previous stage produced.
      meter.measure('  · sha256 of the line (rawHash)', () => {
        for (const line of batch) hash('sha256', line, 'hex');
      });
      const parsed = meter.measure('  · size + nesting checks + JSON.parse', () => batch.map((line) => parseLine(line)));
      const inputs = parsed.flatMap((outcome) => (outcome.ok ? [outcome.value as RawEventInput] : []));
      const valid = meter.measure('  · validation + tracking plan', () =>
        inputs.flatMap((one) => {
          const validated = validateEvent(one);
          return validated.ok && checkTrackingPlan(validated.value.event, validated.value.properties).ok ? [validated.value] : [];
        }),
      );
      meter.measure('  · clock skew + time range', () => {
        for (const one of valid) {
          const corrected = correctClockSkew({ timestamp: one.timestamp, sentAt: one.sentAt, receivedAt: one.receivedAt, arrivedAt: next.value.arrivedAt });
          if (corrected.ok) checkTimeRange({ eventTime: corrected.value.eventTime, receivedAt: one.receivedAt, arrivedAt: next.value.arrivedAt });
        }
      });
      meter.measure('  · JSON.stringify properties + traits', () => {
        for (const one of valid) JSON.stringify(one.properties) + JSON.stringify(one.traits);
      });
      // What `run` does (the worker thread's processToWire, the main thread's fromWire): all of the above together.
      const processed = meter.measure('per-line stages (processLine + wire form)', () => fromWire(processToWire(processLine, batch, next.value.arrivedAt), batch));
      if (stores) await pending.add(processed, () => meter.measureAsync(`raw-store write (${rawEngine}, dedup)`, () => writeGrouped(stores.raw, pending.take())));
    }
    if (stores) await meter.measureAsync(`raw-store write (${rawEngine}, dedup)`, () => writeGrouped(stores.raw, pending.take()));
    if (stores && bulkLoad) await meter.measureAsync('raw-store indexes built after the bulk load', () => stores.raw.endBulkLoad!());
    if (stores && args.includes('--reingest')) {
      const before = await stores.raw.counts();
      const again = createFileSource({ input, batchSize: pipeline.batchSize, maxLineBytes: pipeline.maxLineBytes });
      try {
        for await (const batch of again.batches()) {
          const processed = fromWire(processToWire(processLine, batch.lines, batch.arrivedAt), batch.lines);
          await pending.add(processed, () => meter.measureAsync(`raw-store re-ingest (${rawEngine}, same file)`, () => writeGrouped(stores.raw, pending.take())));
        }
        await meter.measureAsync(`raw-store re-ingest (${rawEngine}, same file)`, () => writeGrouped(stores.raw, pending.take()));
      } finally {
        await again.close();
      }
      const after = await stores.raw.counts();
      console.log(`re-ingest of the same file added ${after.events - before.events} events, ${after.rejected - before.rejected} rejected lines, ${after.copies - before.copies} copies`);
    }
    if (stores) {
      const sqlRound = args.includes('--sql-round');
      const derived = await deriveMeasured(config, stores, meter, sqlRound ? (stages, plan) => sqlRoundMeasured(config, stores, stages, plan, meter.measureAsync) : undefined);
      if (args.includes('--sql-derivation') && !sqlRound) await sqlDerivationMeasured(config, stores, derived.users, derived.canonical, meter.measureAsync);
    }
  } finally {
    await source.close();
    await stores?.close();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(formatStageTable(meter.meters, lines));
}

type Processed = ReturnType<typeof fromWire>;

/** Batches stored together up to `run`'s write size (pipeline/ingest.ts: 20k lines per write). */
function pendingWrites() {
  let held: Processed[] = [];
  let lines = 0;
  return {
    async add(processed: Processed, flush: () => Promise<unknown>) {
      const size = processed.accepted.length + processed.rejected.length;
      if (lines > 0 && lines + size > 20_000) await flush();
      held.push(processed);
      lines += size;
    },
    take(): Processed[] {
      const taken = held;
      held = [];
      lines = 0;
      return taken;
    },
  };
}

async function writeGrouped(raw: Parameters<typeof createDerivation>[1]['raw'], group: readonly Processed[]): Promise<void> {
  if (group.length === 0) return;
  await raw.beginWriteGroup?.();
  await raw.writeEncodedBatch(
    group.flatMap((p) => p.accepted),
    group.flatMap((p) => p.rejected),
  );
  await raw.commitWriteGroup?.();
}

/** derive-dirty-users' round, one step at a time and never overlapped, so each step is timed alone; `sqlRound`: derives the planned users instead. */
async function deriveMeasured(
  config: Parameters<typeof createDerivation>[0],
  stores: Parameters<typeof createDerivation>[1],
  meter: ReturnType<typeof createMeters>,
  sqlRound?: (stages: DerivationStages, plan: { users: string[]; canonical: Map<string, string>; corrections: CorrectionPlan }) => Promise<void>,
): Promise<{ users: string[]; canonical: Map<string, string> }> {
  const { raw, analytics } = stores;
  const { signals, stages } = createDerivation(config, stores, { backlog: true });
  await meter.measureAsync('signals (copies, release bursts)', () => signals.refresh({ persist: true }));
  const dirty = await meter.measureAsync('identity plan (dirty ids, stitching)', () => raw.listDirtyIds(Number.MAX_SAFE_INTEGER));
  const corrections = compileCorrections(effectiveCorrections(await raw.listCorrections()));
  const plan = await meter.measureAsync('identity plan (dirty ids, stitching)', () =>
    planIdentityChanges(
      dirty.map((entry) => entry.id),
      raw,
      corrections,
    ),
  );
  const users = [...plan.affectedUsers].sort();
  if (sqlRound) {
    await sqlRound(stages, { users, canonical: plan.canonical, corrections });
    return { users, canonical: plan.canonical };
  }
  // Chunks are written in groups of EVENTS_PER_WRITE events, as derive-dirty-users' rounds write them.
  let group = emptyGroup();
  const flush = async () => {
    const ready = group;
    group = emptyGroup();
    const version = await raw.nextVersion();
    await meter.measureAsync('analytics write (chdb) + profiles', async () => {
      await analytics.replaceUsers(ready.users, ready.derivation, version);
      await raw.saveProfiles(ready.profiles, ready.removed);
    });
  };
  for (let start = 0; start < users.length; start += 500) {
    const chunk = users.slice(start, start + 500);
    const eventsByUser = await meter.measureAsync('read back events by user', () => loadEventsOfUsers(raw, chunk, plan.canonical, stages.sessionize));
    const derived = meter.measure('sessionize + journeys + profiles', () => deriveUsers(stages, chunk, eventsByUser, corrections));
    appendTo(group, chunk, derived);
    if (group.derivation.events.length >= EVENTS_PER_WRITE) await flush();
  }
  if (group.users.length > 0) await flush();
  return { users, canonical: plan.canonical };
}

function formatStageTable(meters: ReadonlyMap<string, Meter>, lines: number): string {
  const perMillion = 1_000_000 / Math.max(1, lines);
  const seconds = (us: number) => ((us / 1e6) * perMillion).toFixed(2);
  // `run`'s order: the per-line stages first, their breakdown (measured alone) under them.
  const order = [...meters.keys()].sort((a, b) => rank(a) - rank(b));
  const width = Math.max(...order.map((name) => name.length), 5);
  const row = (name: string, cpuUs: number, wallMs: number) => `${name.padEnd(width)}  ${seconds(cpuUs).padStart(7)}  ${seconds(wallMs * 1000).padStart(7)}`;
  const whole = order.filter((name) => !name.startsWith('  · ')).map((name) => meters.get(name)!);
  return [
    `${lines.toLocaleString('en-US')} lines; seconds per million lines`,
    `${'stage'.padEnd(width)}  ${'CPU-s'.padStart(7)}  ${'wall-s'.padStart(7)}`,
    ...order.map((name) => row(name, meters.get(name)!.cpuUs, meters.get(name)!.wallMs)),
    row(
      'total (rows without ·)',
      whole.reduce((sum, meter) => sum + meter.cpuUs, 0),
      whole.reduce((sum, meter) => sum + meter.wallMs, 0),
    ),
  ].join('\n');
}

/** Rows in pipeline order: per-line work and its breakdown, then storing, then deriving. */
function rank(name: string): number {
  const index = ROW_ORDER.findIndex((prefix) => name.includes(prefix));
  return index < 0 ? ROW_ORDER.length : index;
}

const ROW_ORDER = [
  'read + split',
  'per-line stages',
  'size + nesting',
  'validation',
  'clock skew',
  'sha256',
  'JSON.stringify',
  'fromWire',
  'raw-store write',
  'raw-store indexes',
  'signals',
  'identity plan',
  'read back',
  'sessionize',
  'analytics write',
];
