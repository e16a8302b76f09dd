import type { ClickHouseClient } from '@clickhouse/client';
import type { Finding, FindingKind, FunnelOutcome } from '../../domain/journey.js';
import type { Session, SessionEvent } from '../../domain/session.js';
import { InfrastructureError, UsageError } from '../../errors.js';
import { type AnalyticsStore, type RecordFilter, type DayCounts, type DayRebuild, DERIVED_TABLES, derivationOfDay, type DerivedTable, type JourneyReport, type ReplaceResult, type SessionDetail, type UserDerivation, type UserSessions } from '../analytics-store.js';
import type { TimeRange } from '../raw-store.js';
import type { CheckFailureRow, PipelineFacts, PropertyProfile, ReconcileDay, SessionShape } from '../analytics-store.js';
import { damageError, dayOfPartition, type StoreDamage } from '../store-damage.js';
import { type QueryDefinition, eventsPerSession, flagShares, funnelSteps, labelShares, sessionLengths, sessionsPerDay } from './queries/definitions.js';
import { reportDialect } from './queries/dialect.js';
import { CHECK_FAILURES_TABLE, quoteIdentifier, READ_SETTINGS, schemaStatements, stagingName, TABLES, type TableSpec, timeColumns } from './schema.js';

const MAX_TIME = 253402300799999; // 9999-12-31T23:59:59.999Z, the top of DateTime64's range

/** A row as it travels between TS and SQL: spec column order, times as epoch ms. */
type Row = Record<string, unknown>;

interface Mapper<T> {
  toRow(item: T): Row;
  fromRow(row: Row): T;
}

const sessionMapper: Mapper<Session> = {
  toRow: (s) => ({
    user_id: s.userId,
    started_at: s.startedAt,
    session_id: s.sessionId,
    ended_at: s.endedAt,
    anonymous_ids: s.anonymousIds,
    event_count: s.eventCount,
    first_event: s.firstEvent,
    last_event: s.lastEvent,
    first_message_id: s.firstMessageId,
    app_versions: s.appVersions,
    flags: s.flags,
    labels: s.labels,
  }),
  fromRow: (r) => ({
    sessionId: r.session_id as string,
    userId: r.user_id as string,
    anonymousIds: r.anonymous_ids as string[],
    startedAt: Number(r.started_at),
    endedAt: Number(r.ended_at),
    eventCount: Number(r.event_count),
    firstEvent: r.first_event as string,
    lastEvent: r.last_event as string,
    firstMessageId: r.first_message_id as string,
    appVersions: r.app_versions as string[],
    flags: r.flags as string[],
    labels: r.labels as string[],
  }),
};

const eventMapper: Mapper<SessionEvent> = {
  toRow: (e) => ({
    user_id: e.userId,
    event_time: e.eventTime,
    message_id: e.messageId,
    session_id: e.sessionId,
    anonymous_id: e.anonymousId ?? '',
    type: e.type,
    event: e.event,
    app_version: e.appVersion ?? '',
    time_source: e.timeSource,
    skew_ms: e.skewMs,
    properties: e.propertiesJson,
  }),
  fromRow: (r) => ({
    messageId: r.message_id as string,
    userId: r.user_id as string,
    anonymousId: r.anonymous_id === '' ? null : (r.anonymous_id as string),
    sessionId: r.session_id as string,
    eventTime: Number(r.event_time),
    type: r.type as string,
    event: r.event as string,
    appVersion: r.app_version === '' ? null : (r.app_version as string),
    timeSource: r.time_source as SessionEvent['timeSource'],
    skewMs: Number(r.skew_ms),
    propertiesJson: r.properties as string,
  }),
};

const findingMapper: Mapper<Finding> = {
  toRow: (f) => ({
    user_id: f.userId,
    started_at: f.startedAt,
    session_id: f.sessionId,
    kind: f.kind,
    name: f.name,
    rule_version: f.ruleVersion,
    detail: f.detail,
    evidence: f.evidence,
  }),
  fromRow: (r) => ({
    kind: r.kind as FindingKind,
    name: r.name as string,
    ruleVersion: Number(r.rule_version),
    userId: r.user_id as string,
    sessionId: r.session_id as string,
    startedAt: Number(r.started_at),
    detail: r.detail as string,
    evidence: r.evidence as string[],
  }),
};

const funnelMapper: Mapper<FunnelOutcome & { flagged?: boolean }> = {
  toRow: (o) => ({
    user_id: o.userId,
    started_at: o.startedAt,
    scope: o.scope,
    subject_id: o.subjectId,
    funnel: o.funnel,
    steps_reached: o.stepsReached,
    total_steps: o.totalSteps,
    converted: o.converted ? 1 : 0,
    flagged: o.flagged ? 1 : 0,
    evidence: o.evidence,
  }),
  fromRow: (r) => ({
    scope: r.scope as FunnelOutcome['scope'],
    subjectId: r.subject_id as string,
    userId: r.user_id as string,
    funnel: r.funnel as string,
    startedAt: Number(r.started_at),
    stepsReached: Number(r.steps_reached),
    totalSteps: Number(r.total_steps),
    converted: Number(r.converted) === 1,
    evidence: r.evidence as string[],
  }),
};

/**
 * The analytics tables in ClickHouse SQL, through @clickhouse/client. The same class serves
 * chdb (the client gets chdb's in-process connection) and a ClickHouse server (HTTP), so the
 * embedded default and production run one code path.
 */
export class ClickHouseAnalyticsStore implements AnalyticsStore {
  private readonly db: string;

  constructor(
    private readonly client: ClickHouseClient,
    database: string,
    readonly engine: string,
    private readonly onClose: () => Promise<void> = async () => {},
    /** Rows per page of a streamed range (see streamTable). */
    private readonly streamPageRows = 50_000,
  ) {
    this.db = quoteIdentifier(database);
  }

  async migrate(): Promise<void> {
    for (const statement of schemaStatements(this.db.slice(1, -1))) {
      try {
        await this.client.command({ query: statement });
      } catch (error) {
        throw this.failure('create the analytics tables', error);
      }
    }
  }

  async replaceUsers(userIds: readonly string[], derivation: UserDerivation, version: number): Promise<ReplaceResult> {
    const outcomes = withFlagged(derivation);
    // Sessions last: a crash part-way leaves sessions stale rather than pointing at missing rows;
    // the users stay dirty in the raw store, so the next derive completes the job.
    const plan: Array<[DerivedTable, Row[]]> = [
      ['events', derivation.events.map(eventMapper.toRow)],
      ['findings', derivation.findings.map(findingMapper.toRow)],
      ['funnel_outcomes', outcomes.map(funnelMapper.toRow)],
      ['sessions', derivation.sessions.map(sessionMapper.toRow)],
    ];
    // One cheap look (no FINAL) for which users have any row at all, tombstones included, in any
    // table: only those need their stored rows read to diff against. On a first run nobody
    // does, and the four FINAL reads per write were ~4 s of a 1M-event derive.
    const stored = await this.usersWithRows(plan.map(([table]) => TABLES[table].name), userIds);
    const result = {} as ReplaceResult;
    for (const [table, rows] of plan) result[table] = await this.replaceRows(TABLES[table], userIds, stored, rows, version);
    return result;
  }

  /** Those of `userIds` with at least one row (live or tombstone) in one of `tables`: a superset of those with live rows. */
  private async usersWithRows(tables: readonly string[], userIds: readonly string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const union = tables.map((table) => `SELECT user_id FROM ${this.db}.${table} WHERE user_id IN {users:Array(String)}`).join(' UNION ALL ');
    const found: string[] = [];
    for await (const row of this.select(`SELECT DISTINCT user_id FROM (${union})`, { users: [...userIds] })) found.push(row.user_id as string);
    return found;
  }

  /** Diffs the new rows of these users against the stored ones by sorting key and content. */
  private async replaceRows(
    spec: TableSpec,
    userIds: readonly string[],
    storedUsers: readonly string[],
    rows: readonly Row[],
    version: number,
  ): Promise<{ written: number; deleted: number }> {
    if (userIds.length === 0) return { written: 0, deleted: 0 };
    const keyOf = (row: Row) => spec.orderBy.map((column) => String(row[column])).join('\u0000');
    const stored = new Map<string, string>();
    const storedRows = new Map<string, Row>();
    const previous = storedUsers.length === 0 ? [] : this.select(`SELECT ${this.selectList(spec)} FROM ${this.db}.${spec.name} FINAL WHERE user_id IN {users:Array(String)}`, { users: [...storedUsers] });
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
        writes.push(this.insertRow(spec, row, version, 0));
        written += 1;
        continue;
      }
      const key = keyOf(row);
      const before = stored.get(key);
      storedRows.delete(key);
      if (before !== undefined && before === canonicalJson(spec, row)) continue;
      writes.push(this.insertRow(spec, row, version, 0));
      written += 1;
    }
    for (const row of storedRows.values()) writes.push(this.insertRow(spec, row, version, 1));
    await this.insertCompact(spec, spec.name, writes);
    return { written, deleted: storedRows.size };
  }

  async *streamSessions(range: TimeRange, filter: RecordFilter = {}): AsyncIterable<Session> {
    yield* this.streamTable(TABLES.sessions, sessionMapper, 'started_at', range, 'started_at, session_id', this.filterWhere('sessions', filter));
  }

  async *streamEvents(range: TimeRange, filter: RecordFilter = {}): AsyncIterable<SessionEvent> {
    yield* this.streamTable(TABLES.events, eventMapper, 'event_time', range, 'event_time, message_id', this.filterWhere('events', filter));
  }

  async *streamFindings(range: TimeRange, kind?: FindingKind, filter: RecordFilter = {}): AsyncIterable<Finding> {
    const where = this.filterWhere('findings', filter);
    if (kind !== undefined) {
      where.clauses.push('kind = {f_kind:String}');
      where.params.f_kind = kind;
    }
    yield* this.streamTable(TABLES.findings, findingMapper, 'started_at', range, 'started_at, session_id, kind, name', where);
  }

  async *streamFunnelOutcomes(range: TimeRange, filter: RecordFilter = {}): AsyncIterable<FunnelOutcome> {
    yield* this.streamTable(TABLES.funnel_outcomes, funnelMapper, 'started_at', range, 'started_at, scope, subject_id, funnel', this.filterWhere('funnel_outcomes', filter));
  }

  /**
   * An export filter as WHERE clauses over bound parameters. Sessions, findings and funnel
   * outcomes match an event or app version through the sessions holding it.
   */
  private filterWhere(table: TableSpec['name'], filter: RecordFilter): StreamWhere {
    const clauses: string[] = [];
    const params: Record<string, unknown> = {};
    const sessionColumn = table === 'funnel_outcomes' ? 'subject_id' : 'session_id';
    if (filter.userId !== undefined) {
      clauses.push('user_id = {f_user:String}');
      params.f_user = filter.userId;
    }
    if (filter.sessionId !== undefined) {
      clauses.push(`${sessionColumn} = {f_session:String}`);
      params.f_session = filter.sessionId;
    }
    if (filter.event !== undefined) {
      clauses.push(table === 'events' ? 'event = {f_event:String}' : `${sessionColumn} IN (SELECT session_id FROM ${this.db}.events FINAL WHERE event = {f_event:String})`);
      params.f_event = filter.event;
    }
    if (filter.appVersion !== undefined) {
      clauses.push(
        table === 'events' ? 'app_version = {f_app:String}'
        : table === 'sessions' ? 'has(app_versions, {f_app:String})'
        : `${sessionColumn} IN (SELECT session_id FROM ${this.db}.sessions FINAL WHERE has(app_versions, {f_app:String}))`,
      );
      params.f_app = filter.appVersion;
    }
    return { clauses, params, limit: filter.limit };
  }

  async sessionDetail(sessionId: string): Promise<SessionDetail | null> {
    let session: Session | null = null;
    for await (const row of this.select(`SELECT ${this.selectList(TABLES.sessions)} FROM ${this.db}.sessions FINAL WHERE session_id = {id:String} LIMIT 1`, { id: sessionId })) {
      session = sessionMapper.fromRow(row);
    }
    if (session === null) return null;
    const params = { user: session.userId, id: sessionId };
    const collect = async <T>(spec: TableSpec, mapper: Mapper<T>, where: string, order: string) => {
      const items: T[] = [];
      for await (const row of this.select(`SELECT ${this.selectList(spec)} FROM ${this.db}.${spec.name} FINAL WHERE user_id = {user:String} AND (${where}) ORDER BY ${order}`, params)) {
        items.push(mapper.fromRow(row));
      }
      return items;
    };
    return {
      session,
      events: await collect(TABLES.events, eventMapper, 'session_id = {id:String}', 'event_time, message_id'),
      findings: await collect(TABLES.findings, findingMapper, 'session_id = {id:String}', 'kind, name'),
      funnelOutcomes: await collect(TABLES.funnel_outcomes, funnelMapper, "(scope = 'session' AND subject_id = {id:String}) OR scope = 'user'", 'scope, funnel'),
    };
  }

  async sessionsOfUser(userId: string): Promise<UserSessions> {
    const collect = async <T>(spec: TableSpec, mapper: Mapper<T>, where: string, order: string) => {
      const items: T[] = [];
      for await (const row of this.select(`SELECT ${this.selectList(spec)} FROM ${this.db}.${spec.name} FINAL WHERE user_id = {user:String} AND (${where}) ORDER BY ${order}`, { user: userId })) {
        items.push(mapper.fromRow(row));
      }
      return items;
    };
    const sessions = await collect(TABLES.sessions, sessionMapper, '1', 'started_at, session_id');
    const bySession = new Map<string, SessionDetail>(sessions.map((session) => [session.sessionId, { session, events: [], findings: [], funnelOutcomes: [] }]));
    for (const event of await collect(TABLES.events, eventMapper, '1', 'event_time, message_id')) bySession.get(event.sessionId)?.events.push(event);
    for (const finding of await collect(TABLES.findings, findingMapper, '1', 'session_id, kind, name')) bySession.get(finding.sessionId)?.findings.push(finding);
    for (const outcome of await collect(TABLES.funnel_outcomes, funnelMapper, "scope = 'session'", 'subject_id, funnel')) bySession.get(outcome.subjectId)?.funnelOutcomes.push(outcome);
    const userFunnelOutcomes = await collect(TABLES.funnel_outcomes, funnelMapper, "scope = 'user'", 'funnel, started_at');
    return { sessions: [...bySession.values()], userFunnelOutcomes };
  }

  async sessionIdsOfEvents(events: ReadonlyArray<{ messageId: string; eventTime: number }>): Promise<Map<string, string>> {
    const sessions = new Map<string, string>();
    if (events.length === 0) return sessions;
    let from = MAX_TIME;
    let to = 0;
    for (const event of events) {
      from = Math.min(from, event.eventTime);
      to = Math.max(to, event.eventTime);
    }
    const params = { from, to: Math.min(to, MAX_TIME), ids: events.map((event) => event.messageId) };
    for await (const row of this.select(
      `SELECT message_id, session_id FROM ${this.db}.events FINAL
       WHERE event_time >= fromUnixTimestamp64Milli({from:Int64}) AND event_time <= fromUnixTimestamp64Milli({to:Int64}) AND message_id IN {ids:Array(String)}`,
      params,
    )) {
      sessions.set(row.message_id as string, row.session_id as string);
    }
    return sessions;
  }

  async report(range: TimeRange, includeFlagged: boolean): Promise<JourneyReport> {
    // The SQL is shared with the Grafana dashboards and the HTML report (queries/).
    const rows = (definition: QueryDefinition) => this.definedRows(definition, range, includeFlagged);
    const report: JourneyReport = { sessionsPerDay: [], sessions: { total: 0, flagged: 0, counted: 0 }, labels: [], flags: [], funnels: [] };
    for (const row of await rows(sessionsPerDay)) {
      const day = { day: row.day as string, sessions: Number(row.sessions), flagged: Number(row.flagged) };
      report.sessionsPerDay.push(day);
      report.sessions.total += day.sessions;
      report.sessions.flagged += day.flagged;
    }
    report.sessions.counted = includeFlagged ? report.sessions.total : report.sessions.total - report.sessions.flagged;
    for (const row of await rows(labelShares)) report.labels.push({ label: row.label as string, sessions: Number(row.sessions), share: Number(row.share) });
    for (const row of await rows(flagShares)) report.flags.push({ flag: row.flag as string, sessions: Number(row.sessions) });
    const funnels = new Map<string, { totalSteps: number; reachedStep: number[] }>();
    for (const row of await rows(funnelSteps)) {
      const entry = funnels.get(row.funnel as string) ?? { totalSteps: Number(row.total_steps), reachedStep: [] };
      entry.reachedStep[Number(row.step) - 1] = Number(row.sessions);
      funnels.set(row.funnel as string, entry);
    }
    for (const [funnel, { totalSteps, reachedStep }] of funnels) {
      const entered = reachedStep[0] ?? 0;
      const converted = reachedStep[totalSteps - 1] ?? 0;
      report.funnels.push({ funnel, totalSteps, entered, reachedStep, converted, conversionRate: entered ? converted / entered : 0 });
    }
    return report;
  }

  async sessionShape(range: TimeRange): Promise<SessionShape> {
    const shape = async (definition: QueryDefinition, column: string) =>
      (await this.definedRows(definition, range, true)).map((row) => ({ bucket: String(row[column]), sessions: Number(row.sessions) }));
    return { lengths: await shape(sessionLengths, 'length'), eventsPerSession: await shape(eventsPerSession, 'events') };
  }

  /** Rows of a shared query definition, its range and include flag bound as parameters. */
  private async definedRows(definition: QueryDefinition, range: TimeRange, includeFlagged: boolean): Promise<Row[]> {
    const rows: Row[] = [];
    for await (const row of this.select(definition.sql(reportDialect(this.db)), { ...rangeParams(range), include: includeFlagged ? 1 : 0 })) rows.push(row);
    return rows;
  }

  async sampleSessions(range: TimeRange, limit: number, eventsPerSession: number): Promise<SessionDetail[]> {
    const params = { ...rangeParams(range), limit, per: eventsPerSession };
    const inRange = 'started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at < fromUnixTimestamp64Milli({to:Int64})';
    const sessions: Session[] = [];
    // Sessions with findings first (they are what people look for), then a stable pseudo-random sample.
    for await (const row of this.select(
      `SELECT ${this.selectList(TABLES.sessions)} FROM ${this.db}.sessions FINAL WHERE ${inRange}
       ORDER BY notEmpty(flags) DESC, notEmpty(labels) DESC, cityHash64(session_id), session_id LIMIT {limit:UInt32}`,
      params,
    )) sessions.push(sessionMapper.fromRow(row));
    if (sessions.length === 0) return [];
    const details = new Map<string, SessionDetail>(sessions.map((session) => [session.sessionId, { session, events: [], findings: [], funnelOutcomes: [] }]));
    // One read per table for all the sampled sessions, bounded to their users and time span (partition pruning).
    const scope = {
      ids: [...details.keys()],
      users: [...new Set(sessions.map((s) => s.userId))],
      first: Math.min(...sessions.map((s) => s.startedAt)),
      last: Math.max(...sessions.map((s) => s.endedAt)),
    };
    const collect = async <T>(spec: TableSpec, mapper: Mapper<T>, time: string, where: string, order: string, add: (item: T) => void) => {
      for await (const row of this.select(
        `SELECT ${this.selectList(spec)} FROM ${this.db}.${spec.name} FINAL WHERE user_id IN {users:Array(String)}
         AND ${time} >= fromUnixTimestamp64Milli({first:Int64}) AND ${time} <= fromUnixTimestamp64Milli({last:Int64}) AND ${where} ORDER BY ${order}`,
        { ...scope, per: eventsPerSession },
      )) add(mapper.fromRow(row));
    };
    await collect(TABLES.events, eventMapper, 'event_time', 'session_id IN {ids:Array(String)}', 'session_id, event_time, message_id LIMIT {per:UInt32} BY session_id', (e) => details.get(e.sessionId)?.events.push(e));
    await collect(TABLES.findings, findingMapper, 'started_at', 'session_id IN {ids:Array(String)}', 'session_id, kind, name', (f) => details.get(f.sessionId)?.findings.push(f));
    await collect(TABLES.funnel_outcomes, funnelMapper, 'started_at', "scope = 'session' AND subject_id IN {ids:Array(String)}", 'subject_id, funnel', (o) => details.get(o.subjectId)?.funnelOutcomes.push(o));
    return [...details.values()];
  }

  async publishPipelineFacts(facts: PipelineFacts): Promise<void> {
    const minutes = facts.minutes.flatMap((m) => {
      const base = { minute: Math.trunc(m.bucketStart / 1000), app_version: m.appVersion ?? '' };
      const rows = [{ ...base, outcome: 'accepted', reason: '', lines: m.accepted, late: m.late, extra_copies: m.extraCopies }];
      for (const [reason, lines] of Object.entries(m.rejected)) rows.push({ ...base, outcome: 'rejected', reason, lines: lines ?? 0, late: 0, extra_copies: 0 });
      return rows.filter((row) => row.lines > 0 || row.extra_copies > 0);
    });
    const bursts = facts.bursts.map((b) => ({
      app_version: b.appVersion,
      window_start: toClickHouseTime(b.windowStart),
      window_end: toClickHouseTime(b.windowEnd),
      accepted: b.accepted,
      rejected: b.rejected,
      share: b.share,
      baseline: b.baseline,
      top_reasons: b.reasons.map((r) => `${r.reason} ${r.lines}`),
    }));
    const reverted = new Set(facts.corrections.flatMap((c) => (c.change.kind === 'revert' ? [c.change.target] : [])));
    const corrections = facts.corrections.map((c) => ({
      id: c.id,
      created_at: toClickHouseTime(c.createdAt),
      kind: c.change.kind,
      actor: c.actor,
      reason: c.reason,
      ticket: c.ticket ?? '',
      code: 'code' in c.change ? c.change.code : '',
      reverted: reverted.has(c.id) ? 1 : 0,
    }));
    // A copy, replaced whole: a reader between the two statements sees the table empty for a moment.
    for (const [table, values] of [['pipeline_minutes', minutes], ['release_bursts', bursts], ['corrections', corrections]] as const) {
      await this.run(`TRUNCATE TABLE ${this.db}.${table}`, `replace ${table}`);
      await this.insert(table, values as unknown[]);
    }
  }

  async counts(): Promise<{ sessions: number; events: number }> {
    const counts = { sessions: 0, events: 0 };
    for await (const row of this.select(`SELECT (SELECT count() FROM ${this.db}.sessions FINAL) AS sessions, (SELECT count() FROM ${this.db}.events FINAL) AS events`, {})) {
      counts.sessions = Number(row.sessions);
      counts.events = Number(row.events);
    }
    return counts;
  }

  async dayCounts(day: string): Promise<DayCounts> {
    const id = partitionId(day);
    const counts: DayCounts = { sessions: 0, events: 0, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 };
    for (const table of DERIVED_TABLES) {
      for await (const row of this.select(`SELECT count() AS n FROM ${this.db}.${table} FINAL WHERE _partition_id = {id:String}`, { id })) counts[table] = Number(row.n);
    }
    for await (const row of this.select(`SELECT countIf(kind = 'label') AS labels, countIf(kind = 'flag') AS flags FROM ${this.db}.findings FINAL WHERE _partition_id = {id:String}`, { id })) {
      counts.labels = Number(row.labels);
      counts.flags = Number(row.flags);
    }
    return counts;
  }

  async rebuildDay(day: string): Promise<DayRebuild> {
    const id = partitionId(day);
    // A staging partition left by a crashed rebuild must not leak into this one.
    for (const spec of Object.values(TABLES)) await this.run(`ALTER TABLE ${this.db}.${stagingName(spec)} DROP PARTITION ID '${id}'`, 'clear a staging partition');
    const staged: DayCounts = { sessions: 0, events: 0, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 };
    return {
      day,
      stage: async (derivation, version) => {
        // Whether a user is flagged depends on all of their sessions, so it is decided before the day is cut out.
        const ofDay = derivationOfDay({ ...derivation, funnelOutcomes: withFlagged(derivation) }, day);
        const rowsOf: Record<DerivedTable, Row[]> = {
          sessions: ofDay.sessions.map(sessionMapper.toRow),
          events: ofDay.events.map(eventMapper.toRow),
          findings: ofDay.findings.map(findingMapper.toRow),
          funnel_outcomes: (ofDay.funnelOutcomes as Array<FunnelOutcome & { flagged: boolean }>).map(funnelMapper.toRow),
        };
        for (const table of DERIVED_TABLES) {
          const rows = rowsOf[table].map((row) => this.insertRow(TABLES[table], row, version, 0));
          await this.insertCompact(TABLES[table], stagingName(TABLES[table]), rows);
          staged[table] += rows.length;
        }
        staged.labels += ofDay.findings.filter((f) => f.kind === 'label').length;
        staged.flags += ofDay.findings.filter((f) => f.kind === 'flag').length;
      },
      commit: async () => {
        for (const table of DERIVED_TABLES) {
          const spec = TABLES[table];
          let inStaging = 0;
          for await (const row of this.select(`SELECT count() AS n FROM ${this.db}.${stagingName(spec)} WHERE _partition_id = {id:String}`, { id })) inStaging = Number(row.n);
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
          if (staged[table] > 0) await this.run(`ALTER TABLE ${this.db}.${spec.name} REPLACE PARTITION ID '${id}' FROM ${this.db}.${stagingName(spec)}`, `swap in ${table} ${day}`);
          else await this.run(`ALTER TABLE ${this.db}.${spec.name} DROP PARTITION ID '${id}'`, `empty ${table} ${day}`);
          await this.run(`ALTER TABLE ${this.db}.${stagingName(spec)} DROP PARTITION ID '${id}'`, 'clear a staging partition');
        }
        return { ...staged };
      },
    };
  }

  async dailyCounts(table: 'events' | 'sessions', range: TimeRange): Promise<Array<{ day: string; count: number }>> {
    const column = table === 'events' ? 'event_time' : 'started_at';
    const days: Array<{ day: string; count: number }> = [];
    for await (const row of this.select(
      `SELECT toString(toDate(${column})) AS day, count() AS n FROM ${this.db}.${TABLES[table].name} FINAL
       WHERE ${column} >= fromUnixTimestamp64Milli({from:Int64}) AND ${column} < fromUnixTimestamp64Milli({to:Int64}) GROUP BY day ORDER BY day`,
      rangeParams(range),
    )) {
      days.push({ day: row.day as string, count: Number(row.n) });
    }
    return days;
  }

  async newestEventTime(before: number | undefined): Promise<number | null> {
    let newest: number | null = null;
    for await (const row of this.select(
      `SELECT count() AS n, toUnixTimestamp64Milli(max(event_time)) AS newest FROM ${this.db}.events FINAL WHERE event_time < fromUnixTimestamp64Milli({to:Int64})`,
      { to: rangeParams({ to: before }).to },
    )) {
      if (Number(row.n) > 0) newest = Number(row.newest);
    }
    return newest;
  }

  async propertyProfile(range: TimeRange, event: string, property: string, accepted: readonly string[] | null, sampleSize: number): Promise<PropertyProfile> {
    const params = { ...rangeParams(range), event, property, accepted: accepted ?? [], check: accepted === null ? 0 : 1, sample: sampleSize };
    const scope = `FROM ${this.db}.events FINAL WHERE event = {event:String}
      AND event_time >= fromUnixTimestamp64Milli({from:Int64}) AND event_time < fromUnixTimestamp64Milli({to:Int64})`;
    const missing = `(NOT JSONHas(properties, {property:String}) OR JSONType(properties, {property:String}) = 'Null')`;
    const unexpected = `({check:UInt8} = 1 AND NOT ${missing} AND JSONExtractRaw(properties, {property:String}) NOT IN {accepted:Array(String)})`;
    const profile: PropertyProfile = { rows: 0, missing: 0, missingSample: [], unexpected: 0, unexpectedValues: [] };
    for await (const row of this.select(
      `SELECT count() AS rows, countIf(${missing}) AS missing, groupArrayIf({sample:UInt32})(message_id, ${missing}) AS missing_sample, countIf(${unexpected}) AS unexpected ${scope}`,
      params,
    )) {
      profile.rows = Number(row.rows);
      profile.missing = Number(row.missing);
      profile.missingSample = row.missing_sample as string[];
      profile.unexpected = Number(row.unexpected);
    }
    if (profile.unexpected > 0) {
      for await (const row of this.select(
        `SELECT JSONExtractRaw(properties, {property:String}) AS value, count() AS rows, min(message_id) AS example ${scope} AND ${unexpected}
         GROUP BY value ORDER BY rows DESC, value LIMIT {sample:UInt32}`,
        params,
      )) {
        profile.unexpectedValues.push({ value: row.value as string, rows: Number(row.rows), example: row.example as string });
      }
    }
    return profile;
  }

  async flagShare(range: TimeRange, flag: string, sampleSize: number): Promise<{ sessions: number; flagged: number; sample: string[] }> {
    const has = flag === '*' ? 'notEmpty(flags)' : 'has(flags, {flag:String})';
    const result = { sessions: 0, flagged: 0, sample: [] as string[] };
    for await (const row of this.select(
      `SELECT count() AS sessions, countIf(${has}) AS flagged, groupArrayIf({sample:UInt32})(session_id, ${has}) AS sample FROM ${this.db}.sessions FINAL
       WHERE started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at < fromUnixTimestamp64Milli({to:Int64})`,
      { ...rangeParams(range), flag, sample: sampleSize },
    )) {
      result.sessions = Number(row.sessions);
      result.flagged = Number(row.flagged);
      result.sample = row.sample as string[];
    }
    return result;
  }

  async reconcileDays(range: TimeRange): Promise<ReconcileDay[]> {
    const params = rangeParams(range);
    // A session's events lie within its maximum length after its start: read them with two days' margin.
    const margin = { from: Math.max(0, params.from - 2 * 86_400_000), to: Math.min(MAX_TIME, params.to + 2 * 86_400_000) };
    const days = new Map<string, ReconcileDay>();
    const dayOf = (day: string) => {
      let entry = days.get(day);
      if (!entry) days.set(day, (entry = { day, events: 0, sessions: 0, declared: 0, placed: 0, mismatchedSessions: 0, sample: [] }));
      return entry;
    };
    for (const { day, count } of await this.dailyCounts('events', range)) dayOf(day).events = count;
    for await (const row of this.select(
      `SELECT toString(toDate(s.started_at)) AS day, count() AS sessions, sum(s.event_count) AS declared, sum(e.n) AS placed,
              countIf(s.event_count != e.n) AS mismatched, groupArrayIf(10)(s.session_id, s.event_count != e.n) AS sample
       FROM (SELECT session_id, started_at, event_count FROM ${this.db}.sessions FINAL
             WHERE started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at < fromUnixTimestamp64Milli({to:Int64})) AS s
       LEFT JOIN (SELECT session_id, count() AS n FROM ${this.db}.events FINAL
                  WHERE event_time >= fromUnixTimestamp64Milli({mfrom:Int64}) AND event_time < fromUnixTimestamp64Milli({mto:Int64}) GROUP BY session_id) AS e
       USING (session_id) GROUP BY day ORDER BY day`,
      { ...params, mfrom: margin.from, mto: margin.to },
    )) {
      Object.assign(dayOf(row.day as string), {
        sessions: Number(row.sessions),
        declared: Number(row.declared),
        placed: Number(row.placed),
        mismatchedSessions: Number(row.mismatched),
        sample: row.sample as string[],
      });
    }
    return [...days.values()].sort((a, b) => a.day.localeCompare(b.day));
  }

  async queryRows(sql: string, range: Required<TimeRange>, limit: number): Promise<{ rows: Array<Record<string, unknown>>; total: number }> {
    const bounded = rangeParams(range);
    const params = { from: toClickHouseTime(bounded.from), to: toClickHouseTime(bounded.to), from_ms: bounded.from, to_ms: bounded.to, db: this.db.slice(1, -1) };
    // Checks only read: anything but a SELECT is refused before it reaches the engine (a readonly
    // setting would stick to chdb's one in-process session).
    if (!/^\s*(\(\s*)?(SELECT|WITH)\b/i.test(sql.replace(/^\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/)*/g, ''))) throw new UsageError('the query must be a SELECT (or WITH … SELECT)');
    // The engine counts and cuts: a check matching millions of rows must not bring them all
    // here (chdb's connection holds a whole result in memory before the first row).
    const body = sql.trim().replace(/;\s*$/, '');
    const collect = async (query: string, extra: Record<string, unknown> = {}) => {
      const rows: Array<Record<string, unknown>> = [];
      try {
        const resultSet = await this.client.query({ query, query_params: { ...params, ...extra }, format: 'JSONEachRow', clickhouse_settings: READ_SETTINGS });
        for await (const batch of resultSet.stream<Row>()) for (const row of batch) rows.push(row.json());
      } catch (error) {
        throw this.queryFailure(error);
      }
      return rows;
    };
    const [counted] = await collect(`SELECT count() AS n FROM (${body})`);
    const rows = limit > 0 ? await collect(`SELECT * FROM (${body}) LIMIT {__sample_rows:UInt32}`, { __sample_rows: limit }) : [];
    return { rows, total: Number(counted?.n ?? 0) };
  }

  async storeCheckFailures(rows: readonly CheckFailureRow[]): Promise<void> {
    await this.insert(
      CHECK_FAILURES_TABLE,
      rows.map((r) => ({ run_id: r.runId, run_at: toClickHouseTime(r.runAt), check_name: r.check, check_type: r.checkType, status: r.status, row: r.row })),
    );
  }

  // Damage (journeyctl doctor, repair, and the cheap look every open takes): see store-damage.ts.

  /** Tables of this database that exist now (before migrate, to tell a deleted definition from a new store). */
  async existingTables(): Promise<string[]> {
    const names: string[] = [];
    for await (const row of this.select('SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name', { db: this.db.slice(1, -1) })) names.push(row.name as string);
    return names;
  }

  /** Rows in the events table, tombstones included: a cheap "holds data" (count() reads part metadata only). */
  async eventCount(): Promise<number> {
    for await (const row of this.select(`SELECT count() AS n FROM ${this.db}.events`, {})) return Number(row.n);
    return 0;
  }

  /** Every table migrate creates. */
  expectedTables(): string[] {
    return [...Object.values(TABLES).flatMap((spec) => [spec.name, stagingName(spec)]), CHECK_FAILURES_TABLE].sort();
  }

  /**
   * Parts the engine set aside when it opened the tables (a truncated part, altered marks or
   * count.txt): their rows silently vanish from every read. One small system-table scan.
   */
  async brokenParts(): Promise<StoreDamage[]> {
    const damage: StoreDamage[] = [];
    const query = `SELECT table, name, partition_id, reason FROM system.detached_parts
      WHERE database = {db:String} AND (startsWith(reason, 'broken') OR reason IN ('unexpected', 'covered-by-broken')) ORDER BY table, name`;
    for await (const row of this.select(query, { db: this.db.slice(1, -1) })) {
      const name = row.name as string;
      const part = name.slice(String(row.reason).length + 1) || name;
      const day = dayOfPartition((row.partition_id as string | null) ?? part.split('_')[0]);
      damage.push({ store: 'analytics store', kind: 'broken part', table: row.table as string, ...(day ? { day } : {}), part, detail: `part ${part} was set aside as ${row.reason} (truncated or altered files); its rows are missing from every read` });
    }
    return damage;
  }

  /** CHECK TABLE on every table: each part's files against its checksums. Reads all the data: doctor and repair only. */
  async checkParts(): Promise<StoreDamage[]> {
    const damage: StoreDamage[] = [];
    for (const table of await this.existingTables()) {
      let result;
      try {
        result = await this.client.query({ query: `CHECK TABLE ${this.db}.${quoteIdentifier(table)}`, format: 'JSONEachRow', clickhouse_settings: { check_query_single_value_result: 0 } });
      } catch (error) {
        damage.push({ store: 'analytics store', kind: 'checksum mismatch', table, detail: `CHECK TABLE failed: ${firstLine(error)}` });
        continue;
      }
      for (const row of await result.json<{ part_path: string; is_passed: number; message: string }>()) {
        if (Number(row.is_passed) === 1) continue;
        const day = dayOfPartition(row.part_path.split('_')[0]);
        damage.push({ store: 'analytics store', kind: 'checksum mismatch', table, ...(day ? { day } : {}), part: row.part_path, detail: `part ${row.part_path} fails its checksums: ${row.message.split('\n')[0]}` });
      }
    }
    return damage;
  }

  /** Deletes parts set aside as broken (their rows are rebuilt from the raw store). */
  async dropBrokenParts(): Promise<number> {
    const broken = await this.brokenParts();
    for (const { table, part } of broken) {
      const name = (await this.detachedName(table!, part!)) ?? part!;
      await this.run(`ALTER TABLE ${this.db}.${quoteIdentifier(table!)} DROP DETACHED PART '${name.replace(/[^A-Za-z0-9_-]/g, '')}' SETTINGS allow_drop_detached = 1`, `drop the broken part ${name} of ${table}`);
    }
    return broken.length;
  }

  private async detachedName(table: string, part: string): Promise<string | null> {
    for await (const row of this.select('SELECT name FROM system.detached_parts WHERE database = {db:String} AND table = {table:String} AND endsWith(name, {part:String})', { db: this.db.slice(1, -1), table, part })) return row.name as string;
    return null;
  }

  /** Drops these day partitions from every derived table (before they are rebuilt: a damaged part cannot be read to be replaced). */
  async dropDays(days: readonly string[]): Promise<void> {
    for (const day of days) for (const table of DERIVED_TABLES) await this.run(`ALTER TABLE ${this.db}.${table} DROP PARTITION ID '${partitionId(day)}'`, `drop ${table} ${day}`);
  }

  /** Empties every derived table and its staging (a rebuild of everything from the raw store follows). */
  async truncateDerived(): Promise<void> {
    for (const spec of Object.values(TABLES)) {
      await this.run(`TRUNCATE TABLE IF EXISTS ${this.db}.${spec.name}`, `empty ${spec.name}`);
      await this.run(`TRUNCATE TABLE IF EXISTS ${this.db}.${stagingName(spec)}`, `empty ${stagingName(spec)}`);
    }
  }

  /** The engine answered with an error (bad SQL in a check): the check is wrong, not the store. */
  private queryFailure(error: unknown): Error {
    const message = (error as Error).message ?? String(error);
    if (/Code: \d+|DB::Exception|Syntax error|Unknown (identifier|table|function)/i.test(message) || (error as { code?: unknown }).code !== undefined) {
      return new UsageError(`the query failed: ${message.split('\n')[0]}`);
    }
    return this.failure('run a check query', error);
  }

  async close(): Promise<void> {
    await this.client.close();
    await this.onClose();
  }

  private async run(query: string, what: string): Promise<void> {
    try {
      await this.client.command({ query });
    } catch (error) {
      throw this.failure(what, error);
    }
  }

  /**
   * A time range of a table in `order`, a page at a time: keyset pages (`order` is unique per
   * row) rather than one query, because chdb's connection materialises a whole result before
   * the first row. `export events` of a million events: one query peaked at 2.6 GiB RSS; pages
   * of 100k rows at 1.0 GiB, 50k at ~0.85, 20k at 0.66 (and 20% slower).
   */
  private async *streamTable<T>(spec: TableSpec, mapper: Mapper<T>, timeColumn: string, range: TimeRange, order: string, where: StreamWhere = { clauses: [], params: {} }): AsyncIterable<T> {
    const orderColumns = order.split(',').map((column) => column.trim());
    const times = timeColumns(spec);
    // The last row's key as parameters: times as epoch ms (how they are read), the rest as text.
    const afterKey = orderColumns
      .map((column, index) => (times.has(column) ? `fromUnixTimestamp64Milli({k${index}:Int64})` : `{k${index}:String}`))
      .join(', ');
    let after: Row | null = null;
    let remaining = where.limit ?? Number.POSITIVE_INFINITY;
    const filtered = where.clauses.map((clause) => `AND ${clause}`).join(' ');
    for (;;) {
      const keyset: string = after === null ? '' : `AND (${order}) > (${afterKey})`;
      const pageRows = Math.min(this.streamPageRows, remaining);
      const params: Record<string, unknown> = { ...where.params, ...rangeParams(range), limit: pageRows };
      if (after !== null) orderColumns.forEach((column, index) => (params[`k${index}`] = after![column]));
      const query = `SELECT ${this.selectList(spec)} FROM ${this.db}.${spec.name} FINAL
        WHERE ${timeColumn} >= fromUnixTimestamp64Milli({from:Int64}) AND ${timeColumn} < fromUnixTimestamp64Milli({to:Int64}) ${filtered} ${keyset}
        ORDER BY ${order} LIMIT {limit:UInt32}`;
      let rows = 0;
      for await (const row of this.select(query, params)) {
        rows += 1;
        after = row;
        yield mapper.fromRow(row);
      }
      remaining -= rows;
      if (rows < pageRows || remaining <= 0) return;
    }
  }

  /**
   * The spec's columns in order, times as epoch ms. The ms value gets its own alias: in
   * ClickHouse an alias shadows the column in WHERE, which would defeat partition pruning.
   */
  private selectList(spec: TableSpec): string {
    const times = timeColumns(spec);
    return spec.columns.map(([name]) => (times.has(name) ? `toUnixTimestamp64Milli(${name}) AS ${name}${MS_SUFFIX}` : name)).join(', ');
  }

  /**
   * A row as the values of the spec's columns in order, then version and is_deleted (see
   * insertCompact). Times go as integer epoch milliseconds, which ClickHouse reads as DateTime64(3)
   * ticks (documented for the type; formatting them as text was 4% of a derive).
   */
  private insertRow(spec: TableSpec, row: Row, version: number, isDeleted: 0 | 1): unknown[] {
    const times = timeColumns(spec);
    const out: unknown[] = [];
    for (const [name] of spec.columns) out.push(times.has(name) ? Math.trunc(Number(row[name])) : row[name]);
    out.push(version, isDeleted);
    return out;
  }

  /**
   * Derived rows travel as JSONCompactEachRow (arrays, columns named once in the statement):
   * ~60% of JSONEachRow's bytes, about three times cheaper to encode here and a third cheaper
   * for the engine to parse, measured on the events table.
   */
  private async insertCompact(spec: TableSpec, table: string, values: unknown[][]): Promise<void> {
    const columns: [string, ...string[]] = ['version', 'is_deleted'];
    columns.unshift(...spec.columns.map(([name]) => name));
    await this.insert(table, values, { format: 'JSONCompactEachRow', columns });
  }

  private async insert(table: string, values: unknown[], how: { format: 'JSONEachRow' } | { format: 'JSONCompactEachRow'; columns: [string, ...string[]] } = { format: 'JSONEachRow' }): Promise<void> {
    const BATCH = 50_000;
    try {
      for (let start = 0; start < values.length; start += BATCH) {
        await this.client.insert({ table: `${this.db}.${table}`, values: values.slice(start, start + BATCH), ...how });
      }
    } catch (error) {
      throw this.failure(`insert into ${table}`, error);
    }
  }

  /** Streams rows; parameters are bound server-side, never spliced into SQL. */
  private async *select(query: string, params: Record<string, unknown>): AsyncIterable<Row> {
    let resultSet;
    try {
      resultSet = await this.client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: READ_SETTINGS });
    } catch (error) {
      throw this.failure('query', error);
    }
    for await (const rows of resultSet.stream<Row>()) {
      for (const row of rows) yield withTimeNames(row.json());
    }
  }

  private failure(what: string, error: unknown): InfrastructureError {
    const message = (error as Error).message ?? String(error);
    const damaged = damageInMessage(message);
    if (damaged) return damageError([damaged]);
    return new InfrastructureError(`analytics store (${this.engine}): cannot ${what}: ${message.split('\n')[0]}`, {
      hint: this.engine === 'chdb' ? undefined : 'check that ClickHouse is reachable (journeyctl doctor)',
      cause: error,
    });
  }
}

const MS_SUFFIX = '__ms';

/**
 * A read that hit a damaged part (checksum mismatch, unreadable or undecompressable data) names
 * the part and table in its message: the damage, not a passing outage.
 */
const DAMAGE_MESSAGE = /Checksum doesn't match|CHECKSUM_DOESNT_MATCH|CORRUPTED_DATA|CANNOT_DECOMPRESS|Cannot read all data|CANNOT_READ_ALL_DATA|UNKNOWN_CODEC|ATTEMPT_TO_READ_AFTER_EOF/i;

function damageInMessage(message: string): StoreDamage | null {
  if (!DAMAGE_MESSAGE.test(message)) return null;
  const table = /in table [`"]?[A-Za-z0-9_]+[`"]?\.[`"]?([A-Za-z0-9_]+)/.exec(message)?.[1];
  const part = /(?:reading part|data part|from part [^ ]*\/)\s*([0-9A-Za-z]+_\d+_\d+_\d+)/.exec(message)?.[1];
  const day = dayOfPartition(part?.split('_')[0]);
  return {
    store: 'analytics store',
    kind: 'checksum mismatch',
    ...(table ? { table } : {}),
    ...(day ? { day } : {}),
    ...(part ? { part } : {}),
    detail: `${part ? `part ${part} ` : 'a part '}cannot be read: ${message.split('\n')[0]!.slice(0, 120)}`,
  };
}

function firstLine(error: unknown): string {
  return ((error as Error).message ?? String(error)).split('\n')[0]!;
}

function withTimeNames(row: Row): Row {
  for (const key of Object.keys(row)) {
    if (key.endsWith(MS_SUFFIX)) {
      row[key.slice(0, -MS_SUFFIX.length)] = row[key];
      delete row[key];
    }
  }
  return row;
}

/** Rows compare by content: every column in spec order, numbers as numbers. */
function canonicalJson(spec: TableSpec, row: Row): string {
  return JSON.stringify(spec.columns.map(([name]) => (typeof row[name] === 'bigint' ? Number(row[name]) : row[name])));
}

/** Funnel outcomes carry whether their session (or, user scope, any of the user's sessions) is flagged. */
function withFlagged(derivation: UserDerivation): Array<FunnelOutcome & { flagged: boolean }> {
  const flaggedSessions = new Set(derivation.sessions.filter((s) => s.flags.length > 0).map((s) => s.sessionId));
  const flaggedUsers = new Set(derivation.sessions.filter((s) => s.flags.length > 0).map((s) => s.userId));
  return derivation.funnelOutcomes.map((o) => ({ ...o, flagged: o.scope === 'session' ? flaggedSessions.has(o.subjectId) : flaggedUsers.has(o.userId) }));
}

/** Day partitions are toDate(...): their id is YYYYMMDD. Checked, because partition ids cannot be bound. */
function partitionId(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) throw new Error(`invalid day ${JSON.stringify(day)}`);
  return day.replaceAll('-', '');
}

/** Extra WHERE clauses of a stream, their bound parameters and a cap on rows. */
interface StreamWhere {
  clauses: string[];
  params: Record<string, unknown>;
  limit?: number | undefined;
}

function rangeParams(range: TimeRange): { from: number; to: number } {
  return { from: range.from ?? 0, to: Math.min(range.to ?? MAX_TIME, MAX_TIME) };
}

/** ClickHouse parses this text form of DateTime64(3) in any server configuration. */
function toClickHouseTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}
