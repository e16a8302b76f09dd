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

  it('reads the hostile-line limits: max_line_bytes follows max_event_bytes, nesting is capped, min_event_time is a date', () => {
    const defaults = validateConfigDocument({ pipeline: { max_event_bytes: 1000 } }, 'x.yaml');
    expect(defaults.ok && defaults.config.pipeline).toMatchObject({ maxLineBytes: 1000 + (4 << 20), maxNestingDepth: 64, minEventTimeMs: Date.UTC(2000, 0, 1) });
    const set = validateConfigDocument({ pipeline: { max_line_bytes: 100_000, max_nesting_depth: 10, min_event_time: '2015-06-01' } }, 'x.yaml');
    expect(set.ok && set.config.pipeline).toMatchObject({ maxLineBytes: 100_000, maxNestingDepth: 10, minEventTimeMs: Date.UTC(2015, 5, 1) });
    const bad = validateConfigDocument({ pipeline: { max_line_bytes: 10, max_nesting_depth: 5000, min_event_time: 'soon' } }, 'x.yaml');
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.join('\n')).toMatch(/max_line_bytes must be at least[\s\S]*max_nesting_depth must be at most 1000|max_nesting_depth must be at most 1000[\s\S]*max_line_bytes must be at least/);
    expect(bad.errors.join('\n')).toContain('pipeline.min_event_time');
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

describe('config: session mode and identity settings', () => {
  it('defaults to gap mode and reads client mode, its paths and limits under pipeline', () => {
    const defaults = validateConfigDocument({}, 'x.yaml');
    expect(defaults.ok && defaults.config.pipeline).toMatchObject({ sessionMode: 'gap', clientSessionMaxGapMs: 24 * 3_600_000, maxUsersPerAnonymousId: 3 });
    const set = validateConfigDocument(
      { pipeline: { session_mode: 'client', client_session_id_paths: ['properties.ga_session_id'], client_session_max_gap: '12h', max_users_per_anonymous_id: 5 } },
      'x.yaml',
    );
    expect(set.ok && set.warnings).toEqual([]);
    expect(set.ok && set.config.pipeline).toMatchObject({
      sessionMode: 'client',
      clientSessionIdPaths: ['properties.ga_session_id'],
      clientSessionMaxGapMs: 12 * 3_600_000,
      maxUsersPerAnonymousId: 5,
    });
  });

  it('refuses an unknown mode and an empty path list in client mode', () => {
    const bad = validateConfigDocument({ pipeline: { session_mode: 'tracker', client_session_id_paths: [] } }, 'x.yaml');
    expect(bad.ok ? [] : bad.errors).toEqual(['x.yaml: pipeline.session_mode must be one of gap, client (got "tracker")']);
    const empty = validateConfigDocument({ pipeline: { session_mode: 'client', client_session_id_paths: [] } }, 'x.yaml');
    expect(empty.ok ? [] : empty.errors).toEqual(['x.yaml: pipeline.client_session_id_paths must name at least one path in client mode']);
  });
});

describe('config: derivation engine', () => {
  it('defaults to the JS derivation, reads sql and refuses anything else', () => {
    const defaults = validateConfigDocument({}, 'x.yaml');
    expect(defaults.ok && defaults.config.derivation).toEqual({ engine: 'js', workerFromUsers: 2_000 });
    const sql = validateConfigDocument({ derivation: { engine: 'sql' } }, 'x.yaml');
    expect(sql.ok && sql.warnings).toEqual([]);
    expect(sql.ok && sql.config.derivation).toEqual({ engine: 'sql', workerFromUsers: 2_000 });
    const bad = validateConfigDocument({ derivation: { engine: 'spark' } }, 'x.yaml');
    expect(bad.ok ? [] : bad.errors).toEqual(['x.yaml: derivation.engine must be one of js, sql (got "spark")']);
  });

  it('reads worker_from_users as a positive integer and names a bad one', () => {
    const low = validateConfigDocument({ derivation: { worker_from_users: 1 } }, 'x.yaml');
    expect(low.ok && low.warnings).toEqual([]);
    expect(low.ok && low.config.derivation).toEqual({ engine: 'js', workerFromUsers: 1 });
    for (const value of [0, -5, 2.5, '100']) {
      const bad = validateConfigDocument({ derivation: { worker_from_users: value } }, 'x.yaml');
      expect(bad.ok ? [] : bad.errors).toEqual(['x.yaml: derivation.worker_from_users must be a positive integer']);
    }
  });
});
