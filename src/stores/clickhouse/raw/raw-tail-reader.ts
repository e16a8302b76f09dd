import { UsageError } from '../../../errors.js';
import type { TailFilter, TailKind, TailPage, TailReader, TailWhere } from '../../ports/tail-reader.js';
import { jsonCandidates } from '../../tail-match.js';
import type { Row } from '../clickhouse-mappers.js';
import { type ClickHouseRawContext, selectAll } from './raw-context.js';
import { EVENT_SELECT, REJECTED_SELECT, rejectedFromRow, storedEventFromRow } from './raw-event-log.js';
import { RAW_TABLES } from './raw-schema.js';

const MAX_PAGE = 10_000;

interface Query {
  conditions: string[];
  params: Record<string, unknown>;
}

/**
 * Tail reads over the ClickHouse raw tables. Arrival order is `seq`: each batch takes a block of
 * numbers above every earlier one (the base's version counter, raw-event-log.ts), and a replaced
 * event keeps its row's seq, so a row never appears below one a reader has passed while one
 * writer writes. Each read is one short SELECT; the seq skip index lets it skip old parts.
 */
export function createClickHouseTailReader(ctx: ClickHouseRawContext): TailReader {
  const table = (kind: TailKind) => `${ctx.ch.db}.${kind === 'events' ? RAW_TABLES.events : RAW_TABLES.rejected}`;
  const end = async (kind: TailKind): Promise<number> => Number((await selectAll(ctx, `SELECT max(seq) AS n FROM ${table(kind)}`))[0]?.n ?? 0);

  const page = async <T>(kind: TailKind, after: string | null, limit: number, query: Query, columns: string, map: (row: Row) => T): Promise<TailPage<T>> => {
    const start = parseCursor(after);
    const last = await end(kind);
    if (start >= last) return { records: [], cursor: String(start), more: false, behind: 0 };
    const size = Math.max(1, Math.min(MAX_PAGE, Math.floor(limit)));
    const where = ['seq > {start:UInt64}', 'seq <= {last:UInt64}', ...query.conditions].join(' AND ');
    // Unfiltered, the page's rows are all the rows between start and its cursor: the rows past
    // start come counted with the page (a scalar computed before the read), and `behind` costs no
    // second request, which beside a run waits for the holder's event loop (ADR 0016).
    const unfiltered = query.conditions.length === 0;
    const counted = unfiltered ? `, (SELECT count() FROM ${table(kind)} WHERE seq > {start:UInt64} AND seq <= {last:UInt64}) AS past_start` : '';
    const rows = await selectAll(ctx, `SELECT seq, ${columns}${counted} FROM ${table(kind)} WHERE ${where} ORDER BY seq LIMIT {size:UInt32}`, { ...query.params, start, last, size });
    const records = rows.map((row) => ({ cursor: String(row.seq), value: map(row) }));
    const cursor = rows.length === size ? Number(rows[rows.length - 1]!.seq) : last;
    let behind = 0;
    if (cursor < last) {
      behind = unfiltered ? Number(rows[0]!.past_start) - rows.length : Number((await selectAll(ctx, `SELECT count() AS n FROM ${table(kind)} WHERE seq > {cursor:UInt64}`, { cursor }))[0]?.n ?? 0);
    }
    return { records, cursor: String(cursor), more: cursor < last, behind };
  };

  return {
    async tailEvents(after, filter, limit) {
      const query: Query = { conditions: [], params: {} };
      if (filter.ids !== undefined) {
        query.conditions.push(
          '(user_id IN (SELECT arrayJoin({ids:Array(String)})) OR anonymous_id IN (SELECT arrayJoin({ids:Array(String)})) OR previous_id IN (SELECT arrayJoin({ids:Array(String)})))',
        );
        query.params.ids = filter.ids;
      }
      addCommon(query, filter);
      (filter.where ?? []).forEach((where, i) => {
        const [root, ...rest] = where.path;
        if (root === 'properties' || root === 'traits') addJsonEquals(query, root, rest, where, i);
        else if (root === 'context') addJsonEquals(query, 'raw', where.path, where, i);
        else query.conditions.push('0');
      });
      return page('events', after, limit, query, `${EVENT_SELECT}, raw`, (row) => {
        const event = storedEventFromRow(row);
        return { ...event, raw: row.raw as string };
      });
    },

    async tailRejected(after, filter, limit) {
      const query: Query = { conditions: [], params: {} };
      if (filter.ids !== undefined) {
        // A refused line may not be JSON at all: JSON is only looked into when it is valid.
        query.conditions.push(
          `isValidJSON(raw) AND ((JSONType(raw, 'userId') = 'String' AND JSONExtractString(raw, 'userId') IN (SELECT arrayJoin({ids:Array(String)}))) OR (JSONType(raw, 'anonymousId') = 'String' AND JSONExtractString(raw, 'anonymousId') IN (SELECT arrayJoin({ids:Array(String)}))))`,
        );
        query.params.ids = filter.ids;
      }
      addCommon(query, filter);
      (filter.where ?? []).forEach((where, i) => {
        if (['properties', 'context', 'traits'].includes(where.path[0] ?? '')) addJsonEquals(query, 'raw', where.path, where, i);
        else query.conditions.push('0');
      });
      return page('rejected', after, limit, query, REJECTED_SELECT, rejectedFromRow);
    },

    async tailEnd(kind) {
      return String(await end(kind));
    },
  };
}

function addCommon(query: Query, filter: TailFilter): void {
  if (filter.event !== undefined) {
    query.conditions.push('event = {event:String}');
    query.params.event = filter.event;
  }
  if (filter.appVersion !== undefined) {
    query.conditions.push('app_version = {appVersion:String}');
    query.params.appVersion = filter.appVersion;
  }
  if (filter.receivedFrom !== undefined) {
    query.conditions.push(`received_at >= fromUnixTimestamp64Milli({receivedFrom:Int64}, 'UTC')`);
    query.params.receivedFrom = filter.receivedFrom;
  }
  if (filter.receivedTo !== undefined) {
    query.conditions.push(`received_at < fromUnixTimestamp64Milli({receivedTo:Int64}, 'UTC')`);
    query.params.receivedTo = filter.receivedTo;
  }
}

/** The JSON text at `path` of `column` equals one of the texts the value spells (jsonCandidates); only valid JSON is looked into. */
function addJsonEquals(query: Query, column: string, path: readonly string[], where: TailWhere, i: number): void {
  if (path.length === 0) {
    query.conditions.push('0');
    return;
  }
  const keys = path.map((key, j) => {
    query.params[`path${i}_${j}`] = key;
    return `{path${i}_${j}:String}`;
  });
  query.conditions.push(`(isValidJSON(${column}) AND JSONExtractRaw(${column}, ${keys.join(', ')}) IN (SELECT arrayJoin({values${i}:Array(String)})))`);
  query.params[`values${i}`] = jsonCandidates(where.value);
}

/** This store's cursor is a seq in decimal; anything else is a person's typo, not a fault. */
function parseCursor(after: string | null): number {
  if (after === null) return 0;
  if (!/^\d{1,16}$/.test(after))
    throw new UsageError(`"${after}" is not a tail position of the ClickHouse raw store`, { hint: 'use --offset beginning, --offset end, or a cursor value printed by an earlier tail' });
  return Number(after);
}
