import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { accepted } from '../raw-store.conformance.js';
import { openStoredCopiesReader } from '../stored-copies-reader.js';
import { SqliteRawStore } from './sqlite-raw-store.js';

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'jc-copies-')), 'raw.sqlite');

it('answers on its own connection what storedCopies answers, once the rows are committed', async () => {
  const store = SqliteRawStore.open(freshPath());
  // More keys than the smallest padded statement, and than one IN query takes: every size of the look-up.
  const events = Array.from({ length: 9_000 }, (_, i) => accepted({ messageId: `m${i}`, rawHash: `h${i}`, receivedAt: 2_000 + i, eventTime: i }));
  await store.writeBatch(events, []);
  const spec = store.storedCopiesReader();
  expect(spec).toEqual({ engine: 'sqlite', path: expect.stringMatching(/raw\.sqlite$/) });
  const reader = openStoredCopiesReader(spec!);
  for (const size of [1, 300, 9_000]) {
    const keys = events.slice(0, size).map((event, i) => ({ rawHash: i % 3 === 1 ? 'other bytes' : event.rawHash, messageId: i % 5 === 4 ? null : event.messageId }));
    const answers = reader.lookUp(
      keys.map((key) => key.rawHash),
      keys.map((key) => key.messageId),
    );
    expect(answers).toEqual(await store.storedCopies(keys));
    expect(answers.filter((answer) => answer !== null).length).toBe(keys.filter((key, i) => i % 3 !== 1 && key.messageId !== null).length);
  }

  // A write group still open is this connection's alone: the reader misses its rows (the line
  // then takes the normal path, whose write finds them), and finds them once committed.
  await store.beginWriteGroup();
  await store.writeBatch([accepted({ messageId: 'late', rawHash: 'hl', receivedAt: 1, eventTime: 1 })], []);
  expect(await store.storedCopies([{ rawHash: 'hl', messageId: 'late' }])).toEqual([{ receivedAt: 1, eventTime: 1 }]);
  expect(reader.lookUp(['hl'], ['late'])).toEqual([null]);
  await store.commitWriteGroup();
  expect(reader.lookUp(['hl'], ['late'])).toEqual([{ receivedAt: 1, eventTime: 1 }]);
  reader.close();
  await store.close();
});
