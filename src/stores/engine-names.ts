// The names RAW_ENGINES and ANALYTICS_ENGINES register, without their specs: the config is validated
// against them before any command loads a driver (ADR 0005). test/engine-registry.test.ts keeps the
// two in step; an engine registered in those registries is named here too.
import type { EngineNames } from '../config/config.js';

export const REGISTERED_ENGINE_NAMES: EngineNames = { raw: ['sqlite', 'mongodb', 'clickhouse', 'chdb'], analytics: ['chdb', 'clickhouse', 'bigquery'] };
