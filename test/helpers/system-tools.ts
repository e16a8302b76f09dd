import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const SCRIPT = join(import.meta.dirname, '..', '..', '.ci', 'services', 'system-tools.sh');

/** Makes sure Debian's programs a test drives are installed (apt on a fresh machine); throws with the script's one-line reason. */
export function ensureSystemTools(...commands: string[]): void {
  execFileSync('bash', [SCRIPT, ...commands], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** Installing a browser with apt on a fresh machine takes minutes. */
export const SYSTEM_TOOLS_TIMEOUT_MS = 900_000;
