import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AcceptedEvent, RejectedLine } from '../domain/event.js';
import type { LeaseHolder, RawStore } from './raw-store.js';

/** Every raw-store adapter (embedded SQLite, MongoDB) passes this same suite. */
export function describeRawStoreConformance(name: string, open: () => Promise<RawStore>): void {
  describe(`RawStore conformance: ${name}`, () => {
    let store: RawStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('keeps the earliest-received copy of a message id, whatever the arrival order', async () => {
      const late = accepted({ messageId: 'm1', receivedAt: 2_000, rawHash: 'b' });
      const early = accepted({ messageId: 'm1', receivedAt: 1_000, rawHash: 'c', event: 'early_copy' });
      expect(await store.writeBatch([late], [])).toMatchObject({ inserted: 1, replaced: 0, duplicates: 0 });
      expect(await store.writeBatch([early], [])).toMatchObject({ inserted: 0, replaced: 1, duplicates: 0 });
      expect(await store.writeBatch([late, early], [])).toMatchObject({ inserted: 0, replaced: 0, duplicates: 2 });
      const events = await store.eventsByIdentity(['anon-1']);
      expect(events.map((e) => [e.messageId, e.event, e.receivedAt])).toEqual([['m1', 'early_copy', 1_000]]);
      // Same receivedAt: the smaller raw hash wins, so ties are order-independent too.
      expect(await store.writeBatch([accepted({ messageId: 'm1', receivedAt: 1_000, rawHash: 'a', event: 'tie' })], [])).toMatchObject({ replaced: 1 });
      expect((await store.eventsByIdentity(['anon-1']))[0]!.event).toBe('tie');
    });

    it('stores a rejected line once, with its reason, and streams by received time', async () => {
      const line = rejected({ rawHash: 'h1', receivedAt: 5_000 });
      expect(await store.writeBatch([], [line, rejected({ rawHash: 'h2', receivedAt: 1_000, reason: 'invalid_json' })])).toMatchObject({ rejected: 2, rejectedDuplicates: 0 });
      expect(await store.writeBatch([], [line])).toMatchObject({ rejected: 0, rejectedDuplicates: 1 });
      const all = await collect(store.streamRejected({}));
      expect(all.map((r) => [r.rawHash, r.reason])).toEqual([
        ['h2', 'invalid_json'],
        ['h1', 'invalid_timestamp'],
      ]);
      expect((await collect(store.streamRejected({ from: 2_000 }))).map((r) => r.rawHash)).toEqual(['h1']);
      expect(all[1]).toEqual(line);
    });

    it('marks touched ids dirty and clears only the generation it was asked to', async () => {
      await store.writeBatch([accepted({ messageId: 'm1', userId: 'u1', anonymousId: 'a1', identityKey: 'u1' })], []);
      const first = await store.listDirtyIds(100);
      expect(first.map((d) => d.id).sort()).toEqual(['a1', 'u1']);
      await store.writeBatch([accepted({ messageId: 'm2', userId: 'u1', anonymousId: null, identityKey: 'u1' })], []);
      await store.clearDirtyIds(first);
      expect((await store.listDirtyIds(100)).map((d) => d.id)).toEqual(['u1']);
      await store.clearDirtyIds(await store.listDirtyIds(100));
      expect(await store.listDirtyIds(100)).toEqual([]);
    });

    it('keeps the earliest identity link per id and answers both directions', async () => {
      await store.writeBatch([accepted({ messageId: 'late', anonymousId: 'a1', userId: 'u-late', identityKey: 'u-late', eventTime: 9_000 })], []);
      await store.writeBatch([accepted({ messageId: 'early', anonymousId: 'a1', userId: 'u-early', identityKey: 'u-early', eventTime: 1_000 })], []);
      await store.writeBatch([accepted({ type: 'alias', messageId: 'alias', anonymousId: null, userId: 'u-new', previousId: 'u-early', identityKey: 'u-new', eventTime: 3_000 })], []);
      expect(Object.fromEntries(await store.linkTargets(['a1', 'u-early', 'nobody']))).toEqual({ a1: 'u-early', 'u-early': 'u-new' });
      expect((await store.linkSources(['u-early'])).sort()).toEqual(['a1']);
    });

    it('persists the identity map and lists members per canonical user', async () => {
      await store.saveCanonical([
        { id: 'a1', canonicalId: 'u1' },
        { id: 'a2', canonicalId: 'u1' },
        { id: 'u1', canonicalId: 'u1' },
        { id: 'a3', canonicalId: 'a3' },
      ]);
      await store.saveCanonical([{ id: 'a2', canonicalId: 'u2' }]);
      expect(Object.fromEntries(await store.canonicalOf(['a1', 'a2', 'zz']))).toEqual({ a1: 'u1', a2: 'u2' });
      const members = await store.membersOf(['u1', 'u2', 'none']);
      expect(members.get('u1')!.sort()).toEqual(['a1', 'u1']);
      expect(members.get('u2')).toEqual(['a2']);
      expect(members.has('none')).toBe(false);
    });

    it('returns events by identity key with the fields derivation needs', async () => {
      await store.writeBatch(
        [accepted({ messageId: 'm1', identityKey: 'a1', properties: { product_id: 'p1' } }), accepted({ messageId: 'm2', identityKey: 'a2', anonymousId: 'a2' })],
        [],
      );
      const events = await store.eventsByIdentity(['a1']);
      expect(events).toEqual([
        {
          messageId: 'm1',
          type: 'track',
          event: 'page_viewed',
          identityKey: 'a1',
          userId: null,
          anonymousId: 'anon-1',
          eventTime: 1_000,
          receivedAt: 1_500,
          timeSource: 'skew_corrected',
          skewMs: 0,
          appVersion: '2.3.0',
          propertiesJson: '{"product_id":"p1"}',
          traitsJson: '{}',
        },
      ]);
    });

    it('finds identity keys by event time and returns stored lines for re-validation', async () => {
      await store.writeBatch(
        [
          accepted({ messageId: 'm1', identityKey: 'k1', eventTime: 1_000, raw: '{"line":1}', receivedAt: 1_100 }),
          accepted({ messageId: 'm2', identityKey: 'k2', eventTime: 5_000, raw: '{"line":2}' }),
          accepted({ messageId: 'm3', identityKey: 'k1', eventTime: 9_000, raw: '{"line":3}' }),
        ],
        [],
      );
      expect(await store.identityKeysInRange({ from: 0, to: 5_000 })).toEqual(['k1']);
      expect(await store.identityKeysInRange({ from: 0, to: 5_001 })).toEqual(['k1', 'k2']);
      const lines = await store.rawLinesByIdentity(['k1']);
      expect(lines.map((l) => l.raw).sort()).toEqual(['{"line":1}', '{"line":3}']);
      expect(lines.find((l) => l.raw === '{"line":1}')!.receivedAt).toBe(1_100);
    });

    it('keeps small named values', async () => {
      expect(await store.readMeta('reprocess:x')).toBeNull();
      await store.writeMeta('reprocess:x', '["2026-01-05"]');
      await store.writeMeta('reprocess:x', '["2026-01-05","2026-01-06"]');
      expect(await store.readMeta('reprocess:x')).toBe('["2026-01-05","2026-01-06"]');
      await store.writeMeta('reprocess:x', null);
      expect(await store.readMeta('reprocess:x')).toBeNull();
    });

    it('saves, replaces, removes and streams profiles in user order', async () => {
      const profile = (userId: string, eventCount: number) => ({ userId, identified: true, anonymousIds: ['a'], traits: { plan: 'pro' }, firstSeen: 1, lastSeen: 2, eventCount, sessionCount: 1 });
      await store.saveProfiles([profile('u2', 1), profile('u1', 1)], []);
      await store.saveProfiles([profile('u1', 5)], ['u2']);
      expect(await collect(store.streamProfiles())).toEqual([profile('u1', 5)]);
    });

    it('hands out strictly increasing versions', async () => {
      const a = await store.nextVersion();
      const b = await store.nextVersion();
      expect(b).toBeGreaterThan(a);
    });

    it('grants a lease to one holder at a time and names the holder to the others', async () => {
      const holderA: LeaseHolder = { pid: process.pid, hostname: 'elsewhere', command: 'journeyctl run', startedAt: 1 };
      const holderB: LeaseHolder = { pid: process.pid, hostname: 'elsewhere-too', command: 'journeyctl reprocess', startedAt: 2 };
      expect(await store.acquireLease('analytics', holderA, 60_000)).toEqual({ acquired: true });
      expect(await store.acquireLease('analytics', holderA, 60_000)).toEqual({ acquired: true });
      const refused = await store.acquireLease('analytics', holderB, 60_000);
      expect(refused).toMatchObject({ acquired: false, holder: holderA });
      await store.releaseLease('analytics', holderA);
      expect(await store.acquireLease('analytics', holderB, 1)).toEqual({ acquired: true });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.acquireLease('analytics', holderA, 60_000)).toEqual({ acquired: true }); // B's lease expired
    });

    it('counts what it holds', async () => {
      await store.writeBatch([accepted({ messageId: 'm1' })], [rejected({ rawHash: 'h' })]);
      expect(await store.counts()).toMatchObject({ events: 1, rejected: 1, dirty: 1 });
    });
  });
}

export function accepted(overrides: Partial<AcceptedEvent> = {}): AcceptedEvent {
  return {
    messageId: 'm',
    type: 'track',
    event: 'page_viewed',
    userId: null,
    anonymousId: 'anon-1',
    previousId: null,
    identityKey: 'anon-1',
    eventTime: 1_000,
    timeSource: 'skew_corrected',
    skewMs: 0,
    receivedAt: 1_500,
    appVersion: '2.3.0',
    properties: {},
    context: {},
    traits: {},
    raw: '{}',
    rawHash: 'hash',
    ...overrides,
  };
}

function rejected(overrides: Partial<RejectedLine> = {}): RejectedLine {
  return { raw: 'not json', rawHash: 'h', reason: 'invalid_timestamp', detail: 'bad', receivedAt: 1_000, messageId: 'm9', event: 'x', appVersion: '2.4.0', ...overrides };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
