import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNdjson, runCli } from './helpers/cli.js';
import { versionedLine } from './helpers/release-lines.js';
import { noisyJourneyLines } from './helpers/journeys.js';

const KINDS = ['sessions', 'events', 'journeys', 'labels', 'flags'];

async function freshData(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'jc-steward-'));
  writeFileSync(join(dir, 'events.ndjson'), `${noisyJourneyLines().join('\n')}\n`);
  const run = await runCli(['run', '--input', join(dir, 'events.ndjson'), '--data-dir', join(dir, 'data')]);
  expect(run.code, run.stderr).toBe(0);
  return join(dir, 'data');
}

async function snapshot(data: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of KINDS) out[kind] = (await runCli(['export', kind, '--data-dir', data])).stdout;
  return out;
}

const sessionsOf = async (data: string, user: string) => parseNdjson((await runCli(['export', 'sessions', '--data-dir', data])).stdout).filter((s) => s.user_id === user);
const cli = (data: string, args: string[]) => runCli([...args, '--data-dir', data]);

/**
 * For each correction kind: applying it changes what it should, a full reprocess from the raw
 * store reproduces it, and reverting it gives exactly the exports of never having applied it.
 */
async function roundTrip(args: (data: string) => Promise<string[]>, check: (data: string) => Promise<void>): Promise<void> {
  const data = await freshData();
  const baseline = await snapshot(data);
  const applied = await cli(data, [...(await args(data)), '--reason', 'test', '--yes']);
  expect(applied.code, applied.stderr).toBe(0);
  const { correction } = JSON.parse(applied.stdout) as { correction: { id: string } };
  await check(data);
  const afterFix = await snapshot(data);
  expect(afterFix).not.toEqual(baseline);
  const reprocessed = await cli(data, ['reprocess', '--from', '2026-01-04', '--to', '2026-01-07', '--yes']);
  expect(reprocessed.code, reprocessed.stderr).toBe(0);
  expect(await snapshot(data)).toEqual(afterFix);
  const reverted = await cli(data, ['fix', 'revert', correction.id, '--reason', 'undo', '--yes']);
  expect(reverted.code, reverted.stderr).toBe(0);
  expect(await snapshot(data)).toEqual(baseline);
  const audit = parseNdjson((await cli(data, ['audit'])).stdout);
  expect(audit.map((a) => [a.id, a.reverted_by])).toEqual([
    [correction.id, 'c2'],
    ['c2', null],
  ]);
}

describe('fix: every correction kind is applied, reproduced by reprocess, and reverted to exactly the original', () => {
  it('merge-users', async () => {
    await roundTrip(
      async () => ['fix', 'merge-users', 'carol-phone', 'carol'],
      async (data) => {
        expect((await sessionsOf(data, 'carol')).map((s) => s.anonymous_ids)).toEqual([['carol-laptop'], ['carol-phone']]);
        expect(await sessionsOf(data, 'carol-phone')).toEqual([]);
      },
    );
  });

  it('unmerge-users', async () => {
    await roundTrip(
      async () => ['fix', 'unmerge-users', 'anon-alice', 'alice'],
      async (data) => {
        expect((await sessionsOf(data, 'anon-alice')).map((s) => s.event_count)).toEqual([2]);
        expect((await sessionsOf(data, 'alice')).map((s) => s.event_count)).toEqual([3]);
      },
    );
  });

  it('split-session', async () => {
    await roundTrip(
      async (data) => ['fix', 'split-session', String((await sessionsOf(data, 'alice'))[0]!.session_id), '--at', 'alice-3'],
      async (data) => expect((await sessionsOf(data, 'alice')).map((s) => s.event_count)).toEqual([2, 3]),
    );
  });

  it('merge-sessions', async () => {
    await roundTrip(
      async (data) => ['fix', 'merge-sessions', ...(await sessionsOf(data, 'bob')).map((s) => String(s.session_id))],
      async (data) => expect((await sessionsOf(data, 'bob')).map((s) => s.event_count)).toEqual([8]),
    );
  });

  it('move-event', async () => {
    await roundTrip(
      async (data) => ['fix', 'move-event', 'bob-7', '--to-session', String((await sessionsOf(data, 'bob'))[0]!.session_id)],
      async (data) => expect((await sessionsOf(data, 'bob')).map((s) => s.event_count)).toEqual([6, 2]),
    );
  });

  it('drop-events (kept in the raw store)', async () => {
    await roundTrip(
      async () => ['fix', 'drop-events', '--event', 'button_clicked'],
      async (data) => {
        const events = parseNdjson((await cli(data, ['export', 'events'])).stdout);
        expect(events.filter((e) => e.event === 'button_clicked')).toEqual([]);
        const profile = parseNdjson((await cli(data, ['export', 'profiles'])).stdout).find((p) => p.user_id === 'anon-u0');
        expect(profile!.event_count).toBe(6);
      },
    );
  });

  it('drop-events --user after a merge: the merged id resolves to its person, as inspect resolves it', async () => {
    const data = await freshData();
    expect((await cli(data, ['fix', 'merge-users', 'carol-phone', 'carol', '--reason', 'same person', '--yes'])).code).toBe(0);
    const carolEvents = async () =>
      parseNdjson((await cli(data, ['export', 'events'])).stdout)
        .filter((e) => e.user_id === 'carol')
        .map((e) => e.message_id)
        .sort();
    expect(await carolEvents()).toEqual(['carol-1', 'carol-2', 'carol-3']);
    const drop = await cli(data, ['fix', 'drop-events', '--user', 'carol-phone', '--event', 'page_viewed', '--reason', 'test traffic', '--yes']);
    expect(drop.code, drop.stderr).toBe(0);
    expect(JSON.parse(drop.stdout).correction.change.filter).toEqual({ event: 'page_viewed', user_id: 'carol' });
    expect(await carolEvents()).toEqual(['carol-2']);
    const flag = await cli(data, ['fix', 'set-property', 'checked', 'true', '--user', 'carol-laptop', '--reason', 'audit', '--yes']);
    expect(flag.code, flag.stderr).toBe(0);
    expect(JSON.parse(flag.stdout).correction.change.filter).toEqual({ user_id: 'carol' });
  });

  it('rename-event', async () => {
    await roundTrip(
      async () => ['fix', 'rename-event', 'button_clicked', 'button_pressed', '--app-version', '2.3.0'],
      async (data) => {
        const names = new Set(parseNdjson((await cli(data, ['export', 'events'])).stdout).map((e) => e.event));
        expect(names.has('button_pressed')).toBe(true);
        expect(names.has('button_clicked')).toBe(false);
      },
    );
  });

  it('set-property', async () => {
    await roundTrip(
      async () => ['fix', 'set-property', 'plan', '"gold"', '--user', 'alice'],
      async (data) => {
        const alice = parseNdjson((await cli(data, ['export', 'events'])).stdout).filter((e) => e.user_id === 'alice');
        expect(alice.every((e) => (e.properties as Record<string, unknown>).plan === 'gold')).toBe(true);
      },
    );
  });

  it('flag a session (and see it in flags, leaving journey figures)', async () => {
    await roundTrip(
      async (data) => ['flag', String((await sessionsOf(data, 'alice'))[0]!.session_id), '--code', 'suspicious'],
      async (data) => {
        expect((await sessionsOf(data, 'alice'))[0]!.flags).toEqual(['suspicious']);
        const flags = parseNdjson((await cli(data, ['flags', '--code', 'suspicious'])).stdout);
        expect(flags).toHaveLength(1);
        expect(flags[0]).toMatchObject({ name: 'suspicious', rule_version: 0, detail: expect.stringContaining('flagged (c1 by ') });
      },
    );
  });

  it('flag many sessions by filter', async () => {
    await roundTrip(
      async () => ['flag', '--user', 'bob', '--code', 'test_account'],
      // Bob's phone clock is two days off, so his sessions already carry clock_skew.
      async (data) =>
        expect((await sessionsOf(data, 'bob')).map((s) => s.flags)).toEqual([
          ['clock_skew', 'test_account'],
          ['clock_skew', 'test_account'],
        ]),
    );
  });
});

describe('unflag clears an automatic flag, recorded like any correction', () => {
  it('clears and restores overlong_session', async () => {
    const data = await freshData();
    // Make a session hit the maximum length with a config that caps sessions at 10 minutes.
    const config = join(data, '..', 'short.yaml');
    writeFileSync(config, 'pipeline:\n  session_max_length: 30m\n');
    const dir = join(data, '..', 'short');
    const rerun = await runCli(['run', '--input', join(data, '..', 'events.ndjson'), '--data-dir', dir, '--config', config]);
    expect(rerun.code).toBe(0);
    const flagged = parseNdjson((await runCli(['export', 'sessions', '--data-dir', dir, '--config', config])).stdout).find((s) => (s.flags as string[]).includes('overlong_session'))!;
    expect(flagged).toBeDefined();
    const cleared = await runCli(['unflag', String(flagged.session_id), '--reason', 'expected long session', '--yes', '--data-dir', dir, '--config', config]);
    expect(cleared.code, cleared.stderr).toBe(0);
    const after = parseNdjson((await runCli(['export', 'sessions', '--data-dir', dir, '--config', config])).stdout).find((s) => s.session_id === flagged.session_id)!;
    expect(after.flags).toEqual([]);
  });
});

describe('refusals change nothing and exit 2', () => {
  it('refuses unknown ids, contradictions, missing reasons and injection attempts', async () => {
    const data = await freshData();
    const baseline = await snapshot(data);
    const bobSessions = (await sessionsOf(data, 'bob')).map((s) => String(s.session_id));
    const cases: Array<[string[], string]> = [
      [['fix', 'split-session', 'no-such-session', '--at', 'x', '--reason', 'r', '--yes'], 'no session "no-such-session"'],
      [['fix', 'split-session', bobSessions[0]!, '--at', 'alice-3', '--reason', 'r', '--yes'], 'event alice-3 is not in session'],
      [['fix', 'merge-users', 'alice', 'alice', '--reason', 'r', '--yes'], 'cannot merge user alice with itself'],
      [['fix', 'merge-users', 'anon-alice', 'alice', '--reason', 'r', '--yes'], 'are already the same person'],
      [['fix', 'merge-sessions', bobSessions[0]!, bobSessions[0]!, '--reason', 'r', '--yes'], 'cannot merge a session with itself'],
      [['fix', 'move-event', 'alice-1', '--to-session', bobSessions[0]!, '--reason', 'r', '--yes'], 'belongs to user alice'],
      [['fix', 'drop-events', '--event', 'page_viewed', '--yes'], '--reason is required'],
      [['fix', 'drop-events', '--reason', 'r', '--yes'], 'give at least one filter'],
      [['fix', 'drop-events', '--user', "x' OR '1'='1", '--reason', 'r', '--yes'], 'matches no stored event'],
      [['fix', 'drop-events', '--event', 'a=1; DROP TABLE raw_events', '--reason', 'r', '--yes'], 'matches no stored event'],
      [['fix', 'revert', 'c99', '--reason', 'r', '--yes'], 'no correction c99'],
      [['fix', 'drop-events', '--event', 'page_viewed', '--reason', 'r'], 'pass --yes'],
      [['unflag', String((await sessionsOf(data, 'alice'))[0]!.session_id), '--reason', 'r', '--yes'], 'has no flag'],
      [['unflag', bobSessions[0]!, '--code', 'bot_like', '--reason', 'r', '--yes'], 'has no flag bot_like (it has: clock_skew)'],
    ];
    for (const [args, message] of cases) {
      const result = await cli(data, args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(message);
    }
    expect(await snapshot(data)).toEqual(baseline);
    expect((await cli(data, ['audit'])).stdout).toBe('');
  });

  it('--dry-run shows the change and records nothing', async () => {
    const data = await freshData();
    const baseline = await snapshot(data);
    const bob = (await sessionsOf(data, 'bob')).map((s) => String(s.session_id));
    const dry = await cli(data, ['fix', 'merge-sessions', bob[0]!, bob[1]!, '--reason', 'r', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { dry_run: boolean; changes: string[] };
    expect(plan.dry_run).toBe(true);
    expect(plan.changes.filter((line) => line.startsWith('- ')).length).toBe(1);
    expect(plan.changes.some((line) => line.startsWith('~ ') && line.includes('8 events'))).toBe(true);
    expect(await snapshot(data)).toEqual(baseline);
    expect((await cli(data, ['fix', 'list'])).stdout).toBe('');
  });

  it('unmerge-users names the links when two ids are one person only through a third', async () => {
    const data = await freshData();
    expect((await cli(data, ['fix', 'merge-users', 'carol-phone', 'carol', '--reason', 'r', '--yes'])).code).toBe(0);
    const joined = await snapshot(data);
    const refused = await cli(data, ['fix', 'unmerge-users', 'carol-laptop', 'carol-phone', '--reason', 'r', '--yes']);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('carol-laptop and carol-phone are not linked to each other but are one person through carol-laptop → carol, carol-phone → carol');
    expect(refused.stderr).toContain('journeyctl fix unmerge-users carol-laptop carol');
    expect(await snapshot(data)).toEqual(joined);
    expect(parseNdjson((await cli(data, ['fix', 'list'])).stdout).map((c) => c.id)).toEqual(['c1']);
    // The link the merge forced is direct: unmerging it is taken, and carol-phone is its own person again.
    expect((await cli(data, ['fix', 'unmerge-users', 'carol-phone', 'carol', '--reason', 'r', '--yes'])).code).toBe(0);
    expect((await sessionsOf(data, 'carol-phone')).map((s) => s.event_count)).toEqual([1]);
  });

  it('refuses to revert twice or to revert a revert', async () => {
    const data = await freshData();
    expect((await cli(data, ['fix', 'rename-event', 'button_clicked', 'tap', '--reason', 'r', '--yes'])).code).toBe(0);
    expect((await cli(data, ['fix', 'revert', 'c1', '--reason', 'r', '--yes'])).code).toBe(0);
    expect((await cli(data, ['fix', 'revert', 'c1', '--reason', 'r', '--yes'])).stderr).toContain('c1 is already reverted');
    expect((await cli(data, ['fix', 'revert', 'c2', '--reason', 'r', '--yes'])).stderr).toContain('c2 is itself a revert');
    const shown = JSON.parse((await cli(data, ['fix', 'show', 'c1'])).stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({ id: 'c1', reason: 'r', reverted_by: 'c2', description: 'rename event button_clicked to tap' });
    // The same field style as export: snake_case keys and ISO-8601 times, never epoch ms or camelCase.
    expect(shown).toMatchObject({ action: 'rename_event', change: { kind: 'rename_event', from: 'button_clicked', to: 'tap' } });
    expect(shown.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Object.keys(shown).filter((key) => /[A-Z]/.test(key))).toEqual([]);
    const text = (await cli(data, ['fix', 'show', 'c1', '--output', 'text'])).stdout;
    expect(text).toMatch(/^at: \d{4}-\d{2}-\d{2}T/m);
    expect(text).toContain('reverted_by: c2');
    const dropped = await cli(data, ['fix', 'drop-events', '--event', 'button_clicked', '--since', '2026-01-01', '--reason', 'r', '--yes', '--output', 'ndjson']);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(JSON.parse((await cli(data, ['fix', 'show', 'c3'])).stdout).change.filter).toEqual({ event: 'button_clicked', since: '2026-01-01T00:00:00.000Z' });
    const csv = (await cli(data, ['fix', 'list', '--output', 'csv'])).stdout.split('\n');
    expect(csv[0]).toBe('id,at,actor,description,reason,ticket,reverted_by,action,change');
    expect(csv.filter((line) => line !== '')).toHaveLength(4);
  });
});

describe('explain shows every correction applied to a session', () => {
  it('lists who, when, why, and the revert', async () => {
    const data = await freshData();
    const bob = (await sessionsOf(data, 'bob')).map((s) => String(s.session_id));
    expect((await cli(data, ['fix', 'merge-sessions', bob[0]!, bob[1]!, '--reason', 'one visit', '--ticket', 'SUP-1', '--actor', 'ana', '--yes'])).code).toBe(0);
    const merged = String((await sessionsOf(data, 'bob'))[0]!.session_id);
    const explained = JSON.parse((await cli(data, ['explain', merged])).stdout) as { corrections: Array<Record<string, unknown>> };
    expect(explained.corrections).toEqual([
      expect.objectContaining({ id: 'c1', actor: 'ana', reason: 'one visit', ticket: 'SUP-1', reverted_by: null, description: expect.stringMatching(/^merge sessions /) }),
    ]);
    const text = (await cli(data, ['explain', merged, '--output', 'text'])).stdout;
    expect(text).toMatch(/Corrections: \n {2}c1 \S+ ana: merge sessions .* — one visit \[SUP-1\]/);
  });
});

describe('inspect shows every correction ever applied to a user or session', () => {
  it('lists merges of the user and session-level fixes, with reverts', async () => {
    const data = await freshData();
    expect((await cli(data, ['fix', 'merge-users', 'carol-phone', 'carol', '--reason', 'same person', '--actor', 'ana', '--yes'])).code).toBe(0);
    const carolSession = String((await sessionsOf(data, 'carol'))[0]!.session_id);
    expect((await cli(data, ['flag', carolSession, '--code', 'vip', '--reason', 'key account', '--actor', 'bo', '--yes'])).code).toBe(0);
    expect((await cli(data, ['fix', 'revert', 'c2', '--reason', 'not a vip', '--actor', 'bo', '--yes'])).code).toBe(0);
    const user = JSON.parse((await cli(data, ['inspect', 'user', 'carol-phone'])).stdout) as { user_id: string; corrections: Array<Record<string, unknown>> };
    expect(user.user_id).toBe('carol');
    expect(user.corrections.map((c) => [c.id, c.actor, c.reverted_by])).toEqual([
      ['c1', 'ana', null],
      ['c2', 'bo', 'c3'],
    ]);
    const session = JSON.parse((await cli(data, ['inspect', 'session', carolSession])).stdout) as { corrections: Array<Record<string, unknown>> };
    expect(session.corrections.map((c) => c.id)).toEqual(['c1', 'c2']);
  });
});

describe('a correction keeps the automatic flags that read stored signals', () => {
  it('a fix on a user in a release burst keeps release_burst on their sessions', async () => {
    const T0 = Date.UTC(2026, 0, 5, 8);
    const line = versionedLine;
    const lines: string[] = [];
    for (let u = 0; u < 40; u += 1) for (let i = 0; i < 30; i += 1) lines.push(line(`bg-${u}-${i}`, `bg-${u}`, T0 + u * 7 * 60_000 + i * 60_000, '2.3.0'));
    for (let u = 0; u < 5; u += 1) {
      for (let i = 0; i < 6; i += 1) {
        lines.push(line(`bad-${u}-ok-${i}`, `bad-${u}`, T0 + 7_200_000 + u * 60_000 + i * 120_000, '9.9.9'));
        lines.push(line(`bad-${u}-x-${i}`, `bad-${u}`, T0 + 7_200_000 + u * 60_000 + i * 120_000 + 30_000, '9.9.9', 'buton_clicked'));
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'jc-steward-burst-'));
    writeFileSync(join(dir, 'events.ndjson'), `${lines.join('\n')}\n`);
    const config = join(import.meta.dirname, '..', 'fixtures', 'journeyctl.yaml');
    const data = join(dir, 'data');
    expect((await runCli(['run', '--input', join(dir, 'events.ndjson'), '--data-dir', data, '--config', config])).code).toBe(0);
    const before = parseNdjson((await runCli(['export', 'sessions', '--data-dir', data, '--config', config])).stdout).find((s) => s.user_id === 'bad-0')!;
    expect(before.flags).toContain('release_burst');
    const fixed = await runCli(['fix', 'set-property', 'checked', 'true', '--user', 'bad-0', '--reason', 'r', '--yes', '--data-dir', data, '--config', config]);
    expect(fixed.code, fixed.stderr).toBe(0);
    const after = parseNdjson((await runCli(['export', 'sessions', '--data-dir', data, '--config', config])).stdout).find((s) => s.user_id === 'bad-0')!;
    expect(after.flags).toContain('release_burst');
  });
});
