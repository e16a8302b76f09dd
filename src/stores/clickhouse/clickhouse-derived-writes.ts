import type { FunnelOutcome } from '../../domain/journey.js';
import type { SessionEvent } from '../../domain/session.js';
import { InfrastructureError } from '../../errors.js';
import { type DayCounts, type DayRebuild, DERIVED_TABLES, derivationOfDay, type DerivedTable, type DerivedWrites, type ReplaceResult, type UserDerivation } from '../ports/derived-writes.js';
import type { EncodedDayRows, EncodedDerivation, EncodedDerivedWrites, StageEncoded } from '../ports/encoded-derivation.js';
import { type ClickHouseContext, INSERT_ROWS, insertRow, partitionId, selectList, tsvLine } from './clickhouse-connection.js';
import { canonicalJson, eventMapper, findingMapper, funnelMapper, type Row, sessionMapper, withFlagged } from './clickhouse-mappers.js';
import { stagingName, TABLES, type TableSpec } from './schema.js';
import { tsvField } from './spool.js';

/** A derivation's rows per table, in the order replaceUsers writes them. */
function rowsOfDerivation(derivation: UserDerivation): Array<[DerivedTable, Row[]]> {
  // Sessions last: a crash part-way leaves sessions stale rather than pointing at missing rows;
  // the users stay dirty in the raw store, so the next derive completes the job.
  return [
    ['events', derivation.events.map(eventMapper.toRow)],
    ['findings', derivation.findings.map(findingMapper.toRow)],
    ['funnel_outcomes', withFlagged(derivation).map(funnelMapper.toRow)],
    ['sessions', derivation.sessions.map(sessionMapper.toRow)],
  ];
}

/** A row's columns as one TSV line (clickhouse-connection's tsvLine): how encoded rows are spooled and compared. */
function lineOf(spec: TableSpec, row: Row): string {
  return tsvLine(spec, insertRow(spec, row, 0, 0), spec.columns.length);
}

const EVENT_COLUMNS = 'user_id event_time message_id session_id anonymous_id type event app_version time_source skew_ms properties';

/**
 * An event's line straight from the event, without eventMapper's row and insertRow's array: events
 * are ~90% of derived rows. The same line as lineOf(eventMapper.toRow(event)) while the events
 * table has these columns (checked below; otherwise lineOf is used).
 */
function eventLine(e: SessionEvent): string {
  return [
    tsvField(e.userId),
    String(Math.trunc(e.eventTime)),
    tsvField(e.messageId),
    tsvField(e.sessionId),
    tsvField(e.anonymousId ?? ''),
    tsvField(e.type),
    tsvField(e.event),
    tsvField(e.appVersion ?? ''),
    tsvField(e.timeSource),
    tsvField(e.skewMs),
    tsvField(e.propertiesJson),
  ].join('\t');
}

const encodeEvent: (event: SessionEvent) => string = TABLES.events.columns.map(([name]) => name).join(' ') === EVENT_COLUMNS ? eventLine : (event) => lineOf(TABLES.events, eventMapper.toRow(event));

/**
 * The rows of a derivation of whole users as TSV lines (EncodedDerivation), for
 * replaceEncodedUsers: pure, so a worker thread encodes while this one writes (docs/decisions/0025).
 * Funnel outcomes carry `flagged` from the same users' sessions, as in replaceUsers.
 */
export function encodeDerivation(derivation: UserDerivation): EncodedDerivation {
  const encoded: EncodedDerivation = { text: { sessions: '', events: '', findings: '', funnel_outcomes: '' }, rows: { sessions: 0, events: 0, findings: 0, funnel_outcomes: 0 } };
  encoded.text.events = linesOf(derivation.events, encodeEvent);
  encoded.rows.events = derivation.events.length;
  for (const [table, rows] of rowsOfDerivation({ ...derivation, events: [] })) {
    if (table === 'events') continue;
    encoded.text[table] = linesOf(rows, (row) => lineOf(TABLES[table], row));
    encoded.rows[table] = rows.length;
  }
  return encoded;
}

/**
 * The rows of a derivation of whole users that belong to `day`, encoded as the day rebuild's
 * stage writes them (stageEncoded): pure, so the derive worker cuts and encodes a reprocess's
 * chunks while this thread stages (docs/decisions/0023). Funnel outcomes carry `flagged` from all
 * of the users' sessions, decided before the day is cut out, as in stage.
 */
export function encodeDayOfDerivation(derivation: UserDerivation, day: string): EncodedDayRows {
  const ofDay = derivationOfDay({ ...derivation, funnelOutcomes: withFlagged(derivation) }, day);
  const encoded: EncodedDerivation = {
    text: {
      sessions: linesOf(ofDay.sessions, (s) => lineOf(TABLES.sessions, sessionMapper.toRow(s))),
      events: linesOf(ofDay.events, encodeEvent),
      findings: linesOf(ofDay.findings, (f) => lineOf(TABLES.findings, findingMapper.toRow(f))),
      funnel_outcomes: linesOf(ofDay.funnelOutcomes as Array<FunnelOutcome & { flagged: boolean }>, (o) => lineOf(TABLES.funnel_outcomes, funnelMapper.toRow(o))),
    },
    rows: { sessions: ofDay.sessions.length, events: ofDay.events.length, findings: ofDay.findings.length, funnel_outcomes: ofDay.funnelOutcomes.length },
  };
  return { encoded, ...kindCounts(ofDay.findings) };
}

function kindCounts(findings: UserDerivation['findings']): { labels: number; flags: number } {
  let labels = 0;
  let flags = 0;
  for (const finding of findings) {
    if (finding.kind === 'label') labels += 1;
    else if (finding.kind === 'flag') flags += 1;
  }
  return { labels, flags };
}

/** Each item as one `\n`-terminated line ('' for none). */
function linesOf<T>(items: readonly T[], line: (item: T) => string): string {
  if (items.length === 0) return '';
  const lines = new Array<string>(items.length + 1);
  for (let i = 0; i < items.length; i += 1) lines[i] = line(items[i]!);
  lines[items.length] = '';
  return lines.join('\n');
}

/** The sorting key of a TSV line: its first orderBy.length fields (every table's ORDER BY is a prefix of its columns). */
function keyOfLine(line: string, fields: number): string {
  let at = -1;
  for (let n = 0; n < fields; n += 1) {
    at = line.indexOf('\t', at + 1);
    if (at < 0) return line;
  }
  return line.slice(0, at);
}

for (const spec of Object.values(TABLES)) {
  if (spec.orderBy.some((column, i) => spec.columns[i]?.[0] !== column)) throw new Error(`${spec.name}: ORDER BY must be a prefix of the columns (keyOfLine)`);
}

/** Derived rows written per user (diffed against what is stored) or per day partition (staged, then swapped in). */
export function clickHouseDerivedWrites(ctx: ClickHouseContext): DerivedWrites & { encodedWrites?: EncodedDerivedWrites } {
  const { db } = ctx;

  /** Those of `userIds` with at least one row (live or tombstone) in one of `tables`: a superset of those with live rows. */
  const usersWithRows = async (tables: readonly string[], userIds: readonly string[]): Promise<string[]> => {
    if (userIds.length === 0) return [];
    const union = tables.map((table) => `SELECT user_id FROM ${db}.${table} WHERE user_id IN {users:Array(String)}`).join(' UNION ALL ');
    const found: string[] = [];
    for await (const row of ctx.select(`SELECT DISTINCT user_id FROM (${union})`, { users: [...userIds] })) found.push(row.user_id as string);
    return found;
  };

  /** Diffs the new rows of these users against the stored ones by sorting key and content. */
  const replaceRows = async (spec: TableSpec, userIds: readonly string[], storedUsers: readonly string[], rows: readonly Row[], version: number): Promise<{ written: number; deleted: number }> => {
    if (userIds.length === 0) return { written: 0, deleted: 0 };
    const keyOf = (row: Row) => spec.orderBy.map((column) => String(row[column])).join('\u0000');
    const stored = new Map<string, string>();
    const storedRows = new Map<string, Row>();
    const previous = storedUsers.length === 0 ? [] : ctx.select(`SELECT ${selectList(spec)} FROM ${db}.${spec.name} FINAL WHERE user_id IN {users:Array(String)}`, { users: [...storedUsers] });
    for await (const row of previous) {
      const key = keyOf(row);
      stored.set(key, canonicalJson(spec, row));
      storedRows.set(key, row);
    }
    const writes: unknown[][] = [];
    let written = 0;
    for (const row of rows) {
      // Nothing stored for these users (a first run): every row is new, no key to compare.
      if (stored.size === 0) {
        writes.push(insertRow(spec, row, version, 0));
        written += 1;
        continue;
      }
      const key = keyOf(row);
      const before = stored.get(key);
      storedRows.delete(key);
      if (before !== undefined && before === canonicalJson(spec, row)) continue;
      writes.push(insertRow(spec, row, version, 0));
      written += 1;
    }
    for (const row of storedRows.values()) writes.push(insertRow(spec, row, version, 1));
    await ctx.insertCompact(spec, spec.name, writes);
    return { written, deleted: storedRows.size };
  };

  /**
   * replaceRows over encoded lines: rows compare by their TSV line (a function of the column
   * values, as canonicalJson is), keys are the lines' ORDER BY prefixes. Lines go to the spool
   * as they are, version and is_deleted appended; at most INSERT_ROWS per INSERT, as insertCompact.
   */
  const replaceLines = async (
    spec: TableSpec,
    userIds: readonly string[],
    storedUsers: readonly string[],
    text: string,
    rows: number,
    version: number,
  ): Promise<{ written: number; deleted: number }> => {
    if (userIds.length === 0) return { written: 0, deleted: 0 };
    const live = `\t${version}\t0`;
    if (storedUsers.length === 0 && rows <= INSERT_ROWS) {
      // A first run: every row is new, written as encoded.
      if (rows > 0) await ctx.insertTsv(spec, spec.name, text.replaceAll('\n', `${live}\n`));
      return { written: rows, deleted: 0 };
    }
    const fields = spec.orderBy.length;
    const stored = new Map<string, string>();
    const previous = storedUsers.length === 0 ? [] : ctx.select(`SELECT ${selectList(spec)} FROM ${db}.${spec.name} FINAL WHERE user_id IN {users:Array(String)}`, { users: [...storedUsers] });
    for await (const row of previous) {
      const line = lineOf(spec, row);
      stored.set(keyOfLine(line, fields), line);
    }
    const writes: string[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < rows; i += 1) {
      const line = lines[i]!;
      if (stored.size > 0) {
        const key = keyOfLine(line, fields);
        const before = stored.get(key);
        stored.delete(key);
        if (before === line) continue;
      }
      writes.push(line + live);
    }
    const written = writes.length;
    for (const line of stored.values()) writes.push(`${line}\t${version}\t1`);
    for (let start = 0; start < writes.length; start += INSERT_ROWS) {
      const piece = writes.slice(start, start + INSERT_ROWS);
      piece.push('');
      await ctx.insertTsv(spec, spec.name, piece.join('\n'));
    }
    return { written, deleted: stored.size };
  };

  const encodedWrites: EncodedDerivedWrites = {
    encoding: 'clickhouse-tsv',
    async replaceEncodedUsers(userIds, encoded, version) {
      const order: DerivedTable[] = ['events', 'findings', 'funnel_outcomes', 'sessions'];
      const stored = await usersWithRows(
        order.map((table) => TABLES[table].name),
        userIds,
      );
      const result = {} as ReplaceResult;
      for (const table of order) result[table] = await replaceLines(TABLES[table], userIds, stored, encoded.text[table], encoded.rows[table], version);
      return result;
    },
  };

  return {
    ...(ctx.spools ? { encodedWrites } : {}),
    async replaceUsers(userIds: readonly string[], derivation: UserDerivation, version: number): Promise<ReplaceResult> {
      const plan = rowsOfDerivation(derivation);
      // One cheap look (no FINAL) for which users have any row at all, tombstones included, in any
      // table: only those need their stored rows read to diff against (on a first run nobody does;
      // docs/decisions/0012).
      const stored = await usersWithRows(
        plan.map(([table]) => TABLES[table].name),
        userIds,
      );
      const result = {} as ReplaceResult;
      for (const [table, rows] of plan) result[table] = await replaceRows(TABLES[table], userIds, stored, rows, version);
      return result;
    },

    async dayCounts(day: string): Promise<DayCounts> {
      const id = partitionId(day);
      const counts: DayCounts = { sessions: 0, events: 0, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 };
      for (const table of DERIVED_TABLES) {
        for await (const row of ctx.select(`SELECT count() AS n FROM ${db}.${table} FINAL WHERE _partition_id = {id:String}`, { id })) counts[table] = Number(row.n);
      }
      for await (const row of ctx.select(`SELECT countIf(kind = 'label') AS labels, countIf(kind = 'flag') AS flags FROM ${db}.findings FINAL WHERE _partition_id = {id:String}`, { id })) {
        counts.labels = Number(row.labels);
        counts.flags = Number(row.flags);
      }
      return counts;
    },

    async rebuildDay(day: string): Promise<DayRebuild & { stageEncoded?: StageEncoded }> {
      const id = partitionId(day);
      // A staging partition left by a crashed rebuild must not leak into this one.
      for (const spec of Object.values(TABLES)) await ctx.run(`ALTER TABLE ${db}.${stagingName(spec)} DROP PARTITION ID '${id}'`, 'clear a staging partition');
      const staged: DayCounts = { sessions: 0, events: 0, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 };
      const spooled = ctx.spools ? spooledStaging(ctx, staged) : null;
      const stageEncoded = async ({ encoded, labels, flags }: EncodedDayRows, version: number) => {
        for (const table of DERIVED_TABLES) await spooled!.add(table, encoded.text[table], encoded.rows[table], version);
        staged.labels += labels;
        staged.flags += flags;
      };
      return {
        day,
        stage: async (derivation, version) => {
          // The same rows as below, encoded as the derive worker encodes them (one encoder for both threads).
          if (spooled) return stageEncoded(encodeDayOfDerivation(derivation, day), version);
          // Whether a user is flagged depends on all of their sessions, so it is decided before the day is cut out.
          const ofDay = derivationOfDay({ ...derivation, funnelOutcomes: withFlagged(derivation) }, day);
          const rowsOf: Record<DerivedTable, Row[]> = {
            sessions: ofDay.sessions.map(sessionMapper.toRow),
            events: ofDay.events.map(eventMapper.toRow),
            findings: ofDay.findings.map(findingMapper.toRow),
            funnel_outcomes: (ofDay.funnelOutcomes as Array<FunnelOutcome & { flagged: boolean }>).map(funnelMapper.toRow),
          };
          for (const table of DERIVED_TABLES) {
            const rows = rowsOf[table].map((row) => insertRow(TABLES[table], row, version, 0));
            await ctx.insertCompact(TABLES[table], stagingName(TABLES[table]), rows);
            staged[table] += rows.length;
          }
          const kinds = kindCounts(ofDay.findings);
          staged.labels += kinds.labels;
          staged.flags += kinds.flags;
        },
        ...(spooled ? { stageEncoded, settled: () => spooled.settled() } : {}),
        commit: async () => {
          await spooled?.flush();
          for (const table of DERIVED_TABLES) {
            const spec = TABLES[table];
            let inStaging = 0;
            for await (const row of ctx.select(`SELECT count() AS n FROM ${db}.${stagingName(spec)} WHERE _partition_id = {id:String}`, { id })) inStaging = Number(row.n);
            if (inStaging !== staged[table]) {
              throw new InfrastructureError(`analytics store: staging for ${table} ${day} holds ${inStaging} rows, ${staged[table]} were written; not swapping it in`, {
                hint: 'run the reprocess again (it rebuilds the day from the raw store)',
              });
            }
          }
          // REPLACE PARTITION is atomic per table; a day that is now empty is dropped on purpose,
          // since replacing from an empty source is refused (and older servers silently wiped it).
          for (const table of DERIVED_TABLES) {
            const spec = TABLES[table];
            if (staged[table] > 0) await ctx.run(`ALTER TABLE ${db}.${spec.name} REPLACE PARTITION ID '${id}' FROM ${db}.${stagingName(spec)}`, `swap in ${table} ${day}`);
            else await ctx.run(`ALTER TABLE ${db}.${spec.name} DROP PARTITION ID '${id}'`, `empty ${table} ${day}`);
            await ctx.run(`ALTER TABLE ${db}.${stagingName(spec)} DROP PARTITION ID '${id}'`, 'clear a staging partition');
          }
          return { ...staged };
        },
      };
    },
  };
}

/**
 * A day rebuild's staging through the spool (chdb owned by this process): chunks' lines are
 * gathered per table and written INSERT_ROWS at a time, in the background, one INSERT at a time,
 * so the engine writes while the next chunks are derived (docs/decisions/0023). A row counts as
 * staged once its INSERT has returned; the staging check before the swap compares those counts.
 */
function spooledStaging(ctx: ClickHouseContext, staged: DayCounts) {
  const gathered = Object.fromEntries(DERIVED_TABLES.map((table) => [table, { texts: [] as string[], rows: 0 }])) as Record<DerivedTable, { texts: string[]; rows: number }>;
  let writing: Promise<void> | null = null;
  /** Starts the INSERT of `body` once the one before it has returned (a failure stops every later one). */
  const write = async (table: DerivedTable, body: string, rows: number) => {
    const before = writing;
    // At most one INSERT waits behind the one running: a chunk is staged only after the previous INSERT ends.
    if (before) await before;
    const spec = TABLES[table];
    const insert = ctx.insertTsv(spec, stagingName(spec), body).then(() => {
      staged[table] += rows;
    });
    // Awaited by the next write, flush or settled; this only keeps a failure from being reported unhandled meanwhile.
    insert.catch(() => {});
    writing = insert;
  };
  const flushTable = async (table: DerivedTable) => {
    const { texts, rows } = gathered[table];
    if (rows === 0) return;
    gathered[table] = { texts: [], rows: 0 };
    await write(table, texts.join(''), rows);
  };
  return {
    /** `text`: `rows` `\n`-terminated lines of the table (encodeDayOfDerivation), without version and is_deleted. */
    async add(table: DerivedTable, text: string, rows: number, version: number): Promise<void> {
      if (rows === 0) return;
      const live = `\t${version}\t0`;
      if (gathered[table].rows + rows > INSERT_ROWS) await flushTable(table);
      if (rows <= INSERT_ROWS) {
        gathered[table].texts.push(text.replaceAll('\n', `${live}\n`));
        gathered[table].rows += rows;
        return;
      }
      const lines = text.split('\n');
      for (let start = 0; start < rows; start += INSERT_ROWS) {
        const piece = lines.slice(start, Math.min(rows, start + INSERT_ROWS)).map((line) => line + live);
        piece.push('');
        await write(table, piece.join('\n'), piece.length - 1);
      }
    },
    /** Writes what is gathered and waits for every INSERT (a failed one throws). */
    async flush(): Promise<void> {
      for (const table of DERIVED_TABLES) await flushTable(table);
      await writing;
    },
    /** Resolves once no INSERT is running (failures ignored: flush reports them). */
    async settled(): Promise<void> {
      await writing?.catch(() => {});
    },
  };
}
