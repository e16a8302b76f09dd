import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { tableStyle } from '../render/terminal.js';
import type { Session } from '../domain/session.js';
import { openAnalyticsStore, openRawStore } from '../stores/open-stores.js';
import type { CommandContext } from './context.js';
import { formatSummaryText } from '../render/run-summary.js';
import { createProgress } from '../render/progress.js';
import { ingestFile } from '../services/ingest.js';
import { renderText } from '../checks/render.js';
import { runCheckCommand } from './check.js';
import { DEFAULT_CHECKS_FILE } from '../checks/default-checks.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');
export const DEMO_FIXTURE = join(FIXTURES, 'demo.ndjson');
/** The shop's tracking plan, so the demo shows the buggy release being caught. */
export const DEMO_CONFIG = join(FIXTURES, 'journeyctl.yaml');
/** The shipped default checks, run at the end of the demo. */
export const DEMO_CHECKS = DEFAULT_CHECKS_FILE;
const SHOWN_SESSIONS = 8;
/**
 * The fixture ships a buggy release (app version 2.4.0-buggy) whose every line is rejected; the
 * default checks are there to catch it, so these findings are the demo working, not failing.
 */
const EXPECTED_FINDINGS = ['rejected_rate_by_version', 'rejected_lines_per_day'];
const EXPECTED_NOTE = (found: string) => `Expected: ${found}. The fixture ships a buggy release (2.4.0-buggy) whose lines are all rejected; catching it is what these checks are for.`;

/** `journeyctl demo`: the whole job on shipped fixtures, in a fresh data directory, with nothing else installed. */
export async function runDemo(context: CommandContext, options: { keep: boolean; dataDirFlag: string | undefined }): Promise<void> {
  const dataDir = options.dataDirFlag ?? mkdtempSync(join(tmpdir(), 'journeyctl-demo-'));
  const config = { ...context.config, dataDir };
  const out = context.io.stdout;
  context.log(`demo: ingesting ${DEMO_FIXTURE} into ${dataDir}`);
  const summary = await ingestFile(config, {
    input: DEMO_FIXTURE,
    stdin: context.io.stdin,
    lease: { command: 'journeyctl demo', waitMs: 0, log: context.log },
    progress: createProgress(context.io.stderr, true, { env: context.io.env }),
  });
  out.write(`\n${formatSummaryText(summary)}`);

  const perDayOfDemo = new Map<string, number>();
  const raw = await openRawStore(config);
  const analytics = await openAnalyticsStore(config, raw, { command: 'journeyctl demo', waitMs: 0, log: context.log });
  try {
    const perDay = perDayOfDemo;
    const shown: Session[] = [];
    let total = 0;
    for await (const session of analytics.streamSessions({})) {
      total += 1;
      const day = new Date(session.startedAt).toISOString().slice(0, 10);
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
      if (shown.length < SHOWN_SESSIONS) shown.push(session);
    }
    out.write(`\nSessions per day (UTC): ${[...perDay].map(([day, count]) => `${day} ${count}`).join(', ')}\n`);
    const table = new Table({ head: ['started (UTC)', 'user', 'events', 'minutes', 'first → last event', 'labels', 'flags'], style: tableStyle(context.color) });
    for (const session of shown) {
      table.push([
        new Date(session.startedAt).toISOString().slice(0, 19).replace('T', ' '),
        session.userId.length > 22 ? `${session.userId.slice(0, 21)}…` : session.userId,
        session.eventCount,
        ((session.endedAt - session.startedAt) / 60_000).toFixed(1),
        `${session.firstEvent} → ${session.lastEvent}`,
        session.labels.join(', '),
        session.flags.join(', '),
      ]);
    }
    out.write(`First ${shown.length} of ${total} sessions:\n${table.toString()}\n`);
  } finally {
    await analytics.close();
    await raw.close();
  }
  // The data-quality checks over the fixture's days (its data is from the past: freshness is
  // measured at the end of them). A failing check is a finding to show here, not a demo failure.
  const days = [...perDayOfDemo.keys()].sort();
  if (days.length > 0) {
    const to = new Date(Date.parse(`${days[days.length - 1]}T00:00:00Z`) + 86_400_000).toISOString();
    const run = await runCheckCommand(
      { ...context, config },
      { checks: DEMO_CHECKS, select: [], exclude: [], from: days[0], to, tz: 'UTC', warnError: false, storeFailures: false, updateGolden: false, wait: '0s', quiet: true },
    );
    out.write(`\nData-quality checks (${DEMO_CHECKS}, ${days[0]} … ${days[days.length - 1]}):\n${renderText(run)}`);
    const expected = run.results.filter((result) => result.status !== 'pass' && EXPECTED_FINDINGS.includes(result.name));
    if (expected.length > 0) out.write(`${EXPECTED_NOTE(expected.map((result) => `${result.name} ${result.status.toUpperCase()}`).join(', '))}\n`);
  }
  // The custom UI: report's figures and session timelines as one HTML file that needs no network.
  const htmlReport = options.keep || options.dataDirFlag ? join(dataDir, 'report.html') : join(tmpdir(), 'journeyctl-demo-report.html');
  const { runReport } = await import('./report.js');
  await runReport({ ...context, config, log: () => {} }, { tz: 'UTC', includeFlagged: false, wait: '0s', html: htmlReport });
  out.write(`\nHTML report: ${htmlReport} (open it in a browser; it loads nothing from the network)\n`);
  if (options.keep || options.dataDirFlag) {
    out.write(
      `\nData kept in ${dataDir}. Try:\n  npx journeyctl report --data-dir ${dataDir}\n  npx journeyctl export labels --data-dir ${dataDir} --output table\n  npx journeyctl explain <session_id> --data-dir ${dataDir}\n  npx journeyctl export rejected --data-dir ${dataDir}\n`,
    );
  } else {
    rmSync(dataDir, { recursive: true, force: true });
    out.write('\n(demo data removed; run `npx journeyctl demo --keep` to keep it and explore with `export`)\n');
  }
}
