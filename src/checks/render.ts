import Table from 'cli-table3';
import { tableStyle } from '../render/terminal.js';
import { type CheckResult, type CheckRun, formatValue } from './run-checks.js';

const MARK: Record<CheckResult['status'], string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };

/** One line per check and a summary: what a person reads in a terminal or a CI log. */
export function renderText(run: CheckRun): string {
  const lines = run.results.map((r) => {
    const head = `${MARK[r.status]}  ${r.name} [${r.type}] ${r.message}${r.status === 'pass' ? '' : ` — ${r.threshold}`}`;
    const rows = r.failingRows.slice(0, 3).map((row) => `        ${JSON.stringify(row)}`);
    return [head, ...rows].join('\n');
  });
  return `${lines.join('\n')}\n${summaryLine(run)}\n`;
}

export function summaryLine(run: CheckRun): string {
  const { total, pass, warn, fail, durationMs } = run.summary;
  return `checks: ${total} run, ${pass} passed, ${warn} warned, ${fail} failed (${(durationMs / 1000).toFixed(1)} s)`;
}

export function renderTable(run: CheckRun, color: boolean): string {
  const table = new Table({ head: ['status', 'check', 'type', 'measured', 'thresholds', 'ms'], style: tableStyle(color), wordWrap: true, colWidths: [8, 30, 18, 40, 36, 8] });
  for (const r of run.results) table.push([MARK[r.status], r.name, r.type, r.message, r.threshold, r.durationMs]);
  return `${table.toString()}\n${summaryLine(run)}\n`;
}

/** One check's result as a flat snake_case record: a line of `--output ndjson`, a row of `--output csv`. */
export function checkResultRecord(result: CheckResult): Record<string, unknown> {
  return {
    name: result.name,
    type: result.type,
    severity: result.severity,
    status: result.status,
    measured: result.measured,
    unit: result.unit,
    threshold: result.threshold,
    message: result.message,
    duration_ms: result.durationMs,
    tags: result.tags,
    failing_rows: result.failingRows,
  };
}

export function renderJson(run: CheckRun): string {
  return `${JSON.stringify(run)}\n`;
}

/**
 * JUnit XML as CI systems read it: one testsuite, one testcase per check; a failed check is a
 * <failure> with the measured value, the threshold and sample failing rows. A warning is a
 * passing testcase with the warning in <system-out> and a property (JUnit has no warn state).
 */
export function renderJunit(run: CheckRun): string {
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const cases = run.results.map((r) => {
    const attrs = `name="${xml(r.name)}" classname="journeyctl.check.${xml(r.type)}" time="${seconds(r.durationMs)}"`;
    const props = `    <properties>\n      <property name="status" value="${r.status}"/>\n      <property name="severity" value="${r.severity}"/>\n${r.tags.map((t) => `      <property name="tag" value="${xml(t)}"/>\n`).join('')}    </properties>\n`;
    const detail = [
      `measured: ${r.measured === null ? 'nothing' : formatValue(r.measured, r.unit)}`,
      `threshold: ${r.threshold}`,
      `result: ${r.message}`,
      ...(r.failingRows.length ? ['sample failing rows:', ...r.failingRows.map((row) => `  ${JSON.stringify(row)}`)] : []),
    ].join('\n');
    if (r.status === 'fail') {
      return `  <testcase ${attrs}>\n${props}    <failure message="${xml(`${r.message} (${r.threshold})`)}" type="${r.severity}">${xml(detail)}</failure>\n  </testcase>`;
    }
    if (r.status === 'warn') return `  <testcase ${attrs}>\n${props}    <system-out>${xml(`WARNING\n${detail}`)}</system-out>\n  </testcase>`;
    return `  <testcase ${attrs}>\n${props}  </testcase>`;
  });
  const { total, fail, durationMs } = run.summary;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="journeyctl check" tests="${total}" failures="${fail}" errors="0" time="${seconds(durationMs)}">\n<testsuite name="journeyctl check" tests="${total}" failures="${fail}" errors="0" skipped="0" timestamp="${run.startedAt}" time="${seconds(durationMs)}">\n${cases.join('\n')}\n</testsuite>\n</testsuites>\n`;
}

function xml(text: string): string {
  // Characters XML 1.0 forbids are dropped; the five specials are escaped.
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
