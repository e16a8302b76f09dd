import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseNdjson, runCli } from './helpers/cli.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const CONFIG = join(FIXTURES, 'journeyctl.yaml');
const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');

describe('journey commands on the generated fixture', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jc-journeys-'));
    const run = await runCli(['run', '--input', join(FIXTURES, 'generated-small.ndjson'), '--data-dir', dataDir, '--config', CONFIG]);
    expect(run.code).toBe(0);
  });
  const cli = (args: string[]) => runCli([...args, '--data-dir', dataDir, '--config', CONFIG]);

  it('exports labels and flags with rule version, why and evidence that belong to the session', async () => {
    const labels = parseNdjson((await cli(['export', 'labels'])).stdout);
    expect(labels.length).toBeGreaterThan(0);
    const events = parseNdjson((await cli(['export', 'events'])).stdout);
    const sessionOf = new Map(events.map((e) => [e.message_id, e.session_id]));
    for (const label of labels) {
      expect(label).toMatchObject({ kind: 'label', rule_version: 1 });
      expect((label.evidence as string[]).length).toBeGreaterThan(0);
      for (const id of label.evidence as string[]) expect(sessionOf.get(id)).toBe(label.session_id);
    }
    const flags = parseNdjson((await cli(['export', 'flags'])).stdout);
    // The fixture has one bot and a few devices whose clocks are days off.
    expect(new Set(flags.map((f) => f.name))).toEqual(new Set(['bot_like', 'clock_skew']));
    expect(flags.filter((f) => f.name === 'bot_like')).toHaveLength(1);
  });

  it('exports a funnel outcome for every session and funnel, and one per user and funnel', async () => {
    const sessions = parseNdjson((await cli(['export', 'sessions'])).stdout);
    const journeys = parseNdjson((await cli(['export', 'journeys'])).stdout);
    const users = new Set(sessions.map((s) => s.user_id));
    expect(journeys.filter((j) => j.scope === 'session')).toHaveLength(sessions.length * 2);
    expect(journeys.filter((j) => j.scope === 'user')).toHaveLength(users.size * 2);
    expect(new Set(journeys.map((j) => j.outcome))).toEqual(new Set(['converted', 'not_entered', 'dropped_after_step_1', 'dropped_after_step_2', 'dropped_after_step_3']));
  });

  it('explains a labelled session with its evidence events, as JSON when piped', async () => {
    const label = parseNdjson((await cli(['export', 'labels'])).stdout).find((l) => l.name === 'struggled_with_checkout')!;
    const explained = await cli(['explain', String(label.session_id)]);
    expect(explained.code).toBe(0);
    const body = JSON.parse(explained.stdout) as { labels: Array<Record<string, unknown>>; events: Array<Record<string, unknown>> };
    expect(body.labels.find((l) => l.name === 'struggled_with_checkout')).toMatchObject({ detail: expect.stringMatching(/^after checkout_started, \d+ × form_error\/form_submitted$/) });
    const text = await cli(['explain', String(label.session_id), '--output', 'text']);
    expect(text.stdout).toContain('struggled_with_checkout v1 — Three or more form errors or failed submits after starting checkout.');
    expect(text.stdout).toMatch(/evidence:\n\s+\d\d:\d\d:\d\d\.\d{3}  checkout_started/);
    const missing = await cli(['explain', 'no-such-session']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no session "no-such-session"');
  });

  it('reports funnels, label shares and flags, leaving flagged sessions out by default', async () => {
    const report = JSON.parse((await cli(['report'])).stdout) as Record<string, any>;
    const sessions = parseNdjson((await cli(['export', 'sessions'])).stdout);
    const flagged = sessions.filter((s) => (s.flags as string[]).length > 0).length;
    expect(report.sessions).toEqual({ total: sessions.length, flagged, counted: sessions.length - flagged });
    const struggled = sessions.filter((s) => (s.flags as string[]).length === 0 && (s.labels as string[]).includes('struggled_with_checkout')).length;
    expect(report.labels.find((l: any) => l.label === 'struggled_with_checkout')).toEqual({ label: 'struggled_with_checkout', sessions: struggled, share: struggled / (sessions.length - flagged) });
    const flagCounts = new Map<string, number>();
    for (const s of sessions) for (const flag of s.flags as string[]) flagCounts.set(flag, (flagCounts.get(flag) ?? 0) + 1);
    expect(Object.fromEntries(report.flags.map((f: any) => [f.flag, f.sessions]))).toEqual(Object.fromEntries(flagCounts));
    expect(report.rejected.byReason).toMatchObject({ unplanned_event: 6, invalid_timestamp: 9 });
    const purchase = report.funnels.find((f: any) => f.funnel === 'purchase');
    expect(purchase.reachedStep).toHaveLength(4);
    expect(purchase.reachedStep).toEqual([...purchase.reachedStep].sort((a: number, b: number) => b - a));
    const all = JSON.parse((await cli(['report', '--include-flagged'])).stdout) as Record<string, any>;
    expect(all.sessions.counted).toBe(sessions.length);
  });

  it('refuses a config with a malformed rule at load, naming the rule: exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-badrule-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'bad.yaml'), 'labels:\n  - name: lost_in_search\n    version: 1\n    description: x\n    count: { match: { event: search_performed }, at_least: many }\n');
    const result = spawnSync(process.execPath, [BIN, 'report', '--config', join(dir, 'bad.yaml'), '--data-dir', dir], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('label rule lost_in_search: count needs match and at_least (a positive integer)');
  });
});

describe('journeyctl demo', () => {
  it('runs the whole job on the shipped fixture with nothing but npm', () => {
    const result = spawnSync(process.execPath, [BIN, 'demo', '--no-color'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/sessions written\s+73/);
    expect(result.stdout).toContain('First 8 of 73 sessions');
  });
});
