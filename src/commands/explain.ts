import { correctionsAffecting } from '../corrections/corrections-affecting.js';
import { describeChange } from '../corrections/kinds/registry.js';
import type { Correction } from '../domain/correction.js';
import { UsageError } from '../errors.js';
import { formatIsoUtc } from '../domain/time.js';
import type { SessionDetail } from '../stores/analytics-store.js';
import type { LabelRule } from '../journeys/rules.js';
import { correctionRecord, eventRecord, findingRecord, funnelOutcomeRecord, sessionRecord } from '../render/records.js';
import { describeConflict, type IdentityConflict, identityConflictsOf } from '../pipeline/identity-conflicts.js';
import { openAnalyticsStore, openRawStore } from '../stores/open-stores.js';
import { type CommandContext, parseDurationFlag } from './context.js';
import { whereLooked } from './empty-result.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';

export interface ExplainOptions {
  output?: string;
  wait: string;
}

/** `journeyctl explain <session-id>`: why a session has its labels, flags and funnel outcomes. */
export async function runExplain(context: CommandContext, sessionId: string, options: ExplainOptions): Promise<void> {
  const asJson = resolveOutput(options.output, OUTPUTS.prose, context.interactive) === 'json';
  const raw = await openRawStore(context.config);
  let detail: SessionDetail | null;
  let corrections: Correction[] = [];
  let conflicts: IdentityConflict[] = [];
  try {
    corrections = await raw.listCorrections();
    const analytics = await openAnalyticsStore(context.config, raw, { command: 'journeyctl explain', waitMs: parseDurationFlag('wait', options.wait), log: context.log });
    try {
      detail = await analytics.sessionDetail(sessionId);
    } finally {
      await analytics.close();
    }
    if (detail !== null) conflicts = await identityConflictsOf(raw, detail.session.anonymousIds, context.config.pipeline.maxUsersPerAnonymousId);
  } finally {
    await raw.close();
  }
  if (detail === null)
    throw new UsageError(`no session ${JSON.stringify(sessionId)} in ${whereLooked(context.config)}`, { hint: 'find session ids with `journeyctl export sessions` or `journeyctl export labels`' });
  const applied = correctionsAffecting(detail.session, detail.events, corrections);
  if (asJson) {
    context.io.stdout.write(
      `${JSON.stringify({
        session: sessionRecord(detail.session),
        labels: detail.findings.filter((f) => f.kind === 'label').map(findingRecord),
        flags: detail.findings.filter((f) => f.kind === 'flag').map(findingRecord),
        funnels: detail.funnelOutcomes.map(funnelOutcomeRecord),
        events: detail.events.map(eventRecord),
        corrections: applied.map(correctionRecord),
        identity_conflicts: conflicts,
      })}\n`,
    );
    return;
  }
  context.io.stdout.write(renderExplanation(detail, context.config.journeys.labels, applied, conflicts));
}

export function renderExplanation(detail: SessionDetail, rules: readonly LabelRule[], corrections: ReturnType<typeof correctionsAffecting> = [], conflicts: readonly IdentityConflict[] = []): string {
  const { session } = detail;
  const byId = new Map(detail.events.map((event) => [event.messageId, event]));
  const describeEvent = (messageId: string) => {
    const event = byId.get(messageId);
    if (!event) return `    ${messageId} (not in this session)`;
    const properties = event.propertiesJson === '{}' ? '' : ` ${event.propertiesJson}`;
    return `    ${formatIsoUtc(event.eventTime).slice(11, 23)}  ${event.event}${properties}  [${messageId}]`;
  };
  const lines: string[] = [];
  lines.push(`Session ${session.sessionId}`);
  lines.push(`  user ${session.userId}${session.anonymousIds.length ? ` (anonymous ids: ${session.anonymousIds.join(', ')})` : ''}`);
  lines.push(
    `  ${formatIsoUtc(session.startedAt)} → ${formatIsoUtc(session.endedAt)}, ${((session.endedAt - session.startedAt) / 60_000).toFixed(1)} min, ${session.eventCount} events, app ${session.appVersions.join(', ') || 'unknown'}`,
  );
  for (const conflict of conflicts) lines.push(`  ${describeConflict(conflict)}`);
  for (const kind of ['label', 'flag'] as const) {
    const findings = detail.findings.filter((f) => f.kind === kind);
    lines.push('', `${kind === 'label' ? 'Labels' : 'Flags'}: ${findings.length === 0 ? 'none' : ''}`);
    for (const finding of findings) {
      const rule = rules.find((r) => r.name === finding.name);
      const drift = rule && rule.version !== finding.ruleVersion ? ` (the config now has v${rule.version}; reprocess to apply it)` : '';
      lines.push(`  ${finding.name} v${finding.ruleVersion}${rule ? ` — ${rule.description}` : ''}${drift}`);
      lines.push(`    why: ${finding.detail}`);
      lines.push('    evidence:');
      for (const messageId of finding.evidence) lines.push(describeEvent(messageId));
    }
  }
  lines.push('', 'Funnels:');
  for (const outcome of detail.funnelOutcomes) {
    const verdict = outcome.converted ? 'converted' : outcome.stepsReached === 0 ? 'not entered' : `dropped after step ${outcome.stepsReached} of ${outcome.totalSteps}`;
    lines.push(`  ${outcome.funnel} (${outcome.scope === 'session' ? 'this session' : 'user, across sessions'}): ${verdict}`);
  }
  lines.push('', `Corrections: ${corrections.length === 0 ? 'none' : ''}`);
  for (const c of corrections) {
    lines.push(
      `  ${c.id} ${new Date(c.createdAt).toISOString()} ${c.actor}: ${describeChange(c.change)} — ${c.reason}${c.ticket ? ` [${c.ticket}]` : ''}${c.revertedBy ? ` (reverted by ${c.revertedBy})` : ''}`,
    );
  }
  lines.push('', 'Events:');
  for (const event of detail.events) lines.push(describeEvent(event.messageId));
  return `${lines.join('\n')}\n`;
}
