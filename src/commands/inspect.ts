import { INSPECT_KINDS } from './inspect-kinds.js';
import { identityConflictsOf } from '../pipeline/identity-conflicts.js';
import { correctionsAffectingUser } from '../corrections/corrections-affecting.js';
import type { Correction } from '../domain/correction.js';
import type { Profile } from '../domain/profile.js';
import { UsageError } from '../errors.js';
import { createRedactor, type Redactor } from '../render/redact.js';
import { correctionRecord, eventRecord, findingRecord, funnelOutcomeRecord, profileRecord, sessionRecord } from '../render/records.js';
import { type InspectCorrection, type InspectIdentity, type Inspection, type InspectSession, type InspectSessionView, type InspectUser, renderInspect } from '../render/views/inspect-view.js';
import type { SessionDetail } from '../stores/analytics-store.js';
import { openAnalyticsStore, openRawStore } from '../stores/open-stores.js';
import type { RawStore } from '../stores/raw-store.js';
import { type CommandContext, parseDurationFlag } from './context.js';
import { whereLooked } from './empty-result.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';

export interface InspectOptions {
  output?: string;
  wait: string;
  /** false with --no-redact. */
  redact: boolean;
  color: boolean;
  /** `inspect user <id> --html FILE`: also write the user's sessions as a self-contained HTML timeline (stdout gets the inspection only with --output). */
  html?: string;
}

/** `journeyctl inspect user|session <id>`: a timeline with labels, flags, funnels, identity and corrections. */
export async function runInspect(context: CommandContext, kind: string, id: string, options: InspectOptions): Promise<Inspection> {
  if (!(INSPECT_KINDS as readonly string[]).includes(kind))
    throw new UsageError(`cannot inspect "${kind}"`, { hint: `choose one of ${INSPECT_KINDS.join(', ')}: journeyctl inspect user <id>, journeyctl inspect session <id>` });
  const output = resolveOutput(options.output, OUTPUTS.prose, context.interactive);
  if (options.html !== undefined && kind !== 'user') throw new UsageError(`--html draws a user's sessions, not a ${kind}`, { hint: `journeyctl inspect user <user-id> --html ${options.html}` });
  const redactor = createRedactor(context.config.redact, options.redact);
  let details: readonly SessionDetail[] = [];
  const inspection = kind === 'user' ? await inspectUser(context, id, options, redactor, (sessions) => (details = sessions)) : await inspectSession(context, id, options, redactor);
  if (options.html !== undefined && inspection.kind === 'user') {
    await (await import('./report-html.js')).writeUserHtml(context, options.html, inspection.user_id, details);
    if (options.output === undefined) return inspection;
  }
  context.io.stdout.write(output === 'json' ? `${JSON.stringify(inspection)}\n` : renderInspect(inspection, { width: Math.max(60, context.io.stdout.columns ?? 120), color: options.color }));
  return inspection;
}

async function inspectUser(context: CommandContext, id: string, options: InspectOptions, redactor: Redactor, read: (sessions: readonly SessionDetail[]) => void): Promise<InspectUser> {
  return withStores(context, 'journeyctl inspect user', options, async (raw, analytics) => {
    const userId = (await raw.canonicalOf([id])).get(id) ?? id;
    const identity = await identityOf(raw, userId, redactor, context.config.pipeline.maxUsersPerAnonymousId);
    const timeline = await analytics.sessionsOfUser(userId);
    read(timeline.sessions);
    if (identity.profile === null && timeline.sessions.length === 0 && identity.ids.length <= 1) {
      throw new UsageError(`no user ${JSON.stringify(id)} in ${whereLooked(context.config)}`, {
        hint: 'find users with `journeyctl export profiles`, or pass an anonymous id: it resolves to its user',
      });
    }
    return {
      kind: 'user',
      requested_id: id,
      user_id: userId,
      identity,
      funnels: timeline.userFunnelOutcomes.map(funnelOutcomeRecord),
      sessions: timeline.sessions.map((detail) => sessionView(detail, redactor)),
      corrections: correctionsFor(await raw.listCorrections(), new Set([userId, ...identity.ids]), timeline.sessions),
    };
  });
}

async function inspectSession(context: CommandContext, sessionId: string, options: InspectOptions, redactor: Redactor): Promise<InspectSessionView> {
  return withStores(context, 'journeyctl inspect session', options, async (raw, analytics) => {
    const detail = await analytics.sessionDetail(sessionId);
    if (detail === null)
      throw new UsageError(`no session ${JSON.stringify(sessionId)} in ${whereLooked(context.config)}`, {
        hint: 'find session ids with `journeyctl inspect user <id>` or `journeyctl export sessions`',
      });
    return {
      kind: 'session',
      ...sessionView(detail, redactor),
      identity: await identityOf(raw, detail.session.userId, redactor, context.config.pipeline.maxUsersPerAnonymousId),
      corrections: correctionsFor(await raw.listCorrections(), new Set(), [detail]),
    };
  });
}

/** Every correction ever applied to this user (ids) or these sessions: who, when, why, and what reverted it; oldest first. */
function correctionsFor(all: readonly Correction[], userIds: ReadonlySet<string>, sessions: readonly SessionDetail[]): InspectCorrection[] {
  return correctionsAffectingUser(userIds, sessions, all).map(correctionRecord);
}

async function identityOf(raw: RawStore, userId: string, redactor: Redactor, maxUsers: number): Promise<InspectIdentity> {
  const profile: Profile | null = await raw.profileOf(userId);
  const members = (await raw.membersOf([userId])).get(userId) ?? [];
  const ids = [...new Set([userId, ...members, ...(profile?.anonymousIds ?? [])])].sort();
  const links = [...(await raw.linkTargets(ids))].map(([from, to]) => ({ from, to })).sort((a, b) => a.from.localeCompare(b.from));
  const conflicts = await identityConflictsOf(raw, ids, maxUsers);
  return { user_id: userId, profile: profile === null ? null : redactor.object(profileRecord(profile)), ids, links, ...(conflicts.length > 0 ? { conflicts } : {}) };
}

function sessionView(detail: SessionDetail, redactor: Redactor): InspectSession {
  return {
    session: sessionRecord(detail.session),
    labels: detail.findings.filter((f) => f.kind === 'label').map(findingRecord),
    flags: detail.findings.filter((f) => f.kind === 'flag').map(findingRecord),
    funnels: detail.funnelOutcomes.map(funnelOutcomeRecord),
    events: detail.events.map((event) => redactor.object(eventRecord(event))),
  };
}

/** The analytics store is waited for like `explain` does (--wait); inspect is not meant to run beside a writer. */
async function withStores<T>(
  context: CommandContext,
  command: string,
  options: InspectOptions,
  action: (raw: RawStore, analytics: Awaited<ReturnType<typeof openAnalyticsStore>>) => Promise<T>,
): Promise<T> {
  const raw = await openRawStore(context.config);
  try {
    const analytics = await openAnalyticsStore(context.config, raw, { command, waitMs: parseDurationFlag('wait', options.wait), log: context.log });
    try {
      return await action(raw, analytics);
    } finally {
      await analytics.close();
    }
  } finally {
    await raw.close();
  }
}
