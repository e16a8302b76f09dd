import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { toLine } from './helpers/journeys.js';

// A backfill of January data run today: the unparseable lines have no time of their own.
describe('lines that cannot be parsed are not put on the day of the run', () => {
  it("the rejected volume check measures the data's days only and says how many lines it left out; report says how they count", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-untimed-'));
    const lines: string[] = [];
    for (let day = 0; day < 4; day += 1) {
      for (let i = 0; i < 5; i += 1) lines.push(toLine({ messageId: `d${day}-${i}`, event: 'page_viewed', anonymousId: `a${i}`, minutes: day * 1440 + i }));
      lines.push(JSON.stringify({ type: 'track', messageId: `bad${day}`, anonymousId: 'x', receivedAt: new Date(Date.parse('2026-01-05T12:00:00Z') + day * 86_400_000).toISOString() }));
    }
    lines.push('{"this is": not json', 'plain garbage');
    const input = join(dir, 'events.ndjson');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const data = join(dir, 'data');
    expect((await runCli(['run', '--input', input, '--data-dir', data])).code).toBe(0);
    const checks = join(dir, 'checks.yaml');
    writeFileSync(checks, 'checks:\n  - name: rejected_per_day\n    type: volume\n    of: rejected\n    error_if: { above: 100 }\n');

    const result = await runCli(['check', '--checks', checks, '--data-dir', data, '--output', 'json']);
    const check = (JSON.parse(result.stdout) as { results: Array<{ groups: { measured: number }; message: string }> }).results[0]!;
    // 2026-01-05 … 2026-01-07 (the newest day, 01-08, is still filling up), not every day up to the run
    expect(check.groups.measured).toBe(3);
    expect(check.message).toContain('2 unparseable line(s) have no event time and are not counted per day');

    const report = await runCli(['report', '--data-dir', data, '--output', 'json']);
    expect(JSON.parse(report.stdout).rejected).toMatchObject({ total: 6, untimed: 2 });
  });
});
