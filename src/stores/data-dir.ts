import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { AnalyticsDamage } from './ports/analytics-admin.js';
import type { RawStore } from './raw-store.js';
import type { StoreDamage } from './store-damage.js';

/**
 * The embedded data directory: raw.sqlite (the source of truth) and analytics/ (chdb, derived).
 * Both parts carry the same store id — raw.sqlite in its meta table, analytics/ in a marker
 * file — so a part that was deleted, emptied or copied in from another directory is noticed
 * instead of being silently re-created as an empty world.
 */
export const STORE_ID_META = 'store.id';
const MARKER_FILE = 'journeyctl-store.json';

export interface DataDirLayout {
  dir: string;
  exists: boolean;
  rawPath: string;
  /** raw.sqlite exists (possibly empty). */
  rawFile: boolean;
  /** raw.sqlite exists and is not an empty file. */
  rawPresent: boolean;
  analyticsPath: string;
  analyticsPresent: boolean;
}

export function dataDirLayout(dataDir: string): DataDirLayout {
  const rawPath = join(dataDir, 'raw.sqlite');
  const analyticsPath = join(dataDir, 'analytics');
  const rawFile = existsSync(rawPath);
  const analyticsPresent = existsSync(analyticsPath) && readdirSync(analyticsPath).length > 0;
  return { dir: dataDir, exists: existsSync(dataDir), rawPath, rawFile, rawPresent: rawFile && statSync(rawPath).size > 0, analyticsPath, analyticsPresent };
}

/** A read command pointed at a directory that holds no journeyctl stores must not create one. */
export function noDataError(layout: DataDirLayout): UsageError {
  return new UsageError(`no journeyctl data in ${layout.dir} (${layout.exists ? 'it is empty' : 'it does not exist'}); run \`journeyctl run --input …\` first or pass --data-dir`, {
    hint: 'only run, migrate, demo and repair create a data directory',
  });
}

export interface StoreMarker {
  storeId: string;
  /** The tables migrate had created when the marker was written: one missing later was deleted. */
  tables: string[];
}

export function readMarker(analyticsPath: string): StoreMarker | null {
  try {
    const parsed = JSON.parse(readFileSync(join(analyticsPath, MARKER_FILE), 'utf8')) as Partial<StoreMarker>;
    return typeof parsed.storeId === 'string' && Array.isArray(parsed.tables) ? { storeId: parsed.storeId, tables: parsed.tables } : null;
  } catch {
    return null;
  }
}

function writeMarker(analyticsPath: string, marker: StoreMarker): void {
  writeFileSync(join(analyticsPath, MARKER_FILE), `${JSON.stringify(marker)}\n`);
}

export interface PartsVerdict {
  damage: StoreDamage[];
  /** After migrate, with no damage: records the store id (and table list) in whichever part lacks it. */
  settle(): Promise<void>;
}

/**
 * Do raw.sqlite and analytics/ belong together, and are the analytics tables all defined?
 * Runs before migrate (which would re-create a deleted table empty). Cheap: one meta read, one
 * system.tables read, a file; event counts only when a part has no id yet (first open, or a
 * store from before ids).
 */
export async function judgeDataDirParts(
  raw: RawStore,
  analytics: Pick<AnalyticsDamage, 'existingTables' | 'eventCount' | 'expectedTables'>,
  analyticsPath: string,
  analyticsExisted: boolean,
): Promise<PartsVerdict> {
  const marker = readMarker(analyticsPath);
  const rawId = await raw.readMeta(STORE_ID_META);
  const tables = await analytics.existingTables();
  const damage: StoreDamage[] = [];
  const rawEvents = async () => (await raw.counts()).events;
  if (rawId !== null && marker !== null && rawId !== marker.storeId) {
    damage.push({
      store: 'data directory',
      kind: 'parts disagree',
      detail: `raw.sqlite belongs to store ${rawId.slice(0, 8)} but analytics/ to store ${marker.storeId.slice(0, 8)}: they come from different data directories`,
    });
  } else if (rawId !== null && marker === null) {
    damage.push({ store: 'analytics store', kind: 'analytics missing', detail: `analytics/ is missing or was re-created empty while the raw store holds ${await rawEvents()} events` });
  } else if (rawId === null) {
    const [events, derived] = [await rawEvents(), tables.includes('events') ? await analytics.eventCount().catch(() => 0) : 0];
    if (events === 0 && derived > 0) damage.push({ store: 'raw store', kind: 'raw store missing', detail: `the raw store is missing but analytics holds ${derived} events` });
    else if (events > 0 && !analyticsExisted) damage.push({ store: 'analytics store', kind: 'analytics missing', detail: `analytics/ is missing while the raw store holds ${events} events` });
  }
  if (damage.length === 0 && marker !== null) {
    const missing = marker.tables.filter((table) => !tables.includes(table));
    if (missing.length > 0) {
      damage.push({
        store: 'analytics store',
        kind: 'table missing',
        table: missing.join(', '),
        detail: `the definition of ${missing.length === 1 ? 'this table is' : 'these tables are'} missing (deleted metadata); ${missing.length === 1 ? 'its' : 'their'} rows are no longer visible`,
      });
    }
  }
  return {
    damage,
    async settle() {
      const storeId = rawId ?? marker?.storeId ?? randomUUID();
      const expected = analytics.expectedTables();
      // The marker first: a crash between the two writes leaves a marker without a raw id, which the next open adopts.
      if (marker === null || marker.storeId !== storeId || expected.some((table) => !marker.tables.includes(table))) writeMarker(analyticsPath, { storeId, tables: expected });
      if (rawId === null) await raw.writeMeta(STORE_ID_META, storeId);
    },
  };
}

/** After a rebuild of everything (repair): this raw store and analytics/ are one store again, under a new id. */
export async function markDataDirRebuilt(raw: RawStore, analytics: Pick<AnalyticsDamage, 'expectedTables'>, analyticsPath: string): Promise<void> {
  const storeId = randomUUID();
  writeMarker(analyticsPath, { storeId, tables: analytics.expectedTables() });
  await raw.writeMeta(STORE_ID_META, storeId);
}
