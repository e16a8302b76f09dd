import { Box, renderToString, Text } from 'ink';
import { describeConflict, type IdentityConflict } from '../../pipeline/identity-conflicts.js';
import type { CorrectionRecord } from '../records.js';
import { fit, keyProperties } from '../tail-records.js';

type Json = Record<string, unknown>;

// What `journeyctl inspect` prints as JSON and draws on a terminal.

/** A correction applied to the user or session (`correctionsFor` in commands/inspect.ts, the record explain prints). */
export type InspectCorrection = CorrectionRecord;

/** One session of the timeline: the same shape `explain` prints as JSON. */
export interface InspectSession {
  session: Json;
  labels: Json[];
  flags: Json[];
  funnels: Json[];
  events: Json[];
}

/** Who the person is: the profile, every id stitched to them, and the winning link of each id. */
export interface InspectIdentity {
  user_id: string;
  profile: Json | null;
  ids: string[];
  links: Array<{ from: string; to: string }>;
  /**
   * Anonymous ids of this user seen with more than pipeline.max_users_per_anonymous_id user ids:
   * stitched to the first user (linked_to) only.
   */
  conflicts?: IdentityConflict[];
}

export interface InspectUser {
  kind: 'user';
  /** The id asked for; differs from `user_id` when it is an anonymous id stitched to the user. */
  requested_id: string;
  user_id: string;
  identity: InspectIdentity;
  /** User-scope funnel outcomes (best attempt across sessions). */
  funnels: Json[];
  sessions: InspectSession[];
  corrections: InspectCorrection[];
}

export interface InspectSessionView extends InspectSession {
  kind: 'session';
  identity: InspectIdentity;
  corrections: InspectCorrection[];
}

export type Inspection = InspectUser | InspectSessionView;

/** Events listed per session on a terminal; the JSON output always has all of them. */
export const EVENTS_SHOWN_PER_SESSION = 40;

export interface InspectViewProps {
  inspection: Inspection;
  width: number;
  color: boolean;
}

/** `journeyctl inspect` on a terminal, rendered once (the same data as --output json). */
export function renderInspect(inspection: Inspection, options: { width: number; color: boolean }): string {
  return `${renderToString(<InspectView inspection={inspection} width={options.width} color={options.color} />, { columns: options.width })}\n`;
}

export function InspectView({ inspection, width, color }: InspectViewProps) {
  const c = (name: string) => (color ? name : undefined);
  if (inspection.kind === 'session') {
    return (
      <Box flexDirection="column">
        <SessionBlock session={inspection} width={width} color={color} index={null} />
        <Box marginTop={1} flexDirection="column">
          <Identity identity={inspection.identity} color={color} />
        </Box>
        <Corrections corrections={inspection.corrections} color={color} />
      </Box>
    );
  }
  const { identity } = inspection;
  return (
    <Box flexDirection="column">
      <Text bold={color} color={c('cyan')}>
        User {inspection.user_id}
        {inspection.requested_id !== inspection.user_id ? <Text dimColor={color}> (asked for {inspection.requested_id}, stitched to this user)</Text> : null}
      </Text>
      <Identity identity={identity} color={color} />
      <Text>
        {'  '}funnels across sessions: {inspection.funnels.length === 0 ? 'none' : inspection.funnels.map((f) => `${str(f.funnel)} ${outcomeText(f)}`).join(' · ')}
      </Text>
      <Text>
        {'  '}
        {plural(inspection.sessions.length, 'session')}
      </Text>
      {inspection.sessions.map((session, index) => (
        <Box key={str(session.session.session_id)} marginTop={1} flexDirection="column">
          <SessionBlock session={session} width={width} color={color} index={index + 1} />
        </Box>
      ))}
      <Corrections corrections={inspection.corrections} color={color} />
    </Box>
  );
}

function Identity({ identity, color }: { identity: InspectIdentity; color: boolean }) {
  const profile = identity.profile;
  const links = identity.links.filter((link) => link.from !== link.to);
  return (
    <Box flexDirection="column">
      {profile === null ? (
        <Text>{'  '}no profile yet (its events are not derived yet)</Text>
      ) : (
        <Box flexDirection="column">
          <Text>
            {'  '}
            {profile.identified ? 'identified' : 'anonymous (never identified)'} · {plural(Number(profile.event_count), 'event')} · {plural(Number(profile.session_count), 'session')}
          </Text>
          <Text>
            {'  '}first seen {time(profile.first_seen)} · last seen {time(profile.last_seen)}
          </Text>
        </Box>
      )}
      <Text>
        {'  '}ids: {identity.ids.join(', ')}
      </Text>
      {links.length > 0 ? (
        <Text>
          {'  '}links: {links.map((link) => `${link.from} → ${link.to}`).join(', ')}
        </Text>
      ) : null}
      {(identity.conflicts ?? []).map((conflict) => (
        <Text key={conflict.anonymous_id} color={color ? 'yellow' : undefined}>
          {'  '}
          {describeConflict(conflict)}
        </Text>
      ))}
      {profile !== null && Object.keys((profile.traits as Json) ?? {}).length > 0 ? (
        <Text>
          {'  '}traits: <Text color={color ? 'magenta' : undefined}>{keyProperties(profile.traits)}</Text>
        </Text>
      ) : null}
    </Box>
  );
}

function SessionBlock({ session, width, color, index }: { session: InspectSession; width: number; color: boolean; index: number | null }) {
  const s = session.session;
  const minutes = (Number(s.duration_ms) / 60_000).toFixed(1);
  const apps = Array.isArray(s.app_versions) && s.app_versions.length > 0 ? s.app_versions.join(', ') : 'unknown';
  const shown = session.events.slice(0, EVENTS_SHOWN_PER_SESSION);
  const eventWidth = 24;
  const propsWidth = Math.max(10, width - 4 - 12 - 2 - eventWidth - 2);
  return (
    <Box flexDirection="column">
      <Text bold={color} color={color ? 'cyan' : undefined}>
        {index === null ? 'Session' : `Session ${index}`} {str(s.session_id)}
        {index === null ? <Text bold={false}> of user {str(s.user_id)}</Text> : null}
      </Text>
      <Text dimColor={color}>
        {'  '}
        {time(s.started_at)} → {time(s.ended_at)} ({minutes} min) · {plural(Number(s.event_count), 'event')} · app {apps}
      </Text>
      <Findings title="labels" findings={session.labels} color={color ? 'green' : undefined} />
      <Findings title="flags" findings={session.flags} color={color ? 'red' : undefined} />
      <Text>
        {'  '}funnels: {session.funnels.length === 0 ? 'none' : session.funnels.map((f) => `${str(f.funnel)}${f.scope === 'user' ? ' (user)' : ''} ${outcomeText(f)}`).join(' · ')}
      </Text>
      {shown.map((event) => (
        <Text key={str(event.message_id)}>
          {'    '}
          <Text dimColor={color}>{time(event.event_time).slice(11, 23)}</Text>
          {'  '}
          <Text color={color ? 'green' : undefined}>{fit(str(event.event), eventWidth)}</Text>
          {'  '}
          {fit(keyProperties(event.properties), propsWidth).trimEnd()}
        </Text>
      ))}
      {session.events.length > shown.length ? (
        <Text dimColor={color}>
          {'    '}… {session.events.length - shown.length} more events (--output json has them all)
        </Text>
      ) : null}
    </Box>
  );
}

function Findings({ title, findings, color }: { title: string; findings: Json[]; color: string | undefined }) {
  if (findings.length === 0) return <Text>{`  ${title}: none`}</Text>;
  return (
    <Box flexDirection="column">
      {findings.map((finding) => (
        <Text key={`${title}:${str(finding.name)}`}>
          {'  '}
          {title === 'labels' ? 'label' : 'flag'} <Text color={color}>{str(finding.name)}</Text> v{String(finding.rule_version)}: {str(finding.detail)}
        </Text>
      ))}
    </Box>
  );
}

function Corrections({ corrections, color }: { corrections: InspectCorrection[]; color: boolean }) {
  return (
    <Box marginTop={1} flexDirection="column">
      <Text bold={color}>Corrections: {corrections.length === 0 ? <Text bold={false}>none</Text> : null}</Text>
      {corrections.map((correction) => (
        <Text key={correction.id}>
          {'  '}
          <Text color={color ? 'yellow' : undefined}>{correction.id}</Text> {correction.at} by {correction.actor}: {correction.description} — {correction.reason}
          {correction.ticket ? ` [${correction.ticket}]` : ''}
          {correction.reverted_by ? ` (reverted by ${correction.reverted_by})` : ''}
        </Text>
      ))}
    </Box>
  );
}

function outcomeText(outcome: Json): string {
  return str(outcome.outcome).replaceAll('_', ' ');
}

function time(value: unknown): string {
  return str(value).replace('T', ' ').replace(/Z$/, '');
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
