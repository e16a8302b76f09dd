import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import type { KafkaConfig } from '../config/config.js';
import { InfrastructureError } from '../errors.js';
import { createKafkaClient, describe, kafkaFailure, requireTopic } from './kafka-client.js';
import { splitLineBytes } from './line-splitter.js';
import type { LineBatch, StreamLineSource } from './source.js';

/**
 * `journeyctl run --source kafka`: NDJSON lines from a topic, one message per line, consumed by
 * a consumer group (processes in one group share the partitions). The only place journeyctl
 * talks to Kafka (kafkajs 2.2.4, tested against Apache Kafka 3.9 and 4.x).
 *
 * Delivery: at least once, with an effectively-once result. eachBatch runs with auto-resolve off;
 * a batch's offsets are resolved and committed only in its ack(), which ingest calls after the
 * raw store has the batch. A batch not acked (a crash, a store outage, a rebalance, shutdown) is
 * delivered again, to this process or the partition's next owner, and the raw store's dedup by
 * messageId absorbs it. Derivation state (dirty ids) lives in the raw store, so a process that
 * takes over a partition needs nothing else.
 *
 * While a batch waits for its ack (a long derive, a store that is down) the handler keeps
 * heartbeating, so the group does not evict this member. pause()/resume() stop fetching while a
 * store is unavailable. stop() (SIGINT/SIGTERM) stops fetching and abandons batches not yet
 * handed to ingest; batches() ends once ingest has finished the ones it holds.
 */
export interface KafkaSourceOptions {
  kafka: KafkaConfig;
  /** Most lines per LineBatch (a Kafka batch is split into several). */
  batchSize: number;
  /** pipeline.max_line_bytes: a longer line in a message is rejected as line_too_long with a prefix kept. */
  maxLineBytes: number;
  log: (message: string) => void;
  /** On a quiet topic an empty batch is handed on this often, so a derive that is due happens. */
  idleMs?: number;
  /** Partitions whose batches may wait for ingest at once. */
  partitionsConsumedConcurrently?: number;
  /**
   * A micro-batch: when a partition is assigned to this member, its end offset is noted; messages
   * from there on are left for the next run, and the run finishes once every partition it holds
   * has been stored up to its noted end. A partition revoked by a rebalance stops counting.
   */
  untilCaughtUp?: boolean;
  /** Finish after handing on this many messages. */
  maxEvents?: number;
}

export interface KafkaSource extends StreamLineSource {
  /** Graceful stop: no more fetching; batches not handed on yet are abandoned (they will be re-delivered). */
  stop(): void;
  /** Backpressure: stop fetching (the handler keeps heartbeating), e.g. while a store is down. */
  pause(): void;
  resume(): void;
  /** Graceful end at a bound: no more fetching; batches ready are still handed on, then batches() ends. */
  finish(reason: string): void;
  /** Why the run finished by itself ('caught up', a bound) or null; this member's lag when it first joined. */
  readonly outcome: { finishedBy: string | null; lagAtStart: number | null };
  /** The group's lag over the whole topic now: end offsets minus committed ones. */
  groupLag(): Promise<number>;
}

/** Batches handed to ingest ahead of the one it stores. */
const MAX_READY = 2;
const HEARTBEAT_EVERY_MS = 1_000;

export function createKafkaSource(options: KafkaSourceOptions): KafkaSource {
  const config = options.kafka;
  const topic = requireTopic(config);
  const client = createKafkaClient(config, options.log, 'source');
  const consumer: Consumer = client.consumer({
    groupId: config.group,
    sessionTimeout: config.sessionTimeoutMs,
    rebalanceTimeout: 60_000,
    heartbeatInterval: Math.max(500, Math.min(3_000, Math.floor(config.sessionTimeoutMs / 3))),
    // Enough for several LineBatches per fetch (the default 1 MB is ~1.5k events).
    maxBytesPerPartition: 16 << 20,
    maxBytes: 64 << 20,
    maxWaitTimeInMs: 500,
  });
  const log = options.log;
  const admin = client.admin();
  let adminConnected: Promise<void> | null = null;
  const connectedAdmin = async () => {
    await (adminConnected ??= admin.connect());
    return admin;
  };

  interface Pending {
    batch: LineBatch;
    settle(outcome: 'acked' | 'abandoned'): void;
  }
  const ready: Pending[] = [];
  const handedOn = new Set<Pending>();
  let stopping = false;
  let failure: Error | null = null;
  let started: Promise<void> | null = null;
  let wakeReader: (() => void) | null = null;
  let roomWaiters: Array<() => void> = [];
  let commitWarned = false;
  let finishing = false;
  const outcome: KafkaSource['outcome'] = { finishedBy: null, lagAtStart: null };
  let handedMessages = 0;
  // Micro-batch bookkeeping: per partition held, the end noted when it was assigned and the next offset not yet stored.
  const targets = new Map<number, number>();
  const positions = new Map<number, number>();
  let assignment: Promise<void> = Promise.resolve();

  const finish = (reason: string) => {
    if (finishing || stopping) return;
    finishing = true;
    outcome.finishedBy = reason;
    try {
      consumer.pause([{ topic }]);
    } catch {
      // not running yet
    }
    signalRoom();
    signalReader();
  };
  const checkCaughtUp = () => {
    if (!options.untilCaughtUp || outcome.lagAtStart === null) return;
    for (const [partition, target] of targets) if ((positions.get(partition) ?? 0) < target) return;
    finish('caught up');
  };
  /** After a (re)join: drop partitions no longer held, note the end and start of new ones. */
  const track = async (held: number[]) => {
    for (const partition of [...targets.keys()]) {
      if (held.includes(partition)) continue;
      targets.delete(partition);
      positions.delete(partition);
    }
    const fresh = held.filter((partition) => !targets.has(partition));
    if (fresh.length > 0) {
      const offsets = await partitionOffsets(await connectedAdmin(), topic, config.group, config.fromBeginning);
      let lag = 0;
      for (const partition of fresh) {
        const found = offsets.get(partition) ?? { end: 0, next: 0 };
        targets.set(partition, found.end);
        positions.set(partition, found.next);
        lag += Math.max(0, found.end - found.next);
      }
      outcome.lagAtStart ??= lag;
    }
    outcome.lagAtStart ??= 0;
    checkCaughtUp();
  };
  /** What another member or an earlier run committed counts as stored (an assignment's start may be read before its last commit). */
  const refreshCommitted = async () => {
    const offsets = await partitionOffsets(await connectedAdmin(), topic, config.group, config.fromBeginning);
    for (const [partition, position] of positions) positions.set(partition, Math.max(position, offsets.get(partition)?.next ?? 0));
    checkCaughtUp();
  };

  const signalReader = () => {
    const wake = wakeReader;
    wakeReader = null;
    wake?.();
  };
  const signalRoom = () => {
    const waiters = roomWaiters;
    roomWaiters = [];
    for (const wake of waiters) wake();
  };
  const abandon = (items: Iterable<Pending>) => {
    for (const item of items) item.settle('abandoned');
  };

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const outcomes: Array<Promise<'acked' | 'abandoned'>> = [];
    const mine: Pending[] = [];
    let revoked = false;
    // The ends of this assignment's partitions are noted before any of their messages is handed on.
    if (options.untilCaughtUp) await assignment;
    // The group must not think this member died while its batch waits for the stores.
    const beat = setInterval(() => {
      heartbeat().catch(() => {
        // A rebalance: give back what ingest has not taken yet; what it holds is finished and acked
        // (that commit may then fail, and the new owner re-reads those messages: dedup absorbs them).
        revoked = true;
        abandon(mine.filter((item) => !handedOn.has(item)));
        for (let i = ready.length - 1; i >= 0; i -= 1) if (mine.includes(ready[i]!)) ready.splice(i, 1);
        signalRoom();
      });
    }, HEARTBEAT_EVERY_MS);
    try {
      for (let start = 0; start < batch.messages.length; start += options.batchSize) {
        while (ready.length >= MAX_READY && !stopping && !finishing && !revoked) await new Promise<void>((resolve) => roomWaiters.push(resolve));
        if (stopping || finishing || revoked || !isRunning() || isStale()) break;
        let chunk = batch.messages.slice(start, start + options.batchSize);
        // A micro-batch leaves messages from the noted end on for the next run; a bound takes no more than it allows.
        const target = options.untilCaughtUp ? targets.get(batch.partition) : undefined;
        if (options.untilCaughtUp) chunk = target === undefined ? [] : chunk.filter((message) => Number(message.offset) < target);
        if (options.maxEvents !== undefined) chunk = chunk.slice(0, Math.max(0, options.maxEvents - handedMessages));
        if (chunk.length === 0) break;
        handedMessages += chunk.length;
        const lastOffset = chunk[chunk.length - 1]!.offset;
        const lines: string[] = [];
        // Split on bytes and decoded only when UTF-8: a message that is not is rejected whole (invalid_utf8), not altered.
        for (const message of chunk) if (message.value) for (const line of splitLineBytes(message.value, options.maxLineBytes)) lines.push(line);
        let settle!: (outcome: 'acked' | 'abandoned') => void;
        outcomes.push(new Promise((resolve) => (settle = resolve)));
        let settled = false;
        const item: Pending = {
          settle(outcome) {
            if (settled) return;
            settled = true;
            handedOn.delete(item);
            settle(outcome);
          },
          batch: {
            lines,
            arrivedAt: Date.now(),
            behind: Math.max(0, Number(batch.highWatermark) - Number(lastOffset) - 1),
            async ack() {
              // The raw store has these lines now: their offsets may be committed.
              resolveOffset(lastOffset);
              positions.set(batch.partition, Math.max(positions.get(batch.partition) ?? 0, Number(lastOffset) + 1));
              try {
                await commitOffsetsIfNecessary();
              } catch (error) {
                if (!commitWarned)
                  log(`kafka: could not commit offsets of ${topic}/${batch.partition} (${describe(error)}); they stay uncommitted and the messages will be delivered again and deduplicated`);
                commitWarned = true;
              }
              item.settle('acked');
              checkCaughtUp();
            },
          },
        };
        mine.push(item);
        ready.push(item);
        signalReader();
        if (options.maxEvents !== undefined && handedMessages >= options.maxEvents) finish(`max events (${options.maxEvents})`);
      }
      await Promise.all(outcomes);
    } finally {
      clearInterval(beat);
    }
  }

  async function start(): Promise<void> {
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) {
        log(`kafka: consumer restarting after: ${describe(payload.error)}`);
        return;
      }
      failure = new InfrastructureError(`Kafka consumer of ${topic} stopped: ${describe(payload.error)}`, {
        hint: `check that the brokers ${config.brokers.join(',')} are reachable (journeyctl doctor)`,
        cause: payload.error,
      });
      signalReader();
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = Object.values(payload.memberAssignment)
        .flat()
        .sort((a, b) => a - b);
      log(`kafka: joined group ${payload.groupId}: ${topic} partitions ${partitions.length ? partitions.join(',') : '(none)'}`);
      if (options.untilCaughtUp) {
        const held = payload.memberAssignment[topic] ?? [];
        assignment = assignment
          .then(() => track(held))
          .catch((error: unknown) => {
            failure = kafkaFailure(`read the offsets of ${topic}`, error, config);
            signalReader();
          });
      }
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: config.fromBeginning });
      await consumer.run({
        autoCommit: true,
        // Commits happen in ack (commitOffsetsIfNecessary): one resolved offset is enough.
        autoCommitThreshold: 1,
        autoCommitInterval: null,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
        eachBatch,
      });
    } catch (error) {
      throw kafkaFailure(`consume ${topic}`, error, config);
    }
  }

  return {
    description: `kafka ${topic} (group ${config.group})`,
    totalBytes: undefined,
    async *batches(): AsyncIterable<LineBatch> {
      started ??= start();
      await started;
      const idleMs = options.idleMs ?? 1_000;
      try {
        for (;;) {
          if (failure) throw failure;
          const item = ready.shift();
          if (item) {
            handedOn.add(item);
            signalRoom();
            yield item.batch;
            continue;
          }
          if (stopping || finishing) return;
          const woken = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => {
              wakeReader = null;
              resolve(false);
            }, idleMs);
            wakeReader = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          if (!woken && !stopping && !failure && ready.length === 0) {
            // (a broker slow to answer is asked again on the next quiet second)
            if (options.untilCaughtUp && !finishing && outcome.lagAtStart !== null) await refreshCommitted().catch(() => {});
            if (!finishing) yield { lines: [], arrivedAt: Date.now(), ack: async () => {} };
          }
        }
      } finally {
        stopping = true;
        abandon(ready.splice(0));
        signalRoom();
      }
    },
    stop() {
      if (stopping) return;
      stopping = true;
      try {
        consumer.pause([{ topic }]);
      } catch {
        // not running yet
      }
      abandon(ready.splice(0));
      signalRoom();
      signalReader();
    },
    pause() {
      try {
        consumer.pause([{ topic }]);
      } catch {
        // not running yet
      }
    },
    finish,
    outcome,
    async groupLag() {
      try {
        let lag = 0;
        for (const { end, next } of (await partitionOffsets(await connectedAdmin(), topic, config.group, config.fromBeginning)).values()) lag += Math.max(0, end - next);
        return lag;
      } catch (error) {
        throw kafkaFailure(`read the offsets of ${topic}`, error, config);
      }
    },
    resume() {
      if (stopping) return;
      try {
        consumer.resume([{ topic }]);
      } catch {
        // not running yet
      }
    },
    async close() {
      stopping = true;
      // Whatever ingest did not ack is abandoned: uncommitted, so delivered again later.
      abandon([...ready.splice(0), ...handedOn]);
      signalRoom();
      signalReader();
      // Leaves the group (its partitions go to the other members at once) after committing what was acked.
      await consumer.disconnect().catch(() => {});
      if (adminConnected) await admin.disconnect().catch(() => {});
    },
  };
}

/** Per partition of the topic: its end offset, and where the group reads next (its committed offset, else the reset position). */
async function partitionOffsets(admin: Admin, topic: string, group: string, fromBeginning: boolean): Promise<Map<number, { end: number; next: number }>> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
  const done = new Map((committed[0]?.partitions ?? []).map((partition) => [partition.partition, Number(partition.offset)]));
  return new Map(
    ends.map((partition) => {
      const end = Number(partition.high);
      const at = done.get(partition.partition) ?? -1;
      return [partition.partition, { end, next: at >= 0 ? at : fromBeginning ? Number(partition.low) : end }];
    }),
  );
}

// Callers import these from here as before.
export { ensureKafkaTopic, inspectKafka, type KafkaInspection, keyOf, produceLines, type ProduceResult, readTopicOnly } from './kafka-admin.js';
