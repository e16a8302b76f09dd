import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE, resolveConfig, validateConfigDocument } from './config.js';

describe('config', () => {
  it('uses the industry defaults with no file', () => {
    const result = resolveConfig({}, {});
    expect(result.ok && result.config.pipeline).toEqual(DEFAULT_PIPELINE);
    expect(result.ok && result.config.dataDir).toBe('./.journeyctl');
    expect(result.ok && result.config.stores).toEqual({ raw: { engine: 'sqlite' }, analytics: { engine: 'chdb' } });
  });

  it('layers file, then env, then flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-config-'));
    const file = join(dir, 'journeyctl.yaml');
    writeFileSync(file, 'data_dir: /from/file\npipeline:\n  session_inactivity: 45m\n  split_at_midnight: true\n  timezone: Europe/Berlin\n');
    const fromFile = resolveConfig({ configPath: file }, {});
    expect(fromFile.ok && fromFile.config.dataDir).toBe('/from/file');
    expect(fromFile.ok && fromFile.config.pipeline.sessionInactivityMs).toBe(45 * 60_000);
    const fromEnv = resolveConfig({}, { JOURNEY_CONFIG: file, JOURNEY_DATA_DIR: '/from/env' });
    expect(fromEnv.ok && fromEnv.config.dataDir).toBe('/from/env');
    const fromFlag = resolveConfig({ configPath: file, dataDir: '/from/flag' }, { JOURNEY_DATA_DIR: '/from/env' });
    expect(fromFlag.ok && fromFlag.config.dataDir).toBe('/from/flag');
  });

  it('reports every problem at once, each with its path', () => {
    const result = validateConfigDocument(
      { pipeline: { session_inactivity: 'soon', timezone: 'Mars/Olympus', future_events: 'ignore' }, tracking_plan: { events: { x: { properties: { a: 'strnig' } } } } },
      'bad.yaml',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      'bad.yaml: pipeline.session_inactivity: "soon" is not a duration (e.g. 30m, 24h, 3d)',
      'bad.yaml: pipeline.future_events must be one of clamp, reject (got "ignore")',
      'bad.yaml: pipeline.timezone: "Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin)',
      'bad.yaml: tracking_plan.events.x.properties.a: type must be one of string, number, integer, boolean, object, array, null (got "strnig")',
    ]);
  });

  it('names a file that cannot be read or parsed', () => {
    expect(resolveConfig({ configPath: '/nonexistent/journeyctl.yaml' }, {})).toEqual({ ok: false, errors: ['cannot read config file /nonexistent/journeyctl.yaml: ENOENT'] });
    const dir = mkdtempSync(join(tmpdir(), 'jc-config-'));
    writeFileSync(join(dir, 'broken.yaml'), 'pipeline: [unclosed\n');
    const broken = resolveConfig({ configPath: join(dir, 'broken.yaml') }, {});
    expect(broken.ok === false && broken.errors[0]).toMatch(/broken\.yaml is not valid YAML\/JSON/);
  });

  it('selects server engines from URLs', () => {
    const result = resolveConfig({ mongoUrl: 'mongodb://127.0.0.1:1/x' }, { JOURNEY_CLICKHOUSE_URL: 'http://127.0.0.1:8123' });
    expect(result.ok && result.config.stores.raw.engine).toBe('mongodb');
    expect(result.ok && result.config.stores.analytics.engine).toBe('clickhouse');
  });
});
