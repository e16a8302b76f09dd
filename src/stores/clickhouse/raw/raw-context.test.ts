import { describe, expect, it } from 'vitest';
import type { ClickHouseContext } from '../clickhouse-connection.js';
import { createClickHouseRawContext, forIdSets } from './raw-context.js';

describe('forIdSets over HTTP (ids bound as a URL parameter)', () => {
  const ctx = createClickHouseRawContext({} as ClickHouseContext, { spoolDir: null });

  it('binds as many ids per query as fit in the URL, every id once and in order', async () => {
    const ids = Array.from({ length: 30_000 }, (_, i) => `message-${String(i).padStart(8, '0')}-0123456789abcdef`);
    const sets: string[][] = [];
    await forIdSets(ctx, ids, async (set) => void sets.push(set.params.ids as string[]));
    expect(sets.flat()).toEqual(ids);
    expect(sets.length).toBeLessThan(ids.length / ctx.idsPerQuery);
    for (const set of sets) expect(encodeURIComponent(`['${set.join("','")}']`).length).toBeLessThan(1 << 20);
  });

  it('keeps long and non-ASCII ids (and one that is not well-formed text) within the URL limit', async () => {
    const ids = Array.from({ length: 3_000 }, (_, i) => `${'é'.repeat(250)}${i}`);
    ids.push('\ud800lone');
    const sets: string[][] = [];
    await forIdSets(ctx, ids, async (set) => void sets.push(set.params.ids as string[]));
    expect(sets.flat()).toEqual(ids);
    for (const set of sets) expect(Buffer.byteLength(set.join('')) * 3).toBeLessThan(1 << 20);
  });
});
