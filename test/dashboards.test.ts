import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboards, DATASOURCE } from '../src/dashboards/build-dashboards.js';
import { ALL_VALUE } from '../src/stores/sql/dialect.js';
import { runCli } from './helpers/cli.js';
import { grafanaSql } from './helpers/grafana-macros.js';

const DEPLOY = join(import.meta.dirname, '..', 'deploy', 'grafana', 'provisioning');

function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

describe('journeyctl dashboards', () => {
  it('writes the provisioning tree committed under deploy/grafana (regenerate with the same command)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'jc-dashboards-'));
    const result = await runCli(['dashboards', '--out', out, '--data-dir', out]);
    expect(result.code, result.stderr).toBe(0);
    const written = filesUnder(out);
    written.delete('raw.sqlite');
    for (const key of [...written.keys()]) if (!key.startsWith('datasources/') && !key.startsWith('dashboards/')) written.delete(key);
    expect([...written.keys()].sort()).toEqual([...filesUnder(DEPLOY).keys()].sort());
    for (const [path, text] of filesUnder(DEPLOY)) expect(written.get(path), path).toBe(text);
    const datasource = readFileSync(join(DEPLOY, 'datasources', 'journeyctl-clickhouse.yaml'), 'utf8');
    // v4 fields; the password only through Grafana's environment.
    for (const field of ['host: clickhouse', 'port: 8123', 'protocol: http', 'defaultDatabase: journeyctl', 'username: default', 'password: ${JOURNEY_CLICKHOUSE_PASSWORD}'])
      expect(datasource).toContain(field);
  });

  it('gives every dashboard and panel a unique uid/id, and every panel and target the provisioned datasource', () => {
    const dashboards = buildDashboards({ database: 'journeyctl', funnelSteps: {} });
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length);
    const panels = dashboards.flatMap((d) => d.dashboard.panels ?? []);
    const ids = panels.map((p) => (p as { id?: number }).id);
    expect(new Set(ids).size).toBe(panels.length);
    for (const panel of panels as Array<{ datasource?: unknown; targets?: Array<{ datasource?: unknown; rawSql?: string }> }>) {
      expect(panel.datasource).toEqual(DATASOURCE);
      expect(panel.targets?.length).toBe(1);
      for (const target of panel.targets ?? []) expect(target.datasource).toEqual(DATASOURCE);
    }
    for (const d of dashboards) {
      for (const variable of d.dashboard.templating?.list ?? []) if (variable.type === 'query') expect(variable.datasource).toEqual(DATASOURCE);
      for (const annotation of d.dashboard.annotations?.list ?? []) expect(annotation.datasource).toEqual(DATASOURCE);
    }
    const variables = new Set(dashboards.flatMap((d) => (d.dashboard.templating?.list ?? []).map((v) => v.name)));
    expect(variables).toEqual(new Set(['app_version', 'funnel', 'include_flagged']));
  });
});

describe('every panel query on the demo data, expanded as Grafana and the ClickHouse plugin expand it', () => {
  let dir: string;
  let session: Session;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jc-panels-'));
    expect((await runCli(['run', '--input', join(import.meta.dirname, '..', 'fixtures', 'demo.ndjson'), '--data-dir', dir])).code).toBe(0);
    // A manual flag, so the stewardship panels have a correction to show; the next run publishes it.
    const sessions = JSON.parse((await runCli(['export', 'sessions', '--output', 'json', '--data-dir', dir])).stdout) as Array<{ session_id: string }>;
    const flagged = await runCli(['flag', sessions[0]!.session_id, '--code', 'suspicious', '--reason', 'dashboard test', '--actor', 'tester', '--yes', '--data-dir', dir]);
    expect(flagged.code, flagged.stderr).toBe(0);
    writeFileSync(join(dir, 'empty.ndjson'), '');
    expect((await runCli(['run', '--input', join(dir, 'empty.ndjson'), '--data-dir', dir])).code).toBe(0);
    session = new Session(join(dir, 'analytics'));
  });
  afterAll(() => session?.cleanup?.());

  const dashboards = buildDashboards({
    database: 'journeyctl',
    funnelSteps: { purchase: ['product_viewed', 'product_added', 'checkout_started', 'order_completed'], onboarding: ['signup_started', 'profile_completed', 'onboarding_completed'] },
  });
  const context = (variables: Record<string, string[]>) => ({ from: Date.UTC(2025, 11, 1), to: Date.now() + 86_400_000, intervalMs: 3_600_000, variables });
  const all = { app_version: [ALL_VALUE], funnel: [ALL_VALUE], include_flagged: ['0'] };
  // No release burst in the demo data: that annotation has no rows, the rest must have some.
  const emptyOnDemo = new Set(['release_burst_regions']);

  for (const dashboard of dashboards) {
    for (const panel of dashboard.panels) {
      it(`${dashboard.title} › ${panel.title}`, () => {
        const sql = grafanaSql(panel.sql, context(all));
        const result = JSON.parse(session.query(sql, 'JSON')) as { meta: Array<{ name: string }>; data: Array<Record<string, unknown>> };
        expect(result.meta.map((m) => m.name)).toEqual([...panel.query.columns]);
        if (emptyOnDemo.has(panel.query.id)) expect(result.data).toEqual([]);
        else expect(result.data.length, sql).toBeGreaterThan(0);
      });
    }
  }

  it('narrows to the selected app versions and funnels, and names funnel steps by event', () => {
    const steps = dashboards.flatMap((d) => d.panels).find((p) => p.query.id === 'funnel_steps')!;
    const purchase = JSON.parse(session.query(grafanaSql(steps.sql, context({ ...all, funnel: ['purchase'] })), 'JSON')) as { data: Array<{ funnel: string; step_name: string }> };
    expect(new Set(purchase.data.map((r) => r.funnel))).toEqual(new Set(['purchase']));
    expect(purchase.data.map((r) => r.step_name)).toEqual(['1 product_viewed', '2 product_added', '3 checkout_started', '4 order_completed']);
    const perDay = dashboards.flatMap((d) => d.panels).find((p) => p.query.id === 'sessions_per_day')!;
    const none = JSON.parse(session.query(grafanaSql(perDay.sql, context({ ...all, app_version: ['no-such-version'] })), 'JSON')) as { data: unknown[] };
    expect(none.data).toEqual([]);
  });
});
