import { createClickHouseGroupedReads } from './raw-grouped-reads.js';
import type { EventFilter } from '../../../domain/correction.js';
import { groupAnonymousIdUsers } from '../../ports/identity-graph.js';
import type { RawStore } from '../../raw-store.js';
import { type ClickHouseRawContext, forIdSets, type RawBase, rangeBounds, selectAll } from './raw-context.js';
import { createClickHouseEventLog, type PauseAt, PENDING_REPLACEMENTS } from './raw-event-log.js';
import { RAW_TABLES, rawSchemaStatements } from './raw-schema.js';
import { createClickHouseStats } from './raw-stats.js';
import { createClickHouseTailReader } from './raw-tail-reader.js';

export type { ArrivalRecorder, RawBase } from './raw-context.js';
export { createClickHouseRawContext } from './raw-context.js';

/** Creates the raw tables if missing (idempotent). */
export async function migrateRawTables(ctx: ClickHouseRawContext): Promise<void> {
  for (const statement of rawSchemaStatements(ctx.ch.database)) await ctx.ch.run(statement, 'create the raw tables');
}

/**
 * A raw store whose event log, tail reads and stats are ClickHouse tables (raw-schema.ts) and
 * whose identity graph, dirty queue, corrections, meta, leases and profiles are `base`'s
 * (SQLite for the embedded engine, MongoDB beside a ClickHouse server): small, mutable, shared by
 * processes. The base's own look-ups into raw events (identity conflicts, a correction's users)
 * are answered from ClickHouse. Batches are not grouped (no write groups): each batch commits its
 * links and marks in the base, then its rows (ADR 0021). `close` closes the base and then `onClose`
 * (which lets the ClickHouse client go).
 *
 * Opening finishes what a killed writer left: replaced rows not yet deleted — unless
 * `finishPending` is false (a reader connected to a live holder, whose writer may be mid-batch).
 */
export async function composeRawStore(
  base: RawBase,
  ctx: ClickHouseRawContext,
  options: { engine: string; onClose?: () => Promise<void>; pause?: PauseAt; finishPending?: boolean },
): Promise<RawStore> {
  const db = ctx.ch.db;
  const events = `${db}.${RAW_TABLES.events}`;
  const eventLog = createClickHouseEventLog(ctx, base, options.pause);
  const pending = options.finishPending === false ? null : await base.readMeta(PENDING_REPLACEMENTS);
  if (pending !== null) {
    await eventLog.resolveReplacements(JSON.parse(pending) as string[]);
    await base.writeMeta(PENDING_REPLACEMENTS, null);
  }
  const { resolveReplacements: _resolve, ...log } = eventLog;
  // Write groups stay the base's own: a group spanning both stores could commit the rows before the marks.
  // The base's pre-filter look-up and bulk load concern its own (empty) event table: this store has neither (ADR 0026, 0028).
  const { beginWriteGroup: _begin, commitWriteGroup: _commit, abandonWriteGroup: _abandon, beginBulkLoad: _beginBulk, endBulkLoad: _endBulk, storedCopies: _storedCopies, ...rest } = base;

  return {
    ...rest,
    engine: options.engine,
    anonymousIdLookup: 'scan',
    ...log,
    ...createClickHouseTailReader(ctx),
    ...createClickHouseStats(ctx, base),
    ...createClickHouseGroupedReads(ctx),

    async anonymousIdUsers({ minUsers, anonymousIds }) {
      const base = `SELECT anonymous_id AS anonymousId, user_id AS userId, toUnixTimestamp64Milli(min(event_time)) AS firstAt FROM ${events} WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL`;
      const rows: Array<{ anonymousId: string; userId: string; firstAt: number }> = [];
      const add = (found: Array<Record<string, unknown>>) => {
        for (const r of found) rows.push({ anonymousId: r.anonymousId as string, userId: r.userId as string, firstAt: Number(r.firstAt) });
      };
      // The whole store: only the ids with enough users leave the engine, not every (id, user) pair.
      const enough = `anonymous_id IN (SELECT anonymous_id FROM ${events} WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL GROUP BY anonymous_id HAVING uniqExact(user_id) >= {minUsers:UInt64})`;
      if (anonymousIds === undefined) add(await selectAll(ctx, `${base} AND ${enough} GROUP BY anonymous_id, user_id`, { minUsers }));
      else await forIdSets(ctx, anonymousIds, async (set) => add(await selectAll(ctx, `${base} AND anonymous_id IN ${set.ids} GROUP BY anonymous_id, user_id`, set.params)));
      return groupAnonymousIdUsers(rows, minUsers);
    },

    async identityKeysForEvents(filter: EventFilter): Promise<string[]> {
      const conditions: string[] = [];
      const params: Record<string, unknown> = {};
      if (filter.event !== undefined) {
        conditions.push('event = {event:String}');
        params.event = filter.event;
      }
      if (filter.appVersion !== undefined) {
        conditions.push('app_version = {appVersion:String}');
        params.appVersion = filter.appVersion;
      }
      if (filter.since !== undefined || filter.until !== undefined) {
        conditions.push(`event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`);
        Object.assign(params, rangeBounds({ from: filter.since, to: filter.until }));
      }
      if (filter.userId !== undefined) {
        conditions.push('identity_key IN (SELECT arrayJoin({members:Array(String)}))');
        params.members = [filter.userId, ...((await base.membersOf([filter.userId])).get(filter.userId) ?? [])];
      }
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      return (await selectAll(ctx, `SELECT DISTINCT identity_key FROM ${events} ${where} ORDER BY identity_key`, params)).map((r) => r.identity_key as string);
    },

    async identityKeysOfMessages(messageIds: readonly string[]): Promise<Map<string, string>> {
      const keys = new Map<string, string>();
      await forIdSets(ctx, messageIds, async (set) => {
        const rows = await selectAll(ctx, `SELECT message_id, identity_key FROM ${events} PREWHERE message_key IN ${set.keys} WHERE message_id IN ${set.ids}`, set.params);
        for (const row of rows) keys.set(row.message_id as string, row.identity_key as string);
      });
      return keys;
    },

    async close() {
      try {
        await base.close();
      } finally {
        await options.onClose?.();
      }
    },
  };
}
