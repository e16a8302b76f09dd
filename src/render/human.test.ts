import { describe, expect, it } from 'vitest';
import { formatDuration, humanCell } from './human.js';
import { OUTPUTS, resolveOutput } from './output-option.js';
import { renderPlainTable } from './table.js';

describe('values for people', () => {
  it('durations as the two largest units', () => {
    expect(formatDuration(1_282_000)).toBe('21m 22s');
    expect(formatDuration(16_000)).toBe('16s');
    expect(formatDuration(3_600_000 + 5 * 60_000)).toBe('1h 5m');
    expect(formatDuration(2 * 86_400_000 + 30_000)).toBe('2d');
    expect(formatDuration(850)).toBe('850ms');
  });

  it('ISO times in the chosen zone; lists joined', () => {
    expect(humanCell('started_at', '2026-01-05T02:26:30.954Z', 'UTC')).toBe('2026-01-05 02:26:30');
    expect(humanCell('started_at', '2026-01-05T02:26:30.954Z', 'Europe/Berlin')).toBe('2026-01-05 03:26:30 +01:00');
    expect(humanCell('flags', ['a', 'b'], 'UTC')).toBe('a, b');
  });
});

describe('a table for people', () => {
  it('fits the width by cutting ids, never times, and leaves out what still does not fit', () => {
    const head = ['session_id', 'started_at', 'note'];
    const rows = [['0123456789abcdef0123456789abcdef', '2026-01-05 02:26:30', 'x'.repeat(40)]];
    const { text, hidden } = renderPlainTable(head, rows, { width: 45, color: false, shrinkable: [true, false, true] });
    expect(hidden).toEqual([]);
    const lines = text.trimEnd().split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(45);
    expect(lines[1]).toContain('2026-01-05 02:26:30');
    expect(lines[1]).toMatch(/^0123456789[0-9a-f]*… /);
    const narrow = renderPlainTable(head, rows, { width: 33, color: false, shrinkable: [true, false, true] });
    expect(narrow.hidden).toEqual(['note']);
  });
});

describe('one --output vocabulary', () => {
  it('defaults by terminal or pipe; table and text stand in for each other; others are refused alike', () => {
    expect(resolveOutput(undefined, OUTPUTS.records, true)).toBe('table');
    expect(resolveOutput(undefined, OUTPUTS.records, false)).toBe('ndjson');
    expect(resolveOutput('text', OUTPUTS.records, false)).toBe('table');
    expect(resolveOutput('table', OUTPUTS.prose, false)).toBe('text');
    expect(resolveOutput('pretty', OUTPUTS.tail, false)).toBe('table');
    expect(() => resolveOutput('yaml', OUTPUTS.report, false)).toThrow('--output must be one of table, json, ndjson (got "yaml")');
  });
});
