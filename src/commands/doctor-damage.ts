import type { JourneyConfig } from '../config/config.js';
import { isJourneyError } from '../errors.js';
import { dataDirLayout } from '../stores/data-dir.js';
import { openAnalyticsStore, openRawStore } from '../stores/open-stores.js';
import type { RawStore } from '../stores/raw-store.js';
import { describeDamage, REPAIR_HINT, type StoreDamage } from '../stores/store-damage.js';
import { corruptSqliteHint } from '../stores/sqlite/corruption.js';
import type { DoctorCheck } from './doctor-check.js';

/**
 * `doctor` on the embedded data directory: SQLite's page check of raw.sqlite (quick_check, or
 * integrity_check with --thorough), whether raw.sqlite and analytics/ belong together, deleted
 * table definitions, parts set aside as broken, and CHECK TABLE on every analytics part.
 */
export async function checkEmbeddedDamage(config: JourneyConfig, options: { thorough: boolean; log: (message: string) => void }): Promise<DoctorCheck[]> {
  const embeddedRaw = config.stores.raw.engine === 'sqlite';
  const embeddedAnalytics = config.stores.analytics.engine === 'chdb';
  if (!embeddedRaw && !embeddedAnalytics) return [];
  const layout = dataDirLayout(config.dataDir);
  const dataRow = (check: string, status: DoctorCheck['status'], detail: string, fix = ''): DoctorCheck => ({ component: 'raw store', check, status, detail, fix });
  if (!layout.rawFile && !layout.analyticsPresent) return [dataRow('data', 'skip', `no journeyctl data in ${layout.dir} yet`, 'journeyctl run --input FILE creates it')];
  const checks: DoctorCheck[] = [];
  let raw: RawStore;
  try {
    raw = await openRawStore(config, { allowDamage: true });
  } catch (error) {
    return [dataRow('open', 'fail', isJourneyError(error) ? error.message : String(error), isJourneyError(error) && error.hint ? error.hint : '')];
  }
  try {
    const pages = (raw as RawStore & { checkPages?: (thorough: boolean) => string[] }).checkPages?.(options.thorough);
    if (pages !== undefined) {
      const check = options.thorough ? 'integrity_check' : 'quick_check';
      checks.push(
        pages.length === 0
          ? dataRow(check, 'ok', `${layout.rawPath}: no damaged pages`)
          : dataRow(check, 'fail', `${layout.rawPath} is damaged: ${pages.slice(0, 3).join('; ')}`, corruptSqliteHint(layout.rawPath)),
      );
    }
    if (!embeddedAnalytics) return checks;
    const damage: StoreDamage[] = [];
    let analytics;
    try {
      analytics = await openAnalyticsStore(config, raw, { command: 'journeyctl doctor', waitMs: 0, log: options.log, allowDamage: true, onDamage: (found) => damage.push(...found) });
    } catch (error) {
      checks.push({
        component: 'analytics store',
        check: 'damage',
        status: 'skip',
        detail: isJourneyError(error) ? error.message : String(error),
        fix: 'run doctor again when the other process has finished',
      });
      return checks;
    }
    try {
      damage.push(...(await analytics.checkParts()));
    } finally {
      await analytics.close();
    }
    if (damage.length === 0)
      checks.push({ component: 'analytics store', check: 'damage', status: 'ok', detail: 'parts belong to this data directory; every table defined; CHECK TABLE passed on every part', fix: '' });
    for (const found of damage) {
      checks.push({
        component: found.store === 'raw store' ? 'raw store' : 'analytics store',
        check: found.kind,
        status: 'fail',
        detail: describeDamage(found),
        fix: found.kind === 'raw store missing' ? 'restore raw.sqlite from a backup, or journeyctl repair --analytics-only' : REPAIR_HINT,
      });
    }
    return checks;
  } finally {
    await raw.close();
  }
}
