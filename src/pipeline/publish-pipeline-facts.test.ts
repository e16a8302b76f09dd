import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../config/config.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import { openEmbeddedAnalytics } from '../stores/clickhouse/open-clickhouse.js';
import type { RawStore } from '../stores/raw-store.js';
import { SqliteRawStore } from '../stores/sqlite/sqlite-raw-store.js';
import type { LineSource } from '../sources/source.js';
import { createIngest } from './ingest.js';
import { createLineProcessor } from './line-processor.js';
import { createPublishPipelineFacts, FACTS_GENERATION_META } from './publish-pipeline-facts.js';

// The dashboards' copy of pipeline facts is published again only when what it is made from
// changed (docs/decisions/0026): a re-ingest that stored nothing finds it current.

const NO_DERIVE = { users: 0, sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 };
const AT = Date.UTC(2026, 0, 5, 12);

function line(index: number): string {
  const at = new Date(Date.UTC(2026, 0, 5, 10, 0, index)).toISOString();
  return `{"type":"track","event":"page_viewed","messageId":"m-${index}","userId":"u-${index % 3}","timestamp":"${at}","receivedAt":"${at}"}`;
}
/** Dated by its arrival: an earlier arrival of the same bytes replaces the stored copy. */
const UNCLAIMED = '{"type":"track","event":"page_viewed","messageId":"a-1","anonymousId":"anon","timestamp":"2026-01-05T10:00:00Z"}';
/** A retry of m-1 in other bytes: remembered as a second copy the first time only. */
const RETRY = line(1).replace('"type":"track"', '"type":"track","context":{"retry":1}');
const FILE = [...Array.from({ length: 12 }, (_, i) => line(i)), UNCLAIMED, RETRY, 'not json'];

let dir: string;
let raw: SqliteRawStore;
let analytics: AnalyticsStore;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jc-facts-'));
  raw = SqliteRawStore.open(join(dir, 'raw.sqlite'));
  analytics = await openEmbeddedAnalytics(join(dir, 'analytics'), async () => {}, { spoolDir: join(dir, 'spool') });
  await analytics.migrate();
});
afterAll(async () => {
  await analytics?.close();
  await raw?.close();
});

function source(lines: readonly string[], arrivedAt: number): LineSource {
  return {
    description: 'test',
    totalBytes: undefined,
    async *batches() {
      for (let start = 0; start < lines.length; start += 5) yield { lines: lines.slice(start, start + 5), arrivedAt, ack: async () => {} };
    },
    async close() {},
  };
}

async function ingest(store: RawStore, lines: readonly string[], arrivedAt: number) {
  const processor = createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false, storedCopies: raw.storedCopies.bind(raw) });
  const run = createIngest({
    raw: store,
    processor,
    deriveDirtyUsers: async () => NO_DERIVE,
    lateAfterMs: DEFAULT_PIPELINE.lateAfterMs,
    deriveEveryEvents: Number.POSITIVE_INFINITY,
    deriveIntervalMs: Number.POSITIVE_INFINITY,
  });
  return run(source(lines, arrivedAt));
}

const publish = (lateAfterMs = DEFAULT_PIPELINE.lateAfterMs) => createPublishPipelineFacts({ raw, analytics, lateAfterMs })();

it('publishes again only when stored lines, corrections or settings changed, or the copy is gone', async () => {
  await ingest(raw, FILE, AT);
  expect(await publish()).toBe('published');
  expect(await publish()).toBe('current');

  // The same file later: every line stored already (the rejected one too), nothing changes.
  const generation = await raw.readMeta(FACTS_GENERATION_META);
  const again = await ingest(raw, FILE, AT + 3_600_000);
  expect(again).toMatchObject({ accepted: 0, replaced: 0, rejectedAlreadyStored: 1 });
  expect(again.duplicates).toBe(FILE.length - 1);
  expect(await raw.readMeta(FACTS_GENERATION_META)).toBe(generation);
  expect(await publish()).toBe('current');

  // Earlier: the line dated by its arrival replaces its stored copy (another minute, same counts).
  expect(await ingest(raw, FILE, AT - 3_600_000)).toMatchObject({ accepted: 0, replaced: 1 });
  expect(await publish()).toBe('published');

  // A new line; a new rejected line.
  expect(await ingest(raw, [line(50)], AT)).toMatchObject({ accepted: 1 });
  expect(await publish()).toBe('published');
  await ingest(raw, ['{"type":"track"'], AT);
  expect(await publish()).toBe('published');
  expect(await publish()).toBe('current');

  // A steward's correction (`fix` appends it and does not publish); another late threshold.
  await raw.appendCorrection({ change: { kind: 'rename_event', from: 'page_viewed', to: 'page_seen' }, actor: 'ana', reason: 'typo', ticket: null, createdAt: AT });
  expect(await publish()).toBe('published');
  expect(await publish(60_000)).toBe('published');
  expect(await publish(60_000)).toBe('current');

  // The copy published without its token (as by an older journeyctl): not known to be current.
  await analytics.publishPipelineFacts({ minutes: [], bursts: [], corrections: [] });
  expect(await publish(60_000)).toBe('published');
  // repair publishes whatever the token says.
  expect(await createPublishPipelineFacts({ raw, analytics, lateAfterMs: 60_000 })({ force: true })).toBe('published');
  expect(await publish(60_000)).toBe('current');
}, 60_000);
