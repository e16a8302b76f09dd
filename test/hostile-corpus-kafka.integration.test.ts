// Issue 18 over Kafka: the hostile corpus, one message per line as raw bytes, consumed by
// `run --source kafka` on both broker versions. A hostile message must be rejected with its
// reason (never retried as a poison message), every valid neighbour kept, and the readers work.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { EXPORT_KINDS } from '../src/commands/export.js';
import { getServices } from './harness/services.js';
import { parseNdjson, runCli } from './helpers/cli.js';
import { CORPUS_CONFIG, HOSTILE, isRecordOf, neighbour, readers } from './helpers/hostile-lines.js';

const { Kafka, logLevel } = kafkajs;
const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');

describe.each(['kafka39', 'kafka4'] as const)('a hostile corpus on a Kafka topic (%s)', (broker) => {
  it('rejects every hostile message with its reason, keeps every neighbour, commits all offsets, and readers still work', async () => {
    const { brokers } = getServices()[broker];
    const dir = mkdtempSync(join(tmpdir(), 'jc-hostile-kafka-'));
    const name = `hostile_${process.pid}_${randomBytes(3).toString('hex')}`;
    const config = join(dir, 'journeyctl.yaml');
    writeFileSync(
      config,
      `${CORPUS_CONFIG}data_dir: ${join(dir, 'data')}\nkafka:\n  brokers: [${brokers.map((b) => `"${b}"`).join(', ')}]\n  topic: ${name}\n  group: ${name}-group\n  session_timeout: 6s\n`,
    );

    const neighbours = Array.from({ length: HOSTILE.length + 1 }, (_, n) => neighbour(n));
    const messages: Buffer[] = [];
    neighbours.forEach((line, n) => {
      messages.push(Buffer.from(line));
      if (HOSTILE[n]) messages.push(HOSTILE[n].line);
    });
    const kafka = new Kafka({ clientId: 'hostile-test', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    try {
      await admin.createTopics({ topics: [{ topic: name, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
      await producer.connect();
      // One send per message: the too-long one (600 KB) stays under the broker's 1 MB limit alone.
      for (const value of messages) await producer.send({ topic: name, acks: -1, messages: [{ value }] });

      const consumer = startConsumer(config);
      // Done when the group has committed every offset: no message is left to be retried.
      const deadline = Date.now() + 120_000;
      for (;;) {
        // Until the group has a coordinator the broker answers "not the correct coordinator": ask again.
        const committed = await admin.fetchOffsets({ groupId: `${name}-group`, topics: [name] }).then(
          ([offsets]) => Number(offsets?.partitions[0]?.offset ?? -1),
          () => -1,
        );
        if (committed >= messages.length) break;
        expect(consumer.exited(), consumer.stderr()).toBe(false);
        expect(Date.now(), `offsets not committed: ${consumer.stderr()}`).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      consumer.child.kill('SIGTERM');
      const exit = await consumer.exit;
      expect(exit.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
      expect(exit.code, exit.stderr).toBe(0);
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    }

    const cli = (args: string[]) => runCli([...args, '--config', config]);
    const events = parseNdjson((await cli(['export', 'events'])).stdout);
    expect(events.map((e) => e.message_id).sort()).toEqual(neighbours.map((line) => (JSON.parse(line) as { messageId: string }).messageId).sort());
    const rejected = parseNdjson((await cli(['export', 'rejected'])).stdout);
    expect(rejected).toHaveLength(HOSTILE.length);
    for (const kind of HOSTILE) expect(rejected.find((record) => isRecordOf(record, kind))?.reason, kind.name).toBe(kind.reason);

    const sessions = parseNdjson((await cli(['export', 'sessions'])).stdout);
    for (const [readerName, args] of readers(EXPORT_KINDS, String(sessions[0]!.session_id))) {
      const result = await cli(args);
      expect(result.code, `${readerName}: ${result.stderr}`).toBe(0);
    }
  });
});

function startConsumer(config: string): { child: ChildProcess; exit: Promise<{ code: number | null; stderr: string }>; stderr(): string; exited(): boolean } {
  const child = spawn(process.execPath, [BIN, 'run', '--source', 'kafka', '--config', config, '--output', 'json', '--no-progress'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH },
  });
  let stderr = '';
  let exited = false;
  child.stdout!.resume();
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => {
      exited = true;
      setImmediate(() => resolve({ code, stderr }));
    }),
  );
  return { child, exit, stderr: () => stderr, exited: () => exited };
}
