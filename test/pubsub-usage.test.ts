// Pub/Sub flags that are wrong are refused before anything connects (exit 2, one line and a hint),
// and --topic goes to the stream the command uses. No emulator needed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextForStream, streamOverrides } from '../src/commands/stream-flags.js';
import { createContext } from '../src/commands/context.js';
import { runCli } from './helpers/cli.js';

const io = (env: Record<string, string | undefined>) => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env });

describe('Pub/Sub flags', () => {
  it('--topic names the Kafka topic by default and the Pub/Sub topic when the flag or source: pubsub says so', () => {
    expect(streamOverrides({ topic: 'events', brokers: 'k:9092' })).toMatchObject({ topic: 'events', brokers: 'k:9092' });
    expect(streamOverrides({ topic: 'events', stream: 'pubsub' })).toMatchObject({ pubsubTopic: 'events', streamSource: 'pubsub' });
    const context = (env: Record<string, string | undefined>) => (flags: Parameters<typeof streamOverrides>[0]) => createContext(streamOverrides(flags), io(env));
    const kafka = contextForStream(context({}), { topic: 'events' }, undefined);
    expect([kafka.stream, kafka.ctx.config.kafka.topic, kafka.ctx.config.pubsub.topic]).toEqual(['kafka', 'events', null]);
    const pubsub = contextForStream(context({ JOURNEY_SOURCE: 'pubsub', JOURNEY_PUBSUB_PROJECT: 'acme' }), { topic: 'events' }, undefined);
    expect([pubsub.stream, pubsub.ctx.config.pubsub.topic, pubsub.ctx.config.pubsub.subscription]).toEqual(['pubsub', 'projects/acme/topics/events', 'projects/acme/subscriptions/journeyctl']);
    const chosen = contextForStream(context({}), { topic: 'projects/p1/topics/events' }, 'pubsub');
    expect(chosen.ctx.config.pubsub.topic).toBe('projects/p1/topics/events');
  });

  it('refuses --partitions on Pub/Sub, --offset on a Pub/Sub tail, a tail without a topic, and a short name without a project, before connecting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-pubsub-usage-'));
    const input = join(dir, 'events.ndjson');
    writeFileSync(input, '{"type":"track","event":"x","messageId":"m1","anonymousId":"a1"}\n');
    const env = { PUBSUB_EMULATOR_HOST: '127.0.0.1:1' }; // nothing listens: any connection attempt would fail with exit 3
    const cases: Array<[string[], RegExp]> = [
      [['produce', '--sink', 'pubsub', '--topic', 'projects/p1/topics/events', '--partitions', '3', '--input', input], /--partitions is for Kafka/],
      [['tail', '--source', 'pubsub', '--topic', 'projects/p1/topics/events', '--offset', '42'], /--offset does not apply to Pub\/Sub/],
      [['tail', '--source', 'pubsub'], /needs a topic/],
      [['produce', '--sink', 'pubsub', '--topic', 'events', '--input', input], /pubsub\.topic: "events" is a short name and no project is set/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli([...args, '--data-dir', join(dir, 'data')], { env });
      expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    }
  });
});
