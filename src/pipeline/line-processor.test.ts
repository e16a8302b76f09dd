import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../config/config.js';
import { createLineProcessor } from './line-processor.js';
import { createProcessLine } from './process-line.js';

const line = (id: string) => JSON.stringify({ type: 'track', messageId: id, event: 'page_viewed', anonymousId: 'a', timestamp: '2026-01-05T10:00:00Z' });
const JAN_5 = Date.parse('2026-01-05T10:00:00Z');

describe('the line processor over stored lines (reprocess)', () => {
  it('takes one arrival time per line and says which line each accepted event came from', async () => {
    const processor = createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false });
    const lines = [line('m1'), 'not json', line('m2'), line('m3')];
    const arrivals = [JAN_5 + 1_000, JAN_5 + 2_000, JAN_5 + 3_000, JAN_5 + 4_000];
    const batch = await processor.process(lines, arrivals);
    expect(batch.accepted.map((e) => [e.messageId, e.receivedAt])).toEqual([
      ['m1', JAN_5 + 1_000],
      ['m2', JAN_5 + 3_000],
      ['m3', JAN_5 + 4_000],
    ]);
    expect(batch.acceptedLines).toEqual([0, 2, 3]);
    expect(batch.rejected.map((r) => [r.reason, r.receivedAt])).toEqual([['invalid_json', JAN_5 + 2_000]]);
    // Each line as it would be validated alone at its own arrival time.
    const alone = createProcessLine({ pipeline: DEFAULT_PIPELINE, trackingPlan: null });
    for (const [i, index] of batch.acceptedLines.entries()) {
      const outcome = alone(lines[index]!, arrivals[index]!);
      expect(outcome.ok && outcome.event.eventTime).toBe(batch.accepted[i]!.eventTime);
    }
    await processor.close();
  });

  it('leaves the hash out when asked (hashLines: false) and changes nothing else', async () => {
    const hashed = createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false });
    const unhashed = createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null, hashLines: false }, { threads: false });
    const lines = [line('m1'), '{"type":"track"}'];
    const [withHash, withoutHash] = await Promise.all([hashed.process(lines, JAN_5), unhashed.process(lines, JAN_5)]);
    expect(withHash.accepted[0]!.rawHash).toMatch(/^[0-9a-f]{64}$/);
    expect(withoutHash.accepted[0]!.rawHash).toBe('');
    expect({ ...withoutHash.accepted[0], rawHash: null }).toEqual({ ...withHash.accepted[0], rawHash: null });
    expect(withoutHash.rejected.map((r) => r.reason)).toEqual(withHash.rejected.map((r) => r.reason));
    await Promise.all([hashed.close(), unhashed.close()]);
  });
});
