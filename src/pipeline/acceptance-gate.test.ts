import { describe, expect, it } from 'vitest';
import { createAcceptanceGate } from './acceptance-gate.js';
import { createLineProcessor } from './line-processor.js';
import { DEFAULT_PIPELINE } from '../config/config.js';

const valid = (i: number) => JSON.stringify({ type: 'track', messageId: `m${i}`, event: 'page_viewed', anonymousId: 'a', timestamp: '2026-01-05T10:00:00Z' });

function gate(minLines = 1_000) {
  const processor = createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false });
  return createAcceptanceGate(processor, { minLines, minShare: 0.01, input: 'events.txt' });
}

describe('an input that is almost all rejected stops the run', () => {
  it('fails the batch that reaches 1,000 lines when under 1% of them are valid, naming the input and the main reason', async () => {
    const processor = gate();
    const lines = Array.from({ length: 1_500 }, (_, i) => (i < 5 ? valid(i) : `garbage ${i}`));
    await expect(processor.process(lines.slice(0, 600), Date.now())).resolves.toMatchObject({ accepted: expect.any(Array) });
    const error = (await processor.process(lines.slice(600), Date.now()).then(
      () => null,
      (e: unknown) => e,
    )) as Error & { exitCode: number };
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/^input events\.txt: only 5 of the first 1,500 lines are valid events \(under 1%; most rejected as invalid_json/);
    expect(error.exitCode).toBe(2);
    await processor.close();
  });

  it('lets an input through when at least 1% is valid, and judges only the first lines', async () => {
    const processor = gate();
    const first = Array.from({ length: 1_000 }, (_, i) => (i % 50 === 0 ? valid(i) : `garbage ${i}`));
    await expect(processor.process(first, Date.now())).resolves.toHaveProperty('accepted.length', 20);
    const later = Array.from({ length: 1_000 }, (_, i) => `garbage ${i}`);
    await expect(processor.process(later, Date.now())).resolves.toHaveProperty('rejected.length', 1_000);
    await processor.close();
  });
});
