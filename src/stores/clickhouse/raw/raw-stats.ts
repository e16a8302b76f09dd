import type { RejectReason } from '../../../domain/event.js';
import type { TimeRange } from '../../ports/event-log.js';
import { linesWithVersion, receivedCountRows, type StoreCounts, type StoreStats } from '../../ports/stats.js';
import { type ClickHouseRawContext, rangeBounds, selectAll } from './raw-context.js';
import { RAW_TABLES } from './raw-schema.js';

const RECEIVED_IN_RANGE = `received_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND received_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`;
const BUCKET = `intDiv(toUnixTimestamp64Milli(received_at), {bucket:Int64}) * {bucket:Int64}`;

/**
 * Counts and data-quality aggregates over the ClickHouse raw tables; profiles and dirty ids are
 * counted by the base store that keeps them. Every aggregate is one grouped scan of the columns
 * it names: receivedLineCounts scans too (two narrow columns, ~10 ms per million rows) rather
 * than keeping per-minute counts beside the rows as SQLite does.
 */
export function createClickHouseStats(ctx: ClickHouseRawContext, base: Pick<StoreStats, 'counts'>): StoreStats {
  const db = ctx.ch.db;
  const events = `${db}.${RAW_TABLES.events}`;
  const rejected = `${db}.${RAW_TABLES.rejected}`;
  const copies = `${db}.${RAW_TABLES.copies}`;
  const count = async (query: string) => Number((await selectAll(ctx, query))[0]?.n ?? 0);

  const receivedCounts: StoreStats['receivedCounts'] = async (range, options) => {
    const params = { ...rangeBounds(range), bucket: Math.max(1, Math.trunc(options.bucketMs)), late: options.lateAfterMs };
    const rows = receivedCountRows(params.bucket);
    const accepted = await selectAll(
      ctx,
      `SELECT ${BUCKET} AS bucket, app_version, count() AS accepted, countIf(toUnixTimestamp64Milli(received_at) - toUnixTimestamp64Milli(event_time) > {late:Int64}) AS late
       FROM ${events} WHERE ${RECEIVED_IN_RANGE} GROUP BY bucket, app_version`,
      params,
    );
    for (const r of accepted) Object.assign(rows.rowOf(Number(r.bucket), (r.app_version as string | null) ?? null), { accepted: Number(r.accepted), late: Number(r.late) });
    const extra = await selectAll(
      ctx,
      `SELECT ${BUCKET} AS bucket, app_version, sum(n - 1) AS extra
       FROM ${events} INNER JOIN (SELECT message_id, uniqExact(raw_hash) AS n FROM ${copies} GROUP BY message_id) AS c USING (message_id)
       WHERE ${RECEIVED_IN_RANGE} GROUP BY bucket, app_version`,
      params,
    );
    for (const r of extra) rows.rowOf(Number(r.bucket), (r.app_version as string | null) ?? null).extraCopies = Number(r.extra);
    const refused = await selectAll(ctx, `SELECT ${BUCKET} AS bucket, app_version, reason, count() AS n FROM ${rejected} WHERE ${RECEIVED_IN_RANGE} GROUP BY bucket, app_version, reason`, params);
    for (const r of refused) rows.rowOf(Number(r.bucket), (r.app_version as string | null) ?? null).rejected[r.reason as RejectReason] = Number(r.n);
    return rows.rows();
  };

  return {
    async counts(): Promise<StoreCounts> {
      const rest = await base.counts();
      return {
        ...rest,
        events: await count(`SELECT count() AS n FROM ${events}`),
        rejected: await count(`SELECT count() AS n FROM ${rejected}`),
        copies: await count(`SELECT count() AS n FROM (SELECT DISTINCT message_id, raw_hash FROM ${copies})`),
      };
    },
    receivedCounts,
    async receivedLineCounts(bucketMs) {
      return linesWithVersion(await receivedCounts({}, { bucketMs, lateAfterMs: 0 }));
    },
    async acceptedPerDay(range: TimeRange) {
      const rows = await selectAll(
        ctx,
        `SELECT toString(toDate(event_time)) AS day, countIf(type IN ('track', 'page', 'screen')) AS activity, countIf(type IN ('identify', 'alias')) AS identity
         FROM ${events} WHERE event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC') GROUP BY day ORDER BY day`,
        rangeBounds(range),
      );
      return rows.map((r) => ({ day: r.day as string, activity: Number(r.activity), identity: Number(r.identity) }));
    },
  };
}
