import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNdjson, runCli } from './helpers/cli.js';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 5, 9, minute)).toISOString();
const line = (messageId: string, minute: number, ids: { userId?: string; anonymousId?: string }, type = 'track') =>
  JSON.stringify({ type, event: type === 'identify' ? undefined : 'page_viewed', messageId, ...ids, timestamp: at(minute), sentAt: at(minute), receivedAt: at(minute) });

// One shared kiosk: anonymous id "kiosk" logs in as five people in turn (more than the default 3).
const kiosk = [
  line('k0', 0, { anonymousId: 'kiosk' }),
  ...['ann', 'ben', 'cat', 'dan', 'eve'].flatMap((user, i) => [
    line(`${user}-login`, 10 + i * 40, { userId: user, anonymousId: 'kiosk' }, 'identify'),
    line(`${user}-view`, 11 + i * 40, { userId: user, anonymousId: 'kiosk' }),
  ]),
  line('solo', 5, { userId: 'solo', anonymousId: 'own-device' }),
];

describe('identity conflicts: one anonymous id, many user ids', () => {
  it('stitches the anonymous id to its first user only, and check, inspect and explain show the conflict', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-conflicts-'));
    const input = join(dir, 'kiosk.ndjson');
    writeFileSync(input, `${[...kiosk].reverse().join('\n')}\n`);
    const data = join(dir, 'data');
    expect((await runCli(['run', '--input', input, '--data-dir', data])).code).toBe(0);

    // The documented rule: the earliest user by event time gets the anonymous-only events; the others keep their own.
    const sessions = parseNdjson((await runCli(['export', 'sessions', '--data-dir', data, '--output', 'ndjson'])).stdout);
    expect(sessions.filter((s) => s.user_id === 'ann').map((s) => s.event_count)).toEqual([2]);
    expect(sessions.filter((s) => s.user_id === 'eve').map((s) => s.event_count)).toEqual([1]);

    const checks = join(dir, 'checks.yaml');
    writeFileSync(checks, 'checks:\n  - name: shared_devices\n    type: identity_conflicts\n');
    const check = await runCli(['check', '--checks', checks, '--data-dir', data, '--output', 'json']);
    expect(check.code).toBe(1);
    const result = (JSON.parse(check.stdout) as { results: Array<Record<string, unknown>> }).results[0]!;
    expect(result).toMatchObject({ status: 'fail', measured: 1 });
    expect(JSON.stringify(result.failingRows)).toContain('"anonymous_id":"kiosk"');

    const inspect = await runCli(['inspect', 'user', 'eve', '--data-dir', data, '--output', 'json']);
    expect(JSON.parse(inspect.stdout).identity.conflicts).toEqual([{ anonymous_id: 'kiosk', linked_to: 'ann', user_ids: ['ann', 'ben', 'cat', 'dan', 'eve'], max_users: 3 }]);
    const solo = await runCli(['inspect', 'user', 'solo', '--data-dir', data, '--output', 'json']);
    expect(JSON.parse(solo.stdout).identity.conflicts).toBeUndefined();

    const eveSession = sessions.find((s) => s.user_id === 'eve')!.session_id as string;
    const explain = await runCli(['explain', eveSession, '--data-dir', data, '--output', 'text']);
    expect(explain.stdout).toContain('identity conflict: kiosk carries 5 user ids (more than 3); stitched to ann only, not to ben, cat, dan, eve');

    // Every session carrying the id is flagged, with the ids in the detail — however the input was split.
    const flags = parseNdjson((await runCli(['export', 'flags', '--data-dir', data, '--output', 'ndjson'])).stdout).filter((f) => f.name === 'identity_conflict');
    expect(flags.map((f) => f.user_id).sort()).toEqual(['ann', 'ben', 'cat', 'dan', 'eve']);
    expect(flags[0]!.detail).toBe('anonymous id kiosk carries 5 user ids (ann, ben, cat, dan, eve); stitched to ann only');
    const split = join(dir, 'split');
    writeFileSync(join(dir, 'first.ndjson'), `${kiosk.slice(0, 7).join('\n')}\n`);
    writeFileSync(join(dir, 'rest.ndjson'), `${kiosk.slice(7).join('\n')}\n`);
    for (const part of ['first', 'rest']) expect((await runCli(['run', '--input', join(dir, `${part}.ndjson`), '--data-dir', split])).code).toBe(0);
    for (const kind of ['sessions', 'flags']) {
      const a = await runCli(['export', kind, '--data-dir', data, '--output', 'ndjson']);
      const b = await runCli(['export', kind, '--data-dir', split, '--output', 'ndjson']);
      expect(b.stdout).toBe(a.stdout);
    }

    // Reprocess looks the conflicts up once for the day: the same sessions and flags as the run.
    const before = await runCli(['export', 'flags', '--data-dir', data, '--output', 'ndjson']);
    expect((await runCli(['reprocess', '--from', '2026-01-05', '--to', '2026-01-06', '--data-dir', data, '--yes'])).code).toBe(0);
    expect((await runCli(['export', 'flags', '--data-dir', data, '--output', 'ndjson'])).stdout).toBe(before.stdout);
    expect((await runCli(['export', 'sessions', '--data-dir', data, '--output', 'ndjson'])).stdout).toBe((await runCli(['export', 'sessions', '--data-dir', split, '--output', 'ndjson'])).stdout);

    // A higher limit: no conflict.
    const config = join(dir, 'roomy.yaml');
    writeFileSync(config, 'pipeline:\n  max_users_per_anonymous_id: 5\n');
    const roomy = await runCli(['check', '--checks', checks, '--data-dir', data, '--config', config, '--output', 'json']);
    expect(roomy.code).toBe(0);
  });

  it('flags a conflict whose users fall in different chunks of one round, on SQLite and chdb raw stores alike', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-conflict-chunks-'));
    // A round derives its first 100 users (sorted) in one chunk: the a- users land in it, the z- users in the next one.
    const kioskUsers = ['a-kim', 'a-lee', 'z-max', 'z-ned'];
    const fillers = (prefix: string) => Array.from({ length: 150 }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
    const own = (users: string[], minute: number) => users.map((user) => line(`${user}-view`, minute, { userId: user, anonymousId: `device-${user}` }));
    const first = [
      ...own(fillers('u'), 5),
      ...kioskUsers.flatMap((user, i) => [
        line(`${user}-login`, 10 + i * 40, { userId: user, anonymousId: 'kiosk' }, 'identify'),
        line(`${user}-view`, 11 + i * 40, { userId: user, anonymousId: 'kiosk' }),
      ]),
    ];
    // Later, z-ned on a phone of their own, in the second chunk again: the kiosk id is not dirty in that round.
    const later = [...own(fillers('v'), 200), line('z-ned-phone', 300, { userId: 'z-ned', anonymousId: 'ned-phone' })];
    const [firstInput, laterInput, allInput] = [
      ['first', first],
      ['later', later],
      ['all', [...first, ...later]],
    ].map(([name, lines]) => {
      const path = join(dir, `${name as string}.ndjson`);
      writeFileSync(path, `${(lines as string[]).join('\n')}\n`);
      return path;
    });
    const run = async (input: string, data: string, engine: string) => expect((await runCli(['run', '--input', input!, '--data-dir', data], { env: { JOURNEY_RAW_ENGINE: engine } })).code).toBe(0);
    const exported = async (data: string, engine: string) => {
      const out: Record<string, string> = {};
      for (const kind of ['sessions', 'flags']) out[kind] = (await runCli(['export', kind, '--data-dir', data, '--output', 'ndjson'], { env: { JOURNEY_RAW_ENGINE: engine } })).stdout;
      return out;
    };
    const conflicted = (flags: string) =>
      parseNdjson(flags)
        .filter((f) => f.name === 'identity_conflict')
        .map((f) => [f.user_id, f.detail]);
    const expected = kioskUsers.map((user) => [user, 'anonymous id kiosk carries 4 user ids (a-kim, a-lee, z-max, z-ned); stitched to a-kim only']);

    const byEngine: Record<string, string>[] = [];
    for (const engine of ['sqlite', 'chdb']) {
      const split = join(dir, `split-${engine}`);
      await run(firstInput!, split, engine);
      expect(conflicted((await exported(split, engine)).flags!)).toEqual(expected);
      await run(laterInput!, split, engine);
      const after = await exported(split, engine);
      expect(conflicted(after.flags!)).toEqual(expected);
      byEngine.push(after);
    }
    const whole = join(dir, 'whole');
    await run(allInput!, whole, 'sqlite');
    expect(byEngine[0]).toEqual(await exported(whole, 'sqlite'));
    expect(byEngine[1]).toEqual(byEngine[0]);
  });
});
