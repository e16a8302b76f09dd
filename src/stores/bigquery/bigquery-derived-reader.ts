import type { DerivedReader, SessionDetail, UserSessions } from '../ports/derived-reader.js';
import type { TimeRange } from '../ports/event-log.js';
import { type Mapper, readSessionDetail, readUserSessions, sessionMapper, type UserRowReader } from '../clickhouse/clickhouse-mappers.js';
import { derivedStreams, eventsLookup, type StreamWhere } from '../sql/derived-streams.js';
import { type BigQueryContext, rangeParams } from './bigquery-connection.js';
import { BQ_TABLES, type BigQueryTableSpec, selectList } from './bigquery-schema.js';

/**
 * Exports, one session, one user, and counts. A stream is one query whose result BigQuery keeps
 * (for a day, at no cost): its pages are read in turn, so a range is scanned once, not per page.
 */
export function bigQueryDerivedReader(ctx: BigQueryContext): DerivedReader {
  const t = (spec: BigQueryTableSpec) => ctx.table(spec.name);

  const rowsOfUser = async <T>(spec: BigQueryTableSpec, mapper: Mapper<T>, where: string, order: string, params: Record<string, unknown>): Promise<T[]> => {
    const rows = await ctx.rows(`SELECT ${selectList(spec)} FROM ${t(spec)} WHERE user_id = @user AND (${where}) ORDER BY ${order}`, params, `read ${spec.name}`);
    return rows.map((row) => mapper.fromRow(row));
  };

  const userRows =
    (params: Record<string, unknown>): UserRowReader =>
    (table, mapper, where, order) =>
      rowsOfUser(BQ_TABLES[table], mapper, where, order, params);

  async function* streamTable<T>(spec: BigQueryTableSpec, mapper: Mapper<T>, timeColumn: string, range: TimeRange, order: string, where: StreamWhere): AsyncIterable<T> {
    const filtered = where.clauses.map((clause) => `AND ${clause}`).join(' ');
    const limit = where.limit === undefined ? '' : 'LIMIT @limit';
    const query = `SELECT ${selectList(spec)} FROM ${t(spec)}
      WHERE ${timeColumn} >= TIMESTAMP_MILLIS(@from) AND ${timeColumn} < TIMESTAMP_MILLIS(@to) ${filtered}
      ORDER BY ${order} ${limit}`;
    const params = { ...where.params, ...rangeParams(range), ...(where.limit === undefined ? {} : { limit: where.limit }) };
    for await (const row of ctx.select(query, params, `read ${spec.name}`)) yield mapper.fromRow(row);
  }

  return {
    ...derivedStreams({
      streamTable: (table, ...rest) => streamTable(BQ_TABLES[table], ...rest),
      param: (name) => `@${name}`,
      table: (name) => ctx.table(name),
      contains: (array, value) => `${value} IN UNNEST(${array})`,
    }),

    async sessionDetail(sessionId: string): Promise<SessionDetail | null> {
      const [row] = await ctx.rows(`SELECT ${selectList(BQ_TABLES.sessions)} FROM ${t(BQ_TABLES.sessions)} WHERE session_id = @id LIMIT 1`, { id: sessionId }, 'read a session');
      if (row === undefined) return null;
      const session = sessionMapper.fromRow(row);
      return readSessionDetail(userRows({ user: session.userId, id: sessionId }), session, '@id');
    },

    async sessionsOfUser(userId: string): Promise<UserSessions> {
      return readUserSessions(userRows({ user: userId }), 'TRUE');
    },

    async sessionIdsOfEvents(events: ReadonlyArray<{ messageId: string; eventTime: number }>): Promise<Map<string, string>> {
      const sessions = new Map<string, string>();
      const params = eventsLookup(events);
      if (params === null) return sessions;
      const rows = await ctx.rows(
        `SELECT message_id, session_id FROM ${t(BQ_TABLES.events)}
         WHERE event_time >= TIMESTAMP_MILLIS(@from) AND event_time <= TIMESTAMP_MILLIS(@to) AND message_id IN UNNEST(@ids)`,
        params,
        'place events in sessions',
      );
      for (const row of rows) sessions.set(row.message_id as string, row.session_id as string);
      return sessions;
    },

    async counts(): Promise<{ sessions: number; events: number }> {
      const [row] = await ctx.rows(`SELECT (SELECT COUNT(*) FROM ${t(BQ_TABLES.sessions)}) AS sessions, (SELECT COUNT(*) FROM ${t(BQ_TABLES.events)}) AS events`, {}, 'count sessions and events');
      return { sessions: Number(row?.sessions ?? 0), events: Number(row?.events ?? 0) };
    },
  };
}
