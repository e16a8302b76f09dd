import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNdjson, runCli } from './helpers/cli.js';
import { shuffled } from './helpers/journeys.js';

const T0 = Date.UTC(2026, 0, 5, 9);

/** One event; `copy` > 0 is a client retry: same messageId, later sentAt/receivedAt, so other bytes. */
function line(messageId: string, anonymousId: string, minute: number, copy = 0): string {
  const at = T0 + minute * 60_000;
  return JSON.stringify({
    type: 'track',
    event: 'page_viewed',
    messageId,
    anonymousId,
    timestamp: new Date(at).toISOString(),
    sentAt: new Date(at + 100 + copy * 2_000).toISOString(),
    receivedAt: new Date(at + 300 + copy * 2_000).toISOString(),
    properties: {},
    context: { app: { version: '2.3.0' } },
  });
}

function input(): string[] {
  const lines: string[] = [];
  // A client stuck in a retry loop: 10 events, each sent three more times.
  for (let i = 0; i < 10; i += 1) for (let copy = 0; copy < 4; copy += 1) lines.push(line(`storm-${i}`, 'stormy', i, copy));
  // A normal client: 30 events, one retried once (3%): a near miss.
  for (let i = 0; i < 30; i += 1) lines.push(line(`calm-${i}`, 'calm', i));
  lines.push(line('calm-3', 'calm', 3, 1));
  // Byte-identical re-sends do not count: 20 events, every one sent twice exactly.
  for (let i = 0; i < 20; i += 1) lines.push(line(`echo-${i}`, 'echo', i), line(`echo-${i}`, 'echo', i));
  return lines;
}

async function ingest(dataDir: string, lines: readonly string[], name: string) {
  const file = join(dataDir, '..', `${name}.ndjson`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const result = await runCli(['run', '--input', file, '--data-dir', dataDir]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const flags = async (dataDir: string) => (await runCli(['export', 'flags', '--data-dir', dataDir, '--output', 'ndjson'])).stdout;

describe('duplicate_storm end to end', () => {
  it('flags the retry loop, not a normal retry nor byte-identical re-sends; re-ingesting and reordering change nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-storm-'));
    const data = join(dir, 'data');
    await ingest(data, input(), 'all');
    const found = parseNdjson(await flags(data));
    expect(found.map((f) => [f.user_id, f.name])).toEqual([['stormy', 'duplicate_storm']]);
    expect(found[0]).toMatchObject({ detail: '30 extra copies of 10 of 10 events (300% per event; normal is 2.0%)', evidence: Array.from({ length: 10 }, (_, i) => `storm-${i}`) });
    const before = await flags(data);
    expect(await ingest(data, input(), 'again')).toMatchObject({ accepted: 0, users_derived: 0 });
    expect(await flags(data)).toBe(before);

    // The same lines shuffled and split over two runs: the copies, and so the flag, are the same.
    const split = join(dir, 'split');
    const mixed = shuffled(input(), 5);
    await ingest(split, mixed.slice(0, 40), 'first');
    await ingest(split, mixed.slice(40), 'second');
    expect(await flags(split)).toBe(before);
  });
});
