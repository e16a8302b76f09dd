import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRawStoreConformance } from '../raw-store.conformance.js';
import { SqliteRawStore } from './sqlite-raw-store.js';

describeRawStoreConformance('embedded SQLite', async () => SqliteRawStore.open(join(mkdtempSync(join(tmpdir(), 'jc-raw-')), 'raw.sqlite')));
