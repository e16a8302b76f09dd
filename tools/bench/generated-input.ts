// The benchmarks' input: the generator's events for about `target` lines, seed 2026 unless told, as NDJSON.
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { generateEvents, usersForEvents } from '../generator/generate.js';

export async function generate(target: number, path: string, seed = 2026): Promise<{ lines: number; bytes: number; seconds: number }> {
  const started = performance.now();
  const out = createWriteStream(path);
  let lines = 0;
  let buffer: string[] = [];
  for (const line of generateEvents({ users: usersForEvents(target), seed, includeUsers: false, maxListedIds: 0 })) {
    buffer.push(line);
    lines += 1;
    if (buffer.length === 10_000) {
      if (!out.write(`${buffer.join('\n')}\n`)) await once(out, 'drain');
      buffer = [];
    }
  }
  if (buffer.length) out.write(`${buffer.join('\n')}\n`);
  out.end();
  await once(out, 'finish');
  return { lines, bytes: statSync(path).size, seconds: (performance.now() - started) / 1000 };
}

/** The generator's file for `events` lines, written once to ~/.cache/journeyctl-bench/ and reused by every bench. */
export async function cachedGeneratorFile(events: number, seed = 2026): Promise<string> {
  const dir = join(homedir(), '.cache', 'journeyctl-bench');
  const path = join(dir, `generated-${events}-seed${seed}.ndjson`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  console.error(`writing the generator's ${events.toLocaleString('en-US')}-event file to ${path} (once)`);
  await generate(events, `${path}.partial`, seed);
  renameSync(`${path}.partial`, path);
  return path;
}
