import { UsageError } from '../errors.js';
import { eventRecord, findingRecord, funnelOutcomeRecord, profileRecord, rejectedRecord, sessionRecord } from '../render/records.js';
import { fromArray, writeRecords } from '../render/output.js';
import { OUTPUTS, parseFields, resolveOutput } from '../render/output-option.js';
import { openPagedOutput } from '../render/pager.js';
import { terminalWidth } from '../render/terminal.js';
import type { RecordFilter } from '../stores/analytics-store.js';
import { emptyResultMessage, storedEventSpan } from './empty-result.js';
import { parseLimit } from './tail-filter.js';
import { readStoredBursts } from '../pipeline/journey-signals.js';
import { burstRecord } from '../render/records.js';
import { openAnalyticsStore, openRawStore } from '../stores/open-stores.js';
import type { TimeRange } from '../stores/raw-store.js';
import { checkZoneFlag, type CommandContext, parseDurationFlag, parseTimeRange } from './context.js';
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
  /** `--fields a,b,c`: these columns, in this order. */
  fields?: string;
  limit?: string;
  user?: string;
  session?: string;
  event?: string;
  appVersion?: string;
  /** false with --no-pager. */
  pager?: boolean;
}

/** What an empty export says it found none of. */
const NOUNS: Record<ExportKind, string> = {
  events: 'events',
  sessions: 'sessions',
  rejected: 'rejected lines',
  profiles: 'profiles',
  journeys: 'funnel outcomes',
  labels: 'labels',
  flags: 'flags',
  bursts: 'release bursts',
};

/** `journeyctl export <kind>`: stored records to stdout, streamed. Returns how many were written. */
export async function runExport(context: CommandContext, kind: string, options: ExportOptions): Promise<number> {
  if (!(EXPORT_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`cannot export "${kind}"`, { hint: `choose one of ${EXPORT_KINDS.join(', ')}` });
  }
  checkZoneFlag(options.tz);
  const range: TimeRange = parseTimeRange(options);
  const format = resolveOutput(options.output, OUTPUTS.records, context.interactive);
  const fields = parseFields(options.fields);
  const limit = parseLimit(options.limit) ?? undefined;
  const filter: RecordFilter = { userId: options.user, sessionId: options.session, event: options.event, appVersion: options.appVersion };
  const look = { color: context.color, width: terminalWidth(context.io.stdout), zone: options.tz };
  const paged = openPagedOutput(context.io, options.pager !== false);
  // Notes about the output (columns left out, rows cut) follow it, after the pager has closed.
  const notes: string[] = [];
  const warn = (message: string) => void notes.push(message);
  let count = 0;
  let span: string | undefined;
  try {
    const emit = async (records: AsyncIterable<Record<string, unknown>>) => {
      count = await writeRecords(take(project(records, fields), limit), format, paged.out, warn, look);
    };
    const raw = await openRawStore(context.config);
    try {
      if (kind === 'rejected' || kind === 'bursts' || kind === 'profiles') {
        const records =
          kind === 'rejected'
            ? map(raw.streamRejected(range), rejectedRecord)
            : kind === 'bursts'
              ? map(fromArray((await readStoredBursts(raw)).filter((b) => (range.to === undefined || b.windowStart < range.to) && (range.from === undefined || b.windowEnd > range.from))), burstRecord)
              : map(
                  filterItems(raw.streamProfiles(), (p) => (range.to === undefined || p.firstSeen < range.to) && (range.from === undefined || p.lastSeen >= range.from)),
                  profileRecord,
                );
        await emit(filterRecords(records, kind, filter));
      } else {
        // Sessions and events live in the analytics store, which embedded chdb opens in one process at a time.
        const analytics = await openAnalyticsStore(context.config, raw, { command: `journeyctl export ${kind}`, waitMs: parseDurationFlag('wait', options.wait), log: context.log });
        try {
          // A name filter runs here, so the store cannot stop at the limit for it.
          const storeFilter: RecordFilter = { ...filter, limit: options.name === undefined ? limit : undefined };
          const records =
            kind === 'sessions'
              ? map(analytics.streamSessions(range, storeFilter), sessionRecord)
              : kind === 'events'
                ? map(analytics.streamEvents(range, storeFilter), eventRecord)
                : kind === 'journeys'
                  ? map(analytics.streamFunnelOutcomes(range, storeFilter), funnelOutcomeRecord)
                  : map(
                      filterItems(analytics.streamFindings(range, kind === 'labels' ? 'label' : 'flag', storeFilter), (f) => options.name === undefined || f.name === options.name),
                      findingRecord,
                    );
          await emit(records);
          if (count === 0 && context.io.stderr.isTTY) span = await storedEventSpan(analytics);
        } finally {
          await analytics.close();
        }
      }
    } finally {
      await raw.close();
    }
  } catch (error) {
    if (!paged.quit) throw error;
  } finally {
    await paged.finish();
    for (const note of notes) context.log(note);
  }
  if (count === 0 && !paged.quit && context.io.stderr.isTTY) {
    const filters = { '--user': filter.userId, '--session': filter.sessionId, '--event': filter.event, '--app-version': filter.appVersion, '--code': options.name };
    context.log(emptyResultMessage(NOUNS[kind as ExportKind], range, options.tz, filters, span));
  }
  return count;
}

/** The record fields each filter looks at, for the kinds read from the raw store. */
const FILTER_FIELDS: Array<[keyof RecordFilter, string, string[]]> = [
  ['userId', '--user', ['user_id']],
  ['sessionId', '--session', ['session_id']],
  ['event', '--event', ['event']],
  ['appVersion', '--app-version', ['app_version']],
];

/** Filters for the raw-store kinds, on their exported fields; a filter a kind has no field for is a usage error. */
async function* filterRecords(records: AsyncIterable<Record<string, unknown>>, kind: string, filter: RecordFilter): AsyncIterable<Record<string, unknown>> {
  const active = FILTER_FIELDS.filter(([key]) => filter[key] !== undefined);
  for await (const record of records) {
    let keep = true;
    for (const [key, flag, names] of active) {
      const field = names.find((name) => name in record);
      if (field === undefined) throw new UsageError(`${flag} does not apply to export ${kind}`, { hint: `${kind} records have: ${Object.keys(record).join(', ')}` });
      if (record[field] !== filter[key]) keep = false;
    }
    if (keep) yield record;
  }
}

/** `--fields`: only these keys, in this order; an unknown name is a usage error naming the known ones. */
async function* project(records: AsyncIterable<Record<string, unknown>>, fields: string[] | undefined): AsyncIterable<Record<string, unknown>> {
  if (fields === undefined) return yield* records;
  let checked = false;
  for await (const record of records) {
    if (!checked) {
      const unknown = fields.filter((field) => !(field in record));
      if (unknown.length > 0) throw new UsageError(`unknown field${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}`, { hint: `--fields takes: ${Object.keys(record).join(',')}` });
      checked = true;
    }
    yield Object.fromEntries(fields.map((field) => [field, record[field]]));
  }
}

async function* take<T>(source: AsyncIterable<T>, limit: number | undefined): AsyncIterable<T> {
  if (limit === undefined) return yield* source;
  let taken = 0;
  for await (const item of source) {
    yield item;
    taken += 1;
    if (taken >= limit) return;
  }
}

async function* map<T, U>(source: AsyncIterable<T>, transform: (item: T) => U): AsyncIterable<U> {
  for await (const item of source) yield transform(item);
}

async function* filterItems<T>(source: AsyncIterable<T>, keep: (item: T) => boolean): AsyncIterable<T> {
  for await (const item of source) if (keep(item)) yield item;
}
