import type { ClickHouseSettings } from '@clickhouse/client';
import type { Session, SessionEvent } from '../../domain/session.js';
import type { SqlDerivation, SqlDerivationEvent, SqlRawEvents, SqlSessionRules } from '../ports/sql-derivation.js';
import type { ClickHouseContext } from './clickhouse-connection.js';
import { eventMapper, sessionMapper } from './clickhouse-mappers.js';
import { clickHouseSqlFunnels } from './clickhouse-sql-funnels.js';
import {
  insertPlacedEventsSql,
  placedEventsSql,
  placedSessionIdsSql,
  placedSessionsSql,
  placeEventsSql,
  rawEventsSource,
  SQL_DERIVATION_TABLES,
  sqlDerivationSchema,
  truncateSqlDerivation,
} from './queries/sql-derivation.js';
import { quoteIdentifier } from './schema.js';

const LOAD_ROWS = 50_000;

/**
 * The placement sorts a round's every activity event, properties included, for its windows:
 * past 100 MB its sorts and groupings spill to disk instead of growing the process (ADR 0017).
 */
const PLACE_SETTINGS: ClickHouseSettings = { max_bytes_before_external_sort: '100000000', max_bytes_before_external_group_by: '100000000' };

/** The SQL derivation over the analytics database (queries/sql-derivation.ts); parameters are bound, never spliced. */
export function clickHouseSqlDerivation(ctx: ClickHouseContext): SqlDerivation {
  const { db } = ctx;
  const command = async (query: string, params: Record<string, unknown>, what: string, settings?: ClickHouseSettings): Promise<void> => {
    try {
      await ctx.client.command({ query, query_params: params, clickhouse_settings: settings });
    } catch (error) {
      throw ctx.failure(what, error);
    }
  };
  const params = (rules: SqlSessionRules) => ({
    gap_ms: rules.inactivityMs,
    max_ms: rules.maxLengthMs,
    client: rules.mode === 'client' ? 1 : 0,
    client_gap_ms: rules.clientMaxGapMs,
    split: rules.splitAtMidnight ? 1 : 0,
    tz: rules.timezone,
  });
  const count = async (users?: readonly string[]): Promise<number> => {
    const where = users === undefined ? '' : ' WHERE user_id IN {users:Array(String)}';
    for await (const row of ctx.select(`SELECT count() AS n FROM ${db}.${SQL_DERIVATION_TABLES.placed}${where}`, { users: users ?? [] })) return Number(row.n);
    return 0;
  };

  const prepare = async (): Promise<void> => {
    for (const statement of [...sqlDerivationSchema(db), ...truncateSqlDerivation(db)]) await ctx.run(statement, 'prepare the SQL derivation tables');
  };
  const loadOwners = (owners: ReadonlyMap<string, string>) =>
    ctx.insert(
      SQL_DERIVATION_TABLES.identities,
      [...owners].map(([identity_key, user_id]) => ({ identity_key, user_id })),
    );
  // Where place() reads the events: the loaded input, or the raw store's table in this engine.
  let source = `${db}.${SQL_DERIVATION_TABLES.input}`;

  return {
    async loadMap(owners: ReadonlyMap<string, string>, rawEvents: SqlRawEvents): Promise<void> {
      await prepare();
      await loadOwners(owners);
      source = rawEventsSource(db, rawEvents.database === undefined ? db : quoteIdentifier(rawEvents.database));
    },

    async load(events: Iterable<SqlDerivationEvent> | AsyncIterable<SqlDerivationEvent>, owners: ReadonlyMap<string, string>): Promise<void> {
      await prepare();
      source = `${db}.${SQL_DERIVATION_TABLES.input}`;
      let rows: unknown[] = [];
      const flush = async () => {
        await ctx.insert(SQL_DERIVATION_TABLES.input, rows);
        rows = [];
      };
      for await (const e of events) {
        rows.push({
          identity_key: e.identityKey,
          message_id: e.messageId,
          type: e.type,
          event: e.event,
          event_time: e.eventTime,
          anonymous_id: e.anonymousId,
          app_version: e.appVersion,
          time_source: e.timeSource,
          skew_ms: e.skewMs,
          properties: e.propertiesJson,
          client_session_id: e.clientSessionId ?? null,
        });
        if (rows.length >= LOAD_ROWS) await flush();
      }
      if (rows.length > 0) await flush();
      await loadOwners(owners);
    },

    async place(rules: SqlSessionRules): Promise<number> {
      await ctx.run(`TRUNCATE TABLE ${db}.${SQL_DERIVATION_TABLES.placed}`, 'prepare the SQL derivation tables');
      if (rules.mode === 'client' && source !== `${db}.${SQL_DERIVATION_TABLES.input}`) throw new Error('SQL derivation: client mode reads loaded events (load), not the raw table');
      await command(placeEventsSql(db, source), params(rules), 'sessionize in SQL', PLACE_SETTINGS);
      return count();
    },

    async *sessions(rules: Pick<SqlSessionRules, 'modeLabel'>, users?: readonly string[]): AsyncIterable<Session> {
      for await (const row of ctx.select(placedSessionsSql(db, users !== undefined), { mode: rules.modeLabel, users: users ?? [] })) yield sessionMapper.fromRow(row);
    },

    async *events(users?: readonly string[]): AsyncIterable<SessionEvent> {
      for await (const row of ctx.select(placedEventsSql(db, users !== undefined), { users: users ?? [] })) yield eventMapper.fromRow(row);
    },

    async *sessionIds(users: readonly string[]): AsyncIterable<readonly [string, string]> {
      let resultSet;
      try {
        resultSet = await ctx.client.query({ query: placedSessionIdsSql(db), query_params: { users }, format: 'JSONCompactEachRow' });
      } catch (error) {
        throw ctx.failure('read the placed events', error);
      }
      for await (const rows of resultSet.stream<[string, string]>()) for (const row of rows) yield row.json();
    },

    async writeEvents(version: number, users?: readonly string[]): Promise<number> {
      await command(insertPlacedEventsSql(db, users !== undefined), { version, users: users ?? [] }, 'write the placed events');
      return count(users);
    },

    ...clickHouseSqlFunnels(ctx),
  };
}
