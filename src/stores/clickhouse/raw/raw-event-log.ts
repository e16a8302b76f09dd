import type { EventType, RejectedLine, RejectReason, StoredEvent, TimeSource } from '../../../domain/event.js';
import { type CopyOrder, isEarlierCopy } from '../../../domain/precedence.js';
import { type EncodedEvent, encodeEvent, type EventLog, type StoredLine, type TimeRange, type WriteBatchResult } from '../../ports/event-log.js';
import type { Row } from '../clickhouse-mappers.js';
import { type BatchPlan, planBatch, type StoredCopy } from './raw-batch-plan.js';
import { type ClickHouseRawContext, forIdSets, insertTsv, selectArrays, type RawBase, rangeBounds, selectAll } from './raw-context.js';
import { tsvField } from '../spool.js';
import { COPY_COLUMNS, EVENT_COLUMNS, RAW_TABLES, REJECTED_COLUMNS } from './raw-schema.js';

/** meta key (in the base): message ids whose stored row a batch replaced, until the loser is deleted. */
export const PENDING_REPLACEMENTS = 'clickhouse.raw.pending_replacements';
/** Rows of one batch share a seq block: seq = block * SEQ_BLOCK + position (see writeBatch). */
const SEQ_BLOCK = 1 << 20;
const MS = (column: string, alias = `${column}_ms`) => `toUnixTimestamp64Milli(${column}) AS ${alias}`;
const IDS = (name: string) => `(SELECT arrayJoin({${name}:Array(String)}))`;

export const REJECTED_SELECT = `raw_hash, reason, detail, ${MS('received_at')}, message_id, event, app_version, raw`;

export function rejectedFromRow(row: Row): RejectedLine {
  return {
    raw: row.raw as string,
    rawHash: row.raw_hash as string,
    reason: row.reason as RejectReason,
    detail: row.detail as string,
    receivedAt: Number(row.received_at_ms),
    messageId: (row.message_id as string | null) ?? null,
    event: (row.event as string | null) ?? null,
    appVersion: (row.app_version as string | null) ?? null,
  };
}

/** The columns StoredEvent and tail share, selected with times as `<name>_ms`. */
export const EVENT_SELECT = `message_id, type, event, identity_key, user_id, anonymous_id, ${MS('event_time')}, ${MS('received_at')}, time_source, skew_ms, app_version, properties, traits`;

export function storedEventFromRow(row: Row): Omit<StoredEvent, 'copies'> {
  return {
    messageId: row.message_id as string,
    type: row.type as EventType,
    event: row.event as string,
    identityKey: row.identity_key as string,
    userId: (row.user_id as string | null) ?? null,
    anonymousId: (row.anonymous_id as string | null) ?? null,
    eventTime: Number(row.event_time_ms),
    receivedAt: Number(row.received_at_ms),
    timeSource: row.time_source as TimeSource,
    skewMs: Number(row.skew_ms),
    appVersion: (row.app_version as string | null) ?? null,
    propertiesJson: row.properties as string,
    traitsJson: row.traits as string,
  };
}

/** A row of `SELECT ${EVENT_SELECT}, copy_count` as JSONCompactEachRow arrays: what derivation reads back. */
export function storedEventFromArray(r: unknown[]): StoredEvent {
  return {
    messageId: r[0] as string,
    type: r[1] as EventType,
    event: r[2] as string,
    identityKey: r[3] as string,
    userId: (r[4] as string | null) ?? null,
    anonymousId: (r[5] as string | null) ?? null,
    eventTime: Number(r[6]),
    receivedAt: Number(r[7]),
    timeSource: r[8] as TimeSource,
    skewMs: Number(r[9]),
    appVersion: (r[10] as string | null) ?? null,
    propertiesJson: r[11] as string,
    traitsJson: r[12] as string,
    copies: Math.max(1, Number(r[13])),
  };
}

/** Distinct lines per message id, for StoredEvent.copies (raw_copies rows may repeat; 0 joined means 1). */
export const COPIES_JOIN = `LEFT JOIN (SELECT message_id, uniqExact(raw_hash) AS copy_count FROM {copies} GROUP BY message_id) AS c USING (message_id)`;

/**
 * The event log over ClickHouse tables (raw-schema.ts). A batch is written in this order, so a
 * process killed at any point loses nothing and doubles nothing (ADR 0021):
 *   1. look up what the store holds of the batch's message ids (64-bit key, then the exact id)
 *      and rejected hashes, and plan the batch (raw-batch-plan.ts, ADR 0011's rule);
 *   2. commit identity links and dirty marks in the base (and, on the rare path where an earlier
 *      copy replaces a stored row, the ids whose losing row is still to be deleted);
 *   3. insert copies, events and rejected lines (each one INSERT);
 *   4. rare path: delete the losing rows, then clear the pending ids;
 *   5. mark the same ids dirty again (a derivation that ran between 2 and 3 cleared the first marks).
 * Killed before 2: nothing happened. Between 2 and 3: marks for events not stored yet (harmless);
 * the source redelivers the unacknowledged batch and the events are new again. During 3: what
 * landed is a duplicate on redelivery. Between 3 and 4: both copies are stored until the pending
 * ids are resolved, which opening the store does (dedup look-ups meanwhile take the winner).
 */
/** Points between the steps of a batch write, where a crash test stops the writer (seams, never timing). */
export type WritePoint = 'marks committed' | 'events inserted' | 'replacement inserted';
export type PauseAt = (point: WritePoint) => Promise<void>;

export function createClickHouseEventLog(
  ctx: ClickHouseRawContext,
  base: RawBase,
  pause: PauseAt = async () => {},
): Omit<Required<EventLog>, 'beginWriteGroup' | 'commitWriteGroup' | 'abandonWriteGroup' | 'beginBulkLoad' | 'endBulkLoad' | 'storedCopies' | 'storedCopiesReader'> & {
  /** Deletes every stored row of these message ids but the earliest-received copy (step 4 above). */
  resolveReplacements(messageIds: readonly string[]): Promise<void>;
} {
  const db = ctx.ch.db;
  const events = `${db}.${RAW_TABLES.events}`;
  const rejectedTable = `${db}.${RAW_TABLES.rejected}`;
  const copiesTable = `${db}.${RAW_TABLES.copies}`;
  const copiesJoin = COPIES_JOIN.replace('{copies}', copiesTable);

  const storedCopies = async (ids: readonly string[]): Promise<Map<string, StoredCopy>> => {
    const stored = new Map<string, StoredCopy>();
    await forIdSets(ctx, ids, async (set) => {
      // The 64-bit key first (PREWHERE reads only that column of every row), then the exact id.
      const rows = await selectArrays(
        ctx,
        `SELECT message_id, ${MS('received_at')}, raw_hash, identity_key, user_id, anonymous_id, previous_id, seq FROM ${events}
         PREWHERE message_key IN ${set.keys} WHERE message_id IN ${set.ids}`,
        set.params,
      );
      for (const r of rows) {
        const copy: StoredCopy = {
          receivedAt: Number(r[1]),
          rawHash: r[2] as string,
          identityKey: r[3] as string,
          userId: (r[4] as string | null) ?? null,
          anonymousId: (r[5] as string | null) ?? null,
          previousId: (r[6] as string | null) ?? null,
          seq: Number(r[7]),
        };
        keepWinner(stored, r[0] as string, copy);
      }
    });
    return stored;
  };

  /**
   * What the plan compares of the stored copies of a batch's ids: received time and line hash
   * only (a re-ingest finds every id stored and changes nothing). The filed-under ids and seq are
   * fetched (storedCopies) only for the ids where a batch line differs from the stored copy or was
   * received earlier: the only paths on which planBatch reads them.
   */
  const storedOrder = async (ids: readonly string[]): Promise<Map<string, CopyOrder>> => {
    const stored = new Map<string, CopyOrder>();
    await forIdSets(ctx, ids, async (set) => {
      const rows = await selectArrays(ctx, `SELECT message_id, ${MS('received_at')}, raw_hash FROM ${events} PREWHERE message_key IN ${set.keys} WHERE message_id IN ${set.ids}`, set.params);
      for (const r of rows) keepWinner(stored, r[0] as string, { receivedAt: Number(r[1]), rawHash: r[2] as string });
    });
    return stored;
  };

  const knownCopies = async (ids: readonly string[]): Promise<Map<string, Set<string>>> => {
    const known = new Map<string, Set<string>>();
    await forIdSets(ctx, ids, async (set) => {
      for (const row of await selectAll(ctx, `SELECT DISTINCT message_id, raw_hash FROM ${copiesTable} WHERE message_id IN ${set.ids}`, set.params)) {
        const id = row.message_id as string;
        (known.get(id) ?? known.set(id, new Set()).get(id)!).add(row.raw_hash as string);
      }
    });
    return known;
  };

  const knownRejected = async (hashes: readonly string[]): Promise<Set<string>> => {
    const known = new Set<string>();
    await forIdSets(ctx, hashes, async (set) => {
      for (const row of await selectAll(ctx, `SELECT DISTINCT raw_hash FROM ${rejectedTable} WHERE raw_hash IN ${set.ids}`, set.params)) known.add(row.raw_hash as string);
    });
    return known;
  };

  const resolveReplacements = async (messageIds: readonly string[]): Promise<void> => {
    // The rare path: a few ids at a time, bound as parameters (a mutation reads no files).
    for (let start = 0; start < messageIds.length; start += ctx.idsPerQuery) {
      const chunk = messageIds.slice(start, start + ctx.idsPerQuery);
      const rows = await selectAll(ctx, `SELECT message_id, ${MS('received_at')}, raw_hash FROM ${events} WHERE message_id IN ${IDS('ids')}`, { ids: chunk });
      const winners = new Map<string, { receivedAt: number; rawHash: string }>();
      for (const row of rows) {
        const copy = { receivedAt: Number(row.received_at_ms), rawHash: row.raw_hash as string };
        const known = winners.get(row.message_id as string);
        if (known === undefined || isEarlierCopy(copy, known)) winners.set(row.message_id as string, copy);
      }
      const losers: string[] = [];
      for (const row of rows) {
        const winner = winners.get(row.message_id as string)!;
        if (winner.rawHash !== row.raw_hash || winner.receivedAt !== Number(row.received_at_ms))
          losers.push(`${row.message_id as string}\u0000${row.raw_hash as string}\u0000${row.received_at_ms as number}`);
      }
      if (losers.length === 0) continue;
      try {
        await ctx.ch.client.command({
          query: `DELETE FROM ${events} WHERE message_id IN ${IDS('ids')} AND concat(message_id, char(0), raw_hash, char(0), toString(toUnixTimestamp64Milli(received_at))) IN ${IDS('losers')}`,
          query_params: { ids: chunk, losers },
          clickhouse_settings: { mutations_sync: '2' },
        });
      } catch (error) {
        throw ctx.ch.failure('delete replaced raw events', error);
      }
    }
  };

  const addPending = async (ids: readonly string[]): Promise<void> => {
    const before = await base.readMeta(PENDING_REPLACEMENTS);
    const all = new Set<string>(before === null ? [] : (JSON.parse(before) as string[]));
    for (const id of ids) all.add(id);
    await base.writeMeta(PENDING_REPLACEMENTS, JSON.stringify([...all]));
  };

  const writeEncodedBatch = async (accepted: readonly EncodedEvent[], rejected: readonly RejectedLine[]): Promise<WriteBatchResult> => {
    // 1. What the store holds of this batch.
    const ids = [...new Set(accepted.map((e) => e.messageId))];
    const order = ids.length > 0 ? await storedOrder(ids) : new Map<string, CopyOrder>();
    const differing = new Set<string>();
    for (const event of accepted) {
      const copy = order.get(event.messageId);
      if (copy !== undefined && (copy.rawHash !== event.rawHash || isEarlierCopy(event, copy))) differing.add(event.messageId);
    }
    const full = differing.size > 0 ? await storedCopies([...differing]) : new Map<string, StoredCopy>();
    const stored = new Map<string, StoredCopy>();
    for (const [id, copy] of order) stored.set(id, full.get(id) ?? new OrderOnlyCopy(copy.receivedAt, copy.rawHash));
    const copyIds = new Set<string>();
    const firstHash = new Map<string, string>();
    for (const event of accepted) {
      const known = stored.get(event.messageId)?.rawHash ?? firstHash.get(event.messageId);
      if (known === undefined) firstHash.set(event.messageId, event.rawHash);
      else if (known !== event.rawHash) copyIds.add(event.messageId);
    }
    const copies = copyIds.size > 0 ? await knownCopies([...copyIds]) : new Map<string, Set<string>>();
    const rejectedHashes = rejected.length > 0 ? await knownRejected([...new Set(rejected.map((r) => r.rawHash))]) : new Set<string>();
    const plan = planBatch(accepted, rejected, stored, copies, rejectedHashes);

    // 2. Links and marks first: a mark for an event not stored yet is harmless, a missing one is not.
    if (plan.replacedStored.length > 0) await addPending(plan.replacedStored);
    if (plan.dirty.size > 0 || plan.links.size > 0) await base.recordArrivals(plan.links, plan.dirty);
    await pause('marks committed');

    // 3. One INSERT per table.
    const rows = plan.rows.length + plan.rejected.length;
    if (rows >= SEQ_BLOCK) throw new Error(`a batch of ${rows} rows is larger than the raw store takes at once (${SEQ_BLOCK - 1})`);
    const seqBase = rows > 0 ? (await base.nextVersion()) * SEQ_BLOCK : 0;
    const ingestedAt = Date.now();
    await insertTsv(ctx, RAW_TABLES.copies, COPY_COLUMNS, () => plan.copies.map(([id, hash]) => `${tsvField(id)}\t${tsvField(hash)}\n`).join(''));
    await insertTsv(ctx, RAW_TABLES.events, EVENT_COLUMNS, (time) => eventsTsv(plan, seqBase, ingestedAt, time));
    await pause('events inserted');
    await insertTsv(ctx, RAW_TABLES.rejected, REJECTED_COLUMNS, (time) => rejectedTsv(plan, seqBase + plan.rows.length, ingestedAt, time));

    // 4. The rare path: the losing rows go once the winners are in.
    if (plan.replacedStored.length > 0) {
      await pause('replacement inserted');
      await resolveReplacements(plan.replacedStored);
      await base.writeMeta(PENDING_REPLACEMENTS, null);
    }
    // 5. The marks again, now that the rows are in: a derivation in another process (fix,
    // reprocess) that read the first marks before the rows landed has cleared them.
    if (plan.dirty.size > 0) await base.markDirty([...plan.dirty]);
    return plan.result;
  };

  return {
    resolveReplacements,
    writeBatch: (accepted, rejected) => writeEncodedBatch(accepted.map(encodeEvent), rejected),
    writeEncodedBatch,

    async eventsByIdentity(identityKeys: readonly string[]): Promise<StoredEvent[]> {
      const out: StoredEvent[] = [];
      await forIdSets(ctx, identityKeys, async (set) => {
        // Arrays, not objects: derivation reads every stored event back through here.
        const rows = await selectArrays(ctx, `SELECT ${EVENT_SELECT}, copy_count FROM ${events} ${copiesJoin} WHERE identity_key IN ${set.ids} ORDER BY identity_key, event_time, seq`, set.params);
        for (const r of rows) out.push(storedEventFromArray(r));
      });
      return out;
    },

    async rawLinesByIdentity(identityKeys: readonly string[]): Promise<StoredLine[]> {
      const out: StoredLine[] = [];
      await forIdSets(ctx, identityKeys, async (set) => {
        // Arrays, not objects: reprocess reads every stored line of the users it rebuilds through here.
        const rows = await selectArrays(
          ctx,
          `SELECT raw, ${MS('received_at')}, copy_count FROM ${events} ${copiesJoin} WHERE identity_key IN ${set.ids} ORDER BY identity_key, event_time, seq`,
          set.params,
        );
        for (const r of rows) out.push({ raw: r[0] as string, receivedAt: Number(r[1]), copies: Math.max(1, Number(r[2])) });
      });
      return out;
    },

    async identityKeysInRange(range: Required<TimeRange>): Promise<string[]> {
      const rows = await selectAll(
        ctx,
        `SELECT DISTINCT identity_key FROM ${events} WHERE event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC') ORDER BY identity_key`,
        rangeBounds(range),
      );
      return rows.map((row) => row.identity_key as string);
    },

    async *streamRejected(range: TimeRange): AsyncIterable<RejectedLine> {
      const rows = ctx.ch.select(
        `SELECT ${REJECTED_SELECT} FROM ${rejectedTable}
         WHERE received_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND received_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC') ORDER BY received_at, raw_hash`,
        rangeBounds(range),
      );
      for await (const row of rows) yield rejectedFromRow(row);
    },
  };
}

function eventsTsv(plan: BatchPlan, seqBase: number, ingestedAt: number, time: (epochMs: number) => string): string {
  const lines: string[] = [];
  let position = 0;
  for (const { event: e, seq } of plan.rows) {
    position += 1;
    lines.push(
      [
        tsvField(e.messageId),
        tsvField(e.identityKey),
        tsvField(e.userId),
        tsvField(e.anonymousId),
        tsvField(e.previousId),
        tsvField(e.type),
        tsvField(e.event),
        time(e.eventTime),
        tsvField(e.timeSource),
        tsvField(e.skewMs),
        time(e.receivedAt),
        tsvField(e.appVersion),
        tsvField(e.propertiesJson),
        tsvField(e.traitsJson),
        tsvField(e.raw),
        tsvField(e.rawHash),
        tsvField(seq ?? seqBase + position),
        time(ingestedAt),
      ].join('\t'),
    );
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function rejectedTsv(plan: BatchPlan, seqBase: number, ingestedAt: number, time: (epochMs: number) => string): string {
  const lines = plan.rejected.map((r, i) =>
    [
      tsvField(r.rawHash),
      tsvField(r.reason),
      tsvField(r.detail),
      time(r.receivedAt),
      tsvField(r.messageId),
      tsvField(r.event),
      tsvField(r.appVersion),
      tsvField(r.raw),
      tsvField(seqBase + i + 1),
      time(ingestedAt),
    ].join('\t'),
  );
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Keeps the earliest-received copy per id: two rows of one id exist only between a replacement's insert and its delete. */
function keepWinner<T extends CopyOrder>(stored: Map<string, T>, id: string, copy: T): void {
  const known = stored.get(id);
  if (known === undefined || isEarlierCopy(copy, known)) stored.set(id, copy);
}

/**
 * A stored copy that no batch line differs from or precedes: planBatch reads only its order
 * (received time, line hash). Reading anything else is a bug in the look-up, so it throws
 * rather than plan with made-up ids.
 */
class OrderOnlyCopy implements StoredCopy {
  constructor(
    readonly receivedAt: number,
    readonly rawHash: string,
  ) {}
  get identityKey(): never {
    return notFetched('identityKey');
  }
  get userId(): never {
    return notFetched('userId');
  }
  get anonymousId(): never {
    return notFetched('anonymousId');
  }
  get previousId(): never {
    return notFetched('previousId');
  }
  get seq(): never {
    return notFetched('seq');
  }
}

function notFetched(field: string): never {
  throw new Error(`raw store: the stored copy's ${field} was not fetched (the plan reads it only for differing or earlier lines)`);
}
