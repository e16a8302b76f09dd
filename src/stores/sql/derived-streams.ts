import type { DerivedReader, RecordFilter } from '../ports/derived-reader.js';
import type { TimeRange } from '../ports/event-log.js';
import { eventMapper, findingMapper, funnelMapper, type Mapper, sessionMapper } from '../clickhouse/clickhouse-mappers.js';
import type { TableSpec } from '../clickhouse/schema.js';

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
  /** An export filter as WHERE clauses over bound parameters. */
  filterWhere(table: TableSpec['name'], filter: RecordFilter): StreamWhere;
  /** A bound String parameter as the dialect writes it (`{name:String}`, `@name`). */
  param(name: string): string;
}

type DerivedStreams = Pick<DerivedReader, 'streamSessions' | 'streamEvents' | 'streamFindings' | 'streamFunnelOutcomes'>;

/** The export streams of a DerivedReader: each table's time column, its unique order and its mapper, the same on every SQL engine. */
export function derivedStreams({ streamTable, filterWhere, param }: DerivedStreamSource): DerivedStreams {
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

    streamFunnelOutcomes: (range, filter = {}) =>
      streamTable('funnel_outcomes', funnelMapper, 'started_at', range, 'started_at, scope, subject_id, funnel', filterWhere('funnel_outcomes', filter)),
  };
}
