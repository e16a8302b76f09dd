import { describe, expect, it } from 'vitest';
import { workerExecArgv } from './compiled-worker.js';

describe('workerExecArgv', () => {
  it("inherits the process's flags when none names its entry point", () => {
    expect(workerExecArgv(['--expose-gc', '--max-old-space-size=2048', '--enable-source-maps'])).toBeUndefined();
    expect(workerExecArgv([])).toBeUndefined();
  });

  it("keeps the process's flags but those of its entry point", () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'code', '--expose-gc'])).toEqual(['--expose-gc']);
    expect(workerExecArgv(['--max-old-space-size=2048', '--eval=code', '--print', 'more', '--input-type', 'module', '--enable-source-maps'])).toEqual([
      '--max-old-space-size=2048',
      '--enable-source-maps',
    ]);
    expect(workerExecArgv(['--input-type', '--no-warnings', '-e', 'code'])).toEqual(['--no-warnings']);
  });
});
