/**
 * What queries cost on an engine that bills by bytes scanned (BigQuery), from its dry runs (which
 * are free). Engines without such a bill (chdb, ClickHouse) do not have this port.
 */
export interface QueryCosts {
  /** The per-query limit (`--max-bytes-billed`); null when there is none. */
  readonly maxBytesBilled: number | null;
  /** The queries the check measures and the report ran so far: how many, and the bytes their dry runs estimated. */
  scanned(): { queries: number; bytes: number };
  /**
   * Per UTC day: the bytes rebuilding the day would scan, from dry runs of reading the day's
   * partitions of the derived tables (rows not yet staged are not known before the rebuild).
   */
  rebuildBytes(days: readonly string[]): Promise<Array<{ day: string; bytes: number }>>;
}

/** The store's query costs, when its engine bills by bytes scanned. */
export function queryCostsOf(store: object): QueryCosts | null {
  return 'rebuildBytes' in store && 'scanned' in store ? (store as unknown as QueryCosts) : null;
}

/** Bytes as people read them (binary units): `12.3 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
