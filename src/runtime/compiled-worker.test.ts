import { describe, expect, it } from 'vitest';
import { workerExecArgv } from './compiled-worker.js';

describe('workerExecArgv', () => {
  it("keeps the process's flags but those of its entry point", () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'code', '--expose-gc'])).toEqual(['--expose-gc']);
    expect(workerExecArgv(['--max-old-space-size=2048', '--eval=code', '--print', 'more', '--input-type', '--enable-source-maps'])).toEqual(['--max-old-space-size=2048', '--enable-source-maps']);
    expect(workerExecArgv([])).toEqual([]);
  });
});
