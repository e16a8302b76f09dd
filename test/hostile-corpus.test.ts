import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_KINDS } from '../src/commands/export.js';
import { parseNdjson, runCli } from './helpers/cli.js';
import { CORPUS_CONFIG, HOSTILE, isRecordOf, neighbour, readers } from './helpers/hostile-lines.js';

/**
 * Issue 18: one line must never stop the pipeline. Every hostile kind sits between valid
 * neighbours in one file; `run` must exit 0, keep every neighbour, reject every hostile line
 * with its reason code (its bytes kept as they were read), and every reader must still work.
 */

describe('a hostile corpus between valid neighbours (issue 18)', () => {
  let dir: string;
  let neighbours: string[];
  const cli = (args: string[]) => runCli([...args, '--data-dir', join(dir, 'data'), '--config', join(dir, 'journeyctl.yaml')]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jc-hostile-'));
    writeFileSync(join(dir, 'journeyctl.yaml'), CORPUS_CONFIG);
    neighbours = Array.from({ length: HOSTILE.length + 1 }, (_, n) => neighbour(n));
    // Every hostile line between two valid ones; the first valid line starts with a BOM (CRLF endings on some).
    const parts: Buffer[] = [Buffer.from('\ufeff')];
    neighbours.forEach((line, n) => {
      parts.push(Buffer.from(`${line}${n % 2 === 0 ? '\r\n' : '\n'}`));
      const hostile = HOSTILE[n];
      if (hostile) parts.push(hostile.line, Buffer.from('\n'));
    });
    writeFileSync(join(dir, 'input.ndjson'), Buffer.concat(parts));
    const run = await cli(['run', '--input', join(dir, 'input.ndjson')]);
    expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(run.code, run.stderr).toBe(0);
  });

  it('keeps every valid neighbour, the first one despite its BOM', async () => {
    const exported = parseNdjson((await cli(['export', 'events'])).stdout);
    expect(exported.map((e) => e.message_id).sort()).toEqual(neighbours.map((line) => (JSON.parse(line) as { messageId: string }).messageId).sort());
    for (const line of neighbours) {
      const sent = JSON.parse(line) as { messageId: string; properties: unknown };
      expect(exported.find((e) => e.message_id === sent.messageId)?.properties, sent.messageId).toEqual(sent.properties);
    }
    const tailed = parseNdjson((await cli(['tail'])).stdout);
    expect(tailed).toHaveLength(neighbours.length);
  });

  it('rejects every hostile line with its reason, its bytes kept as read', async () => {
    const rejected = parseNdjson((await cli(['export', 'rejected'])).stdout);
    expect(rejected).toHaveLength(HOSTILE.length);
    const unmatched = [...rejected];
    for (const kind of HOSTILE) {
      const index = unmatched.findIndex((record) => isRecordOf(record, kind));
      expect(index, `${kind.name}: kept in the rejected store`).toBeGreaterThanOrEqual(0);
      expect(unmatched[index]!.reason, kind.name).toBe(kind.reason);
      unmatched.splice(index, 1);
    }
    const tailed = parseNdjson((await cli(['tail', '--source', 'rejected'])).stdout);
    expect(tailed.map((r) => r.reason).sort()).toEqual(HOSTILE.map((k) => k.reason).sort());
  });

  it('leaves every reader working', async () => {
    const sessions = parseNdjson((await cli(['export', 'sessions'])).stdout);
    let working = 0;
    const list = readers(EXPORT_KINDS, String(sessions[0]!.session_id));
    for (const [name, args] of list) {
      const result = await cli(args);
      expect(result.stderr, name).not.toMatch(/\n\s+at .+:\d+:\d+/);
      expect(result.code, `${name}: ${result.stderr}`).toBe(0);
      working += 1;
    }
    expect(working).toBe(list.length);
    // The figures of the closing note of issue 18.
    console.log(`hostile corpus: ${HOSTILE.length} hostile kinds, ${HOSTILE.length} rejected with a reason, ${neighbours.length} valid neighbours kept, ${working} readers still working`);
  });
});
