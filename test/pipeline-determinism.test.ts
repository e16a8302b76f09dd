import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNdjson, runCli } from './helpers/cli.js';
import { noisyJourneyLines, shuffled } from './helpers/journeys.js';

const lines = noisyJourneyLines();

function workdir(): string {
  return mkdtempSync(join(tmpdir(), 'jc-determinism-'));
}

function writeInput(dir: string, name: string, content: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${content.join('\n')}\n`);
  return path;
}

async function ingest(dataDir: string, input: string, extra: string[] = []) {
  const result = await runCli(['run', '--input', input, '--data-dir', dataDir, ...extra]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** Everything derived, as the exact bytes a user would get. */
async function snapshot(dataDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of ['sessions', 'events', 'profiles', 'journeys', 'labels', 'flags']) {
    const result = await runCli(['export', kind, '--data-dir', dataDir, '--output', 'ndjson']);
    expect(result.code).toBe(0);
    out[kind] = result.stdout;
  }
  return out;
}

describe('determinism: stored sessions are a function of the set of valid events', () => {
  it('gives byte-identical exports for in-order, shuffled, split-in-any-order, re-ingested and small-batch input', async () => {
    const dir = workdir();
    const inOrder = join(dir, 'in-order');
    await ingest(inOrder, writeInput(dir, 'all.ndjson', lines));
    const expected = await snapshot(inOrder);

    // Known answers first, so "identical" is not "identically wrong".
    const sessions = parseNdjson(expected.sessions!);
    const alice = sessions.filter((s) => s.user_id === 'alice');
    expect(alice).toHaveLength(1); // the late checkout_started bridges 7 min → 60 min
    expect(alice[0]).toMatchObject({ event_count: 5, anonymous_ids: ['anon-alice'], first_event: 'page_viewed', last_event: 'page_viewed' });
    const bob = sessions.filter((s) => s.user_id === 'bob');
    expect(bob.map((s) => [s.started_at, s.event_count])).toEqual([
      ['2026-01-05T09:00:00.200Z', 5], // 2 days of clock skew removed; +200 ms is transit (receivedAt − sentAt)
      ['2026-01-05T13:05:00.200Z', 3],
    ]);
    expect(sessions.filter((s) => s.user_id === 'carol').map((s) => s.event_count)).toEqual([2]);
    expect(sessions.filter((s) => s.user_id === 'carol-phone').map((s) => s.event_count)).toEqual([1]);
    expect(sessions.filter((s) => String(s.user_id).startsWith('anon-u'))).toHaveLength(50);

    const shuffledDir = join(dir, 'shuffled');
    await ingest(shuffledDir, writeInput(dir, 'shuffled.ndjson', shuffled(lines, 7)));
    expect(await snapshot(shuffledDir)).toEqual(expected);

    const splitDir = join(dir, 'split');
    const mixed = shuffled(lines, 99);
    const third = Math.ceil(mixed.length / 3);
    const parts = [mixed.slice(0, third), mixed.slice(third, 2 * third), mixed.slice(2 * third)];
    for (const index of [2, 0, 1]) await ingest(splitDir, writeInput(dir, `part-${index}.ndjson`, parts[index]!));
    expect(await snapshot(splitDir)).toEqual(expected);

    const again = await ingest(inOrder, join(dir, 'all.ndjson'));
    expect(again).toMatchObject({ accepted: 0, sessions_written: 0, users_derived: 0 });
    expect(await snapshot(inOrder)).toEqual(expected);

    const smallBatches = join(dir, 'small-batches');
    const config = join(dir, 'small.yaml');
    writeFileSync(config, 'pipeline:\n  batch_size: 7\n');
    await ingest(smallBatches, join(dir, 'shuffled.ndjson'), ['--config', config]);
    expect(await snapshot(smallBatches)).toEqual(expected);
  });

  it('counts what it read: accepted, duplicates, rejected by reason, late', async () => {
    const dir = workdir();
    const summary = await ingest(join(dir, 'data'), writeInput(dir, 'all.ndjson', lines));
    const valid = lines.length - 3 - 3;
    expect(summary).toMatchObject({
      events_read: lines.length,
      accepted: valid,
      duplicates: 3,
      rejected: 3,
      rejected_by_reason: { invalid_json: 1, not_an_object: 1, invalid_timestamp: 1 },
      late: 1,
    });
    const rejected = await runCli(['export', 'rejected', '--data-dir', join(dir, 'data')]);
    expect(
      parseNdjson(rejected.stdout)
        .map((r) => r.reason)
        .sort(),
    ).toEqual(['invalid_json', 'invalid_timestamp', 'not_an_object']);
  });

  it('moves sessions when a later run identifies an anonymous user, leaving nothing behind under the old id', async () => {
    const dir = workdir();
    const data = join(dir, 'data');
    const anonymousOnly = lines.filter((line) => line.includes('"anon-u3"'));
    await ingest(data, writeInput(dir, 'anon.ndjson', anonymousOnly));
    let sessions = parseNdjson((await runCli(['export', 'sessions', '--data-dir', data])).stdout);
    expect(sessions.map((s) => s.user_id)).toEqual(['anon-u3', 'anon-u3']);

    const identify = JSON.stringify({
      type: 'identify',
      messageId: 'u3-identify',
      userId: 'user-3',
      anonymousId: 'anon-u3',
      timestamp: '2026-01-05T09:21:00.000Z',
      sentAt: '2026-01-05T09:21:00.000Z',
      receivedAt: '2026-01-05T09:21:00.100Z',
    });
    await ingest(data, writeInput(dir, 'identify.ndjson', [identify]));
    sessions = parseNdjson((await runCli(['export', 'sessions', '--data-dir', data])).stdout);
    expect(sessions.map((s) => [s.user_id, s.anonymous_ids])).toEqual([
      ['user-3', ['anon-u3']],
      ['user-3', ['anon-u3']],
    ]);
    const events = parseNdjson((await runCli(['export', 'events', '--data-dir', data])).stdout);
    expect(new Set(events.map((e) => e.user_id))).toEqual(new Set(['user-3']));
    const profiles = parseNdjson((await runCli(['export', 'profiles', '--data-dir', data])).stdout);
    expect(profiles.map((p) => [p.user_id, p.identified])).toEqual([['user-3', true]]);
  });
});

describe('determinism of labels, flags and funnel outcomes on generated journeys', () => {
  it('gives byte-identical journey exports for shuffled and split input of the generated fixture', async () => {
    const { readFileSync } = await import('node:fs');
    const generated = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'generated-small.ndjson'), 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    const dir = workdir();
    await ingest(join(dir, 'a'), writeInput(dir, 'gen.ndjson', generated));
    const expected = await snapshot(join(dir, 'a'));
    expect(parseNdjson(expected.labels!).length).toBeGreaterThan(10);
    expect(parseNdjson(expected.flags!).length).toBeGreaterThan(0);

    const mixed = shuffled(generated, 2026);
    const half = Math.floor(mixed.length / 2);
    await ingest(join(dir, 'b'), writeInput(dir, 'second-half.ndjson', mixed.slice(half)));
    await ingest(join(dir, 'b'), writeInput(dir, 'first-half.ndjson', mixed.slice(0, half)));
    expect(await snapshot(join(dir, 'b'))).toEqual(expected);
  });
});

describe('determinism in client session mode (pipeline.session_mode: client) on generated client session ids', () => {
  it('gives identical sessions for shuffled, split and re-ingested input, differs from gap where trackers do, and check compares the two', async () => {
    const { generateEvents } = await import('../tools/generator/index.js');
    const generated = [...generateEvents({ users: 120, seed: 20, clientSessionIds: true })];
    expect(generated.filter((line) => line.includes('"sessionId":')).length).toBeGreaterThan(1000);
    const dir = workdir();
    const client = join(dir, 'client.yaml');
    writeFileSync(client, 'pipeline:\n  session_mode: client\n');
    const input = writeInput(dir, 'gen.ndjson', generated);
    await ingest(join(dir, 'a'), input, ['--config', client]);
    const expected = await snapshot(join(dir, 'a'));

    const mixed = shuffled(generated, 7);
    const third = Math.ceil(mixed.length / 3);
    for (const index of [2, 0, 1]) await ingest(join(dir, 'b'), writeInput(dir, `part-${index}.ndjson`, mixed.slice(index * third, (index + 1) * third)), ['--config', client]);
    expect(await snapshot(join(dir, 'b'))).toEqual(expected);
    expect(await ingest(join(dir, 'a'), input, ['--config', client])).toMatchObject({ accepted: 0, sessions_written: 0 });
    expect(await snapshot(join(dir, 'a'))).toEqual(expected);

    // The same events by the gap: tabs, background returns and the reused id make the counts differ.
    await ingest(join(dir, 'gap'), input);
    const gapSessions = parseNdjson((await snapshot(join(dir, 'gap'))).sessions!);
    const clientSessions = parseNdjson(expected.sessions!);
    expect(clientSessions.length).not.toBe(gapSessions.length);
    expect(parseNdjson(expected.flags!).some((f) => f.name === 'client_session_reused')).toBe(true);

    // Reprocess with the mode changed rebuilds the range as a fresh client-mode ingest would.
    const range = ['--from', '2026-01-04T00:00:00Z', '--to', '2026-01-10T00:00:00Z', '--lookback', '0s'];
    const reprocess = await runCli(['reprocess', ...range, '--yes', '--data-dir', join(dir, 'gap'), '--config', client]);
    expect(reprocess.stderr === '' || reprocess.code === 0).toBe(true);
    expect(reprocess.code).toBe(0);
    expect(parseNdjson((await runCli(['export', 'sessions', '--data-dir', join(dir, 'gap'), '--output', 'ndjson'])).stdout)).toEqual(clientSessions);

    const checks = join(dir, 'checks.yaml');
    writeFileSync(checks, 'checks:\n  - name: tracker_sessions\n    type: client_sessions\n    error_if: { below: 0.5 }\n');
    const result = await runCli(['check', '--checks', checks, '--data-dir', join(dir, 'a'), '--config', client, '--output', 'json', '--from', '2026-01-05T00:00:00Z', '--to', '2026-01-08T00:00:00Z']);
    const report = JSON.parse(result.stdout) as { results: Array<{ status: string; note?: string; groups?: Array<{ key: string; value: number }> }> };
    expect(report.results[0]!.status).toBe('pass');
    expect(JSON.stringify(report.results[0])).toMatch(/of \d+ client sessions map to exactly one gap session/);
  });
});
