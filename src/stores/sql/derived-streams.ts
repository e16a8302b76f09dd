import type { DerivedReader, RecordFilter } from '../ports/derived-reader.js';
import type { TimeRange } from '../ports/event-log.js';
import { eventMapper, findingMapper, funnelMapper, type Mapper, sessionMapper } from '../clickhouse/clickhouse-mappers.js';
import type { TableSpec } from '../clickhouse/schema.js';
import { MAX_TIME } from '../clickhouse/clickhouse-connection.js';

/** Extra WHERE clauses of a stream, their bound parameters and a cap on rows. */
export interface StreamWhere {
  clauses: string[];
  params: Record<string, unknown>;
  limit?: number | undefined;
}

/** What an SQL engine supplies for the export streams: the parts that differ by dialect. */
export interface DerivedStreamSource {
  /** A time range of one table in `order` (unique per row), filtered by `where`, mapped. */
  streamTable<T>(table: TableSpec['name'], mapper: Mapper<T>, timeColumn: string, range: TimeRange, order: string, where: StreamWhere): AsyncIterable<T>;
  /** A bound String parameter as the dialect writes it (`{name:String}`, `@name`). */
  param(name: string): string;
  /** A derived table as read in a subquery (ClickHouse: with FINAL). */
  table(name: TableSpec['name']): string;
  /** True when the array column holds the value: `has(a, v)`, `v IN UNNEST(a)`. */
  contains(arrayColumn: string, value: string): string;
}

type DerivedStreams = Pick<DerivedReader, 'streamSessions' | 'streamEvents' | 'streamFindings' | 'streamFunnelOutcomes'>;

/** The export streams of a DerivedReader: each table's time column, its unique order and its mapper, the same on every SQL engine. */
export function derivedStreams({ streamTable, param, table: tableOf, contains }: DerivedStreamSource): DerivedStreams {
  /**
   * An export filter as WHERE clauses over bound parameters. Sessions, findings and funnel
   * outcomes match an event or app version through the sessions holding it.
   */
  const filterWhere = (table: TableSpec['name'], filter: RecordFilter): StreamWhere => {
    const clauses: string[] = [];
    const params: Record<string, unknown> = {};
    const sessionColumn = table === 'funnel_outcomes' ? 'subject_id' : 'session_id';
    if (filter.userId !== undefined) {
      clauses.push(`user_id = ${param('f_user')}`);
      params.f_user = filter.userId;
    }
    if (filter.sessionId !== undefined) {
      clauses.push(`${sessionColumn} = ${param('f_session')}`);
      params.f_session = filter.sessionId;
    }
    if (filter.event !== undefined) {
      const event = `event = ${param('f_event')}`;
      clauses.push(table === 'events' ? event : `${sessionColumn} IN (SELECT session_id FROM ${tableOf('events')} WHERE ${event})`);
      params.f_event = filter.event;
    }
    if (filter.appVersion !== undefined) {
      const app = param('f_app');
      const inSession = contains('app_versions', app);
      clauses.push(table === 'events' ? `app_version = ${app}` : table === 'sessions' ? inSession : `${sessionColumn} IN (SELECT session_id FROM ${tableOf('sessions')} WHERE ${inSession})`);
      params.f_app = filter.appVersion;
    }
    return { clauses, params, limit: filter.limit };
  };

  return {
    streamSessions: (range, filter = {}) => streamTable('sessions', sessionMapper, 'started_at', range, 'started_at, session_id', filterWhere('sessions', filter)),

    streamEvents: (range, filter = {}) => streamTable('events', eventMapper, 'event_time', range, 'event_time, message_id', filterWhere('events', filter)),

    streamFindings(range, kind, filter = {}) {
      const where = filterWhere('findings', filter);
      if (kind !== undefined) {
        where.clauses.push(`kind = ${param('f_kind')}`);
        where.params.f_kind = kind;
      }
      return streamTable('findings', findingMapper, 'started_at', range, 'started_at, session_id, kind, name', where);
    },

    streamFunnelOutcomes: (range, filter = {}) => streamTable('funnel_outcomes', funnelMapper, 'started_at', range, 'started_at, scope, subject_id, funnel', filterWhere('funnel_outcomes', filter)),
  };
}

/**
 * sessionIdsOfEvents' look-up as bound values, the same on every SQL engine: the events' ids and
 * their event-time span (the partition pruning), capped at the top of the time type; null for none.
 */
export function eventsLookup(events: ReadonlyArray<{ messageId: string; eventTime: number }>): { from: number; to: number; ids: string[] } | null {
  if (events.length === 0) return null;
  let from = MAX_TIME;
  let to = 0;
  for (const event of events) {
    from = Math.min(from, event.eventTime);
    to = Math.max(to, event.eventTime);
  }
  return { from, to: Math.min(to, MAX_TIME), ids: events.map((event) => event.messageId) };
}
