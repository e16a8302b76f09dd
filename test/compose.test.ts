import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureSystemTools, SYSTEM_TOOLS_TIMEOUT_MS } from './helpers/system-tools.js';

const ROOT = join(import.meta.dirname, '..');

// No container engine runs here: this validates the file's schema and interpolation with Debian's
// docker-compose (installed with apt when missing), not that the images start.
beforeAll(() => ensureSystemTools('docker-compose'), SYSTEM_TOOLS_TIMEOUT_MS);

it('docker-compose.yml is valid for docker-compose config -q, with the env file in place', () => {
  const project = mkdtempSync(join(tmpdir(), 'jc-compose-'));
  mkdirSync(join(project, 'deploy', 'grafana'), { recursive: true });
  copyFileSync(join(ROOT, 'deploy', 'grafana', 'grafana.env.example'), join(project, 'deploy', 'grafana', 'grafana.env'));
  const result = spawnSync('docker-compose', ['--project-directory', project, '-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
  expect(result.error, 'docker-compose is missing: apt-get install docker-compose').toBeUndefined();
  expect(result.status, result.stderr).toBe(0);
});

it('runs Grafana pinned, with the plugin pinned, provisioning read-only, on loopback, password from an env file, anonymous access off', () => {
  const grafana = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')).services.grafana;
  expect(grafana.image).toMatch(/^grafana\/grafana-oss:\d+\.\d+\.\d+$/);
  expect(grafana.environment.GF_INSTALL_PLUGINS).toMatch(/^grafana-clickhouse-datasource \d+\.\d+\.\d+$/);
  expect(grafana.environment.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
  expect(grafana.volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
  expect(grafana.ports).toEqual(['127.0.0.1:3000:3000']);
  expect(grafana.env_file).toEqual(['deploy/grafana/grafana.env']);
  expect(JSON.stringify(grafana.environment)).not.toMatch(/GF_SECURITY_ADMIN_PASSWORD/);
  expect(readFileSync(join(ROOT, '.gitignore'), 'utf8')).toContain('/deploy/grafana/grafana.env');
});
