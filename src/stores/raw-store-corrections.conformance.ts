import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RawStore } from './raw-store.js';
import { accepted } from './raw-store.conformance.js';

/** Corrections and steward look-ups: every raw-store adapter passes this too. */
export function describeRawStoreCorrectionsConformance(name: string, open: () => Promise<RawStore>): void {
  describe(`RawStore corrections conformance: ${name}`, () => {
    let store: RawStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('appends corrections with increasing ids and lists them oldest first', async () => {
      const first = await store.appendCorrection({ change: { kind: 'rename_event', from: 'a', to: 'b' }, actor: 'ana', reason: 'typo', ticket: 'INC-1', createdAt: 1 });
      const second = await store.appendCorrection({ change: { kind: 'revert', target: first.id }, actor: 'bo', reason: 'undo', ticket: null, createdAt: 2 });
      expect([first.id, second.id]).toEqual(['c1', 'c2']);
      expect(await store.listCorrections()).toEqual([first, second]);
      expect(first).toEqual({ id: 'c1', change: { kind: 'rename_event', from: 'a', to: 'b' }, actor: 'ana', reason: 'typo', ticket: 'INC-1', createdAt: 1 });
    });

    it('finds the identity keys a steward filter touches, with every value bound as data', async () => {
      await store.writeBatch(
        [
          accepted({ messageId: 'm1', identityKey: 'k1', event: 'buton_clicked', appVersion: '2.4.0', eventTime: 1_000 }),
          accepted({ messageId: 'm2', identityKey: 'k2', event: 'buton_clicked', appVersion: '2.3.0', eventTime: 2_000 }),
          accepted({ messageId: 'm3', identityKey: 'k3', event: 'page_viewed', appVersion: '2.4.0', eventTime: 3_000 }),
        ],
        [],
      );
      expect(await store.identityKeysForEvents({ event: 'buton_clicked' })).toEqual(['k1', 'k2']);
      expect(await store.identityKeysForEvents({ appVersion: '2.4.0', since: 2_000 })).toEqual(['k3']);
      expect(await store.identityKeysForEvents({ until: 2_000 })).toEqual(['k1']);
      await store.saveCanonical([{ id: 'k2', canonicalId: 'person' }]);
      expect(await store.identityKeysForEvents({ userId: 'person' })).toEqual(['k2']);
      expect(await store.identityKeysForEvents({ userId: "x' OR '1'='1" })).toEqual([]);
      expect(await store.identityKeysForEvents({ event: "a'; DROP TABLE raw_events; --" })).toEqual([]);
      expect(Object.fromEntries(await store.identityKeysOfMessages(['m1', 'm3', 'nope']))).toEqual({ m1: 'k1', m3: 'k3' });
    });

    it('marks ids dirty on request', async () => {
      await store.markDirty(['u1', 'u2']);
      expect((await store.listDirtyIds(10)).map((d) => d.id)).toEqual(['u1', 'u2']);
    });
  });
}
