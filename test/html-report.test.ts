import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNdjson, runCli } from './helpers/cli.js';
import { ensureSystemTools, SYSTEM_TOOLS_TIMEOUT_MS } from './helpers/system-tools.js';

// Debian's chromium (installed with apt when missing); playwright-core downloads no browser.
const CHROMIUM = process.env.JOURNEY_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = join(import.meta.dirname, '..');
const ARTIFACTS = join(ROOT, 'artifacts', 'screenshots');

/** Opens a report file in chromium, collecting console errors, page errors and every request but the file itself. */
async function openFile(browser: Browser, path: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const problems: string[] = [];
  const url = pathToFileURL(path).href;
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (request.url() !== url) problems.push(`request: ${request.url()}`);
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems };
}

describe('report --html in a real browser', () => {
  let dir: string;
  let browser: Browser;
  let json: {
    labels: Array<{ label: string; sessions: number; share: number }>;
    funnels: Array<{ funnel: string; reachedStep: number[] }>;
    sessions: { total: number; flagged: number; counted: number };
  };
  let file: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jc-html-'));
    expect((await runCli(['run', '--input', join(ROOT, 'fixtures', 'demo.ndjson'), '--data-dir', dir])).code).toBe(0);
    const report = await runCli(['report', '--output', 'json', '--data-dir', dir]);
    expect(report.code, report.stderr).toBe(0);
    json = JSON.parse(report.stdout);
    file = join(dir, 'report.html');
    const html = await runCli(['report', '--html', file, '--data-dir', dir]);
    expect(html.code, html.stderr).toBe(0);
    expect(html.stdout).toBe('');
    expect(html.stderr).toContain(file);
    if (process.env.JOURNEY_CHROMIUM === undefined) ensureSystemTools('chromium');
    if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, SYSTEM_TOOLS_TIMEOUT_MS);
  afterAll(async () => browser?.close());

  it('opens with no console error and no network request, and shows the same funnel and label figures as report --output json', async () => {
    const { page, problems } = await openFile(browser, file);

    const funnelRows = await page.$$eval('tr[data-funnel]', (rows) =>
      rows.map((r) => ({
        funnel: r.getAttribute('data-funnel'),
        step: Number(r.getAttribute('data-step')),
        sessions: Number(r.getAttribute('data-sessions')),
        shown: Number(r.querySelector('td')?.textContent),
      })),
    );
    const expectedFunnels = json.funnels.flatMap((f) => f.reachedStep.map((sessions, i) => ({ funnel: f.funnel, step: i + 1, sessions, shown: sessions })));
    expect(funnelRows).toEqual(expectedFunnels);
    const labelRows = await page.$$eval('tr[data-label]', (rows) =>
      rows.map((r) => ({ label: r.getAttribute('data-label'), sessions: Number(r.querySelectorAll('td')[0]?.textContent), share: r.querySelectorAll('td')[1]?.textContent })),
    );
    expect(labelRows).toEqual(json.labels.map((l) => ({ label: l.label, sessions: l.sessions, share: `${(l.share * 100).toFixed(1)}%` })));
    const summary = await page.$eval('#sessions-summary', (p) => ({
      total: Number(p.getAttribute('data-total')),
      flagged: Number(p.getAttribute('data-flagged')),
      counted: Number(p.getAttribute('data-counted')),
    }));
    expect(summary).toEqual(json.sessions);
    // Charts are inline SVG; timelines have a row per sampled session, evidence marks among them.
    expect(await page.locator('figure.chart svg').count()).toBeGreaterThanOrEqual(json.funnels.length + 2);
    expect(await page.locator('#timelines tr[data-session]').count()).toBeGreaterThan(0);
    expect(await page.locator('#timelines circle.evidence').count()).toBeGreaterThan(0);

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    await page.emulateMedia({ media: 'print' });
    await page.screenshot({ path: join(ARTIFACTS, 'report-print.png'), fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    // The README's picture: refreshed on request, so a normal run leaves the tree clean.
    if (process.env.JOURNEY_UPDATE_SCREENSHOTS === '1') copyFileSync(shot, join(ROOT, 'docs', 'images', 'report.png'));
    expect(problems).toEqual([]);
    await page.close();
  });

  it("inspect user --html draws the user's sessions and event marks as inspect --output json lists them", async () => {
    // The user with the most labelled sessions (ties by id): rows with badges and evidence marks to compare.
    const labels = await runCli(['export', 'labels', '--output', 'ndjson', '--data-dir', dir]);
    expect(labels.code, labels.stderr).toBe(0);
    const perUser = new Map<string, number>();
    for (const label of parseNdjson(labels.stdout)) perUser.set(String(label.user_id), (perUser.get(String(label.user_id)) ?? 0) + 1);
    const [userId] = [...perUser].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]!;
    const inspected = await runCli(['inspect', 'user', userId, '--output', 'json', '--data-dir', dir]);
    expect(inspected.code, inspected.stderr).toBe(0);
    type Finding = { name: string; evidence: string[] };
    const user = JSON.parse(inspected.stdout) as { sessions: Array<{ session: { session_id: string }; labels: Finding[]; flags: Finding[]; events: Array<{ message_id: string }> }> };
    const userFile = join(dir, 'user.html');
    const html = await runCli(['inspect', 'user', userId, '--html', userFile, '--data-dir', dir]);
    expect(html.code, html.stderr).toBe(0);
    expect(html.stdout).toBe('');
    expect(html.stderr).toContain(userFile);

    const { page, problems } = await openFile(browser, userFile);
    const rows = await page.$$eval('#timelines tr[data-session]', (trs) =>
      trs.map((tr) => ({
        session: tr.getAttribute('data-session'),
        marks: tr.querySelectorAll('svg.timeline circle').length,
        evidence: tr.querySelectorAll('svg.timeline circle.evidence').length,
        badges: [...tr.querySelectorAll('.badge')].map((b) => b.textContent).sort(),
      })),
    );
    expect(user.sessions.length).toBeGreaterThan(0);
    expect(rows).toEqual(
      user.sessions.map((s) => {
        const evidence = new Set([...s.labels, ...s.flags].flatMap((f) => f.evidence));
        return {
          session: s.session.session_id,
          marks: s.events.length,
          evidence: s.events.filter((e) => evidence.has(e.message_id)).length,
          badges: [...s.labels, ...s.flags].map((f) => f.name).sort(),
        };
      }),
    );
    expect(rows.some((r) => r.evidence > 0)).toBe(true);
    expect(await page.locator('h2').first().textContent()).toContain(`(${user.sessions.length})`);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'inspect-user.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
    expect(readFileSync(userFile, 'utf8')).not.toMatch(/<script|<link|https?:\/\/(?!www\.w3\.org\/)/i);
  });

  it('inspect session --html is a usage error: the HTML timeline is per user', async () => {
    const result = await runCli(['inspect', 'session', 'any', '--html', join(dir, 'session.html'), '--data-dir', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('inspect user <user-id> --html');
    expect(existsSync(join(dir, 'session.html'))).toBe(false);
  });

  it('is one file with nothing to fetch: no script, no link, no remote url', () => {
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|<link|<img[^>]+src="http|@import|url\(http|@font-face/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/)/);
  });
});
