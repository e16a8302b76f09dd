// Where the process holding a data directory serves its chdb: a small file in the data
// directory, readable by its owner only, naming the loopback URL, the serving process and the
// password (a random token) a client needs. ADR 0016.
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const SERVED_ENDPOINT_FILE = 'serving.json';

export interface ServedEndpoint {
  url: string;
  pid: number;
  hostname: string;
  /** The password of user `default` on that server. */
  token: string;
  command: string;
  startedAt: number;
}

export function newServeToken(): string {
  return randomBytes(24).toString('base64url');
}

export function endpointPath(dataDir: string): string {
  return join(dataDir, SERVED_ENDPOINT_FILE);
}

/** The endpoint as written, or null when there is none (or it is not one). */
export function readServedEndpoint(dataDir: string): ServedEndpoint | null {
  try {
    const parsed = JSON.parse(readFileSync(endpointPath(dataDir), 'utf8')) as Partial<ServedEndpoint>;
    if (typeof parsed.url !== 'string' || typeof parsed.pid !== 'number' || typeof parsed.token !== 'string' || typeof parsed.hostname !== 'string') return null;
    return { url: parsed.url, pid: parsed.pid, hostname: parsed.hostname, token: parsed.token, command: String(parsed.command ?? ''), startedAt: Number(parsed.startedAt ?? 0) };
  } catch {
    return null;
  }
}

/** Written whole or not at all (a reader never sees half a file), mode 0600. */
export function writeServedEndpoint(dataDir: string, endpoint: Omit<ServedEndpoint, 'hostname' | 'pid'>): ServedEndpoint {
  const record: ServedEndpoint = { ...endpoint, pid: process.pid, hostname: hostname() };
  const path = endpointPath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
  return record;
}

/** Removes the record if it is still this one's (a later owner may have replaced a stale one). */
export function removeServedEndpoint(dataDir: string, record: ServedEndpoint): void {
  const current = readServedEndpoint(dataDir);
  if (!current || current.pid !== record.pid || current.token !== record.token) return;
  try {
    unlinkSync(endpointPath(dataDir));
  } catch {
    // gone already
  }
}
