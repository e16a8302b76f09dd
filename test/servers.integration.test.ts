import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getServices } from './harness/services.js';
import { parseNdjson, runCli } from './helpers/cli.js';

/**
 * The same journeys on the production engines: raw store in MongoDB (FerretDB), analytics in
 * ClickHouse over HTTP (served by chdb). Results must equal the embedded default's, and the
 * steward and reprocess guarantees must hold there too.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const KINDS = ['sessions', 'events', 'journeys', 'labels', 'flags', 'profiles'];
let databases = 0;

function serverConfig(): string {
  const services = getServices();
  const name = `it_${process.pid}_${Date.now()}_${(databases += 1)}`;
  const dir = mkdtempSync(join(tmpdir(), 'jc-servers-'));
  const path = join(dir, 'journeyctl.yaml');
  writeFileSync(
    path,
    `${readFileSync(join(FIXTURES, 'journeyctl.yaml'), 'utf8')}
data_dir: ${dir}/data
stores:
  raw: { engine: mongodb, url: "${services.mongo.url}", database: ${name} }
  analytics: { engine: clickhouse, url: "${services.clickhouse.url}", database: ${name} }
`,
  );
  return path;
}

async function snapshot(config: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of KINDS) {
    const result = await runCli(['export', kind, '--config', config]);
    expect(result.code, result.stderr).toBe(0);
    out[kind] = result.stdout;
  }
  return out;
}

describe('production engines: MongoDB raw store + ClickHouse analytics', () => {
  it('derive exactly what the embedded default derives from the same input', async () => {
    const input = join(FIXTURES, 'generated-small.ndjson');
    const server = serverConfig();
    const run = await runCli(['run', '--input', input, '--config', server]);
    expect(run.code, run.stderr).toBe(0);
    const embeddedDir = mkdtempSync(join(tmpdir(), 'jc-embedded-'));
    const embeddedConfig = join(FIXTURES, 'journeyctl.yaml');
    expect((await runCli(['run', '--input', input, '--data-dir', embeddedDir, '--config', embeddedConfig])).code).toBe(0);
    const embedded: Record<string, string> = {};
    for (const kind of KINDS) embedded[kind] = (await runCli(['export', kind, '--data-dir', embeddedDir, '--config', embeddedConfig])).stdout;
    expect(await snapshot(server)).toEqual(embedded);
  });

  it('reprocess twice leaves identical exports, and a correction survives it and reverts cleanly', async () => {
    const server = serverConfig();
    expect((await runCli(['run', '--input', join(FIXTURES, 'generated-small.ndjson'), '--config', server])).code).toBe(0);
    const baseline = await snapshot(server);
    const reprocess = () => runCli(['reprocess', '--from', '2026-01-05', '--to', '2026-01-08', '--config', server, '--yes']);
    expect((await reprocess()).code).toBe(0);
    expect((await reprocess()).code).toBe(0);
    expect(await snapshot(server)).toEqual(baseline);

    const fix = await runCli(['fix', 'rename-event', 'button_clicked', 'button_pressed', '--reason', 'rename', '--yes', '--config', server]);
    expect(fix.code, fix.stderr).toBe(0);
    const fixed = await snapshot(server);
    expect(parseNdjson(fixed.events!).some((e) => e.event === 'button_pressed')).toBe(true);
    expect((await reprocess()).code).toBe(0);
    expect(await snapshot(server)).toEqual(fixed);
    expect((await runCli(['fix', 'revert', 'c1', '--reason', 'undo', '--yes', '--config', server])).code).toBe(0);
    expect(await snapshot(server)).toEqual(baseline);
    // Eleven CLI runs against FerretDB: 26 s on a quiet machine, over 60 s beside a loaded CI run.
  }, 240_000);

  it('treats injection attempts in filters as data: they match nothing and harm nothing', async () => {
    const server = serverConfig();
    expect((await runCli(['run', '--input', join(FIXTURES, 'generated-small.ndjson'), '--config', server])).code).toBe(0);
    const baseline = await snapshot(server);
    for (const args of [
      ['fix', 'drop-events', '--user', "x' OR '1'='1", '--reason', 'r', '--yes'],
      ['fix', 'drop-events', '--event', "a'); DROP TABLE events; --", '--reason', 'r', '--yes'],
      ['fix', 'drop-events', '--app-version', '{"$ne": null}', '--reason', 'r', '--yes'],
      ['explain', "' OR 1=1 --"],
    ]) {
      const result = await runCli([...args, '--config', server]);
      expect(result.code, args.join(' ')).toBe(2);
    }
    expect(await snapshot(server)).toEqual(baseline);
  });
});
