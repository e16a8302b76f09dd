import { describe, expect, it } from 'vitest';
import { RECONCILE_EVENT_MARGIN_MS, RECONCILE_SAMPLE, reconcileDays } from './reconcile-days.js';

describe('reconcileDays', () => {
  it('joins events per day with session placement per day, in day order, asking for the margin and sample the check uses', async () => {
    const asked: unknown[] = [];
    const days = await reconcileDays(
      {
        dailyCounts: async () => [
          { day: '2024-03-02', count: 4 },
          { day: '2024-03-01', count: 7 },
        ],
        sessionPlacement: async (range, options) => {
          asked.push({ range, options });
          return [
            { day: '2024-03-01', sessions: 2, declared: 7, placed: 7, mismatchedSessions: 0, sample: [] },
            { day: '2024-03-03', sessions: 1, declared: 3, placed: 2, mismatchedSessions: 1, sample: ['s9'] },
          ];
        },
      },
      { from: 1, to: 2 },
    );
    expect(asked).toEqual([{ range: { from: 1, to: 2 }, options: { eventMarginMs: RECONCILE_EVENT_MARGIN_MS, sampleSize: RECONCILE_SAMPLE } }]);
    expect(RECONCILE_EVENT_MARGIN_MS).toBe(2 * 86_400_000);
    expect(days).toEqual([
      { day: '2024-03-01', events: 7, sessions: 2, declared: 7, placed: 7, mismatchedSessions: 0, sample: [] },
      { day: '2024-03-02', events: 4, sessions: 0, declared: 0, placed: 0, mismatchedSessions: 0, sample: [] },
      { day: '2024-03-03', events: 0, sessions: 1, declared: 3, placed: 2, mismatchedSessions: 1, sample: ['s9'] },
    ]);
  });
});
