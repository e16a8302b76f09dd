import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getServices } from './harness/services.js';
import { parseNdjson, runCli } from './helpers/cli.js';
import { noisyJourneyLines } from './helpers/journeys.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');

describe('tail and inspect with the analytics store on a ClickHouse server', () => {
  it("a following tail shows each event's session, inspect reads the server, and hostile ids stay data", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-tail-ch-'));
    const config = join(dir, 'journeyctl.yaml');
    writeFileSync(config, `stores:\n  analytics: { engine: clickhouse, url: ${getServices().clickhouse.url}, database: tail_${process.pid}_${Date.now()} }\n`);
    const input = join(dir, 'input.ndjson');
    writeFileSync(input, `${noisyJourneyLines().join('\n')}\n`);
    const cli = (args: string[]) => runCli([...args, '--data-dir', dir, '--config', config]);
    expect((await cli(['run', '--input', input])).code).toBe(0);
    const placed = new Map(parseNdjson((await cli(['export', 'events'])).stdout).map((e) => [e.message_id, e.session_id]));

    // --follow: with a server the sessions are readable, unlike the embedded store a run holds.
    const tail = spawn(process.execPath, [BIN, 'tail', '--follow', '--offset', 'beginning', '--limit', '20', '--data-dir', dir, '--config', config], { env: { PATH: process.env.PATH } });
    let stdout = '';
    let stderr = '';
    tail.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    tail.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await new Promise((resolve) => tail.on('close', resolve)), stderr).toBe(0);
    const tailed = parseNdjson(stdout);
    expect(tailed).toHaveLength(20);
    for (const record of tailed) expect(record.session_id).toBe(record.type === 'identify' ? null : placed.get(record.message_id));
    expect(stderr).toBe('');

    const inspected = JSON.parse((await cli(['inspect', 'user', 'anon-alice'])).stdout) as Record<string, any>;
    expect(inspected.user_id).toBe('alice');
    expect(inspected.sessions.flatMap((s: any) => s.events.map((e: any) => e.message_id)).sort()).toEqual(['alice-1', 'alice-2', 'alice-3', 'alice-4', 'alice-5']);
    const session = JSON.parse((await cli(['inspect', 'session', inspected.sessions[0].session.session_id])).stdout) as Record<string, any>;
    expect(session.funnels.filter((f: any) => f.scope === 'user').map((f: any) => f.user_id)).toEqual(['alice', 'alice']);

    for (const args of [
      ['inspect', 'user', "x' OR '1'='1"],
      ['inspect', 'session', "' OR 1=1 --"],
    ]) {
      const refused = await cli(args);
      expect(refused.code).toBe(2);
    }
    expect((await cli(['tail', '--user', "x' OR '1'='1", '--where', 'a=1; DROP TABLE events'])).stdout).toBe('');
    expect(new Map(parseNdjson((await cli(['export', 'events'])).stdout).map((e) => [e.message_id, e.session_id]))).toEqual(placed);
  });
});
