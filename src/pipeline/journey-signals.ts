import type { RejectReason } from '../domain/event.js';
import { isLegalId } from '../domain/identity.js';
import type { FlagSettings } from '../journeys/flags.js';
import { detectReleaseBursts, type ReleaseBurst } from '../journeys/release-bursts.js';
import type { BurstHit, JourneySignals } from '../journeys/signals.js';
import { NO_SIGNALS } from '../journeys/signals.js';
import type { RawStore } from '../stores/raw-store.js';

/** Where the current release bursts are kept (raw-store meta): `export bursts` and `report` read them. */
export const BURSTS_META_KEY = 'release_bursts';

export interface StoredBursts {
  /** The settings they were detected with. */
  settings: FlagSettings['releaseBurst'];
  bursts: ReleaseBurst[];
}

export async function readStoredBursts(raw: RawStore): Promise<ReleaseBurst[]> {
  const text = await raw.readMeta(BURSTS_META_KEY);
  return text === null ? [] : (JSON.parse(text) as StoredBursts).bursts;
}

export interface SignalsRefresher {
  /** The signals of the last refresh (empty before the first). */
  current(): JourneySignals;
  /**
   * Detects bursts from the whole raw store. With `persist`, a changed set of
   * bursts is saved and the ids of every user it touches (old and new bursts) are marked dirty
   * first, so the next derive re-flags them and the stored result stays a function of the
   * stored data. Returns whether the bursts changed.
   */
  refresh(options?: { persist?: boolean; force?: boolean }): Promise<{ burstsChanged: boolean; bursts: readonly ReleaseBurst[] }>;
}

export interface SignalsRefresherOptions {
  /**
   * Bursts are detected again at most this often while data keeps arriving (a stream derives
   * every few seconds), unless `force`. Default 60 s. Where one detection takes more than a
   * tenth of that (a store that scans every stored line for it, as MongoDB does), the wait
   * grows to ten times the last detection's duration, so a long-running stream never spends
   * more than ~10% of its time on it (docs/decisions/0013).
   */
  burstIntervalMs?: number;
  now?: () => number;
}

/**
 * The store-wide input of the release_burst flag (duplicate_storm reads each event's copies with
 * the event): bursts, detected from the raw store's received-line counts (RawStore.receivedLineCounts)
 * — skipped when nothing was stored since, and while data keeps arriving done at most every
 * `burstIntervalMs` (longer where detection is slow, see there); a caller forces it once its
 * input has ended (run does), so the stored flags are settled when a run ends.
 */
export function createSignalsRefresher(raw: RawStore, settings: FlagSettings, options: SignalsRefresherOptions = {}): SignalsRefresher {
  const interval = options.burstIntervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  let signals: JourneySignals = NO_SIGNALS;
  let burstFingerprint: string | null = null;
  let burstsAt = Number.NEGATIVE_INFINITY;
  let burstWaitMs = interval;
  let lastBursts: ReleaseBurst[] = [];
  return {
    current: () => signals,
    async refresh(options = {}) {
      const counts = await raw.counts();
      // A copy that replaces a stored one (received earlier) moves a count between buckets: it is always a new distinct copy.
      const fingerprint = `${counts.events}/${counts.rejected}/${counts.copies}`;
      let bursts = lastBursts;
      if (fingerprint !== burstFingerprint && (options.force || burstFingerprint === null || now() - burstsAt >= burstWaitMs)) {
        const started = now();
        bursts = detectReleaseBursts(await raw.receivedLineCounts(settings.releaseBurst.bucketMs), settings.releaseBurst);
        burstFingerprint = fingerprint;
        burstsAt = now();
        burstWaitMs = Math.max(interval, 10 * (burstsAt - started));
      }
      let burstsChanged = false;
      if (options.persist) {
        const storedText = await raw.readMeta(BURSTS_META_KEY);
        const stored: StoredBursts | null = storedText === null ? null : (JSON.parse(storedText) as StoredBursts);
        const next: StoredBursts = { settings: settings.releaseBurst, bursts };
        if (JSON.stringify(stored?.bursts ?? []) !== JSON.stringify(bursts)) {
          burstsChanged = true;
          const newKeys = new Set(bursts.map((b) => JSON.stringify(b)));
          const oldKeys = new Set((stored?.bursts ?? []).map((b) => JSON.stringify(b)));
          const changed = [...(stored?.bursts ?? []).filter((b) => !newKeys.has(JSON.stringify(b))), ...bursts.filter((b) => !oldKeys.has(JSON.stringify(b)))];
          const ids = new Set<string>();
          for (const burst of changed) {
            for (const key of await raw.identityKeysInRange({ from: burst.windowStart, to: burst.windowEnd })) ids.add(key);
            for (const id of (await hitsOf(raw, [burst])).keys()) ids.add(id);
          }
          if (ids.size > 0) await raw.markDirty([...ids].sort());
          await raw.writeMeta(BURSTS_META_KEY, JSON.stringify(next));
        } else if (stored === null || JSON.stringify(stored.settings) !== JSON.stringify(next.settings)) {
          await raw.writeMeta(BURSTS_META_KEY, JSON.stringify(next));
        }
      }
      lastBursts = bursts;
      signals = { bursts, burstHits: await hitsOf(raw, bursts) };
      return { burstsChanged, bursts };
    },
  };
}

/** Rejected lines of each burst's version received in its window, filed under the userId and anonymousId they carry. */
async function hitsOf(raw: RawStore, bursts: readonly ReleaseBurst[]): Promise<Map<string, BurstHit[]>> {
  const hits = new Map<string, BurstHit[]>();
  for (const [index, burst] of bursts.entries()) {
    for await (const line of raw.streamRejected({ from: burst.windowStart, to: burst.windowEnd })) {
      if (line.appVersion !== burst.appVersion) continue;
      const ids = idsOfLine(line.raw);
      const hit: BurstHit = { burst: index, receivedAt: line.receivedAt, messageId: line.messageId, reason: line.reason as RejectReason };
      for (const id of ids) {
        const list = hits.get(id);
        if (list) list.push(hit);
        else hits.set(id, [hit]);
      }
    }
  }
  return hits;
}

function idsOfLine(raw: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return [];
  }
  if (value === null || typeof value !== 'object') return [];
  const ids: string[] = [];
  for (const key of ['userId', 'anonymousId'] as const) {
    const id = (value as Record<string, unknown>)[key];
    const text = typeof id === 'string' ? id : typeof id === 'number' && Number.isFinite(id) ? String(id) : null;
    if (text !== null && text.trim() !== '' && isLegalId(text)) ids.push(text);
  }
  return ids;
}
