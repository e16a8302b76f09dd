#!/usr/bin/env node
import { main } from '../dist/cli.js';
import { applyHeapPolicy } from '../dist/runtime/heap-policy.js';
import { lineBreakIfDrawing } from '../dist/render/progress.js';

applyHeapPolicy();

let interrupted = false;
process.on('SIGINT', () => {
  // A command that handles SIGINT itself (run --source kafka stops gracefully) gets the first one.
  if (!interrupted && process.listenerCount('SIGINT') > 1) {
    interrupted = true;
    return;
  }
  if (interrupted) process.exit(130);
  interrupted = true;
  // On its own line, not glued to a progress bar.
  process.stderr.write(`${lineBreakIfDrawing()}journeyctl: interrupted\n`);
  process.exit(130);
});
// A closed pipe (| head) is the reader saying "enough", not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const code = await main(process.argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
process.exitCode = code;
