import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shipped default data-quality checks: what `journeyctl demo` runs, and what `journeyctl
 * check` runs when neither the config's `checks:` section nor --checks names any.
 */
export const DEFAULT_CHECKS_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'checks.yaml');
