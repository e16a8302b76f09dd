// Issue 14 step 3: a check type, a flag and a correction kind added by registration alone — no
// edit to any shipped file — and each working through the code paths the shipped ones use:
// config parse → measure, derive → finding, fix subcommand → correction applied on re-derive.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { checksParser } from '../src/checks/definitions.js';
import { createCheckRegistry, defineCheckKind } from '../src/checks/kinds/kind.js';
import { SHIPPED_CHECK_KINDS } from '../src/checks/kinds/registry.js';
import { runChecks } from '../src/checks/run-checks.js';
import { checkTypesHelp } from '../src/commands/check-cli.js';
import type { CommandContext } from '../src/commands/context.js';
import { runIngest } from '../src/commands/run.js';
import { registerStewardCommands } from '../src/commands/steward-cli.js';
import { resolveConfig } from '../src/config/config.js';
import { createCorrectionRegistry, defineCorrectionKind } from '../src/corrections/kinds/kind.js';
import { SHIPPED_CORRECTION_KINDS } from '../src/corrections/kinds/registry.js';
import { createFlagRegistry, defineFlag } from '../src/journeys/flags/kind.js';
import { SHIPPED_FLAG_KINDS } from '../src/journeys/flags/registry.js';
import { openAnalyticsStore, openRawStore } from '../src/stores/open-stores.js';
import { toLine } from './helpers/journeys.js';

/** A flag: a session with at least `min_pages` page views. */
const manyPages = defineFlag<{ minPages: number }>({
  name: 'many_pages',
  version: 3,
  description: 'a session with many page views',
  settingsKey: 'manyPages',
  defaults: { minPages: 10 },
  configKeys: { min_pages: null },
  parseSettings(flags, settings, errors) {
    const section = (flags.many_pages ?? {}) as Record<string, unknown>;
    if (section.min_pages !== undefined) {
      if (!Number.isInteger(section.min_pages)) errors.push('flags.many_pages.min_pages must be an integer');
      else settings.minPages = section.min_pages as number;
    }
    return settings;
  },
  detect(_session, events, settings) {
    const pages = events.filter((e) => e.event === 'page_viewed');
    return pages.length >= settings.minPages ? { name: 'many_pages', detail: `${pages.length} page views`, evidence: pages.map((e) => e.messageId) } : null;
  },
});

/** A check type: how many stored sessions carry a flag. */
const sessionsFlagged = defineCheckKind<{ flag: string }>({
  type: 'sessions_flagged',
  summary: 'stored sessions carrying a flag (flag)',
  keys: ['flag'],
  parse: (_entry, { text }) => ({ flag: text('flag') }),
  async measure(check, ctx) {
    let count = 0;
    for await (const session of (await ctx.analytics()).streamSessions({})) if (session.flags.includes(check.flag)) count += 1;
    return { unit: 'count', groups: [{ key: '', value: count }] };
  },
});

/** A correction kind: leave every event of one name out of analytics. */
const dropEventName = defineCorrectionKind<{ kind: 'drop_event_name'; event: string }>({
  kind: 'drop_event_name',
  cli: {
    command: 'drop-event-name',
    description: 'leave every event with this name out of analytics',
    arguments: [{ name: 'event' }],
    build:
      ([event]) =>
      async () => ({ kind: 'drop_event_name', event: event! }),
  },
  describe: (c) => `drop every ${c.event} event`,
  affects: (c, ports) => ports.identityKeysForEvents({ event: c.event }),
  touches: (c, view) => view.events.some((e) => e.event === c.event),
  editEvent: (c, event) => (event.event === c.event ? null : event),
});

const checkKinds = createCheckRegistry([...SHIPPED_CHECK_KINDS, sessionsFlagged]);
const flagKinds = createFlagRegistry([...SHIPPED_FLAG_KINDS, manyPages]);
const correctionKinds = createCorrectionRegistry([...SHIPPED_CORRECTION_KINDS, dropEventName]);

describe('registries: a new check type, flag and correction kind by registration alone', () => {
  it('parses, measures, flags and corrects through the shipped code paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-registries-'));
    const input = join(dir, 'events.ndjson');
    const events = [0, 2, 4].map((m, i) => toLine({ messageId: `p${i}`, event: 'page_viewed', userId: 'u1', minutes: m }));
    writeFileSync(input, `${[...events, toLine({ messageId: 'v1', event: 'product_viewed', userId: 'u1', minutes: 6 })].join('\n')}\n`);
    const configPath = join(dir, 'journeyctl.yaml');
    writeFileSync(
      configPath,
      ['flags:', '  many_pages: { min_pages: 3 }', 'checks:', '  - name: busy_sessions', '    type: sessions_flagged', '    flag: many_pages', '    error_if: { below: 1 }', ''].join('\n'),
    );

    // Config: the new flag's settings and the new check type parse with no warning or error.
    const resolved = resolveConfig({ configPath, dataDir: join(dir, 'data') }, {}, { checks: checksParser(checkKinds), flags: flagKinds });
    if (!resolved.ok) throw new Error(resolved.errors.join('; '));
    expect(resolved.warnings).toEqual([]);
    expect(resolved.config.journeys.flags.manyPages).toEqual({ minPages: 3 });
    expect(resolved.config.checks).toMatchObject([{ name: 'busy_sessions', type: 'sessions_flagged', flag: 'many_pages', errorIf: { below: 1 } }]);
    // The same parser refuses the type without the registration.
    expect(resolveConfig({ configPath }, {}, { checks: checksParser() })).toMatchObject({ ok: false, errors: [expect.stringContaining('type must be one of freshness')] });

    const config = resolved.config;
    const stdout = new PassThrough();
    const out: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => out.push(chunk));
    const context: CommandContext = { io: { stdout, stderr: new PassThrough(), stdin: new PassThrough(), env: {} }, config, log: () => {}, interactive: false, color: false };

    // Derive: `run` stores the new flag's finding with its rule version.
    await runIngest(context, { input, wait: '0s', progress: false });
    const findings = async () => {
      const raw = await openRawStore(config);
      const analytics = await openAnalyticsStore(config, raw, { command: 'test', waitMs: 0, log: () => {} });
      try {
        const found = [];
        for await (const f of analytics.streamFindings({})) found.push(f);
        return found;
      } finally {
        await analytics.close();
        await raw.close();
      }
    };
    expect((await findings()).filter((f) => f.name === 'many_pages')).toMatchObject([{ kind: 'flag', ruleVersion: 3, userId: 'u1', detail: '3 page views', evidence: ['p0', 'p1', 'p2'] }]);

    // Measure: the new check type runs through runChecks and passes.
    const check = async () => {
      const raw = openRawStore(config);
      const analytics = raw.then((r) => openAnalyticsStore(config, r, { command: 'test', waitMs: 0, log: () => {} }));
      try {
        return await runChecks(config.checks, {
          config,
          range: {},
          now: Date.now(),
          warnError: false,
          sampleSize: 10,
          configPath,
          updateGolden: false,
          childEnv: {},
          raw: () => raw,
          analytics: () => analytics,
          registry: checkKinds,
        });
      } finally {
        await (await analytics).close();
        await (await raw).close();
      }
    };
    expect((await check()).results).toMatchObject([{ name: 'busy_sessions', type: 'sessions_flagged', status: 'pass', measured: 1, unit: 'count' }]);
    expect(checkTypesHelp(checkKinds)).toMatch(/sessions_flagged +stored sessions carrying a flag \(flag\)/);

    // Fix: the generated subcommand records the new kind and re-derives; the page views leave analytics, so does the flag.
    const program = new Command('journeyctl').exitOverride();
    registerStewardCommands(program, () => context, correctionKinds);
    const fix = program.commands.find((c) => c.name() === 'fix')!;
    expect(fix.commands.map((c) => c.name())).toContain('drop-event-name');
    await program.parseAsync(['node', 'journeyctl', 'fix', 'drop-event-name', 'page_viewed', '--reason', 'registry test', '--yes', '--output', 'json']);
    const recorded = JSON.parse(Buffer.concat(out).toString('utf8').trim().split('\n').pop()!) as { correction: { action?: string; change?: unknown }; users: string[]; changes: string[] };
    expect(recorded.users).toEqual(['u1']);
    expect(recorded.changes.join('\n')).toContain('user u1');
    expect((await findings()).filter((f) => f.name === 'many_pages')).toEqual([]);
    expect((await check()).results).toMatchObject([{ name: 'busy_sessions', status: 'fail', measured: 0 }]);
  }, 120_000);
});
