import { describeRawStoreCorrectionsConformance } from '../raw-store-corrections.conformance.js';
import { describeRawStoreConformance } from '../raw-store.conformance.js';
import { openMemoryRawStore } from './memory-raw-store.js';

describeRawStoreConformance('in-memory', async () => openMemoryRawStore());
describeRawStoreCorrectionsConformance('in-memory', async () => openMemoryRawStore());
