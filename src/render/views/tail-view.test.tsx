import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../redact.js';
import { kafkaTailRecord, rawEventTailRecord, rejectedTailRecord, tailRowCells } from '../tail-records.js';
import { type TailStatus, TailView } from './tail-view.js';

const redactor = createRedactor(['properties.email'], true);
const event = (messageId: string, name: string, properties: Record<string, unknown>) =>
  rawEventTailRecord(
    messageId,
    {
      messageId,
      type: 'track',
      event: name,
      identityKey: 'alice',
      userId: 'alice',
      anonymousId: 'anon-1',
      eventTime: Date.UTC(2026, 0, 5, 9, 0, 1, 250),
      receivedAt: Date.UTC(2026, 0, 5, 9, 0, 2),
      timeSource: 'skew_corrected',
      skewMs: 0,
      appVersion: '2.3.0',
      propertiesJson: JSON.stringify(properties),
      traitsJson: '{}',
      raw: '{"context":{"ip":"1.2.3.4"}}',
    },
    'session-0123456789abcdef',
    redactor,
  );
const rejected = rejectedTailRecord(
  '7',
  {
    raw: '{"type":"track","messageId":"m9","event":"buton_clicked","userId":"bob"}',
    rawHash: 'h',
    reason: 'unplanned_event',
    detail: 'buton_clicked is not in the tracking plan',
    receivedAt: Date.UTC(2026, 0, 5, 9, 1),
    messageId: 'm9',
    event: 'buton_clicked',
    appVersion: '2.3.1',
  },
  redactor,
);
const status: TailStatus = { source: 'raw store /data', shown: 0, dropped: 0, following: true, done: false };
const rows = (records: ReturnType<typeof event>[], batch: number) => records.map((record, i) => ({ id: `${batch}:${i}`, cells: tailRowCells(record) }));

describe('the live tail view (ink)', () => {
  it('shows a header, then time, user, session, event and key properties per row, with a status line', () => {
    const ui = render(<TailView rows={rows([event('m1', 'product_viewed', { product_id: 'p1', email: 'a@b.c' })], 0)} batch={0} status={{ ...status, shown: 1 }} width={120} color={false} />);
    const lines = ui.lastFrame()!.split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+USER\s+SESSION\s+EVENT\s+PROPERTIES \/ REASON$/);
    expect(lines[1]).toMatch(/^2026-01-05 09:00:01\.250\s+alice\s+session-012…\s+product_viewed\s+product_id=p1 email=\[redacted\]$/);
    expect(lines[2]).toBe('● following raw store /data · 1 shown · Ctrl-C to stop');
    expect(ui.lastFrame()).not.toContain('a@b.c');
    ui.unmount();
  });

  it('prints each batch once as rows arrive, keeps the status line last, and shows rejected lines with their reason', () => {
    const ui = render(<TailView rows={[]} batch={0} status={status} width={140} color={false} />);
    ui.rerender(<TailView rows={rows([event('m1', 'page_viewed', {})], 1)} batch={1} status={{ ...status, shown: 1 }} width={140} color={false} />);
    ui.rerender(<TailView rows={[{ id: '2:0', cells: tailRowCells(rejected) }]} batch={2} status={{ ...status, shown: 2 }} width={140} color={false} />);
    ui.rerender(<TailView rows={[]} batch={3} status={{ ...status, shown: 2, dropped: 5, done: true }} width={140} color={false} />);
    const frame = ui.lastFrame()!;
    const lines = frame.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain('page_viewed');
    expect(lines[2]).toMatch(/^2026-01-05 09:01:00\.000\s+bob\s+buton_clicked\s+✗ unplanned_event: buton_clicked is no…$/);
    expect(lines[3]).toBe('● done raw store /data · 2 shown · 5 dropped (output too slow)');
    expect(frame.match(/page_viewed/g)).toHaveLength(1);
    ui.unmount();
  });

  it('colours only when asked: no escape codes with colour off', () => {
    const plain = render(<TailView rows={[{ id: '1:0', cells: tailRowCells(rejected) }]} batch={0} status={status} width={120} color={false} />);
    expect(plain.lastFrame()).not.toMatch(/\u001b\[/);
    plain.unmount();
  });

  it('shows a Kafka message that is not an event as a problem row', () => {
    const record = kafkaTailRecord({ topic: 't', partition: 1, offset: '42', timestamp: Date.UTC(2026, 0, 5), key: null, text: 'garbage', json: null, event: null, appVersion: null }, redactor);
    expect(record).toMatchObject({ source: 'kafka', partition: 1, offset: '42', value: null, raw: 'garbage' });
    const ui = render(<TailView rows={[{ id: '1:0', cells: tailRowCells(record) }]} batch={0} status={status} width={120} color={false} />);
    expect(ui.lastFrame()).toContain('✗ not a JSON event: garbage');
    ui.unmount();
  });
});
