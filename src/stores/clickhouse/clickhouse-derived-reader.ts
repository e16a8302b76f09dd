import type { Session } from '../../domain/session.js';
import type { DerivedReader, SessionDetail, UserSessions } from '../ports/derived-reader.js';
import type { TimeRange } from '../ports/event-log.js';
import { type ClickHouseContext, rangeParams, selectList } from './clickhouse-connection.js';
import { type Mapper, readSessionDetail, readUserSessions, type Row, sessionMapper, type UserRowReader } from './clickhouse-mappers.js';
import { derivedStreams, eventsLookup, type StreamWhere } from '../sql/derived-streams.js';
import { TABLES, type TableSpec, timeColumns } from './schema.js';

/** Rows of a stream's first page (see streamTable). */
const FIRST_PAGE_ROWS = 1_000;

/** Exports (keyset-paged streams), one session, one user, and counts. */
export function clickHouseDerivedReader(ctx: ClickHouseContext): DerivedReader {
  const { db } = ctx;

  /** The rows of one user in one table, mapped, in `order`. */
  const rowsOfUser = async <T>(spec: TableSpec, mapper: Mapper<T>, where: string, order: string, params: Record<string, unknown>): Promise<T[]> => {
    const items: T[] = [];
    for await (const row of ctx.select(`SELECT ${selectList(spec)} FROM ${db}.${spec.name} FINAL WHERE user_id = {user:String} AND (${where}) ORDER BY ${order}`, params)) {
      items.push(mapper.fromRow(row));
    }
    return items;
  };

  const userRows =
    (params: Record<string, unknown>): UserRowReader =>
    (table, mapper, where, order) =>
      rowsOfUser(TABLES[table], mapper, where, order, params);

  /**
   * A time range of a table in `order`, a page at a time: keyset pages (`order` is unique per
   * row) rather than one query, because chdb's connection materialises a whole result before
   * the first row; the page size trades memory for speed (figures: docs/decisions/0010). The
   * first page is small (a top-1,000 sort, one small block), so its rows arrive without waiting
   * for the whole range to be sorted and encoded as one block (ADR 0016).
   */
  async function* streamTable<T>(spec: TableSpec, mapper: Mapper<T>, timeColumn: string, range: TimeRange, order: string, where: StreamWhere): AsyncIterable<T> {
    const orderColumns = order.split(',').map((column) => column.trim());
    const times = timeColumns(spec);
    // The last row's key as parameters: times as epoch ms (how they are read), the rest as text.
    const afterKey = orderColumns.map((column, index) => (times.has(column) ? `fromUnixTimestamp64Milli({k${index}:Int64})` : `{k${index}:String}`)).join(', ');
    let after: Row | null = null;
    let remaining = where.limit ?? Number.POSITIVE_INFINITY;
    const filtered = where.clauses.map((clause) => `AND ${clause}`).join(' ');
    for (;;) {
      const keyset: string = after === null ? '' : `AND (${order}) > (${afterKey})`;
      const pageRows = Math.min(after === null ? FIRST_PAGE_ROWS : ctx.streamPageRows, ctx.streamPageRows, remaining);
      const params: Record<string, unknown> = { ...where.params, ...rangeParams(range), limit: pageRows };
      if (after !== null) orderColumns.forEach((column, index) => (params[`k${index}`] = after![column]));
      const query = `SELECT ${selectList(spec)} FROM ${db}.${spec.name} FINAL
        WHERE ${timeColumn} >= fromUnixTimestamp64Milli({from:Int64}) AND ${timeColumn} < fromUnixTimestamp64Milli({to:Int64}) ${filtered} ${keyset}
        ORDER BY ${order} LIMIT {limit:UInt32}`;
      let rows = 0;
      for await (const row of ctx.select(query, params)) {
        rows += 1;
        after = row;
        yield mapper.fromRow(row);
      }
      remaining -= rows;
      if (rows < pageRows || remaining <= 0) return;
    }
  }

  return {
    ...derivedStreams({
      streamTable: (table, ...rest) => streamTable(TABLES[table], ...rest),
      param: (name) => `{${name}:String}`,
      table: (name) => `${db}.${name} FINAL`,
      contains: (array, value) => `has(${array}, ${value})`,
    }),

    async sessionDetail(sessionId: string): Promise<SessionDetail | null> {
      let session: Session | null = null;
      for await (const row of ctx.select(`SELECT ${selectList(TABLES.sessions)} FROM ${db}.sessions FINAL WHERE session_id = {id:String} LIMIT 1`, { id: sessionId })) {
        session = sessionMapper.fromRow(row);
      }
      if (session === null) return null;
      return readSessionDetail(userRows({ user: session.userId, id: sessionId }), session, '{id:String}');
    },

    async sessionsOfUser(userId: string): Promise<UserSessions> {
      return readUserSessions(userRows({ user: userId }), '1');
    },

    async sessionIdsOfEvents(events: ReadonlyArray<{ messageId: string; eventTime: number }>): Promise<Map<string, string>> {
      const sessions = new Map<string, string>();
      const params = eventsLookup(events);
      if (params === null) return sessions;
      for await (const row of ctx.select(
        `SELECT message_id, session_id FROM ${db}.events FINAL
         WHERE event_time >= fromUnixTimestamp64Milli({from:Int64}) AND event_time <= fromUnixTimestamp64Milli({to:Int64}) AND message_id IN {ids:Array(String)}`,
        params,
      )) {
        sessions.set(row.message_id as string, row.session_id as string);
      }
      return sessions;
    },

    async counts(): Promise<{ sessions: number; events: number }> {
      const counts = { sessions: 0, events: 0 };
      for await (const row of ctx.select(`SELECT (SELECT count() FROM ${db}.sessions FINAL) AS sessions, (SELECT count() FROM ${db}.events FINAL) AS events`, {})) {
        counts.sessions = Number(row.sessions);
        counts.events = Number(row.events);
      }
      return counts;
    },
  };
}
