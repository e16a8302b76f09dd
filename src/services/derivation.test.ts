import { expect, it } from 'vitest';
import { validateConfigDocument } from '../config/config.js';
import { UsageError } from '../errors.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { RawStore } from '../stores/raw-store.js';
import { createDerivation } from './derivation.js';

it('derivation.engine sql needs an analytics store that can sessionize in SQL: a usage error naming the engine otherwise', () => {
  const resolved = validateConfigDocument({ derivation: { engine: 'sql' } }, 'x.yaml');
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  const stores = { raw: {} as RawStore, analytics: { engine: 'bigquery' } as AnalyticsStore };
  expect(() => createDerivation(resolved.config, stores)).toThrow(UsageError);
  expect(() => createDerivation(resolved.config, stores)).toThrow('derivation.engine: sql needs a ClickHouse analytics store (chdb or clickhouse), not bigquery');
  const js = validateConfigDocument({}, 'x.yaml');
  if (!js.ok) throw new Error(js.errors.join('; '));
  expect(createDerivation(js.config, stores).deriveDirtyUsers).toBeTypeOf('function');
});
