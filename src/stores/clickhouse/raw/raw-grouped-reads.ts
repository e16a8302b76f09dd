import type { StoredLine } from '../../ports/event-log.js';
import type { GroupedEventReads, GroupedReads } from '../../ports/grouped-reads.js';
import { tsvField, withSpooledTsv } from '../spool.js';
import { type ClickHouseRawContext, selectArrays } from './raw-context.js';
import { COPIES_JOIN, EVENT_SELECT, storedEventFromArray } from './raw-event-log.js';
import { RAW_TABLES } from './raw-schema.js';

/** The copy reprocess reads its chunks from; one at a time (reprocess holds the derivation lease), left behind only by a killed process. */
export const GROUPED_READS_TABLE = 'raw_reprocess_groups';

const COLUMNS = {
  events: 'identity_key, message_id, type, event, user_id, anonymous_id, event_time, received_at, time_source, skew_ms, app_version, properties, traits, seq',
  lines: 'identity_key, message_id, event_time, received_at, raw, seq',
} as const;

/**
 * Grouped reads for an engine this process owns (the spooled embedded engine): one pass copies
 * the groups' rows, with their group and copy count, into a table ordered by group, so each
 * group's read touches only its own granules. A read per group of the raw table instead
 * decompresses nearly every granule of every column it reads, since a group's keys are spread
 * over the whole (identity_key, event_time) order (ADR 0023).
 */
export function createClickHouseGroupedReads(ctx: ClickHouseRawContext): GroupedEventReads | Record<string, never> {
  const spoolDir = ctx.spoolDir;
  if (spoolDir === null) return {};
  const db = ctx.ch.db;
  const table = `${db}.${GROUPED_READS_TABLE}`;
  const copiesJoin = COPIES_JOIN.replace('{copies}', `${db}.${RAW_TABLES.copies}`);
  const drop = () => ctx.ch.run(`DROP TABLE IF EXISTS ${table}`, 'drop the reprocess copy of raw events');

  return {
    async openGroupedReads(groups, what): Promise<GroupedReads> {
      await drop();
      const body = groups.map((ids, group) => ids.map((id) => `${tsvField(id)}\t${group}\n`).join('')).join('');
      await withSpooledTsv(spoolDir, 'raw-groups', body, 'id String, grp UInt32', (file) =>
        ctx.ch.run(
          `CREATE TABLE ${table} ENGINE = MergeTree ORDER BY grp SETTINGS index_granularity = 1024
           AS SELECT g.grp AS grp, ${COLUMNS[what]}, copy_count
           FROM ${db}.${RAW_TABLES.events} INNER JOIN (SELECT id, grp FROM ${file}) AS g ON identity_key = g.id ${copiesJoin}
           SETTINGS min_insert_block_size_rows = 65536, min_insert_block_size_bytes = 33554432`,
          'copy the raw events to reprocess',
        ),
      );
      let open = true;
      const read = (select: string, group: number) => selectArrays(ctx, `SELECT ${select} FROM ${table} WHERE grp = {group:UInt32} ORDER BY identity_key, event_time, seq`, { group });
      return {
        async events(group) {
          return (await read(`${EVENT_SELECT}, copy_count`, group)).map(storedEventFromArray);
        },
        async lines(group) {
          const rows = await read('raw, toUnixTimestamp64Milli(received_at), copy_count', group);
          return rows.map((r): StoredLine => ({ raw: r[0] as string, receivedAt: Number(r[1]), copies: Math.max(1, Number(r[2])) }));
        },
        async close() {
          if (!open) return;
          open = false;
          await drop();
        },
      };
    },
  };
}
