import type Database from 'better-sqlite3';
import type { EventType, RejectedLine, RejectReason, TimeSource } from '../../domain/event.js';
import { UsageError } from '../../errors.js';
import type { TailedEvent, TailFilter, TailKind, TailPage, TailWhere } from '../raw-store.js';
import { jsonCandidates } from '../tail-match.js';

/**
 * Tail reads over the embedded raw store. Arrival order is SQLite's rowid: one writer at a
 * time, each insert takes max(rowid) + 1 and nothing is ever deleted from these tables, so a
 * committed row never appears below one a reader has already passed. (An earlier-received
 * copy that replaces a stored event keeps the stored row's place.)
 *
 * Each read is one short statement over at most SCAN_WINDOW rowids, so no read transaction
 * stays open between polls and the writer's WAL checkpoints are never held back for long.
 */
const SCAN_WINDOW = 20_000;
const MAX_PAGE = 10_000;

const TABLE: Record<TailKind, string> = { events: 'raw_events', rejected: 'rejected' };

interface Query {
  conditions: string[];
  params: unknown[];
}

/** The columns of the rejected table that make a RejectedLine, and the mapping: shared by export and tail reads. */
export const REJECTED_COLUMNS = 'raw_hash, reason, detail, received_at, message_id, event, app_version, raw';

export function rejectedFromRow(row: Record<string, unknown>): RejectedLine {
  return {
    raw: row.raw as string,
    rawHash: row.raw_hash as string,
    reason: row.reason as RejectReason,
    detail: row.detail as string,
    receivedAt: row.received_at as number,
    messageId: row.message_id as string | null,
    event: row.event as string | null,
    appVersion: row.app_version as string | null,
  };
}

export function tailEnd(db: Database.Database, kind: TailKind): string {
  return String(maxRowid(db, kind));
}

export function tailEvents(db: Database.Database, start: number, filter: TailFilter, limit: number): TailPage<TailedEvent> {
  const query: Query = { conditions: [], params: [] };
  if (filter.ids !== undefined) {
    const marks = filter.ids.map(() => '?').join(',') || 'NULL';
    query.conditions.push(`(user_id IN (${marks}) OR anonymous_id IN (${marks}) OR previous_id IN (${marks}))`);
    query.params.push(...filter.ids, ...filter.ids, ...filter.ids);
  }
  addCommon(query, filter, 'event', 'app_version');
  for (const where of filter.where ?? []) {
    const [root, ...rest] = where.path;
    const column = root === 'properties' ? 'properties' : root === 'traits' ? 'traits' : root === 'context' ? 'raw' : null;
    const path = jsonPath(root === 'context' ? where.path : rest);
    if (column === null || path === null) {
      query.conditions.push('0');
      continue;
    }
    addJsonEquals(query, column, path, where);
  }
  return page(
    db,
    'events',
    start,
    limit,
    query,
    `message_id, identity_key, user_id, anonymous_id, type, event, event_time, received_at, time_source, skew_ms, app_version, properties, traits, raw`,
    (row) => ({
      messageId: row.message_id as string,
      type: row.type as EventType,
      event: row.event as string,
      identityKey: row.identity_key as string,
      userId: row.user_id as string | null,
      anonymousId: row.anonymous_id as string | null,
      eventTime: row.event_time as number,
      receivedAt: row.received_at as number,
      timeSource: row.time_source as TimeSource,
      skewMs: row.skew_ms as number,
      appVersion: row.app_version as string | null,
      propertiesJson: row.properties as string,
      traitsJson: row.traits as string,
      raw: row.raw as string,
    }),
  );
}

export function tailRejected(db: Database.Database, start: number, filter: TailFilter, limit: number): TailPage<RejectedLine> {
  const query: Query = { conditions: [], params: [] };
  // A refused line may not be JSON at all: JSON is only looked into when it is valid.
  const fromLine = (path: string) => `(CASE WHEN json_valid(raw) THEN raw ->> '${path}' END)`;
  if (filter.ids !== undefined) {
    const marks = filter.ids.map(() => '?').join(',') || 'NULL';
    query.conditions.push(`(${fromLine('$.userId')} IN (${marks}) OR ${fromLine('$.anonymousId')} IN (${marks}))`);
    query.params.push(...filter.ids, ...filter.ids);
  }
  addCommon(query, filter, 'event', 'app_version');
  for (const where of filter.where ?? []) {
    const path = ['properties', 'context', 'traits'].includes(where.path[0] ?? '') ? jsonPath(where.path) : null;
    if (path === null) {
      query.conditions.push('0');
      continue;
    }
    addJsonEquals(query, '(CASE WHEN json_valid(raw) THEN raw END)', path, where);
  }
  return page(db, 'rejected', start, limit, query, REJECTED_COLUMNS, rejectedFromRow);
}

function page<T>(db: Database.Database, kind: TailKind, start: number, limit: number, query: Query, columns: string, map: (row: Record<string, unknown>) => T): TailPage<T> {
  const end = maxRowid(db, kind);
  if (start >= end) return { records: [], cursor: String(start), more: false, behind: 0 };
  const windowEnd = Math.min(end, start + SCAN_WINDOW);
  const size = Math.max(1, Math.min(MAX_PAGE, Math.floor(limit)));
  const where = ['rowid > ?', 'rowid <= ?', ...query.conditions].join(' AND ');
  const rows = db.prepare(`SELECT rowid AS seq, ${columns} FROM ${TABLE[kind]} WHERE ${where} ORDER BY rowid LIMIT ?`).all(start, windowEnd, ...query.params, size) as Array<Record<string, unknown>>;
  const records = rows.map((row) => ({ cursor: String(row.seq), value: map(row) }));
  const cursor = rows.length === size ? Number(rows[rows.length - 1]!.seq) : windowEnd;
  return { records, cursor: String(cursor), more: cursor < end, behind: end - cursor };
}

function addCommon(query: Query, filter: TailFilter, eventColumn: string, versionColumn: string): void {
  if (filter.event !== undefined) {
    query.conditions.push(`${eventColumn} = ?`);
    query.params.push(filter.event);
  }
  if (filter.appVersion !== undefined) {
    query.conditions.push(`${versionColumn} = ?`);
    query.params.push(filter.appVersion);
  }
  if (filter.receivedFrom !== undefined) {
    query.conditions.push('received_at >= ?');
    query.params.push(filter.receivedFrom);
  }
  if (filter.receivedTo !== undefined) {
    query.conditions.push('received_at < ?');
    query.params.push(filter.receivedTo);
  }
}

/** `->` gives the JSON text of the value: compared with the value as a JSON string and as the scalar it spells. */
function addJsonEquals(query: Query, column: string, path: string, where: TailWhere): void {
  const candidates = jsonCandidates(where.value);
  query.conditions.push(`(${column} -> ?) IN (${candidates.map(() => '?').join(',')})`);
  query.params.push(path, ...candidates);
}

/** A SQLite JSON path with every key quoted; null when a key cannot be expressed (SQLite paths have no escape for `"`). */
function jsonPath(segments: readonly string[]): string | null {
  let path = '$';
  for (const segment of segments) {
    if (segment === '' || /["\\\u0000-\u001f]/.test(segment)) return null;
    path += `."${segment}"`;
  }
  return path;
}

/** The embedded store's cursor is a rowid in decimal; anything else is a person's typo, not a fault. */
export function parseTailCursor(after: string | null): number {
  if (after === null) return 0;
  if (!/^\d{1,15}$/.test(after))
    throw new UsageError(`"${after}" is not a tail position of the embedded raw store`, { hint: 'use --offset beginning, --offset end, or a cursor value printed by an earlier tail' });
  return Number(after);
}

function maxRowid(db: Database.Database, kind: TailKind): number {
  return (db.prepare(`SELECT COALESCE(MAX(rowid), 0) AS n FROM ${TABLE[kind]}`).get() as { n: number }).n;
}
