import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../tools/generator/generate.js';
import type { GroundTruth } from '../tools/generator/truth.js';
import { parseNdjson, runCli } from './helpers/cli.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const CONFIG = join(FIXTURES, 'journeyctl.yaml');

interface Exported {
  summary: Record<string, unknown>;
  sessions: Record<string, unknown>[];
}

async function ingest(input: string): Promise<Exported> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jc-truth-'));
  const run = await runCli(['run', '--input', input, '--data-dir', dataDir, '--config', CONFIG]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const sessions = await runCli(['export', 'sessions', '--data-dir', dataDir, '--config', CONFIG]);
  return { summary: JSON.parse(run.stdout) as Record<string, unknown>, sessions: parseNdjson(sessions.stdout) };
}

function humanAndBotSessions(truth: GroundTruth, sessions: Record<string, unknown>[]) {
  const byFirstMessage = new Map(sessions.map((s) => [`${s.user_id}\u0000${s.started_at}`, s]));
  const rows = truth.users.flatMap((user) => user.sessions.map((expected) => ({ user, expected, actual: byFirstMessage.get(`${user.canonicalId}\u0000${expected.startedAt}`) })));
  return rows;
}

describe('the pipeline reproduces the generator’s ground truth (fixtures/generated-small)', () => {
  let truth: GroundTruth;
  let result: Exported;
  beforeAll(async () => {
    truth = JSON.parse(readFileSync(join(FIXTURES, 'generated-small.truth.json'), 'utf8')) as GroundTruth;
    result = await ingest(join(FIXTURES, 'generated-small.ndjson'));
  });

  it('rejects exactly the malformed and buggy-release lines, each with its reason', () => {
    expect(result.summary.rejected_by_reason).toEqual(truth.counts.expectedRejected);
    expect(result.summary.accepted).toBe(truth.counts.validEvents);
  });

  it('derives exactly the true sessions: same users, start, end and event counts', () => {
    const rows = humanAndBotSessions(truth, result.sessions);
    expect(rows).toHaveLength(truth.counts.sessions);
    for (const { user, expected, actual } of rows) {
      expect(actual, `session of ${user.canonicalId} at ${expected.startedAt}`).toBeDefined();
      expect({ ended_at: actual!.ended_at, event_count: actual!.event_count }).toEqual({ ended_at: expected.endedAt, event_count: expected.eventCount });
    }
    expect(result.sessions).toHaveLength(truth.counts.sessions);
  });

  it('labels every session whose intent implies a label, and none of the near misses', () => {
    const implied: Record<string, string> = {
      checkout_struggle: 'struggled_with_checkout',
      compare_then_add: 'compared_products_before_adding',
      onboarding_dropoff: 'dropped_off_during_onboarding',
      rage_click: 'rage_clicked',
    };
    const nearMiss: Record<string, string> = {
      checkout_minor_trouble: 'struggled_with_checkout',
      single_product_add: 'compared_products_before_adding',
      onboarding_complete: 'dropped_off_during_onboarding',
    };
    for (const { expected, actual } of humanAndBotSessions(truth, result.sessions)) {
      const labels = actual!.labels as string[];
      const intent = expected.intent;
      if (implied[intent]) expect(labels, `${intent} session ${expected.firstMessageId}`).toContain(implied[intent]);
      if (nearMiss[intent]) expect(labels, `${intent} session ${expected.firstMessageId}`).not.toContain(nearMiss[intent]);
    }
  });
});

describe('bot_like on a larger generated population', () => {
  it('flags every bot session (recall 1.0) and under 1% of human sessions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-bots-'));
    const input = join(dir, 'events.ndjson');
    const generator = generateEvents({ users: 400, seed: 'bots', includeUsers: true });
    const lines: string[] = [];
    let next = generator.next();
    while (!next.done) {
      lines.push(next.value);
      next = generator.next();
    }
    const truth = next.value;
    writeFileSync(input, `${lines.join('\n')}\n`);
    const { sessions } = await ingest(input);
    const rows = humanAndBotSessions(truth, sessions);
    const botRows = rows.filter((row) => row.user.kind === 'bot');
    const humanRows = rows.filter((row) => row.user.kind === 'human');
    expect(botRows.length).toBeGreaterThanOrEqual(5);
    const botRecall = botRows.filter((row) => (row.actual?.flags as string[] | undefined)?.includes('bot_like')).length / botRows.length;
    const humanFalsePositives = humanRows.filter((row) => (row.actual?.flags as string[] | undefined)?.includes('bot_like')).length / humanRows.length;
    expect(botRecall).toBe(1);
    expect(humanFalsePositives).toBeLessThan(0.01);
    // Every true session was found, so the figures above are over all of them.
    expect(rows.every((row) => row.actual !== undefined)).toBe(true);
  });
});
