import type Database from 'better-sqlite3';
import type { AcceptedEvent, EventType, RejectedLine, StoredEvent, TimeSource } from '../../domain/event.js';
import { type IdentityLink, isEarlierCopy, noteLinksOf } from '../../domain/precedence.js';
import { type EncodedEvent, encodeEvent, type EventLog, type LineKey, type StoredCopy, type StoredLine, storedEventFields, type TimeRange, type WriteBatchResult } from '../ports/event-log.js';
import { chunks, COPY_ROWS, IN_CHUNK, placeholders, type SqliteContext } from './sqlite-context.js';
import { COPIES_GENERATION, copiesOf, createCopyCounts, inOneSnapshot } from './sqlite-copy-counts.js';
import { createStoredCopiesLookUp } from './sqlite-stored-copies.js';
import type { SqliteDirtyQueue } from './sqlite-dirty-queue.js';
import type { SqliteIdentityGraph } from './sqlite-identity-graph.js';
import { ACCEPTED_KIND, beginBulkLoad, buildDeriveIndexes, endBulkLoad, MINUTE_MS } from './sqlite-schema.js';
import type { WalCheckpoints } from './wal-checkpoints.js';
import { messageKey } from './message-key.js';
import { BulkLoadKeys } from './bulk-load-keys.js';
import { REJECTED_COLUMNS, rejectedFromRow } from './sqlite-tail.js';

/** eventsByIdentity's columns, in order. */
type RawEventRow = [
  messageId: string,
  identityKey: string,
  userId: string | null,
  anonymousId: string | null,
  type: string,
  event: string,
  eventTime: number,
  receivedAt: number,
  timeSource: string,
  skewMs: number,
  appVersion: string | null,
  properties: string,
  traits: string,
  copyRows: number,
];

const EXISTING_COLUMNS = 'rowid, message_id, received_at, app_version, raw_hash, identity_key, user_id, anonymous_id, previous_id';
type ExistingCopy = {
  rowid: number;
  message_id: string;
  received_at: number;
  app_version: string | null;
  raw_hash: string;
  identity_key: string;
  user_id: string | null;
  anonymous_id: string | null;
  previous_id: string | null;
};

/**
 * A bulk load of at most this many rows builds only the indexes a derive reads before it derives,
 * the others on the checkpoint thread meanwhile (ADR 0028, "Indexes a derive does not read"). The
 * derive's own writes wait for the lock an index build holds (~1 s per million rows, under the
 * 15 s busy timeout up to here); a larger load builds them all first, as before.
 */
const MAX_ROWS_INDEXED_BESIDE_DERIVE = 5_000_000;

/** The event log of the embedded store: every batch is one transaction (links and dirty marks included). */
export function createSqliteEventLog(ctx: SqliteContext, parts: { dirty: SqliteDirtyQueue; identity: SqliteIdentityGraph; checkpoints: WalCheckpoints }): Required<EventLog> {
  const { db, guard } = ctx;
  const s = {
    insertEvent: db.prepare(`INSERT INTO raw_events
      (message_id, message_key, identity_key, user_id, anonymous_id, previous_id, type, event, event_time, time_source, skew_ms, received_at, app_version, properties, traits, raw, raw_hash, ingested_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    existingCopy: db.prepare(`SELECT ${EXISTING_COLUMNS} FROM raw_events WHERE message_key = ? AND message_id = ?`),
    // A bulk load's rows, found by rowid (BulkLoadKeys) while the message-key index is dropped.
    rowAt: db.prepare(`SELECT ${EXISTING_COLUMNS} FROM raw_events WHERE rowid = ?`),
    countReceived: db.prepare('INSERT INTO received_minutes (minute, app_version, kind, lines) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET lines = lines + excluded.lines'),
    insertCopy: db.prepare('INSERT OR IGNORE INTO raw_copies (message_id, raw_hash) VALUES (?, ?)'),
    replaceEvent: db.prepare(`UPDATE raw_events SET identity_key=@identityKey, user_id=@userId, anonymous_id=@anonymousId, previous_id=@previousId,
      type=@type, event=@event, event_time=@eventTime, time_source=@timeSource, skew_ms=@skewMs, received_at=@receivedAt, app_version=@appVersion,
      properties=@properties, traits=@traits, raw=@raw, raw_hash=@rawHash, ingested_at=@ingestedAt WHERE rowid=@rowid`),
    insertRejected: db.prepare(`INSERT OR IGNORE INTO rejected (raw_hash, reason, detail, received_at, message_id, event, app_version, raw, ingested_at)
      VALUES (@rawHash, @reason, @detail, @receivedAt, @messageId, @event, @appVersion, @raw, @ingestedAt)`),
  };
  const lookUpStoredCopies = createStoredCopiesLookUp(db);
  // While a bulk load runs (beginBulkLoad): its message keys, standing in for the dropped index.
  let bulkKeys: BulkLoadKeys | null = null;
  const storedCopyOf = (key: number, messageId: string): ExistingCopy | undefined => {
    if (bulkKeys === null) return s.existingCopy.get(key, messageId) as ExistingCopy | undefined;
    for (const rowid of bulkKeys.candidates(key)) {
      const row = s.rowAt.get(rowid) as ExistingCopy | undefined;
      if (row?.message_id === messageId) return row;
    }
    return undefined;
  };

  const writeBatchSync = (accepted: readonly EncodedEvent[], rejected: readonly RejectedLine[]): WriteBatchResult => {
    const result: Required<WriteBatchResult> = { inserted: 0, replaced: 0, duplicates: 0, copiesAdded: 0, rejected: 0, rejectedDuplicates: 0 };
    const ingestedAt = Date.now();
    const run = db.transaction(() => {
      const received = receivedTally();
      const countReceived = received.add;
      const dirty = new Set<string>();
      const links = new Map<string, IdentityLink>();
      for (const event of accepted) {
        const key = messageKey(event.messageId);
        const existing = storedCopyOf(key, event.messageId);
        if (existing === undefined) {
          // Positional binding straight from the event: named parameters cost a property lookup per
          // column per row, and an intermediate row object is garbage on the hot path.
          const { lastInsertRowid } = s.insertEvent.run(
            event.messageId,
            key,
            event.identityKey,
            event.userId,
            event.anonymousId,
            event.previousId,
            event.type,
            event.event,
            event.eventTime,
            event.timeSource,
            event.skewMs,
            event.receivedAt,
            event.appVersion,
            event.propertiesJson,
            event.traitsJson,
            event.raw,
            event.rawHash,
            ingestedAt,
          );
          bulkKeys?.add(key, Number(lastInsertRowid));
          result.inserted += 1;
          countReceived(event.receivedAt, event.appVersion, ACCEPTED_KIND, 1);
        } else {
          const earlier = isEarlierCopy(event, { receivedAt: existing.received_at, rawHash: existing.raw_hash });
          // Another distinct line of a stored message id (a retry): remembered so duplicate_storm can count copies.
          // A byte-identical line adds nothing, so re-ingesting the same input changes nothing.
          if (existing.raw_hash !== event.rawHash) {
            const added = s.insertCopy.run(event.messageId, existing.raw_hash).changes + s.insertCopy.run(event.messageId, event.rawHash).changes;
            // Held copy counts (createCopyCounts) are read again once this transaction commits.
            if (added > 0 && result.copiesAdded === 0) ctx.bump(COPIES_GENERATION);
            result.copiesAdded += added;
            if (added > 0) for (const id of [existing.identity_key, existing.user_id, existing.anonymous_id, existing.previous_id]) if (id) dirty.add(id);
          }
          if (!earlier) {
            result.duplicates += 1;
            continue;
          }
          s.replaceEvent.run(toRow(event, existing.rowid, ingestedAt));
          result.replaced += 1;
          countReceived(existing.received_at, existing.app_version, ACCEPTED_KIND, -1);
          countReceived(event.receivedAt, event.appVersion, ACCEPTED_KIND, 1);
          for (const id of [existing.identity_key, existing.user_id, existing.anonymous_id, existing.previous_id]) if (id) dirty.add(id);
        }
        dirty.add(event.identityKey);
        if (event.anonymousId) dirty.add(event.anonymousId);
        if (event.previousId) dirty.add(event.previousId);
        noteLinksOf(links, event);
      }
      parts.identity.saveLinksInTransaction(links);
      if (dirty.size > 0) parts.dirty.markInTransaction(dirty);
      for (const line of rejected) {
        const changes = s.insertRejected.run({ ...line, ingestedAt }).changes;
        if (changes === 1) {
          result.rejected += 1;
          countReceived(line.receivedAt, line.appVersion, line.reason, 1);
        } else result.rejectedDuplicates += 1;
      }
      for (const [minute, appVersion, kind, lines] of received.entries()) if (lines !== 0) s.countReceived.run(minute, appVersion, kind, lines);
    });
    run.immediate();
    return result;
  };

  // Copies come from the held counts (copyCounts) or, past their size, a probe per row: the last column is 0 or that probe.
  const prepareEventsByIdentity = (keys: number, probeCopies: boolean): Database.Statement =>
    db
      .prepare(
        `SELECT message_id, identity_key, user_id, anonymous_id, type, event, event_time, received_at, time_source, skew_ms, app_version, properties, traits, ${probeCopies ? COPY_ROWS : '0'}
                FROM raw_events WHERE identity_key IN (${Array.from({ length: keys }, () => '?').join(',')})`,
      )
      .raw(true);
  const eventsByIdentityFull = new Map<boolean, Database.Statement>();
  const copyCounts = createCopyCounts(ctx);

  return {
    async writeBatch(accepted: readonly AcceptedEvent[], rejected: readonly RejectedLine[]) {
      return guard('write a batch', () => writeBatchSync(accepted.map(encodeEvent), rejected));
    },
    async writeEncodedBatch(accepted, rejected) {
      return guard('write a batch', () => writeBatchSync(accepted, rejected));
    },

    // A write group is one SQLite transaction: a commit rewrites every index page it touched, and
    // keys arrive in random order, so fewer, larger commits rewrite far fewer index pages
    // (figures: docs/decisions/0009). Writes inside the group (batches, lease renewals) nest as savepoints.
    async beginWriteGroup() {
      parts.checkpoints.start();
      guard('begin a write group', () => db.exec('BEGIN IMMEDIATE'));
    },
    async commitWriteGroup() {
      guard('commit a write group', () => db.exec('COMMIT'));
      parts.checkpoints.committed();
    },
    async abandonWriteGroup() {
      if (db.inTransaction) guard('abandon a write group', () => db.exec('ROLLBACK'));
    },
    async beginBulkLoad() {
      parts.checkpoints.start();
      const began = guard('begin a bulk load', () => beginBulkLoad(db));
      if (began) bulkKeys = new BulkLoadKeys();
      return began;
    },
    async endBulkLoad(options = {}) {
      const loaded = bulkKeys?.size ?? 0;
      bulkKeys = null;
      if (options.ingestDone && loaded <= MAX_ROWS_INDEXED_BESIDE_DERIVE) {
        guard('build the indexes a derive reads', () => buildDeriveIndexes(db));
        parts.checkpoints.committed();
        if (parts.checkpoints.endBulkLoad()) return;
      }
      guard('build the indexes after a bulk load', () => endBulkLoad(db));
      parts.checkpoints.committed();
    },

    async storedCopies(lineKeys: readonly LineKey[]): Promise<Array<StoredCopy | null>> {
      return guard('look up stored lines', () =>
        lookUpStoredCopies(
          lineKeys.map((line) => line.rawHash),
          lineKeys.map((line) => line.messageId),
        ),
      );
    },
    storedCopiesReader: () => (db.memory ? null : { engine: 'sqlite', path: db.name }),

    async eventsByIdentity(identityKeys: readonly string[]): Promise<StoredEvent[]> {
      const events: StoredEvent[] = [];
      inOneSnapshot(db, () => {
        const counts = copyCounts();
        const probe = counts === null;
        for (const chunk of chunks(identityKeys)) {
          // Rows as arrays (better-sqlite3's raw mode): derive reads every stored event back, and
          // keyed row objects were a fifth of that cost (docs/decisions/0009).
          const statement =
            chunk.length === IN_CHUNK
              ? (eventsByIdentityFull.get(probe) ?? eventsByIdentityFull.set(probe, prepareEventsByIdentity(IN_CHUNK, probe)).get(probe)!)
              : prepareEventsByIdentity(chunk.length, probe);
          for (const row of statement.all(...chunk) as RawEventRow[]) {
            events.push({
              messageId: row[0],
              type: row[4] as EventType,
              event: row[5],
              identityKey: row[1],
              userId: row[2],
              anonymousId: row[3],
              eventTime: row[6],
              receivedAt: row[7],
              timeSource: row[8] as TimeSource,
              skewMs: row[9],
              appVersion: row[10],
              propertiesJson: row[11],
              traitsJson: row[12],
              copies: copiesOf(counts, row[13], row[0]),
            });
          }
        }
      });
      return events;
    },

    async rawLinesByIdentity(identityKeys: readonly string[]): Promise<StoredLine[]> {
      const lines: StoredLine[] = [];
      inOneSnapshot(db, () => {
        const counts = copyCounts();
        for (const chunk of chunks(identityKeys)) {
          // Rows as arrays: reprocess reads every stored line of the users it rebuilds through here.
          const rows = db
            .prepare(`SELECT raw, received_at, ${counts === null ? COPY_ROWS : '0'}, message_id FROM raw_events WHERE identity_key IN (${placeholders(chunk)})`)
            .raw(true)
            .all(...chunk) as Array<[raw: string, receivedAt: number, copyRows: number, messageId: string]>;
          for (const row of rows) lines.push({ raw: row[0], receivedAt: row[1], copies: copiesOf(counts, row[2], row[3]) });
        }
      });
      return lines;
    },

    async identityKeysInRange(range: Required<TimeRange>): Promise<string[]> {
      // The event-time index gives the range's rows but not their keys: a table lookup per row. Where
      // the range holds a large share of the store (~1 in 8 rows or more; max(rowid) estimates the
      // store) one pass over the (identity_key, event_time) index, in key order, costs less (ADR 0023).
      const inRange = (db.prepare('SELECT count(*) AS n FROM raw_events WHERE event_time >= ? AND event_time < ?').get(range.from, range.to) as { n: number }).n;
      const stored = (db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM raw_events').get() as { n: number }).n;
      // `+event_time`: not through the event-time index, so the planner scans the identity index.
      const query =
        inRange * 8 >= stored
          ? 'SELECT identity_key FROM raw_events WHERE +event_time >= ? AND +event_time < ? GROUP BY identity_key ORDER BY identity_key'
          : 'SELECT DISTINCT identity_key FROM raw_events WHERE event_time >= ? AND event_time < ? ORDER BY identity_key';
      const rows = db.prepare(query).all(range.from, range.to) as Array<{ identity_key: string }>;
      return rows.map((row) => row.identity_key);
    },

    async *streamRejected(range: TimeRange): AsyncIterable<RejectedLine> {
      const rows = db
        .prepare(
          `SELECT ${REJECTED_COLUMNS} FROM rejected
                  WHERE received_at >= ? AND received_at < ? ORDER BY received_at, raw_hash`,
        )
        .iterate(range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER) as Iterable<Record<string, unknown>>;
      for (const row of rows) yield rejectedFromRow(row);
    },
  };
}

/**
 * A batch's lines per (minute received, app version, kind) for received_minutes, lines without an
 * app version left out. Nested maps: a key string per line was 0.4 CPU-s per million on the
 * thread that writes the batch (ADR 0028).
 */
function receivedTally() {
  const byMinute = new Map<number, Map<string, Map<string, number>>>();
  return {
    add(receivedAt: number, appVersion: string | null, kind: string, lines: number): void {
      if (appVersion === null) return;
      const minute = receivedAt - (receivedAt % MINUTE_MS);
      let byVersion = byMinute.get(minute);
      if (byVersion === undefined) byMinute.set(minute, (byVersion = new Map()));
      let byKind = byVersion.get(appVersion);
      if (byKind === undefined) byVersion.set(appVersion, (byKind = new Map()));
      byKind.set(kind, (byKind.get(kind) ?? 0) + lines);
    },
    *entries(): Iterable<[minute: number, appVersion: string, kind: string, lines: number]> {
      for (const [minute, byVersion] of byMinute) for (const [appVersion, byKind] of byVersion) for (const [kind, lines] of byKind) yield [minute, appVersion, kind, lines];
    },
  };
}

function toRow(event: EncodedEvent, rowid: number, ingestedAt: number) {
  return {
    rowid,
    ...storedEventFields(event),
    properties: event.propertiesJson,
    traits: event.traitsJson,
    raw: event.raw,
    rawHash: event.rawHash,
    ingestedAt,
  };
}
