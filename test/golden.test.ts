import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

/**
 * Golden outputs: the committed expected sessions, journeys, labels and flags of
 * fixtures/generated-small.ndjson under fixtures/journeyctl.yaml. A change to any rule or
 * stage that alters a journey fails here and must be reviewed; regenerate deliberately with
 *   for k in sessions journeys labels flags; do npx journeyctl export $k -d DIR -c fixtures/journeyctl.yaml -o ndjson > fixtures/golden/generated-small.$k.ndjson; done
 * after `npx journeyctl run -i fixtures/generated-small.ndjson -d DIR -c fixtures/journeyctl.yaml`.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

describe('golden journeys of the committed fixture', () => {
  it('derive byte-for-byte the committed sessions, journeys, labels and flags', async () => {
    const data = mkdtempSync(join(tmpdir(), 'jc-golden-'));
    const config = join(FIXTURES, 'journeyctl.yaml');
    expect((await runCli(['run', '--input', join(FIXTURES, 'generated-small.ndjson'), '--data-dir', data, '--config', config])).code).toBe(0);
    for (const kind of ['sessions', 'journeys', 'labels', 'flags']) {
      const exported = await runCli(['export', kind, '--data-dir', data, '--config', config, '--output', 'ndjson']);
      expect(exported.stdout, kind).toBe(readFileSync(join(FIXTURES, 'golden', `generated-small.${kind}.ndjson`), 'utf8'));
    }
  });
});
