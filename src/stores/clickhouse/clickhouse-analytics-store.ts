import type { ClickHouseClient } from '@clickhouse/client';
import type { Session, SessionEvent } from '../../domain/session.js';
import { InfrastructureError } from '../../errors.js';
import type { AnalyticsStore, ReplaceResult } from '../analytics-store.js';
import type { TimeRange } from '../raw-store.js';
import { FINAL_SETTINGS, quoteIdentifier, schemaStatements } from './schema.js';

const MAX_TIME = 253402300799999; // 9999-12-31T23:59:59.999Z, the top of DateTime64's range

interface SessionRow {
  user_id: string;
  started_ms: string;
  session_id: string;
  ended_ms: string;
  anonymous_ids: string[];
  event_count: number;
  first_event: string;
  last_event: string;
  first_message_id: string;
  app_versions: string[];
  flags: string[];
  labels: string[];
}

interface EventRow {
  user_id: string;
  time_ms: string;
  message_id: string;
  session_id: string;
  anonymous_id: string;
  type: string;
  event: string;
  app_version: string;
  properties: string;
}

/**
 * Sessions and events in ClickHouse SQL, through @clickhouse/client. The same class serves
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
  ) {
    this.db = quoteIdentifier(database);
  }

  async migrate(): Promise<void> {
    for (const statement of schemaStatements(this.db.slice(1, -1))) await this.command(statement);
  }

  async replaceUsers(userIds: readonly string[], sessions: readonly Session[], events: readonly SessionEvent[], version: number): Promise<ReplaceResult> {
    const result: ReplaceResult = { sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 };
    if (userIds.length === 0) return result;
    const users = [...userIds];

    const oldSessions = new Map<string, SessionRow>();
    for await (const row of this.select<SessionRow>(
      `SELECT user_id, toUnixTimestamp64Milli(started_at) AS started_ms, session_id, toUnixTimestamp64Milli(ended_at) AS ended_ms,
              anonymous_ids, event_count, first_event, last_event, first_message_id, app_versions, flags, labels
       FROM ${this.db}.sessions FINAL WHERE user_id IN {users:Array(String)}`,
      { users },
    )) oldSessions.set(sessionKey(row.user_id, Number(row.started_ms), row.session_id), row);

    const sessionRows: Record<string, unknown>[] = [];
    for (const session of sessions) {
      const key = sessionKey(session.userId, session.startedAt, session.sessionId);
      const old = oldSessions.get(key);
      oldSessions.delete(key);
      if (old && sameSession(old, session)) continue;
      sessionRows.push(sessionToRow(session, version, 0));
    }
    for (const old of oldSessions.values()) sessionRows.push(sessionTombstone(old, version));
    result.sessionsWritten = sessionRows.length - oldSessions.size;
    result.sessionsDeleted = oldSessions.size;

    const oldEvents = new Map<string, EventRow>();
    for await (const row of this.select<EventRow>(
      `SELECT user_id, toUnixTimestamp64Milli(event_time) AS time_ms, message_id, session_id, anonymous_id, type, event, app_version, properties
       FROM ${this.db}.events FINAL WHERE user_id IN {users:Array(String)}`,
      { users },
    )) oldEvents.set(eventKey(row.user_id, Number(row.time_ms), row.message_id), row);

    const eventRows: Record<string, unknown>[] = [];
    for (const event of events) {
      const key = eventKey(event.userId, event.eventTime, event.messageId);
      const old = oldEvents.get(key);
      oldEvents.delete(key);
      if (old && sameEvent(old, event)) continue;
      eventRows.push(eventToRow(event, version, 0));
    }
    for (const old of oldEvents.values()) eventRows.push(eventTombstone(old, version));
    result.eventsWritten = eventRows.length - oldEvents.size;
    result.eventsDeleted = oldEvents.size;

    // Events first: a crash between the two inserts leaves sessions stale, never pointing at missing events;
    // the raw store still marks these users dirty, so the next derive finishes the job.
    await this.insert('events', eventRows);
    await this.insert('sessions', sessionRows);
    return result;
  }

  async *streamSessions(range: TimeRange): AsyncIterable<Session> {
    for await (const row of this.select<SessionRow>(
      `SELECT user_id, toUnixTimestamp64Milli(started_at) AS started_ms, session_id, toUnixTimestamp64Milli(ended_at) AS ended_ms,
              anonymous_ids, event_count, first_event, last_event, first_message_id, app_versions, flags, labels
       FROM ${this.db}.sessions FINAL
       WHERE started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at < fromUnixTimestamp64Milli({to:Int64})
       ORDER BY started_at, session_id`,
      rangeParams(range),
    )) yield rowToSession(row);
  }

  async *streamEvents(range: TimeRange): AsyncIterable<SessionEvent> {
    for await (const row of this.select<EventRow>(
      `SELECT user_id, toUnixTimestamp64Milli(event_time) AS time_ms, message_id, session_id, anonymous_id, type, event, app_version, properties
       FROM ${this.db}.events FINAL
       WHERE event_time >= fromUnixTimestamp64Milli({from:Int64}) AND event_time < fromUnixTimestamp64Milli({to:Int64})
       ORDER BY event_time, message_id`,
      rangeParams(range),
    )) yield rowToEvent(row);
  }

  async counts(): Promise<{ sessions: number; events: number }> {
    const counts: { sessions: number; events: number } = { sessions: 0, events: 0 };
    for await (const row of this.select<{ sessions: string; events: string }>(
      `SELECT (SELECT count() FROM ${this.db}.sessions FINAL) AS sessions, (SELECT count() FROM ${this.db}.events FINAL) AS events`,
      {},
    )) {
      counts.sessions = Number(row.sessions);
      counts.events = Number(row.events);
    }
    return counts;
  }

  async close(): Promise<void> {
    await this.client.close();
    await this.onClose();
  }

  private async command(query: string): Promise<void> {
    try {
      await this.client.command({ query });
    } catch (error) {
      throw this.failure('run a schema statement', error);
    }
  }

  private async insert(table: 'sessions' | 'events', values: Record<string, unknown>[]): Promise<void> {
    const BATCH = 50_000;
    try {
      for (let start = 0; start < values.length; start += BATCH) {
        await this.client.insert({ table: `${this.db}.${table}`, values: values.slice(start, start + BATCH), format: 'JSONEachRow' });
      }
    } catch (error) {
      throw this.failure(`insert into ${table}`, error);
    }
  }

  /** Streams rows; parameters are bound server-side, never spliced into SQL. */
  private async *select<T>(query: string, params: Record<string, unknown>): AsyncIterable<T> {
    let resultSet;
    try {
      resultSet = await this.client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: FINAL_SETTINGS });
    } catch (error) {
      throw this.failure('query', error);
    }
    for await (const rows of resultSet.stream<T>()) {
      for (const row of rows) yield row.json();
    }
  }

  private failure(what: string, error: unknown): InfrastructureError {
    const message = (error as Error).message ?? String(error);
    return new InfrastructureError(`analytics store (${this.engine}): cannot ${what}: ${message.split('\n')[0]}`, {
      hint: this.engine === 'chdb' ? undefined : 'check that ClickHouse is reachable (journeyctl doctor)',
      cause: error,
    });
  }
}

function rangeParams(range: TimeRange): { from: number; to: number } {
  return { from: range.from ?? 0, to: Math.min(range.to ?? MAX_TIME, MAX_TIME) };
}

function sessionKey(userId: string, startedAt: number, sessionId: string): string {
  return `${userId}\u0000${startedAt}\u0000${sessionId}`;
}

function eventKey(userId: string, eventTime: number, messageId: string): string {
  return `${userId}\u0000${eventTime}\u0000${messageId}`;
}

/** ClickHouse parses this text form of DateTime64(3) in any server configuration. */
function toClickHouseTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

function sessionToRow(session: Session, version: number, isDeleted: 0 | 1): Record<string, unknown> {
  return {
    user_id: session.userId,
    started_at: toClickHouseTime(session.startedAt),
    session_id: session.sessionId,
    ended_at: toClickHouseTime(session.endedAt),
    anonymous_ids: session.anonymousIds,
    event_count: session.eventCount,
    first_event: session.firstEvent,
    last_event: session.lastEvent,
    first_message_id: session.firstMessageId,
    app_versions: session.appVersions,
    flags: session.flags,
    labels: session.labels,
    version,
    is_deleted: isDeleted,
  };
}

function sessionTombstone(row: SessionRow, version: number): Record<string, unknown> {
  return { ...sessionToRow(rowToSession(row), version, 1) };
}

function rowToSession(row: SessionRow): Session {
  return {
    sessionId: row.session_id,
    userId: row.user_id,
    anonymousIds: row.anonymous_ids,
    startedAt: Number(row.started_ms),
    endedAt: Number(row.ended_ms),
    eventCount: Number(row.event_count),
    firstEvent: row.first_event,
    lastEvent: row.last_event,
    firstMessageId: row.first_message_id,
    appVersions: row.app_versions,
    flags: row.flags,
    labels: row.labels,
  };
}

function sameSession(row: SessionRow, session: Session): boolean {
  return (
    Number(row.ended_ms) === session.endedAt &&
    Number(row.event_count) === session.eventCount &&
    row.first_event === session.firstEvent &&
    row.last_event === session.lastEvent &&
    row.first_message_id === session.firstMessageId &&
    sameList(row.anonymous_ids, session.anonymousIds) &&
    sameList(row.app_versions, session.appVersions) &&
    sameList(row.flags, session.flags) &&
    sameList(row.labels, session.labels)
  );
}

function eventToRow(event: SessionEvent, version: number, isDeleted: 0 | 1): Record<string, unknown> {
  return {
    user_id: event.userId,
    event_time: toClickHouseTime(event.eventTime),
    message_id: event.messageId,
    session_id: event.sessionId,
    anonymous_id: event.anonymousId ?? '',
    type: event.type,
    event: event.event,
    app_version: event.appVersion ?? '',
    properties: event.propertiesJson,
    version,
    is_deleted: isDeleted,
  };
}

function eventTombstone(row: EventRow, version: number): Record<string, unknown> {
  return eventToRow(rowToEvent(row), version, 1);
}

function rowToEvent(row: EventRow): SessionEvent {
  return {
    messageId: row.message_id,
    userId: row.user_id,
    anonymousId: row.anonymous_id === '' ? null : row.anonymous_id,
    sessionId: row.session_id,
    eventTime: Number(row.time_ms),
    type: row.type,
    event: row.event,
    appVersion: row.app_version === '' ? null : row.app_version,
    propertiesJson: row.properties,
  };
}

function sameEvent(row: EventRow, event: SessionEvent): boolean {
  return (
    row.session_id === event.sessionId &&
    row.anonymous_id === (event.anonymousId ?? '') &&
    row.type === event.type &&
    row.event === event.event &&
    row.app_version === (event.appVersion ?? '') &&
    row.properties === event.propertiesJson
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}
