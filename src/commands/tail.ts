import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import type { RejectedLine } from '../domain/event.js';
import { InfrastructureError, InterruptedError, UsageError } from '../errors.js';
import { createRedactor, type Redactor } from '../render/redact.js';
import { kafkaTailRecord, rawEventTailRecord, rejectedTailRecord, type TailRecord } from '../render/tail-records.js';
import { openTailSink, type TailSink } from '../render/tail-sink.js';
import type { TailStatus } from '../render/views/tail-view.js';
import type { KafkaTailMessage, KafkaTailOptions } from '../sources/kafka-tail.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import { analyticsEngineAdmin, rawEngineAdmin } from '../stores/engine-admin.js';
import { openAnalyticsStore, openRawStore } from '../stores/open-stores.js';
import type { RawStore, TailedEvent, TailFilter, TailPage } from '../stores/raw-store.js';
import { type CommandContext, type GlobalOptions, parseTimeBounds } from './context.js';
import { type FeedSettings, streamMessageFilter, type TailFeed } from './tail-feed.js';
import { appVersionOf, createSampler, TAIL_SOURCES, eventNameOf, parseGrep, parseLimit, parseSample, parseWhere, type TailMatch } from './tail-filter.js';

export interface TailOptions {
  source: string;
  user?: string;
  event?: string;
  appVersion?: string;
  where: string[];
  grep?: string;
  since?: string;
  /** The same as --since: `--from` is a time in every command (a position is --offset). */
  from?: string;
  /** The same as --until. */
  to?: string;
  until?: string;
  tz: string;
  /** Where to start: beginning | end | a cursor (stores) | an offset (kafka). */
  offset?: string;
  limit?: string;
  /** Like vector tap: show at most --limit records (default 100) per this many ms, dropping and counting the rest. */
  interval?: string;
  sample?: string;
  follow: boolean;
  output?: string;
  /** false with --no-redact. */
  redact: boolean;
  brokers?: string;
  topic?: string;
  /** Kafka: kept messages held for a slow output before new ones are dropped. */
  buffer?: string;
  color: boolean;
  /** How long a caught-up follow waits before looking again (ms). */
  pollMs?: number;
  /** Pub/Sub: the tail's own subscription (never the pipeline's); default one created for this tail. */
  subscription?: string;
}

export interface TailSummary {
  shown: number;
  /** Kafka: matching messages dropped because the output could not keep up. */
  dropped: number;
}

const PAGE = 500;
const DEFAULT_POLL_MS = 250;
const DROP_REPORT_MS = 5_000;
/** vector tap's defaults: a terminal is drawn at most this many rows per interval, so it never falls behind. */
const DRAW_INTERVAL_MS = 500;
const DRAW_LIMIT = 100;
/** After a stop, how long closing the source may take before the tail exits anyway (a broker that is slow to let go). */
const CLOSE_ON_STOP_MS = 500;
const STOPPED = Symbol('stopped');

/**
 * `journeyctl tail`: records as they arrive, from the raw store, the rejected store or Kafka.
 * Read-only everywhere: the raw store is read in short statements (a running `run` keeps
 * writing), the embedded analytics store is never waited for, and Kafka is read without the
 * pipeline's consumer group and without committing any offset.
 */
export async function runTail(context: CommandContext, options: TailOptions): Promise<TailSummary> {
  const { io } = context;
  if (!(TAIL_SOURCES as readonly string[]).includes(options.source)) throw new UsageError(`--source must be one of ${TAIL_SOURCES.join(', ')} (got "${options.source}")`);
  const output = resolveOutput(options.output, OUTPUTS.tail, context.interactive);
  if (output === 'json' && options.follow) throw new UsageError('--output json cannot be used with --follow (the array would never close)', { hint: 'use --output ndjson: one JSON record per line' });
  const { from: since, to: until } = parseTimeBounds(timeFlag(options, 'from', 'since'), timeFlag(options, 'to', 'until'), options.tz);
  const limit = parseLimit(options.limit);
  const interval = parseInterval(options.interval);
  const keepSample = createSampler(parseSample(options.sample));
  const grep = parseGrep(options.grep);
  const where = options.where.map(parseWhere);
  const from = options.offset ?? (options.follow && since === undefined ? 'end' : 'beginning');
  const redactor = createRedactor(context.config.redact, options.redact);
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const match: TailMatch = { event: options.event, appVersion: options.appVersion, where, from: since, to: until, ...(options.user !== undefined ? { ids: [options.user] } : {}) };

  const feed =
    options.source === 'kafka'
      ? await openKafkaFeed(context, options, { match, from, grep, keepSample, redactor, since })
      : options.source === 'pubsub'
        ? await (await import('./tail-pubsub.js')).openPubSubFeed(context, options, { match, from, grep, keepSample, redactor, since })
        : await openStoreFeed(context, options.source === 'raw' ? 'events' : 'rejected', options, { match, from, grep, keepSample, redactor, pollMs });

  const status: TailStatus = { source: feed.description, shown: 0, dropped: 0, following: options.follow, done: false };
  /** Matching records read but not shown because the output had no room for them this interval. */
  let sampledOut = 0;
  const droppedSoFar = () => feed.dropped() + sampledOut;
  let sink: TailSink | undefined;
  let lastDropReport = Date.now();
  let reportedDrops = 0;
  const reportDrops = (final: boolean) => {
    const dropped = droppedSoFar();
    // The last word always comes when anything was dropped; progress reports only when it grew.
    if (final ? dropped === 0 : dropped === reportedDrops || sink?.live || Date.now() - lastDropReport < DROP_REPORT_MS) return;
    lastDropReport = Date.now();
    reportedDrops = dropped;
    context.log(
      `tail: ${final ? '' : 'so far '}${dropped} matching message${dropped === 1 ? '' : 's'} dropped of ${dropped + status.shown}: the output could not keep up (${budget !== null ? `at most ${budget.max} shown per ${budget.every} ms; ` : ''}the ${options.source === 'kafka' || options.source === 'pubsub' ? 'topic' : 'store'} was never held back)`,
      { dropped, shown: status.shown },
    );
  };
  // Ctrl-C (or SIGTERM) ends a follow at once: whatever the tail waits for (a read, a poll, a
  // slow output) is abandoned, the view closes with its final count and dropped messages are
  // reported. A second signal quits without any of that.
  let stoppedBy: NodeJS.Signals | null = null;
  let stopNow!: () => void;
  const stopRequested = new Promise<typeof STOPPED>((resolve) => (stopNow = () => resolve(STOPPED)));
  const orStop = <T>(work: Promise<T>): Promise<T | typeof STOPPED> => {
    work.catch(() => {}); // abandoned on a stop: its failure no longer matters
    return Promise.race([work, stopRequested]);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy !== null) process.exit(130);
    stoppedBy = signal;
    stopNow();
  };
  // Rows are drawn at most `max` per `every` ms (vector tap's --limit per --interval): always on a
  // terminal, which cannot draw as fast as a busy pipeline writes, and on any output with --interval.
  // The rest is read (the tail keeps up with the source) but dropped and counted.
  let budget: { every: number; max: number } | null = interval !== null ? { every: interval, max: limit ?? DRAW_LIMIT } : null;
  const stopAfter = interval !== null ? null : limit;
  let windowStart = Date.now();
  let windowShown = 0;
  if (options.follow) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    sink = await openTailSink(context.io, { output, color: options.color, interactive: context.interactive, status });
    budget ??= sink.live ? { every: DRAW_INTERVAL_MS, max: DRAW_LIMIT } : null;
    if (feed.note !== undefined) {
      if (sink.live) status.note = feed.note;
      else context.log(`tail: ${feed.note}`);
    }
    while (stoppedBy === null) {
      // A store read resolves without ever reaching the event loop: while the tail is behind, the
      // loop would run on promise reactions alone, and a signal (handled by the event loop) would
      // wait until it caught up — Ctrl-C took 111 s beside a busy run. Let the event loop turn.
      await new Promise((resolve) => setImmediate(resolve));
      if (stoppedBy !== null) break;
      const read = await orStop(feed.read(stopAfter === null ? undefined : stopAfter - status.shown));
      if (read === STOPPED) break;
      const { records, caughtUp, finished } = read;
      let room = stopAfter === null ? records.length : stopAfter - status.shown;
      if (budget !== null) {
        const now = Date.now();
        if (now - windowStart >= budget.every) {
          windowStart = now;
          windowShown = 0;
        }
        room = Math.min(room, budget.max - windowShown);
      }
      const taken = records.length > room ? records.slice(0, room) : records;
      if (budget !== null) {
        windowShown += taken.length;
        sampledOut += records.length - taken.length;
      }
      status.shown += taken.length;
      status.dropped = droppedSoFar();
      status.behind = feed.behind();
      if ((taken.length > 0 || sink.live) && (await orStop(sink.write(taken, status))) === STOPPED) break;
      reportDrops(false);
      if (stopAfter !== null && status.shown >= stopAfter) break;
      if (finished) break;
      // Following up to a time: stop once it has passed and everything before it has been read.
      if (until !== undefined && caughtUp && Date.now() >= until) break;
    }
    status.done = true;
    status.dropped = droppedSoFar();
    status.behind = undefined;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const closing = feed.close().catch(() => {});
    await (stoppedBy === null ? closing : Promise.race([closing, sleep(CLOSE_ON_STOP_MS, { keepAlive: false })]));
    if (sink) await sink.close(status);
  }
  reportDrops(true);
  // Exit 130 as for any interrupted command, with the count that would otherwise be lost.
  if (stoppedBy !== null) throw new InterruptedError(`tail stopped (${stoppedBy as NodeJS.Signals}) after ${status.shown} record${status.shown === 1 ? '' : 's'} shown`);
  return { shown: status.shown, dropped: status.dropped };
}

/** --interval: milliseconds, at least 100 (as vector tap). */
function parseInterval(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (!/^\d+$/.test(text) || Number(text) < 100)
    throw new UsageError(`--interval "${text}" is not a whole number of milliseconds of at least 100`, { hint: 'e.g. --interval 500 --limit 100: at most 100 records every half second' });
  return Number(text);
}

async function openStoreFeed(context: CommandContext, kind: 'events' | 'rejected', options: TailOptions, settings: FeedSettings & { pollMs: number }): Promise<TailFeed> {
  const raw = await openRawStore(context.config);
  let sessions: SessionLookup | null = null;
  try {
    const filter: TailFilter = { event: settings.match.event, appVersion: settings.match.appVersion, receivedFrom: settings.match.from, receivedTo: settings.match.to, where: settings.match.where };
    if (options.user !== undefined) filter.ids = await identityOf(raw, options.user);
    let cursor = settings.from === 'end' ? await raw.tailEnd(kind) : settings.from === 'beginning' ? null : settings.from;
    if (kind === 'events') sessions = await openSessionLookup(context, raw, options.follow);
    const store = kind === 'events' ? 'raw store' : 'rejected store';
    const description = `${store} ${rawEngineAdmin(context.config).label}`;
    const lookup = sessions;
    // With every filter in the store's query, a tail --limit 20 reads 20 rows (and looks up their sessions), not a page.
    const filteredHere = settings.grep !== null || options.sample !== undefined;
    const pageFor = (wanted: number | undefined) => (wanted === undefined || filteredHere ? PAGE : Math.max(1, Math.min(PAGE, wanted)));
    let behind: number | undefined;
    return {
      description,
      note: lookup?.note,
      dropped: () => 0,
      behind: () => behind,
      async read(wanted) {
        let records: TailRecord[];
        let more: boolean;
        if (kind === 'events') {
          const page: TailPage<TailedEvent> = await raw.tailEvents(cursor, filter, pageFor(wanted));
          cursor = page.cursor;
          more = page.more;
          behind = page.behind;
          const kept = page.records.filter(({ value }) => (settings.grep === null || settings.grep.test(value.raw)) && settings.keepSample(value.messageId));
          const sessionIds = kept.length > 0 && lookup?.store ? await lookup.find(kept.map(({ value }) => value)) : new Map<string, string>();
          records = kept.map(({ cursor: at, value }) => rawEventTailRecord(at, value, sessionIds.get(value.messageId) ?? null, settings.redactor));
        } else {
          const page: TailPage<RejectedLine> = await raw.tailRejected(cursor, filter, pageFor(wanted));
          cursor = page.cursor;
          more = page.more;
          behind = page.behind;
          records = page.records
            .filter(({ value }) => (settings.grep === null || settings.grep.test(value.raw)) && settings.keepSample(value.messageId ?? value.rawHash))
            .map(({ cursor: at, value }) => rejectedTailRecord(at, value, settings.redactor));
        }
        if (!more && records.length === 0 && options.follow) await sleep(settings.pollMs);
        return { records, caughtUp: !more, finished: !options.follow && !more };
      },
      async close() {
        await lookup?.close();
        await raw.close();
      },
    };
  } catch (error) {
    await sessions?.close();
    await raw.close();
    throw error;
  }
}

/** The id as given, the person it was stitched to, and every id stitched to that person. */
async function identityOf(raw: RawStore, id: string): Promise<string[]> {
  const canonical = (await raw.canonicalOf([id])).get(id) ?? id;
  const members = (await raw.membersOf([canonical])).get(canonical) ?? [];
  return [...new Set([id, canonical, ...members])];
}

interface SessionLookup {
  store: AnalyticsStore | null;
  note: string | undefined;
  find(events: readonly TailedEvent[]): Promise<Map<string, string>>;
  close(): Promise<void>;
}

/**
 * Sessions come from the analytics store only when it is readable without waiting: a
 * ClickHouse server always; embedded chdb through the live process holding it (ADR 0016), or
 * opened here when nobody holds it and the tail does not follow (a following tail holding chdb
 * would make the next `run` wait for it).
 */
async function openSessionLookup(context: CommandContext, raw: RawStore, follow: boolean): Promise<SessionLookup> {
  const none = (note: string | undefined): SessionLookup => ({ store: null, note, find: async () => new Map(), close: async () => {} });
  const throughHolder = analyticsEngineAdmin(context.config).exclusive && follow;
  let store: AnalyticsStore;
  try {
    store = await openAnalyticsStore(context.config, raw, { command: 'journeyctl tail', waitMs: 0, log: () => {}, connectOnly: throughHolder });
  } catch (error) {
    if (!(error instanceof InfrastructureError)) throw error;
    return none(throughHolder ? 'sessions are blank while following the embedded store: no running `journeyctl run` serves it' : `sessions are blank: ${error.message}`);
  }
  let failed = false;
  return {
    store,
    note: throughHolder ? 'session ids come through the process holding the embedded store; blank once it stops' : undefined,
    async find(events) {
      if (failed) return new Map();
      try {
        return await store.sessionIdsOfEvents(events.map((event) => ({ messageId: event.messageId, eventTime: event.eventTime })));
      } catch (error) {
        failed = true;
        context.log(`tail: sessions are blank from here on: ${(error as Error).message}`);
        return new Map();
      }
    },
    close: () => store.close(),
  };
}

async function openKafkaFeed(context: CommandContext, options: TailOptions, settings: FeedSettings & { since: number | undefined }): Promise<TailFeed> {
  // Brokers and topic as resolved for every Kafka command: --brokers/--topic, env, then the config file.
  const { kafka } = context.config;
  const { brokers, topic } = kafka;
  if (brokers.length === 0) throw new UsageError('--source kafka needs brokers', { hint: 'pass --brokers host:port[,host:port] or set JOURNEY_KAFKA_BROKERS' });
  if (!topic) throw new UsageError('--source kafka needs a topic', { hint: 'pass --topic NAME or set JOURNEY_KAFKA_TOPIC' });
  let start: KafkaTailOptions['start'];
  if (settings.from === 'beginning') start = settings.since !== undefined && options.offset === undefined ? { time: settings.since } : 'beginning';
  else if (settings.from === 'end') start = 'end';
  else if (/^\d{1,19}$/.test(settings.from)) start = { offset: BigInt(settings.from) };
  else throw new UsageError(`--offset "${settings.from}" is not beginning, end or an offset`, { hint: 'e.g. --offset 1200 starts every partition at offset 1200' });
  const bufferSize = options.buffer === undefined ? 1_000 : parseLimit(options.buffer)!;
  const { redactor } = settings;
  const kept = streamMessageFilter(settings);
  const keep = (message: KafkaTailMessage) => kept({ time: message.timestamp, json: message.json, text: message.text }, () => `${message.partition}:${message.offset}`);
  // kafkajs' own retry chatter stays quiet: a failure that outlasts the retries is one error line.
  // kafkajs loads only when a topic is tailed, not for a tail of the stores.
  const { openKafkaTail } = await import('../sources/kafka-tail.js');
  const reader = await openKafkaTail({ kafka, topic, start, follow: options.follow, bufferSize, keep });
  return {
    description: `kafka ${topic} @ ${brokers.join(',')}`,
    note: undefined,
    dropped: () => reader.dropped,
    behind: () => undefined,
    async read() {
      const messages = await reader.take(DEFAULT_POLL_MS);
      const records = messages.map((message) =>
        kafkaTailRecord({ ...message, event: message.json ? eventNameOf(message.json) : null, appVersion: message.json ? appVersionOf(message.json) : null }, redactor),
      );
      const finished = reader.finished();
      return { records, caughtUp: messages.length === 0, finished };
    },
    close: () => reader.close(),
  };
}

/**
 * `--from`/`--to` mean a time in every command; on tail they are --since/--until by another name.
 * A position given to --from (beginning, end, a cursor, an offset) is refused with the flag that takes it.
 */
function timeFlag(options: TailOptions, alias: 'from' | 'to', name: 'since' | 'until'): { flag: string; value: string | undefined } {
  const aliased = options[alias];
  if (aliased === undefined) return { flag: name, value: options[name] };
  if (options[name] !== undefined) throw new UsageError(`--${alias} and --${name} both give the ${alias === 'from' ? 'start' : 'end'} time; give one`);
  // A bare number that is not an epoch (9–10 or 12–13 digits) was a cursor or an offset in older scripts.
  if (alias === 'from' && (/^(beginning|end)$/i.test(aliased.trim()) || (/^\d+$/.test(aliased.trim()) && !/^(\d{9,10}|\d{12,13})$/.test(aliased.trim())))) {
    throw new UsageError(`--from is a time; "${aliased}" is a position`, { hint: `start at a position with --offset ${aliased}` });
  }
  return { flag: alias, value: aliased };
}

function sleep(ms: number, options: { keepAlive: boolean } = { keepAlive: true }): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!options.keepAlive) timer.unref();
  });
}
