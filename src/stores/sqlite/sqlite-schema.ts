import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { InfrastructureError } from '../../errors.js';
import { diskFullError, isDiskFull } from '../disk-full.js';
import { isHolderAlive } from '../lease.js';
import { corruptSqliteHint, isSqliteCorrupt } from './corruption.js';
import { messageKey } from './message-key.js';

/** The embedded raw store's tables, and the upgrades of a store an earlier build created. */
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
-- No index on received time: it slowed backlog inserts more than it sped up the aggregates that read
-- every row (figures: docs/decisions/0013). Dropped where an earlier build created it.
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

/**
 * raw_events' indexes: a bulk load into an empty store builds them once at its end instead of row
 * by row (beginBulkLoad; figures: docs/decisions/0028). Dedup's message-key index too: meanwhile
 * the loading process holds the keys in memory (BulkLoadKeys). Created after addMessageKeys: a store
 * from before message keys has no column to index until then.
 */
const SECONDARY_INDEXES = {
  // Not unique: two message ids may share a key; every lookup compares the message id itself.
  raw_events_message_key: 'CREATE INDEX IF NOT EXISTS raw_events_message_key ON raw_events (message_key)',
  raw_events_identity_time: 'CREATE INDEX IF NOT EXISTS raw_events_identity_time ON raw_events (identity_key, event_time)',
  raw_events_event_time: 'CREATE INDEX IF NOT EXISTS raw_events_event_time ON raw_events (event_time)',
  // Identity conflicts (IdentityGraph.anonymousIdUsers): only events carrying both ids are indexed.
  raw_events_anonymous_user: 'CREATE INDEX IF NOT EXISTS raw_events_anonymous_user ON raw_events (anonymous_id, user_id, event_time) WHERE anonymous_id IS NOT NULL AND user_id IS NOT NULL',
} as const;
type SecondaryIndex = keyof typeof SECONDARY_INDEXES;
const SECONDARY_INDEX_NAMES = Object.keys(SECONDARY_INDEXES) as SecondaryIndex[];
/** What a derive reads by: a user's events, and the users of an anonymous id. The others serve dedup (later writes) and days. */
const DERIVE_INDEX_NAMES: readonly SecondaryIndex[] = ['raw_events_identity_time', 'raw_events_anonymous_user'];

/** meta key: while a bulk load runs without the secondary indexes, its process (JSON { pid, hostname }). */
export const BULK_LOAD_META = 'raw_events.bulk_load';

/**
 * Lines received per minute of received time, app version and kind ('accepted' or the reject
 * reason), lines without an app version left out: what release-burst detection reads
 * (receivedLineCounts), kept by every write in its own transaction so that detection, which a
 * stream runs every minute or so, does not read every stored line (docs/decisions/0013).
 * Created and filled from the stored lines in one transaction by addReceivedMinutes.
 */
export const MINUTE_MS = 60_000;
export const ACCEPTED_KIND = 'accepted';
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
export const MESSAGE_KEY_FUNCTION = 'journeyctl_message_key';

/** The connection settings of the raw store (also what the storage-floor benchmark measures with). */
export function tuneConnection(db: Database.Database): void {
  // 16 KiB pages for a new store (SQLite ignores this for an existing one, and once WAL is on):
  // ~1 KB event rows and three indexes on random keys insert cheaper (docs/decisions/0009).
  db.pragma('page_size = 16384');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  // Checkpoint the WAL every ~80 MB instead of every 4 MB: frequent checkpoints dominated bulk ingest (docs/decisions/0009).
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${Math.ceil((80 << 20) / pageSize)}`);
}

/** Opens (creating and upgrading as needed) the raw store's database; a failure is a typed error naming the file. */
export function openRawDatabase(path: string): Database.Database {
  try {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { timeout: 15_000 });
    tuneConnection(db);
    db.function(MESSAGE_KEY_FUNCTION, { deterministic: true }, (messageId: unknown) => (typeof messageId === 'string' ? messageKey(messageId) : null));
    db.exec(SCHEMA);
    addMessageKeys(db);
    addReceivedMinutes(db);
    ensureSecondaryIndexes(db);
    return db;
  } catch (error) {
    if (isDiskFull(error, dirname(path))) throw diskFullError(dirname(path), `cannot open the raw store at ${path}`, error);
    throw new InfrastructureError(`cannot open the raw store at ${path}: ${(error as Error).message}`, {
      hint: isSqliteCorrupt(error) ? corruptSqliteHint(path) : 'check that the data directory is writable and not on a network filesystem without locking',
      cause: error,
      retriable: false,
    });
  }
}

/** meta key: while a store from before message keys is being filled, the rowid filled through. */
const MESSAGE_KEY_FILL = 'raw_events.message_key_filled_through';
const MESSAGE_KEY_FILL_ROWS = 20_000;

/** A store from before received_minutes: creates and fills it in one transaction, once (cost: docs/decisions/0013). */
function addReceivedMinutes(db: Database.Database): void {
  const exists = () => (db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'received_minutes'`).get() as { n: number }).n > 0;
  if (exists()) return;
  db.transaction(() => {
    if (!exists()) db.exec(RECEIVED_MINUTES);
  }).immediate();
}

/**
 * A store created before message keys: adds the column, then fills it in rowid ranges, each its
 * own commit (one UPDATE of a whole store holds every changed page in memory; docs/decisions/0010).
 * Progress is in meta, so a process killed part-way, or a second one opening meanwhile, carries
 * on where it stands; open() returns only once every row has its key. Such a store keeps its old
 * unique index on the message id text as well, which agrees with the keys.
 */
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

type BulkLoadState = { missing: boolean; holder: { pid: number; hostname: string } | null };

/** Whether a secondary index is missing and who holds a bulk load, read in one snapshot (beginBulkLoad changes both in one transaction). */
function bulkLoadState(db: Database.Database): BulkLoadState {
  return db.transaction((): BulkLoadState => {
    const present = (
      db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND name IN (${SECONDARY_INDEX_NAMES.map(() => '?').join(',')})`).get(...SECONDARY_INDEX_NAMES) as { n: number }
    ).n;
    const marker = (db.prepare('SELECT value FROM meta WHERE key = ?').get(BULK_LOAD_META) as { value: string } | undefined)?.value;
    return { missing: present < SECONDARY_INDEX_NAMES.length, holder: marker === undefined ? null : (JSON.parse(marker) as { pid: number; hostname: string }) };
  })();
}

/**
 * On open: the secondary indexes exist, unless a live process is bulk loading (it builds them at
 * its end). A bulk load whose process died (SIGKILL mid-file) is finished here by whoever opens
 * next. Read first, so an open beside a bulk load takes no write lock.
 */
function ensureSecondaryIndexes(db: Database.Database): void {
  const seen = bulkLoadState(db);
  if (!seen.missing && seen.holder === null) return;
  if (seen.holder !== null && isHolderAlive(seen.holder)) return;
  sortingOnDisk(db, () =>
    db
      .transaction(() => {
        const now = bulkLoadState(db);
        if (now.holder !== null && isHolderAlive(now.holder)) return;
        finishBulkLoadInTransaction(db);
      })
      .immediate(),
  );
}

function finishBulkLoadInTransaction(db: Database.Database): void {
  for (const name of SECONDARY_INDEX_NAMES) db.exec(SECONDARY_INDEXES[name]);
  db.prepare('DELETE FROM meta WHERE key = ?').run(BULK_LOAD_META);
}

/**
 * Index builds sort through temporary files, not memory: with the connection's temp_store =
 * MEMORY the sort of a 4M-line store's keys stayed resident and raised the run's peak RSS (ADR 0028).
 */
function sortingOnDisk<T>(db: Database.Database, action: () => T): T {
  db.pragma('temp_store = FILE');
  try {
    return action();
  } finally {
    db.pragma('temp_store = MEMORY');
  }
}

/**
 * Starts a bulk load if the store holds no accepted event: drops the secondary indexes and notes
 * this process as their builder, in one transaction. False (nothing changed) on a store with events.
 */
export function beginBulkLoad(db: Database.Database): boolean {
  return db
    .transaction(() => {
      if (db.prepare('SELECT 1 FROM raw_events LIMIT 1').get() !== undefined) return false;
      for (const name of SECONDARY_INDEX_NAMES) db.exec(`DROP INDEX IF EXISTS ${name}`);
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(BULK_LOAD_META, JSON.stringify({ pid: process.pid, hostname: hostname() }));
      return true;
    })
    .immediate();
}

/** Builds the secondary indexes a bulk load left out and clears its note (a no-op when none runs). */
export function endBulkLoad(db: Database.Database): void {
  sortingOnDisk(db, () => db.transaction(() => finishBulkLoadInTransaction(db)).immediate());
}

/** Builds the indexes a derive reads by, in one transaction; the bulk load goes on (its note stays). */
export function buildDeriveIndexes(db: Database.Database): void {
  sortingOnDisk(db, () =>
    db
      .transaction(() => {
        for (const name of DERIVE_INDEX_NAMES) db.exec(SECONDARY_INDEXES[name]);
      })
      .immediate(),
  );
}

/**
 * endBulkLoad, one index per transaction, the note cleared with the last: a writer waiting for
 * the lock meanwhile (a derive's profiles and dirty marks) waits for one index, not for all.
 */
export function endBulkLoadIndexByIndex(db: Database.Database): void {
  sortingOnDisk(db, () => {
    const missing = SECONDARY_INDEX_NAMES.filter((name) => db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?`).get(name) === undefined);
    for (const name of missing.slice(0, -1)) db.transaction(() => db.exec(SECONDARY_INDEXES[name])).immediate();
    db.transaction(() => finishBulkLoadInTransaction(db)).immediate();
  });
}
