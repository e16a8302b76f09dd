import { UsageError } from '../errors.js';
import { eventRecord, findingRecord, funnelOutcomeRecord, profileRecord, rejectedRecord, sessionRecord } from '../render/records.js';
import { resolveOutputFormat, writeRecords } from '../render/output.js';
import { readStoredBursts } from '../pipeline/journey-signals.js';
import { burstRecord } from '../render/records.js';
import { openAnalyticsStore, openRawStore } from '../stores/open-stores.js';
import type { TimeRange } from '../stores/raw-store.js';
import { type CommandContext, parseDurationFlag, parseTimeRange } from './context.js';
import { EXPORT_KINDS, type ExportKind } from './export-kinds.js';

export { EXPORT_KINDS, type ExportKind };

export interface ExportOptions {
  from?: string;
  to?: string;
  tz: string;
  output?: string;
  wait: string;
  /** Labels/flags only: this name. */
  name?: string;
}

/** `journeyctl export <kind>`: stored records to stdout, streamed. Returns how many were written. */
export async function runExport(context: CommandContext, kind: string, options: ExportOptions): Promise<number> {
  if (!(EXPORT_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`cannot export "${kind}"`, { hint: `choose one of ${EXPORT_KINDS.join(', ')}` });
  }
  const range: TimeRange = parseTimeRange(options);
  if (range.from !== undefined && range.to !== undefined && range.from >= range.to) throw new UsageError('--from must be before --to');
  const format = resolveOutputFormat(options.output, Boolean(context.io.stdout.isTTY), context.io.env);
  const warn = (message: string) => context.log(message);
  const raw = await openRawStore(context.config);
  try {
    if (kind === 'rejected') return await writeRecords(map(raw.streamRejected(range), rejectedRecord), format, context.io.stdout, warn);
    if (kind === 'bursts') {
      const bursts = (await readStoredBursts(raw)).filter((b) => (range.to === undefined || b.windowStart < range.to) && (range.from === undefined || b.windowEnd > range.from));
      return await writeRecords(map(fromArray(bursts), burstRecord), format, context.io.stdout, warn);
    }
    if (kind === 'profiles') {
      const inRange = filterItems(raw.streamProfiles(), (p) => (range.to === undefined || p.firstSeen < range.to) && (range.from === undefined || p.lastSeen >= range.from));
      return await writeRecords(map(inRange, profileRecord), format, context.io.stdout, warn);
    }
    // Sessions and events live in the analytics store, which embedded chdb opens in one process at a time.
    const analytics = await openAnalyticsStore(context.config, raw, { command: `journeyctl export ${kind}`, waitMs: parseDurationFlag('wait', options.wait), log: context.log });
    try {
      const records =
        kind === 'sessions'
          ? map(analytics.streamSessions(range), sessionRecord)
          : kind === 'events'
            ? map(analytics.streamEvents(range), eventRecord)
            : kind === 'journeys'
              ? map(analytics.streamFunnelOutcomes(range), funnelOutcomeRecord)
              : map(filterItems(analytics.streamFindings(range, kind === 'labels' ? 'label' : 'flag'), (f) => options.name === undefined || f.name === options.name), findingRecord);
      return await writeRecords(records, format, context.io.stdout, warn);
    } finally {
      await analytics.close();
    }
  } finally {
    await raw.close();
  }
}

async function* map<T, U>(source: AsyncIterable<T>, transform: (item: T) => U): AsyncIterable<U> {
  for await (const item of source) yield transform(item);
}

async function* filterItems<T>(source: AsyncIterable<T>, keep: (item: T) => boolean): AsyncIterable<T> {
  for await (const item of source) if (keep(item)) yield item;
}

async function* fromArray<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}
