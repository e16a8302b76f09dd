// Over 400 lines on purpose: one suite every raw-store adapter must pass, kept in one file so an
// adapter author reads every rule it is held to in one place (ADR 0005).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AcceptedEvent, RejectedLine } from '../domain/event.js';
import { encodeEvent, type LeaseHolder, linesWithVersion, type RawStore } from './raw-store.js';

/** Every raw-store adapter (SQLite, MongoDB, in-memory) passes this same suite. */
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

    it('stores encoded events exactly as writeBatch stores the events they encode, deduplicating across both', async () => {
      const plain = accepted({
        messageId: 'p1',
        identityKey: 'u1',
        userId: 'u1',
        anonymousId: 'a1',
        eventTime: 2_000,
        receivedAt: 2_500,
        properties: { price: 23.990000000000002, tags: ['x'] },
        traits: { plan: 'pro' },
        raw: '{"plain":1}',
        rawHash: 'h1',
      });
      const encoded = encodeEvent({ ...plain, messageId: 'p2', identityKey: 'u2', userId: 'u2', raw: '{"encoded":1}' });
      expect(encoded).not.toHaveProperty('properties');
      expect(encoded).not.toHaveProperty('context');
      expect(await store.writeBatch([plain], [])).toMatchObject({ inserted: 1 });
      const written = await store.writeEncodedBatch([encoded], [rejected({ rawHash: 'r1' })]);
      // copiesAdded is optional: an engine that counts them has none to count here.
      expect(written).toEqual({ inserted: 1, replaced: 0, duplicates: 0, rejected: 1, rejectedDuplicates: 0, ...(written.copiesAdded === undefined ? {} : { copiesAdded: 0 }) });
      const [fromPlain] = await store.eventsByIdentity(['u1']);
      const [fromEncoded] = await store.eventsByIdentity(['u2']);
      expect(fromEncoded).toEqual({ ...fromPlain, messageId: 'p2', identityKey: 'u2', userId: 'u2' });
      expect(fromEncoded!.propertiesJson).toBe('{"price":23.990000000000002,"tags":["x"]}');
      expect(fromEncoded!.traitsJson).toBe('{"plan":"pro"}');
      expect(await store.rawLinesByIdentity(['u2'])).toEqual([{ raw: '{"encoded":1}', receivedAt: 2_500, copies: 1 }]);
      expect((await store.listDirtyIds(100)).map((d) => d.id).sort()).toEqual(['a1', 'u1', 'u2']);
      expect(Object.fromEntries(await store.linkTargets(['a1']))).toEqual({ a1: 'u1' });
      // One message id, whichever path stored it: the earlier-received copy wins.
      expect(await store.writeEncodedBatch([encodeEvent({ ...plain, receivedAt: 2_400, event: 'earlier' })], [])).toMatchObject({ inserted: 0, replaced: 1 });
      expect(await store.writeBatch([{ ...plain, receivedAt: 2_450 }], [])).toMatchObject({ inserted: 0, replaced: 0, duplicates: 1 });
      expect((await store.eventsByIdentity(['u1']))[0]!.event).toBe('earlier');
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

    it('lists anonymous ids seen with several user ids, each user with its first time (identity conflicts)', async () => {
      await store.writeBatch(
        [
          accepted({ messageId: 'c3', anonymousId: 'shared', userId: 'u-c', identityKey: 'u-c', eventTime: 3_000 }),
          accepted({ messageId: 'c1', anonymousId: 'shared', userId: 'u-a', identityKey: 'u-a', eventTime: 1_000 }),
          accepted({ messageId: 'c2', anonymousId: 'shared', userId: 'u-b', identityKey: 'u-b', eventTime: 2_000 }),
          accepted({ messageId: 'c4', anonymousId: 'shared', userId: 'u-a', identityKey: 'u-a', eventTime: 500 }),
          accepted({ messageId: 'c5', anonymousId: 'own', userId: 'u-d', identityKey: 'u-d', eventTime: 1_000 }),
          accepted({ messageId: 'c6', anonymousId: 'shared', userId: null, identityKey: 'shared', eventTime: 100 }),
        ],
        [],
      );
      const shared = {
        anonymousId: 'shared',
        users: [
          { userId: 'u-a', firstAt: 500 },
          { userId: 'u-b', firstAt: 2_000 },
          { userId: 'u-c', firstAt: 3_000 },
        ],
      };
      expect(await store.anonymousIdUsers({ minUsers: 2 })).toEqual([shared]);
      expect(await store.anonymousIdUsers({ minUsers: 1, anonymousIds: ['own', 'none'] })).toEqual([{ anonymousId: 'own', users: [{ userId: 'u-d', firstAt: 1_000 }] }]);
      expect(await store.anonymousIdUsers({ minUsers: 4 })).toEqual([]);
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
      await store.writeBatch([accepted({ messageId: 'm1', identityKey: 'a1', properties: { product_id: 'p1' } }), accepted({ messageId: 'm2', identityKey: 'a2', anonymousId: 'a2' })], []);
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
          copies: 1,
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
      // A narrow range of a larger store and a wide one (SQLite reads them through different indexes).
      const later = Array.from({ length: 30 }, (_, i) => `n${String(i).padStart(2, '0')}`);
      await store.writeBatch(
        later.map((key, i) => accepted({ messageId: `later-${i}`, identityKey: key, eventTime: 20_000 + i })),
        [],
      );
      expect(await store.identityKeysInRange({ from: 20_010, to: 20_012 })).toEqual(['n10', 'n11']);
      expect(await store.identityKeysInRange({ from: 0, to: 30_000 })).toEqual(['k1', 'k2', ...later]);
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

    it('tails events in arrival order with per-record cursors, pages, and says when it has caught up', async () => {
      expect(await store.tailEvents(null, {}, 10)).toMatchObject({ records: [], more: false });
      const emptyEnd = await store.tailEnd('events');
      // Arrival order, not event time and not message id order.
      await store.writeBatch([accepted({ messageId: 'z1', eventTime: 9_000, raw: '{"n":1}' }), accepted({ messageId: 'a2', eventTime: 1_000 })], []);
      await store.writeBatch([accepted({ messageId: 'm3', eventTime: 5_000 })], []);
      const all = await store.tailEvents(null, {}, 100);
      expect(all.records.map((r) => r.value.messageId)).toEqual(['z1', 'a2', 'm3']);
      expect(all.more).toBe(false);
      expect(all.records[0]!.value).toMatchObject({ messageId: 'z1', event: 'page_viewed', eventTime: 9_000, receivedAt: 1_500, raw: '{"n":1}', propertiesJson: '{}' });
      expect((await store.tailEvents(emptyEnd, {}, 100)).records.map((r) => r.value.messageId)).toEqual(['z1', 'a2', 'm3']);
      // A record's cursor resumes right after it; a short page says there is more.
      expect((await store.tailEvents(all.records[0]!.cursor, {}, 100)).records.map((r) => r.value.messageId)).toEqual(['a2', 'm3']);
      const first = await store.tailEvents(null, {}, 2);
      expect(first.records.map((r) => r.value.messageId)).toEqual(['z1', 'a2']);
      expect(first.more).toBe(true);
      // Where an engine says how far behind a page is (optional), it counts the records past its cursor.
      if (first.behind !== undefined) expect(first.behind).toBe(1);
      expect((await store.tailEvents(first.cursor, {}, 2)).records.map((r) => r.value.messageId)).toEqual(['m3']);
      // Following: the end cursor sees exactly what lands later; a duplicate does not reappear.
      const end = await store.tailEnd('events');
      expect(await store.tailEvents(end, {}, 10)).toMatchObject({ records: [], more: false });
      await store.writeBatch([accepted({ messageId: 'm4' }), accepted({ messageId: 'm3' })], []);
      const later = await store.tailEvents(end, {}, 10);
      expect(later.records.map((r) => r.value.messageId)).toEqual(['m4']);
      expect(await store.tailEvents(later.cursor, {}, 10)).toMatchObject({ records: [], more: false });
      await expect(store.tailEvents('not a cursor', {}, 10)).rejects.toThrow(/not a tail position/);
    });

    it('filters tailed events by ids, event, app version, received time and JSON values, binding every value as data', async () => {
      const line = (context: Record<string, unknown>) => JSON.stringify({ context });
      await store.writeBatch(
        [
          accepted({
            messageId: 'e1',
            userId: 'u1',
            anonymousId: 'a1',
            identityKey: 'u1',
            event: 'order_completed',
            appVersion: '2.3.1',
            receivedAt: 1_000,
            properties: { plan: 'pro', total: 3, ok: true },
            raw: line({ ip: '10.0.0.1' }),
          }),
          accepted({
            messageId: 'e2',
            userId: null,
            anonymousId: 'a2',
            identityKey: 'a2',
            event: 'page_viewed',
            appVersion: '2.3.0',
            receivedAt: 2_000,
            properties: { plan: 'free', total: '3' },
            raw: line({ ip: '10.0.0.2' }),
          }),
          accepted({ messageId: 'e3', userId: "x' OR '1'='1", anonymousId: null, identityKey: "x' OR '1'='1", appVersion: null, receivedAt: 3_000, properties: { a: '1; DROP TABLE raw_events' } }),
        ],
        [],
      );
      const ids = async (filter: Parameters<RawStore['tailEvents']>[1]) => (await store.tailEvents(null, filter, 100)).records.map((r) => r.value.messageId);
      expect(await ids({ ids: ['a1'] })).toEqual(['e1']);
      expect(await ids({ ids: ['u1', 'a2'] })).toEqual(['e1', 'e2']);
      expect(await ids({ event: 'order_completed' })).toEqual(['e1']);
      expect(await ids({ appVersion: '2.3.0' })).toEqual(['e2']);
      expect(await ids({ receivedFrom: 2_000 })).toEqual(['e2', 'e3']);
      expect(await ids({ receivedFrom: 1_000, receivedTo: 2_000 })).toEqual(['e1']);
      expect(await ids({ where: [{ path: ['properties', 'plan'], value: 'pro' }] })).toEqual(['e1']);
      // "3" matches the number 3 and the string "3"; "true" the boolean.
      expect(await ids({ where: [{ path: ['properties', 'total'], value: '3' }] })).toEqual(['e1', 'e2']);
      expect(await ids({ where: [{ path: ['properties', 'ok'], value: 'true' }] })).toEqual(['e1']);
      expect(await ids({ where: [{ path: ['context', 'ip'], value: '10.0.0.2' }] })).toEqual(['e2']);
      expect(
        await ids({
          where: [
            { path: ['properties', 'plan'], value: 'pro' },
            { path: ['properties', 'total'], value: '4' },
          ],
        }),
      ).toEqual([]);
      // Hostile values are data: they match only an event that holds exactly that text, and harm nothing.
      expect(await ids({ ids: ["x' OR '1'='1"] })).toEqual(['e3']);
      expect(await ids({ ids: ["nobody' OR '1'='1"] })).toEqual([]);
      expect(await ids({ where: [{ path: ['properties', 'a'], value: '1; DROP TABLE raw_events' }] })).toEqual(['e3']);
      expect(await ids({ where: [{ path: ['properties', 'a'], value: "1' OR '1'='1" }] })).toEqual([]);
      expect(await ids({ where: [{ path: ['properties', 'a"); DROP TABLE raw_events; --'], value: '1' }] })).toEqual([]);
      expect(await ids({ where: [{ path: ['nowhere', 'a'], value: '1' }] })).toEqual([]);
      expect((await store.counts()).events).toBe(3);
    });

    it('tails rejected lines in arrival order; ids and values match only lines that are JSON', async () => {
      await store.writeBatch(
        [],
        [
          rejected({ rawHash: 'r1', receivedAt: 5_000, raw: '{"userId":"u1","properties":{"plan":"pro"}', reason: 'invalid_json', event: null }),
          rejected({ rawHash: 'r2', receivedAt: 1_000, raw: JSON.stringify({ userId: 'u1', event: 'x', properties: { plan: 'pro' } }), event: 'x', appVersion: '2.3.1' }),
          rejected({ rawHash: 'r3', receivedAt: 3_000, raw: JSON.stringify({ anonymousId: 'a9', context: { ip: '1.2.3.4' } }), event: 'y', appVersion: '2.4.0' }),
        ],
      );
      const hashes = async (filter: Parameters<RawStore['tailRejected']>[1], after: string | null = null) => (await store.tailRejected(after, filter, 100)).records.map((r) => r.value.rawHash);
      expect(await hashes({})).toEqual(['r1', 'r2', 'r3']);
      expect((await store.tailRejected(null, {}, 100)).records[0]!.value).toEqual(
        rejected({ rawHash: 'r1', receivedAt: 5_000, raw: '{"userId":"u1","properties":{"plan":"pro"}', reason: 'invalid_json', event: null }),
      );
      expect(await hashes({ ids: ['u1'] })).toEqual(['r2']);
      expect(await hashes({ ids: ['a9'] })).toEqual(['r3']);
      expect(await hashes({ event: 'y' })).toEqual(['r3']);
      expect(await hashes({ appVersion: '2.3.1' })).toEqual(['r2']);
      expect(await hashes({ receivedTo: 4_000 })).toEqual(['r2', 'r3']);
      expect(await hashes({ where: [{ path: ['properties', 'plan'], value: 'pro' }] })).toEqual(['r2']);
      expect(await hashes({ where: [{ path: ['context', 'ip'], value: '1.2.3.4' }] })).toEqual(['r3']);
      expect(await hashes({ ids: ["x' OR '1'='1"] })).toEqual([]);
      const end = await store.tailEnd('rejected');
      expect(await hashes({}, end)).toEqual([]);
      await store.writeBatch([], [rejected({ rawHash: 'r4' })]);
      expect(await hashes({}, end)).toEqual(['r4']);
      expect((await store.counts()).rejected).toBe(4);
    });

    it('reads one profile by user id', async () => {
      const profile = { userId: "u'1", identified: true, anonymousIds: ['a'], traits: { plan: 'pro' }, firstSeen: 1, lastSeen: 2, eventCount: 3, sessionCount: 1 };
      await store.saveProfiles([profile], []);
      expect(await store.profileOf("u'1")).toEqual(profile);
      expect(await store.profileOf("' OR 1=1 --")).toBeNull();
    });

    it('counts what it holds', async () => {
      await store.writeBatch([accepted({ messageId: 'm1' })], [rejected({ rawHash: 'h' })]);
      expect(await store.counts()).toMatchObject({ events: 1, rejected: 1, dirty: 1 });
    });

    it('reads each event with its distinct copies, whatever the order; byte-identical copies count once', async () => {
      const copiesOfR1 = async () => ({
        event: (await store.eventsByIdentity(['k1'])).map((e) => [e.messageId, e.copies]),
        line: (await store.rawLinesByIdentity(['k1'])).map((l) => l.copies),
        kept: (await store.counts()).copies,
      });
      const first = accepted({ messageId: 'r1', receivedAt: 2_000, rawHash: 'h-a', identityKey: 'k1', anonymousId: 'k1' });
      const retry = accepted({ messageId: 'r1', receivedAt: 3_000, rawHash: 'h-b', identityKey: 'k1', anonymousId: 'k1' });
      const earlier = accepted({ messageId: 'r1', receivedAt: 1_000, rawHash: 'h-c', identityKey: 'k1', anonymousId: 'k1' });
      await store.writeBatch([first, first, accepted({ messageId: 'other', identityKey: 'k1', anonymousId: 'k1' })], []);
      expect(await copiesOfR1()).toEqual({
        event: [
          ['r1', 1],
          ['other', 1],
        ],
        line: [1, 1],
        kept: 0,
      });
      await store.clearDirtyIds(await store.listDirtyIds(100));
      // An engine that reports copiesAdded (optional) counts the two lines it now remembers, then none.
      expect([2, undefined]).toContain((await store.writeBatch([retry], [])).copiesAdded);
      expect(await copiesOfR1()).toEqual({
        event: [
          ['r1', 2],
          ['other', 1],
        ],
        line: [2, 1],
        kept: 2,
      });
      // A new distinct copy changes what derivation sees, so its user is derived again.
      expect((await store.listDirtyIds(100)).map((d) => d.id)).toEqual(['k1']);
      await store.clearDirtyIds(await store.listDirtyIds(100));
      expect([0, undefined]).toContain((await store.writeBatch([retry, first], [])).copiesAdded);
      expect(await store.listDirtyIds(100)).toEqual([]);
      await store.writeBatch([earlier], []);
      expect(await copiesOfR1()).toEqual({
        event: [
          ['r1', 3],
          ['other', 1],
        ],
        line: [3, 1],
        kept: 3,
      });
    });

    it('counts received lines for burst detection as receivedCounts does, across replacements and re-sent lines', async () => {
      const minute = 60_000;
      const versions = ['1.0', '2.0', null];
      // Deterministic mix: new events, earlier copies that replace (some with another version), later
      // copies that do not, rejected lines and the same rejected lines again, spread over 3 hours.
      for (let batch = 0; batch < 4; batch += 1) {
        const events: AcceptedEvent[] = [];
        const lines: RejectedLine[] = [];
        for (let i = 0; i < 40; i += 1) {
          const n = (batch * 40 + i) % 70;
          const receivedAt = ((n * 7919 + batch * 104_729) % 180) * minute + (i % 3) * 17_000;
          events.push(accepted({ messageId: `m${n}`, rawHash: `h${batch}-${i}`, receivedAt, eventTime: receivedAt - minute, appVersion: versions[(n + batch) % 3]! }));
          if (i % 4 === 0) lines.push(rejected({ rawHash: `r${n}`, receivedAt, appVersion: versions[n % 3]!, reason: i % 8 === 0 ? 'unplanned_event' : 'invalid_json' }));
        }
        await store.writeBatch(events, lines);
      }
      const byBucket = (rows: Array<{ bucketStart: number; appVersion: string | null }>) =>
        [...rows].sort((a, b) => a.bucketStart - b.bucketStart || String(a.appVersion).localeCompare(String(b.appVersion)));
      for (const bucketMs of [10 * minute, 60 * minute, 90_000]) {
        const scanned = linesWithVersion(await store.receivedCounts({}, { bucketMs, lateAfterMs: 0 })).filter((r) => r.accepted > 0 || Object.keys(r.rejected).length > 0);
        expect(scanned.length, `${bucketMs} ms buckets`).toBeGreaterThan(3);
        expect(byBucket(await store.receivedLineCounts(bucketMs)), `${bucketMs} ms buckets`).toEqual(byBucket(scanned));
      }
    });

    it('answers the re-ingest pre-filter only for a stored accepted line with the same message id and rawHash', async () => {
      // Optional: a store without it pre-filters nothing (every line takes the normal path).
      if (store.storedCopies === undefined) return;
      await store.writeBatch(
        [accepted({ messageId: 'p1', rawHash: 'h1', receivedAt: 5_000, eventTime: 4_000 }), accepted({ messageId: 'p2', rawHash: 'h2', receivedAt: 6_000, eventTime: 1_000 })],
        [rejected({ rawHash: 'hr', messageId: 'p3' })],
      );
      // p2 is replaced by an earlier copy: its old line is no longer the stored one.
      await store.writeBatch([accepted({ messageId: 'p2', rawHash: 'h2b', receivedAt: 5_500, eventTime: 1_000 })], []);
      const answers = await store.storedCopies([
        { rawHash: 'h1', messageId: 'p1' },
        { rawHash: 'h2', messageId: 'p2' },
        { rawHash: 'h2b', messageId: 'p2' },
        { rawHash: 'h1', messageId: null },
        { rawHash: 'hr', messageId: 'p3' },
        { rawHash: 'h9', messageId: 'p9' },
        { rawHash: 'h1', messageId: 'p1' },
      ]);
      expect(answers).toEqual([{ receivedAt: 5_000, eventTime: 4_000 }, null, { receivedAt: 5_500, eventTime: 1_000 }, null, null, null, { receivedAt: 5_000, eventTime: 4_000 }]);
    });

    it('aggregates received lines per bucket and app version, and accepted events per event day', async () => {
      const minute = 60_000;
      const day = 86_400_000;
      await store.writeBatch(
        [
          accepted({ messageId: 'a1', receivedAt: 10 * minute + 5, eventTime: 10 * minute, appVersion: '1.0' }),
          accepted({ messageId: 'a2', receivedAt: 12 * minute, eventTime: 11 * minute, appVersion: '1.0' }),
          accepted({ messageId: 'a3', receivedAt: 14 * minute, eventTime: minute, appVersion: '2.0' }),
          accepted({ messageId: 'a4', receivedAt: 25 * minute, eventTime: day + 1, appVersion: null, type: 'identify', event: 'identify' }),
        ],
        [
          rejected({ rawHash: 'x1', receivedAt: 11 * minute, appVersion: '2.0', reason: 'unplanned_event' }),
          rejected({ rawHash: 'x2', receivedAt: 13 * minute, appVersion: '2.0', reason: 'unplanned_event' }),
          rejected({ rawHash: 'x3', receivedAt: 13 * minute, appVersion: '2.0', reason: 'required_missing' }),
          rejected({ rawHash: 'x4', receivedAt: 13 * minute, appVersion: null, reason: 'invalid_json' }),
          rejected({ rawHash: 'x5', receivedAt: 99 * minute, appVersion: '2.0', reason: 'invalid_json' }),
        ],
      );
      await store.writeBatch([accepted({ messageId: 'a2', receivedAt: 12 * minute + 1, eventTime: 11 * minute, appVersion: '1.0', rawHash: 'retry' })], []);
      const rows = await store.receivedCounts({ from: 0, to: 60 * minute }, { bucketMs: 10 * minute, lateAfterMs: 10 * minute });
      const sorted = rows.sort((a, b) => a.bucketStart - b.bucketStart || String(a.appVersion).localeCompare(String(b.appVersion)));
      expect(sorted).toEqual([
        { bucketStart: 10 * minute, appVersion: '1.0', accepted: 2, late: 0, extraCopies: 1, rejected: {} },
        { bucketStart: 10 * minute, appVersion: '2.0', accepted: 1, late: 1, extraCopies: 0, rejected: { unplanned_event: 2, required_missing: 1 } },
        { bucketStart: 10 * minute, appVersion: null, accepted: 0, late: 0, extraCopies: 0, rejected: { invalid_json: 1 } },
        { bucketStart: 20 * minute, appVersion: null, accepted: 1, late: 0, extraCopies: 0, rejected: {} },
      ]);
      expect(await store.acceptedPerDay({})).toEqual([
        { day: '1970-01-01', activity: 3, identity: 0 },
        { day: '1970-01-02', activity: 0, identity: 1 },
      ]);
      expect(await store.acceptedPerDay({ from: day })).toEqual([{ day: '1970-01-02', activity: 0, identity: 1 }]);
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
