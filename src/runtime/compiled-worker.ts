import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * A worker thread's compiled module `file`, beside the module at `base` (its import.meta.url);
 * null when absent: running from TypeScript sources (tests), where the work stays on the caller's thread.
 */
export function compiledWorkerBeside(file: string, base: string): URL | null {
  const url = new URL(file, base);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : null;
}
