import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { buildProgram } from '../src/cli.js';
import { validateConfigDocument } from '../src/config/config.js';

// No container engine or cluster runs here: the image, compose file and manifests are checked
// statically (Dockerfile properties, docker-compose config, kustomize build + Kubernetes 1.33
// schemas) and every journeyctl command line in them is parsed by journeyctl's own CLI.
const ROOT = join(import.meta.dirname, '..');
const K8S = join(ROOT, 'deploy', 'k8s');
const OVERLAYS = readdirSync(join(K8S, 'overlays'));
const KUBERNETES_VERSION = '1.33.0';

type Manifest = { kind: string; metadata: { name: string }; spec?: Record<string, any>; data?: Record<string, string> };

/** journeyctl's own parser with every action replaced by a no-op: unknown flags and bad choices throw. */
async function parseCommandLine(args: string[]): Promise<void> {
  const program = buildProgram({ stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]), env: {} });
  const silence = (command: Command) => {
    command.action(() => {});
    command.commands.forEach(silence);
  };
  program.commands.forEach(silence);
  await program.parseAsync(['node', 'journeyctl', ...args]);
}

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => ({ op: line.split(/\s+/)[0]!.toUpperCase(), rest: line.slice(line.indexOf(' ') + 1).trim() }));
  const last = (op: string) => instructions.filter((entry) => entry.op === op).at(-1)?.rest;

  it('is multi-stage on Node 20 slim, installs production dependencies with the lock-file fallback, and runs as a non-root user', () => {
    const stages = instructions.filter((entry) => entry.op === 'FROM');
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(instructions.find((entry) => entry.op === 'ARG' && entry.rest.startsWith('NODE_IMAGE='))?.rest).toBe('NODE_IMAGE=node:20-slim');
    for (const stage of stages) expect(stage.rest).toMatch(/^\$\{NODE_IMAGE\} AS \w+$/);
    const install = instructions.find((entry) => entry.op === 'RUN' && entry.rest.includes('--omit=dev'))?.rest ?? '';
    expect(install).toMatch(/npm ci --omit=dev[^|]*\|\|.*npm install --omit=dev/);
    const runtimeStart = instructions.findLastIndex((entry) => entry.op === 'FROM');
    const runtime = instructions.slice(runtimeStart);
    const user = runtime.filter((entry) => entry.op === 'USER').at(-1)?.rest;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // The runtime stage copies built output and installed modules, never builds with dev dependencies.
    expect(runtime.some((entry) => entry.op === 'RUN' && /npm (ci|install)/.test(entry.rest))).toBe(false);
  });

  it('has ENTRYPOINT ["journeyctl"], the data directory as a volume, and a HEALTHCHECK through doctor that parses', async () => {
    expect(JSON.parse(last('ENTRYPOINT')!)).toEqual(['journeyctl']);
    expect(JSON.parse(last('VOLUME')!)).toEqual(['/data']);
    expect(last('ENV')).toContain('JOURNEY_DATA_DIR=/data');
    const health = last('HEALTHCHECK')!;
    const exec = JSON.parse(health.slice(health.indexOf('CMD') + 3).trim()) as string[];
    expect(exec.slice(0, 2)).toEqual(['journeyctl', 'doctor']);
    await parseCommandLine(exec.slice(1));
  });
});

describe('docker-compose.yml journeyctl services', () => {
  const services = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')).services as Record<string, any>;

  it('builds journeyctl from the Dockerfile, migrates once first, and consumes the compose Kafka into MongoDB and ClickHouse', async () => {
    expect(services.migrate.build).toBe('.');
    expect(services.journeyctl.image).toBe(services.migrate.image);
    expect(services.journeyctl.depends_on.migrate.condition).toBe('service_completed_successfully');
    for (const dependency of ['kafka', 'mongodb', 'clickhouse']) expect(services.migrate.depends_on[dependency].condition).toBe('service_healthy');
    expect(services.migrate.restart).toBe('no');
    const env = services.journeyctl.environment as Record<string, string>;
    expect(env.JOURNEY_KAFKA_BROKERS).toBe('kafka:29092');
    expect(env.JOURNEY_MONGO_URL).toMatch(/^mongodb:\/\/mongodb:27017\//);
    expect(env.JOURNEY_CLICKHOUSE_URL).toBe('http://clickhouse:8123');
    // The broker advertises the address the containers use on that listener.
    expect(services.kafka.environment.KAFKA_ADVERTISED_LISTENERS).toContain('INTERNAL://kafka:29092');
    expect(services.journeyctl.command.slice(0, 3)).toEqual(['run', '--source', 'kafka']);
    for (const name of ['migrate', 'journeyctl']) await parseCommandLine(services[name].command);
  });
});

describe('Kubernetes manifests (deploy/k8s)', () => {
  let tools: { kustomize: string; kubernetesValidate: string };
  const rendered = new Map<string, Manifest[]>();

  beforeAll(() => {
    // Builds kustomize from its Go module and installs kubernetes-validate from PyPI, once per machine (cached).
    tools = JSON.parse(execFileSync('bash', [join(ROOT, '.ci', 'services', 'deploy-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
    for (const overlay of OVERLAYS) {
      const yaml = execFileSync(tools.kustomize, ['build', join(K8S, 'overlays', overlay)], { encoding: 'utf8' });
      rendered.set(
        overlay,
        parseAllDocuments(yaml).map((doc) => doc.toJS() as Manifest),
      );
    }
  }, 900_000);

  const find = (overlay: string, kind: string, name: string) => {
    const found = rendered.get(overlay)!.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
    expect(found, `${kind}/${name} in ${overlay}`).toBeDefined();
    return found!;
  };
  const podSpec = (manifest: Manifest) => (manifest.kind === 'CronJob' ? manifest.spec!.jobTemplate.spec.template.spec : manifest.spec!.template.spec);

  it('has the micro-batch, streaming and gcp overlays', () => {
    expect(OVERLAYS.sort()).toEqual(['gcp', 'micro-batch', 'streaming']);
  }, 900_000); // a cold kustomize build from the Go module proxy took 237 s here; cached afterwards

  it(`renders every overlay to manifests valid against the Kubernetes ${KUBERNETES_VERSION} schemas (strict: unknown fields fail)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-k8s-'));
    const files = [...rendered.keys()].map((overlay) => {
      const file = join(dir, `${overlay}.yaml`);
      writeFileSync(file, execFileSync(tools.kustomize, ['build', join(K8S, 'overlays', overlay)], { encoding: 'utf8' }));
      return file;
    });
    files.push(join(K8S, 'secret.example.yaml'));
    const result = spawnSync(tools.kubernetesValidate, ['--strict', '--kubernetes-version', KUBERNETES_VERSION, '--quiet', ...files], { encoding: 'utf8' });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    // And the validator does reject what it should: an unknown field.
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\nunknownField: 1\n');
    expect(spawnSync(tools.kubernetesValidate, ['--strict', '--kubernetes-version', KUBERNETES_VERSION, '--quiet', bad]).status).not.toBe(0);
  });

  it('micro-batch: a CronJob every 5 minutes, until caught up, bounded under the interval, never two at once', () => {
    const cron = find('micro-batch', 'CronJob', 'journeyctl-run');
    expect(cron.spec!.schedule).toBe('*/5 * * * *');
    expect(cron.spec!.concurrencyPolicy).toBe('Forbid');
    expect(cron.spec!.startingDeadlineSeconds).toBeGreaterThan(0);
    expect(cron.spec!.successfulJobsHistoryLimit).toBeGreaterThan(0);
    expect(cron.spec!.failedJobsHistoryLimit).toBeGreaterThan(0);
    expect(cron.spec!.jobTemplate.spec.backoffLimit).toBeGreaterThanOrEqual(0);
    const args = podSpec(cron).containers[0].args as string[];
    expect(args).toEqual(expect.arrayContaining(['--until-caught-up', '--max-duration', '4m']));
    expect(cron.spec!.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan(240);
    expect(cron.spec!.jobTemplate.spec.activeDeadlineSeconds).toBeLessThan(300);
    expect(rendered.get('micro-batch')!.some((manifest) => manifest.kind === 'Deployment')).toBe(false);
  });

  it('streaming: replicas in one group, a grace period, doctor probes, resources and a PodDisruptionBudget that selects them', () => {
    const deployment = find('streaming', 'Deployment', 'journeyctl-run');
    expect(deployment.spec!.replicas).toBeGreaterThan(1);
    const spec = podSpec(deployment);
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    const container = spec.containers[0];
    expect(container.args).not.toContain('--group'); // one group: the config's
    for (const probe of [container.readinessProbe, container.livenessProbe]) expect(probe.exec.command.slice(0, 4)).toEqual(['journeyctl', 'doctor', '--only', 'kafka']);
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
    const pdb = find('streaming', 'PodDisruptionBudget', 'journeyctl-run');
    const labels = deployment.spec!.template.metadata.labels as Record<string, string>;
    for (const [key, value] of Object.entries(pdb.spec!.selector.matchLabels as Record<string, string>)) expect(labels[key]).toBe(value);
  });

  it('both: nightly reprocess of yesterday with --yes, hourly check that fails on exit 1 and keeps its JUnit file, migrate Job, config, secrets, service account', () => {
    for (const overlay of OVERLAYS) {
      const reprocess = find(overlay, 'CronJob', 'journeyctl-reprocess');
      expect(podSpec(reprocess).containers[0].args).toEqual(expect.arrayContaining(['reprocess', '--from', 'yesterday', '--to', 'today', '--yes']));
      const check = find(overlay, 'CronJob', 'journeyctl-check');
      expect(check.spec!.schedule).toMatch(/^\d+ \* \* \* \*$/);
      expect(check.spec!.jobTemplate.spec.podFailurePolicy.rules[0]).toMatchObject({ action: 'FailJob', onExitCodes: { operator: 'In', values: expect.arrayContaining([1]) } });
      const checkPod = podSpec(check);
      const junit = (checkPod.containers[0].args as string[])[(checkPod.containers[0].args as string[]).indexOf('--junit') + 1]!;
      const reports = checkPod.containers[0].volumeMounts.find((mount: { mountPath: string }) => junit.startsWith(`${mount.mountPath}/`));
      expect(checkPod.volumes.find((volume: { name: string }) => volume.name === reports.name).persistentVolumeClaim.claimName).toBe('journeyctl-reports');
      find(overlay, 'Job', 'journeyctl-migrate');
      find(overlay, 'ServiceAccount', 'journeyctl');
      const config = rendered.get(overlay)!.find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name.startsWith('journeyctl-config'))!;
      // The Secret's URLs as overrides: MongoDB everywhere, ClickHouse except on GCP (BigQuery; its Secret has no ClickHouse URL).
      const resolved = validateConfigDocument(parse(config.data!['journeyctl.yaml']!), 'journeyctl.yaml', {
        mongoUrl: 'mongodb://m:27017/x',
        ...(overlay === 'gcp' ? {} : { clickhouseUrl: 'http://c:8123' }),
      });
      expect(resolved).toMatchObject({ ok: true, warnings: [] });
      for (const manifest of rendered.get(overlay)!) {
        if (!['CronJob', 'Job', 'Deployment'].includes(manifest.kind)) continue;
        const spec = podSpec(manifest);
        expect(spec.serviceAccountName).toBe('journeyctl');
        expect(spec.securityContext.runAsNonRoot).toBe(true);
        const container = spec.containers[0];
        expect(container.envFrom).toEqual([{ secretRef: { name: 'journeyctl-stores' } }]);
        expect(container.volumeMounts.find((mount: { mountPath: string }) => mount.mountPath === '/etc/journeyctl').name).toBe('config');
        expect(spec.volumes.find((volume: { name: string }) => volume.name === 'config').configMap.name).toBe(config.metadata.name);
      }
    }
    expect(readFileSync(join(K8S, 'base', 'service-account.yaml'), 'utf8')).toMatch(/#\s+iam\.gke\.io\/gcp-service-account:/);
    const secret = parse(readFileSync(join(K8S, 'secret.example.yaml'), 'utf8'));
    expect(Object.keys(secret.stringData).sort()).toEqual(['JOURNEY_CLICKHOUSE_URL', 'JOURNEY_MONGO_URL']);
  });

  it('gcp: the micro-batch CronJob reads Pub/Sub into BigQuery, with Workload Identity and no key file', () => {
    const cron = find('gcp', 'CronJob', 'journeyctl-run');
    expect(cron.spec!.schedule).toBe('*/5 * * * *');
    expect(podSpec(cron).containers[0].args).toEqual(expect.arrayContaining(['run', '--source', 'pubsub', '--until-caught-up', '--max-duration', '4m']));
    const account = find('gcp', 'ServiceAccount', 'journeyctl') as Manifest & { metadata: { annotations?: Record<string, string> } };
    expect(account.metadata.annotations?.['iam.gke.io/gcp-service-account']).toMatch(/^journeyctl@[a-z][a-z0-9-]+\.iam\.gserviceaccount\.com$/);
    const config = rendered.get('gcp')!.find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name.startsWith('journeyctl-config'))!;
    const resolved = validateConfigDocument(parse(config.data!['journeyctl.yaml']!), 'journeyctl.yaml', { mongoUrl: 'mongodb://m:27017/x' });
    expect(
      resolved.ok && { source: resolved.config.streamSource, pubsub: resolved.config.pubsub, raw: resolved.config.stores.raw.engine, analytics: resolved.config.stores.analytics.engine },
    ).toMatchObject({
      source: 'pubsub',
      pubsub: { topic: 'projects/my-gcp-project/topics/events', subscription: 'projects/my-gcp-project/subscriptions/journeyctl', ackDeadlineSeconds: 60 },
      raw: 'mongodb',
      analytics: 'bigquery',
    });
    // Credentials come from the metadata server: no key file variable, no mounted key.
    for (const manifest of rendered.get('gcp')!) {
      if (!['CronJob', 'Job'].includes(manifest.kind)) continue;
      const spec = podSpec(manifest);
      for (const container of spec.containers) expect((container.env ?? []).map((entry: { name: string }) => entry.name)).not.toContain('GOOGLE_APPLICATION_CREDENTIALS');
      expect(spec.volumes.some((volume: { secret?: unknown }) => volume.secret !== undefined)).toBe(false);
    }
  });

  it("every journeyctl command line in the manifests parses with journeyctl's own CLI (unknown flags fail)", async () => {
    const lines: string[][] = [];
    for (const manifests of rendered.values()) {
      for (const manifest of manifests) {
        if (!['CronJob', 'Job', 'Deployment'].includes(manifest.kind)) continue;
        for (const container of podSpec(manifest).containers) {
          lines.push(container.args);
          for (const probe of [container.readinessProbe, container.livenessProbe]) if (probe?.exec) lines.push(probe.exec.command.slice(1));
        }
      }
    }
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const args of lines) await expect(parseCommandLine(args), args.join(' ')).resolves.toBeUndefined();
    // The check itself: a flag journeyctl does not have is refused.
    await expect(parseCommandLine(['run', '--source', 'kafka', '--until-caught-upp'])).rejects.toThrow(/unknown option/);
  });
});
