import type { TailedEvent, TailFilter, TailKind, TailPage } from '../raw-store.js';
import { linesWithVersion, type ReceivedCounts, type ReceivedLines, type StoredLine } from '../raw-store.js';
import { parseTailCursor, REJECTED_COLUMNS, rejectedFromRow, tailEnd, tailEvents, tailRejected } from './sqlite-tail.js';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AcceptedEvent, EventType, RejectedLine, RejectReason, StoredEvent, TimeSource } from '../../domain/event.js';
import type { Correction, EventFilter } from '../../domain/correction.js';
import type { Profile } from '../../domain/profile.js';
import { InfrastructureError } from '../../errors.js';
import { diskFullError, isDiskFull } from '../disk-full.js';
import { corruptSqliteHint, isSqliteCorrupt } from './corruption.js';
import { messageKey } from './message-key.js';
import { type DirtyId, type EncodedEvent, encodeEvent, type LeaseHolder, type LeaseResult, type RawStore, type TimeRange, type WriteBatchResult } from '../raw-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS raw_events (
  message_id TEXT NOT NULL,
  -- Dedup looks message ids up by this 53-bit hash (see messageKey), not by the text.
  message_key INTEGER NOT NULL,
  identity_key TEXT NOT NULL,
  user_id TEXT,
  anonymous_id TEXT,
  previous_id TEXT,
  type TEXT NOT NULL,
  event TEXT NOT NULL,
  event_time INTEGER NOT NULL,
  time_source TEXT NOT NULL,
  skew_ms INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  app_version TEXT,
  properties TEXT NOT NULL,
  traits TEXT NOT NULL,
  raw TEXT NOT NULL,
  raw_hash TEXT NOT NULL,
  ingested_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS raw_events_identity_time ON raw_events (identity_key, event_time);
CREATE INDEX IF NOT EXISTS raw_events_event_time ON raw_events (event_time);
-- The data-quality aggregates read every row instead (0.55 s per million events): an index on received time
-- made a cohort-ordered backlog's inserts half again as slow. Dropped where an earlier build created it.
DROP INDEX IF EXISTS raw_events_received_quality;
-- Distinct lines received per message id, written only when a message id arrives again with other bytes.
CREATE TABLE IF NOT EXISTS raw_copies (
  message_id TEXT NOT NULL,
  raw_hash TEXT NOT NULL,
  PRIMARY KEY (message_id, raw_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rejected (
  raw_hash TEXT NOT NULL UNIQUE,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  message_id TEXT,
  event TEXT,
  app_version TEXT,
  raw TEXT NOT NULL,
  ingested_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_received_at ON rejected (received_at);
CREATE TABLE IF NOT EXISTS identity_links (
  from_id TEXT PRIMARY KEY,
  to_id TEXT NOT NULL,
  event_time INTEGER NOT NULL,
  message_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS identity_links_to ON identity_links (to_id);
CREATE TABLE IF NOT EXISTS identity_map (
  id TEXT PRIMARY KEY,
  canonical_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS identity_map_canonical ON identity_map (canonical_id);
CREATE TABLE IF NOT EXISTS profiles (
  user_id TEXT PRIMARY KEY,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dirty_ids (
  id TEXT PRIMARY KEY,
  mark INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS corrections (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  doc TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS corrections_append_only_update BEFORE UPDATE ON corrections BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;
CREATE TRIGGER IF NOT EXISTS corrections_append_only_delete BEFORE DELETE ON corrections BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

/** After addMessageKeys: a store from before message keys has no column to index until then. */
const MESSAGE_KEY_INDEX = `
-- Not unique: two message ids may share a key; every lookup compares the message id itself.
CREATE INDEX IF NOT EXISTS raw_events_message_key ON raw_events (message_key);
`;

/**
 * Lines received per minute of received time, app version and kind ('accepted' or the reject
 * reason), lines without an app version left out: what release-burst detection reads
 * (receivedLineCounts), kept by every write in its own transaction so that detection does not
 * read every stored line (4 s at 4M lines, every minute of a stream, blocking the event loop).
 * Created and filled from the stored lines in one transaction by addReceivedMinutes.
 */
const MINUTE_MS = 60_000;
const ACCEPTED_KIND = 'accepted';
const RECEIVED_MINUTES = `
CREATE TABLE received_minutes (
  minute INTEGER NOT NULL,
  app_version TEXT NOT NULL,
  kind TEXT NOT NULL,
  lines INTEGER NOT NULL,
  PRIMARY KEY (app_version, minute, kind)
) WITHOUT ROWID;
INSERT INTO received_minutes (minute, app_version, kind, lines)
  SELECT received_at - received_at % ${MINUTE_MS}, app_version, '${ACCEPTED_KIND}', count(*) FROM raw_events WHERE app_version IS NOT NULL GROUP BY 1, 2;
INSERT INTO received_minutes (minute, app_version, kind, lines)
  SELECT received_at - received_at % ${MINUTE_MS}, app_version, reason, count(*) FROM rejected WHERE app_version IS NOT NULL GROUP BY 1, 2, 3;
`;

/** messageKey as an SQL function of this connection, for joins on message ids (never in the schema: other clients lack it). */
const MESSAGE_KEY_FUNCTION = 'journeyctl_message_key';

/**
 * Distinct lines of a raw_events row's message id: rows in raw_copies exist only once a second
 * distinct line arrived (then one per line), so 0 means 1. One primary-key probe per event read.
 */
const COPY_ROWS = '(SELECT count(*) FROM raw_copies c WHERE c.message_id = raw_events.message_id)';

/** SQLite's limit on bound parameters per statement is 32766; stay well below it. */
const IN_CHUNK = 900;

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

/** The connection settings of the raw store (also what the storage-floor benchmark measures with). */
export function tuneConnection(db: Database.Database): void {
  // 16 KiB pages for a new store (SQLite ignores this for an existing one, and once WAL is on):
  // ~1 KB event rows and three indexes on random keys cost ~15% less CPU to insert, and the
  // random reads of derive are no slower.
  db.pragma('page_size = 16384');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  // Checkpoint the WAL every ~80 MB instead of every 4 MB: bulk ingest spent a third of its time copying pages back.
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${Math.ceil((80 << 20) / pageSize)}`);
}

/**
 * The embedded raw store. SQLite in WAL mode gives what two journeyctl processes on one data
 * directory need: readers never block the writer, writers queue on a lock with a timeout, and
 * a crash mid-batch leaves the previous state (every batch is one transaction).
 */
export class SqliteRawStore implements RawStore {
  readonly engine = 'sqlite';
  private readonly db: Database.Database;
  private readonly statements;
  private eventsByIdentityFull: Database.Statement | undefined;

  private constructor(db: Database.Database) {
    this.db = db;
    this.statements = {
      insertEvent: db.prepare(`INSERT INTO raw_events
        (message_id, message_key, identity_key, user_id, anonymous_id, previous_id, type, event, event_time, time_source, skew_ms, received_at, app_version, properties, traits, raw, raw_hash, ingested_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      existingCopy: db.prepare('SELECT received_at, app_version, raw_hash, identity_key, user_id, anonymous_id, previous_id FROM raw_events WHERE message_key = ? AND message_id = ?'),
      countReceived: db.prepare('INSERT INTO received_minutes (minute, app_version, kind, lines) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET lines = lines + excluded.lines'),
      insertCopy: db.prepare('INSERT OR IGNORE INTO raw_copies (message_id, raw_hash) VALUES (?, ?)'),
      replaceEvent: db.prepare(`UPDATE raw_events SET identity_key=@identityKey, user_id=@userId, anonymous_id=@anonymousId, previous_id=@previousId,
        type=@type, event=@event, event_time=@eventTime, time_source=@timeSource, skew_ms=@skewMs, received_at=@receivedAt, app_version=@appVersion,
        properties=@properties, traits=@traits, raw=@raw, raw_hash=@rawHash, ingested_at=@ingestedAt WHERE message_key=@messageKey AND message_id=@messageId`),
      insertRejected: db.prepare(`INSERT OR IGNORE INTO rejected (raw_hash, reason, detail, received_at, message_id, event, app_version, raw, ingested_at)
        VALUES (@rawHash, @reason, @detail, @receivedAt, @messageId, @event, @appVersion, @raw, @ingestedAt)`),
      upsertLink: db.prepare(`INSERT INTO identity_links (from_id, to_id, event_time, message_id) VALUES (?, ?, ?, ?)
        ON CONFLICT (from_id) DO UPDATE SET to_id = excluded.to_id, event_time = excluded.event_time, message_id = excluded.message_id
        WHERE excluded.event_time < identity_links.event_time
           OR (excluded.event_time = identity_links.event_time AND excluded.message_id < identity_links.message_id)`),
      markDirty: db.prepare('INSERT INTO dirty_ids (id, mark) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET mark = excluded.mark'),
      bumpCounter: db.prepare(`INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`),
      listDirty: db.prepare('SELECT id, mark FROM dirty_ids ORDER BY id LIMIT ?'),
      clearDirty: db.prepare('DELETE FROM dirty_ids WHERE id = ? AND mark = ?'),
      saveCanonical: db.prepare('INSERT INTO identity_map (id, canonical_id) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET canonical_id = excluded.canonical_id'),
      saveProfile: db.prepare('INSERT INTO profiles (user_id, doc) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET doc = excluded.doc'),
      deleteProfile: db.prepare('DELETE FROM profiles WHERE user_id = ?'),
      readLease: db.prepare('SELECT holder, expires_at FROM leases WHERE name = ?'),
      writeLease: db.prepare('INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at'),
      deleteLease: db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?'),
    };
  }

  static open(path: string): SqliteRawStore {
    try {
      mkdirSync(dirname(path), { recursive: true });
      const db = new Database(path, { timeout: 15_000 });
      tuneConnection(db);
      db.function(MESSAGE_KEY_FUNCTION, { deterministic: true }, (messageId: unknown) => (typeof messageId === 'string' ? messageKey(messageId) : null));
      db.exec(SCHEMA);
      addMessageKeys(db);
      db.exec(MESSAGE_KEY_INDEX);
      addReceivedMinutes(db);
      return new SqliteRawStore(db);
    } catch (error) {
      if (isDiskFull(error, dirname(path))) throw diskFullError(dirname(path), `cannot open the raw store at ${path}`, error);
      throw new InfrastructureError(`cannot open the raw store at ${path}: ${(error as Error).message}`, {
        hint: isSqliteCorrupt(error) ? corruptSqliteHint(path) : 'check that the data directory is writable and not on a network filesystem without locking',
        cause: error,
        retriable: false,
      });
    }
  }

  async writeBatch(accepted: readonly AcceptedEvent[], rejected: readonly RejectedLine[]): Promise<WriteBatchResult> {
    return this.guard('write a batch', () => this.writeBatchSync(accepted.map(encodeEvent), rejected));
  }

  async writeEncodedBatch(accepted: readonly EncodedEvent[], rejected: readonly RejectedLine[]): Promise<WriteBatchResult> {
    return this.guard('write a batch', () => this.writeBatchSync(accepted, rejected));
  }

  private writeBatchSync(accepted: readonly EncodedEvent[], rejected: readonly RejectedLine[]): WriteBatchResult {
    const result: WriteBatchResult = { inserted: 0, replaced: 0, duplicates: 0, rejected: 0, rejectedDuplicates: 0 };
    const ingestedAt = Date.now();
    const s = this.statements;
    const run = this.db.transaction(() => {
      const received = new Map<string, { minute: number; appVersion: string; kind: string; lines: number }>();
      const countReceived = (receivedAt: number, appVersion: string | null, kind: string, lines: number) => {
        if (appVersion === null) return;
        const minute = receivedAt - (receivedAt % MINUTE_MS);
        const key = `${minute}\u0000${appVersion}\u0000${kind}`;
        const entry = received.get(key);
        if (entry) entry.lines += lines;
        else received.set(key, { minute, appVersion, kind, lines });
      };
      const dirty = new Set<string>();
      const links = new Map<string, { to: string; time: number; messageId: string }>();
      const noteLink = (from: string, to: string, time: number, messageId: string) => {
        if (from === to) return;
        const known = links.get(from);
        if (!known || time < known.time || (time === known.time && messageId < known.messageId)) links.set(from, { to, time, messageId });
      };
      for (const event of accepted) {
        const key = messageKey(event.messageId);
        const existing = s.existingCopy.get(key, event.messageId) as
          | { received_at: number; app_version: string | null; raw_hash: string; identity_key: string; user_id: string | null; anonymous_id: string | null; previous_id: string | null }
          | undefined;
        if (existing === undefined) {
          // Positional binding straight from the event: named parameters cost a property lookup per
          // column per row, and an intermediate row object is garbage on the hot path.
          s.insertEvent.run(
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
          result.inserted += 1;
          countReceived(event.receivedAt, event.appVersion, ACCEPTED_KIND, 1);
        } else {
          const earlier = event.receivedAt < existing.received_at || (event.receivedAt === existing.received_at && event.rawHash < existing.raw_hash);
          // Another distinct line of a stored message id (a retry): remembered so duplicate_storm can count copies.
          // A byte-identical line adds nothing, so re-ingesting the same input changes nothing.
          if (existing.raw_hash !== event.rawHash) {
            const added = s.insertCopy.run(event.messageId, existing.raw_hash).changes + s.insertCopy.run(event.messageId, event.rawHash).changes;
            if (added > 0) for (const id of [existing.identity_key, existing.user_id, existing.anonymous_id, existing.previous_id]) if (id) dirty.add(id);
          }
          if (!earlier) {
            result.duplicates += 1;
            continue;
          }
          s.replaceEvent.run(toRow(event, key, ingestedAt));
          result.replaced += 1;
          countReceived(existing.received_at, existing.app_version, ACCEPTED_KIND, -1);
          countReceived(event.receivedAt, event.appVersion, ACCEPTED_KIND, 1);
          for (const id of [existing.identity_key, existing.user_id, existing.anonymous_id, existing.previous_id]) if (id) dirty.add(id);
        }
        dirty.add(event.identityKey);
        if (event.anonymousId) dirty.add(event.anonymousId);
        if (event.previousId) dirty.add(event.previousId);
        if (event.userId && event.anonymousId) noteLink(event.anonymousId, event.userId, event.eventTime, event.messageId);
        if (event.previousId && event.userId) noteLink(event.previousId, event.userId, event.eventTime, event.messageId);
      }
      for (const [from, link] of links) s.upsertLink.run(from, link.to, link.time, link.messageId);
      if (dirty.size > 0) {
        const mark = (s.bumpCounter.get('dirty_mark') as { value: number }).value;
        for (const id of dirty) s.markDirty.run(id, mark);
      }
      for (const line of rejected) {
        const changes = s.insertRejected.run({ ...line, ingestedAt }).changes;
        if (changes === 1) {
          result.rejected += 1;
          countReceived(line.receivedAt, line.appVersion, line.reason, 1);
        } else result.rejectedDuplicates += 1;
      }
      for (const { minute, appVersion, kind, lines } of received.values()) if (lines !== 0) s.countReceived.run(minute, appVersion, kind, lines);
    });
    run.immediate();
    return result;
  }

  // A write group is one SQLite transaction: a commit rewrites every index page it touched, and
  // message ids and identity keys arrive in random order, so at millions of stored events each
  // 20k-event commit rewrote most of both indexes (measured on 3M events: 26.5 µs per insert
  // in 20k-event transactions, 16.7 µs in 200k-event ones). Writes inside the group (batches,
  // lease renewals) nest as savepoints.
  async beginWriteGroup(): Promise<void> {
    this.guard('begin a write group', () => this.db.exec('BEGIN IMMEDIATE'));
  }

  async commitWriteGroup(): Promise<void> {
    this.guard('commit a write group', () => this.db.exec('COMMIT'));
  }

  async abandonWriteGroup(): Promise<void> {
    if (this.db.inTransaction) this.guard('abandon a write group', () => this.db.exec('ROLLBACK'));
  }

  async listDirtyIds(limit: number): Promise<DirtyId[]> {
    return this.guard('list dirty ids', () => this.statements.listDirty.all(limit) as DirtyId[]);
  }

  async markDirty(ids: readonly string[]): Promise<void> {
    this.guard('mark ids dirty', () =>
      this.db.transaction(() => {
        const mark = (this.statements.bumpCounter.get('dirty_mark') as { value: number }).value;
        for (const id of ids) this.statements.markDirty.run(id, mark);
      }).immediate(),
    );
  }

  async clearDirtyIds(ids: readonly DirtyId[]): Promise<void> {
    this.guard('clear dirty ids', () =>
      this.db.transaction(() => {
        for (const { id, mark } of ids) this.statements.clearDirty.run(id, mark);
      }).immediate(),
    );
  }

  async linkTargets(ids: readonly string[]): Promise<Map<string, string>> {
    const targets = new Map<string, string>();
    for (const chunk of chunks(ids)) {
      const rows = this.db.prepare(`SELECT from_id, to_id FROM identity_links WHERE from_id IN (${placeholders(chunk)})`).all(...chunk) as Array<{ from_id: string; to_id: string }>;
      for (const row of rows) targets.set(row.from_id, row.to_id);
    }
    return targets;
  }

  async linkSources(ids: readonly string[]): Promise<string[]> {
    const sources: string[] = [];
    for (const chunk of chunks(ids)) {
      const rows = this.db.prepare(`SELECT from_id FROM identity_links WHERE to_id IN (${placeholders(chunk)})`).all(...chunk) as Array<{ from_id: string }>;
      for (const row of rows) sources.push(row.from_id);
    }
    return sources;
  }

  async canonicalOf(ids: readonly string[]): Promise<Map<string, string>> {
    const canonical = new Map<string, string>();
    for (const chunk of chunks(ids)) {
      const rows = this.db.prepare(`SELECT id, canonical_id FROM identity_map WHERE id IN (${placeholders(chunk)})`).all(...chunk) as Array<{ id: string; canonical_id: string }>;
      for (const row of rows) canonical.set(row.id, row.canonical_id);
    }
    return canonical;
  }

  async membersOf(userIds: readonly string[]): Promise<Map<string, string[]>> {
    const members = new Map<string, string[]>();
    for (const chunk of chunks(userIds)) {
      const rows = this.db.prepare(`SELECT id, canonical_id FROM identity_map WHERE canonical_id IN (${placeholders(chunk)})`).all(...chunk) as Array<{ id: string; canonical_id: string }>;
      for (const row of rows) {
        const list = members.get(row.canonical_id);
        if (list) list.push(row.id);
        else members.set(row.canonical_id, [row.id]);
      }
    }
    return members;
  }

  async saveCanonical(assignments: ReadonlyArray<{ id: string; canonicalId: string }>): Promise<void> {
    this.guard('save identity map', () =>
      this.db.transaction(() => {
        for (const { id, canonicalId } of assignments) this.statements.saveCanonical.run(id, canonicalId);
      }).immediate(),
    );
  }

  async eventsByIdentity(identityKeys: readonly string[]): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for (const chunk of chunks(identityKeys)) {
      // Rows as arrays (better-sqlite3's raw mode): derive reads every stored event back, and
      // building a keyed row object first cost ~1 µs of its ~5 µs per event.
      const statement = chunk.length === IN_CHUNK ? (this.eventsByIdentityFull ??= this.prepareEventsByIdentity(IN_CHUNK)) : this.prepareEventsByIdentity(chunk.length);
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
          copies: Math.max(1, row[13]),
        });
      }
    }
    return events;
  }

  private prepareEventsByIdentity(keys: number): Database.Statement {
    return this.db
      .prepare(`SELECT message_id, identity_key, user_id, anonymous_id, type, event, event_time, received_at, time_source, skew_ms, app_version, properties, traits, ${COPY_ROWS}
                FROM raw_events WHERE identity_key IN (${Array.from({ length: keys }, () => '?').join(',')})`)
      .raw(true);
  }

  async rawLinesByIdentity(identityKeys: readonly string[]): Promise<StoredLine[]> {
    const lines: StoredLine[] = [];
    for (const chunk of chunks(identityKeys)) {
      const rows = this.db.prepare(`SELECT raw, received_at, ${COPY_ROWS} AS copy_rows FROM raw_events WHERE identity_key IN (${placeholders(chunk)})`).all(...chunk) as Array<{ raw: string; received_at: number; copy_rows: number }>;
      for (const row of rows) lines.push({ raw: row.raw, receivedAt: row.received_at, copies: Math.max(1, row.copy_rows) });
    }
    return lines;
  }

  async identityKeysInRange(range: Required<TimeRange>): Promise<string[]> {
    const rows = this.db.prepare('SELECT DISTINCT identity_key FROM raw_events WHERE event_time >= ? AND event_time < ? ORDER BY identity_key').all(range.from, range.to) as Array<{ identity_key: string }>;
    return rows.map((row) => row.identity_key);
  }

  async appendCorrection(correction: Omit<Correction, 'id'>): Promise<Correction> {
    return this.guard('append a correction', () =>
      this.db
        .transaction(() => {
          // The immediate transaction holds the write lock, so the next sequence number is ours alone.
          const seq = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM corrections').get() as { seq: number }).seq;
          const stored: Correction = { id: `c${seq}`, ...correction };
          this.db.prepare('INSERT INTO corrections (seq, doc) VALUES (?, ?)').run(seq, JSON.stringify(stored));
          return stored;
        })
        .immediate(),
    );
  }

  async listCorrections(): Promise<Correction[]> {
    return (this.db.prepare('SELECT doc FROM corrections ORDER BY seq').all() as Array<{ doc: string }>).map((row) => JSON.parse(row.doc) as Correction);
  }

  async identityKeysForEvents(filter: EventFilter): Promise<string[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.event !== undefined) {
      conditions.push('event = ?');
      params.push(filter.event);
    }
    if (filter.appVersion !== undefined) {
      conditions.push('app_version = ?');
      params.push(filter.appVersion);
    }
    if (filter.since !== undefined) {
      conditions.push('event_time >= ?');
      params.push(filter.since);
    }
    if (filter.until !== undefined) {
      conditions.push('event_time < ?');
      params.push(filter.until);
    }
    if (filter.userId !== undefined) {
      conditions.push('identity_key IN (SELECT id FROM identity_map WHERE canonical_id = ? UNION SELECT ?)');
      params.push(filter.userId, filter.userId);
    }
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    return (this.db.prepare(`SELECT DISTINCT identity_key FROM raw_events ${where} ORDER BY identity_key`).all(...params) as Array<{ identity_key: string }>).map((row) => row.identity_key);
  }

  async identityKeysOfMessages(messageIds: readonly string[]): Promise<Map<string, string>> {
    const keys = new Map<string, string>();
    for (const chunk of chunks(messageIds)) {
      const rows = this.db
        .prepare(`SELECT message_id, identity_key FROM raw_events WHERE message_key IN (${placeholders(chunk)}) AND message_id IN (${placeholders(chunk)})`)
        .all(...chunk.map(messageKey), ...chunk) as Array<{ message_id: string; identity_key: string }>;
      for (const row of rows) keys.set(row.message_id, row.identity_key);
    }
    return keys;
  }

  async readMeta(key: string): Promise<string | null> {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  async writeMeta(key: string, value: string | null): Promise<void> {
    this.guard('write meta', () => {
      if (value === null) this.db.prepare('DELETE FROM meta WHERE key = ?').run(key);
      else this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
    });
  }

  async saveProfiles(profiles: readonly Profile[], removedUserIds: readonly string[]): Promise<void> {
    this.guard('save profiles', () =>
      this.db.transaction(() => {
        for (const profile of profiles) this.statements.saveProfile.run(profile.userId, JSON.stringify(profile));
        for (const userId of removedUserIds) this.statements.deleteProfile.run(userId);
      }).immediate(),
    );
  }

  async *streamProfiles(): AsyncIterable<Profile> {
    for (const row of this.db.prepare('SELECT doc FROM profiles ORDER BY user_id').iterate() as Iterable<{ doc: string }>) {
      yield JSON.parse(row.doc) as Profile;
    }
  }

  async *streamRejected(range: TimeRange): AsyncIterable<RejectedLine> {
    const rows = this.db
      .prepare(`SELECT ${REJECTED_COLUMNS} FROM rejected
                WHERE received_at >= ? AND received_at < ? ORDER BY received_at, raw_hash`)
      .iterate(range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER) as Iterable<Record<string, unknown>>;
    for (const row of rows) yield rejectedFromRow(row);
  }

  async tailEvents(after: string | null, filter: TailFilter, limit: number): Promise<TailPage<TailedEvent>> {
    const start = parseTailCursor(after);
    return this.guard('tail events', () => tailEvents(this.db, start, filter, limit));
  }

  async tailRejected(after: string | null, filter: TailFilter, limit: number): Promise<TailPage<RejectedLine>> {
    const start = parseTailCursor(after);
    return this.guard('tail rejected lines', () => tailRejected(this.db, start, filter, limit));
  }

  async tailEnd(kind: TailKind): Promise<string> {
    return this.guard('find the end of the store', () => tailEnd(this.db, kind));
  }

  async profileOf(userId: string): Promise<Profile | null> {
    const row = this.guard('read a profile', () => this.db.prepare('SELECT doc FROM profiles WHERE user_id = ?').get(userId) as { doc: string } | undefined);
    return row ? (JSON.parse(row.doc) as Profile) : null;
  }

  async counts(): Promise<{ events: number; rejected: number; profiles: number; dirty: number; copies: number }> {
    const count = (table: string) => (this.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    // Nothing is ever deleted from these two (see sqlite-tail.ts), so the last rowid is the count:
    // one index step instead of a scan. A stream refreshes its signals with this before every
    // derive, and count(*) took 0.23 s on 4M stored events.
    const last = (table: string) => (this.db.prepare(`SELECT coalesce(max(rowid), 0) AS n FROM ${table}`).get() as { n: number }).n;
    return { events: last('raw_events'), rejected: last('rejected'), profiles: count('profiles'), dirty: count('dirty_ids'), copies: count('raw_copies') };
  }

  async receivedCounts(range: TimeRange, options: { bucketMs: number; lateAfterMs: number }): Promise<ReceivedCounts[]> {
    return this.guard('count received lines', () => {
      const bucket = Math.max(1, Math.trunc(options.bucketMs));
      const from = range.from ?? 0;
      const to = range.to ?? Number.MAX_SAFE_INTEGER;
      const rows = new Map<string, ReceivedCounts>();
      const rowOf = (bucketStart: number, appVersion: string | null) => {
        const key = `${bucketStart}\u0000${appVersion ?? '\u0001'}`;
        let row = rows.get(key);
        if (!row) rows.set(key, (row = { bucketStart, appVersion, accepted: 0, late: 0, extraCopies: 0, rejected: {} }));
        return row;
      };
      const accepted = this.db
        .prepare(`SELECT received_at - received_at % ? AS bucket, app_version, count(*) AS accepted, sum(received_at - event_time > ?) AS late
                  FROM raw_events WHERE received_at >= ? AND received_at < ? GROUP BY bucket, app_version`)
        .all(bucket, options.lateAfterMs, from, to) as Array<{ bucket: number; app_version: string | null; accepted: number; late: number }>;
      for (const r of accepted) Object.assign(rowOf(r.bucket, r.app_version), { accepted: r.accepted, late: r.late });
      // CROSS JOIN keeps raw_copies (small) outside: SQLite would otherwise walk every event of the range and probe it.
      const copies = this.db
        .prepare(`SELECT e.received_at - e.received_at % ? AS bucket, e.app_version, count(*) - count(DISTINCT c.message_id) AS extra
                  FROM raw_copies c CROSS JOIN raw_events e ON e.message_key = ${MESSAGE_KEY_FUNCTION}(c.message_id) AND e.message_id = c.message_id WHERE e.received_at >= ? AND e.received_at < ? GROUP BY bucket, e.app_version`)
        .all(bucket, from, to) as Array<{ bucket: number; app_version: string | null; extra: number }>;
      for (const r of copies) rowOf(r.bucket, r.app_version).extraCopies = r.extra;
      const rejected = this.db
        .prepare(`SELECT received_at - received_at % ? AS bucket, app_version, reason, count(*) AS n FROM rejected
                  WHERE received_at >= ? AND received_at < ? GROUP BY bucket, app_version, reason`)
        .all(bucket, from, to) as Array<{ bucket: number; app_version: string | null; reason: RejectReason; n: number }>;
      for (const r of rejected) rowOf(r.bucket, r.app_version).rejected[r.reason] = r.n;
      return [...rows.values()];
    });
  }

  async receivedLineCounts(bucketMs: number): Promise<ReceivedLines[]> {
    // Minutes add up to buckets of whole minutes only; another width reads every stored line.
    if (bucketMs % MINUTE_MS !== 0) return linesWithVersion(await this.receivedCounts({}, { bucketMs, lateAfterMs: 0 }));
    return this.guard('count received lines', () => {
      const rows = new Map<string, ReceivedLines>();
      const counted = this.db
        .prepare('SELECT minute - minute % ? AS bucket, app_version, kind, sum(lines) AS n FROM received_minutes GROUP BY bucket, app_version, kind HAVING n != 0')
        .all(bucketMs) as Array<{ bucket: number; app_version: string; kind: string; n: number }>;
      for (const r of counted) {
        const key = `${r.bucket}\u0000${r.app_version}`;
        let row = rows.get(key);
        if (!row) rows.set(key, (row = { bucketStart: r.bucket, appVersion: r.app_version, accepted: 0, rejected: {} }));
        if (r.kind === ACCEPTED_KIND) row.accepted = r.n;
        else row.rejected[r.kind as RejectReason] = r.n;
      }
      return [...rows.values()];
    });
  }

  async acceptedPerDay(range: TimeRange): Promise<Array<{ day: string; activity: number; identity: number }>> {
    return this.guard('count accepted events per day', () => {
      // A few days of a large store: the event_time index; otherwise one pass over the table beats its lookups.
      const narrow = range.from !== undefined && range.to !== undefined && range.to - range.from <= 2 * 86_400_000;
      const rows = this.db
        .prepare(`SELECT event_time / 86400000 AS day, sum(type IN ('track', 'page', 'screen')) AS activity, sum(type IN ('identify', 'alias')) AS identity
                  FROM raw_events ${narrow ? '' : 'NOT INDEXED'} WHERE event_time >= ? AND event_time < ? GROUP BY day ORDER BY day`)
        .all(range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER) as Array<{ day: number; activity: number; identity: number }>;
      return rows.map((r) => ({ day: new Date(r.day * 86_400_000).toISOString().slice(0, 10), activity: r.activity, identity: r.identity }));
    });
  }



  async nextVersion(): Promise<number> {
    return this.guard('allocate a version', () => (this.statements.bumpCounter.get('version') as { value: number }).value);
  }

  async acquireLease(name: string, holder: LeaseHolder, ttlMs: number): Promise<LeaseResult> {
    return this.guard('take a lease', () =>
      this.db
        .transaction((): LeaseResult => {
          const now = Date.now();
          const current = this.statements.readLease.get(name) as { holder: string; expires_at: number } | undefined;
          if (current) {
            const other = JSON.parse(current.holder) as LeaseHolder;
            const mine = other.pid === holder.pid && other.hostname === holder.hostname && other.startedAt === holder.startedAt;
            if (!mine && current.expires_at > now && isAlive(other)) return { acquired: false, holder: other, expiresAt: current.expires_at };
          }
          this.statements.writeLease.run(name, JSON.stringify(holder), now + ttlMs);
          return { acquired: true };
        })
        .immediate(),
    );
  }

  async releaseLease(name: string, holder: LeaseHolder): Promise<void> {
    this.guard('release a lease', () => this.statements.deleteLease.run(name, JSON.stringify(holder)));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /**
   * SQLite's check of every page (`journeyctl doctor`): quick_check (pages and b-trees, linear in the
   * file) or, thorough, integrity_check (indexes against their tables too). At most 20 problems; [] when ok.
   */
  checkPages(thorough: boolean): string[] {
    try {
      const rows = this.db.prepare(`PRAGMA ${thorough ? 'integrity_check' : 'quick_check'}(20)`).all() as Array<Record<string, string>>;
      const problems = rows.map((row) => Object.values(row)[0]!).filter((message) => message !== 'ok');
      return problems;
    } catch (error) {
      return [(error as Error).message];
    }
  }

  /** better-sqlite3 is synchronous; a locked or failing database becomes a typed, retriable infrastructure error. */
  private guard<T>(what: string, action: () => T): T {
    try {
      return action();
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      const busy = code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
      if (!busy && isDiskFull(error, dirname(this.db.name))) throw diskFullError(dirname(this.db.name), `raw store: cannot ${what}`, error);
      throw new InfrastructureError(`raw store: cannot ${what}: ${(error as Error).message}`, {
        hint: busy ? 'another journeyctl process is writing the same data directory; try again when it finishes' : isSqliteCorrupt(error) ? corruptSqliteHint(this.db.name) : undefined,
        cause: error,
        retriable: busy,
      });
    }
  }
}

/** meta key: while a store from before message keys is being filled, the rowid filled through. */
const MESSAGE_KEY_FILL = 'raw_events.message_key_filled_through';
const MESSAGE_KEY_FILL_ROWS = 20_000;

/**
 * A store created before message keys: adds the column, then fills it in rowid ranges, each its
 * own commit (one UPDATE of a whole 4M-event store held every changed page in memory: 3.5 GB).
 * Progress is in meta, so a process killed part-way, or a second one opening meanwhile, carries
 * on where it stands; open() returns only once every row has its key. Such a store keeps its old
 * unique index on the message id text as well, which agrees with the keys.
 */
/** A store from before received_minutes: creates and fills it in one transaction (~1 s per million stored lines, once). */
function addReceivedMinutes(db: Database.Database): void {
  const exists = () => (db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'received_minutes'`).get() as { n: number }).n > 0;
  if (exists()) return;
  db.transaction(() => {
    if (!exists()) db.exec(RECEIVED_MINUTES);
  }).immediate();
}

function addMessageKeys(db: Database.Database): void {
  const hasColumn = () => (db.prepare(`SELECT count(*) AS n FROM pragma_table_info('raw_events') WHERE name = 'message_key'`).get() as { n: number }).n > 0;
  const progress = () => (db.prepare('SELECT value FROM meta WHERE key = ?').get(MESSAGE_KEY_FILL) as { value: string } | undefined)?.value;
  if (!hasColumn()) {
    db.transaction(() => {
      if (hasColumn()) return;
      db.exec('ALTER TABLE raw_events ADD COLUMN message_key INTEGER NOT NULL DEFAULT -1');
      db.prepare(`INSERT INTO meta (key, value) VALUES (?, '0')`).run(MESSAGE_KEY_FILL);
    }).immediate();
  }
  if (progress() === undefined) return;
  const fill = db.prepare(`UPDATE raw_events SET message_key = ${MESSAGE_KEY_FUNCTION}(message_id) WHERE rowid > ? AND rowid <= ?`);
  const last = (db.prepare('SELECT coalesce(max(rowid), 0) AS last FROM raw_events').get() as { last: number }).last;
  for (;;) {
    const done = db
      .transaction(() => {
        const through = progress();
        if (through === undefined) return true;
        const from = Number(through);
        if (from >= last) {
          db.prepare('DELETE FROM meta WHERE key = ?').run(MESSAGE_KEY_FILL);
          return true;
        }
        fill.run(from, from + MESSAGE_KEY_FILL_ROWS);
        db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(String(from + MESSAGE_KEY_FILL_ROWS), MESSAGE_KEY_FILL);
        return false;
      })
      .immediate();
    if (done) return;
  }
}

function toRow(event: EncodedEvent, messageKey: number, ingestedAt: number) {
  return {
    messageId: event.messageId,
    messageKey,
    identityKey: event.identityKey,
    userId: event.userId,
    anonymousId: event.anonymousId,
    previousId: event.previousId,
    type: event.type,
    event: event.event,
    eventTime: event.eventTime,
    timeSource: event.timeSource,
    skewMs: event.skewMs,
    receivedAt: event.receivedAt,
    appVersion: event.appVersion,
    properties: event.propertiesJson,
    traits: event.traitsJson,
    raw: event.raw,
    rawHash: event.rawHash,
    ingestedAt,
  };
}

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let start = 0; start < items.length; start += IN_CHUNK) yield items.slice(start, start + IN_CHUNK);
}

function placeholders(items: readonly unknown[]): string {
  return items.map(() => '?').join(',');
}

/** A holder on this host whose process is gone has released the lease, whatever its expiry says. */
function isAlive(holder: LeaseHolder): boolean {
  if (holder.hostname !== hostnameOfThisMachine) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const hostnameOfThisMachine = hostname();
