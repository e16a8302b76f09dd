import { Duration, type Message, type Subscription } from '@google-cloud/pubsub';
import { createPubSubClient, type PubSubConnection, pubsubFailure, requireSubscription } from './pubsub-client.js';
import { splitLineBytes } from './line-splitter.js';
import type { LineBatch, StreamLineSource } from './source.js';

/**
 * `journeyctl run --source pubsub`: NDJSON lines from a subscription, one message per line
 * (@google-cloud/pubsub 5.x, streaming pull). Subscribers of one subscription share its messages.
 *
 * Delivery: at least once, with an effectively-once result. A batch's messages are acknowledged
 * only in its ack(), which ingest calls after the raw store has the batch; until then the client
 * extends their leases. A message not acknowledged (a crash, a store outage longer than the lease
 * extension, shutdown) is delivered again, to this process or another subscriber, and the raw
 * store's dedup by messageId absorbs it. Messages arrive in order per ordering key when the
 * subscription has message ordering on; batches keep arrival order and ingest acknowledges them in
 * order, so that order holds. Dead-letter topics are the subscription's own policy.
 *
 * Flow control: at most `maxMessages` messages and `maxBytes` bytes are leased and not yet
 * acknowledged; past that the client stops pulling. That also bounds what waits here while a store
 * is down. stop() (SIGINT/SIGTERM) hands nothing more on; batches ingest holds are finished and
 * acknowledged, and close() nacks the rest so Pub/Sub redelivers them at once.
 */
export interface PubSubSourceOptions {
  pubsub: PubSubConnection & {
    subscription: string | null;
    flowControl: { maxMessages: number; maxBytes: number };
    /** pubsub.ack_deadline: each lease extension is this long, so a killed run's messages come back within it. */
    ackDeadlineSeconds?: number;
  };
  /** Most lines per LineBatch. */
  batchSize: number;
  /** pipeline.max_line_bytes: a longer line in a message is rejected as line_too_long with a prefix kept. */
  maxLineBytes: number;
  log: (message: string) => void;
  /** A batch that is not full is handed on this long after its first message (a trickle is stored promptly). */
  flushMs?: number;
  /** On a quiet subscription an empty batch is handed on this often, so a derive that is due happens. */
  idleMs?: number;
  /**
   * A micro-batch: finish once the stream has delivered nothing for `quietMs` while everything
   * handed on is acknowledged. Pub/Sub has no end offsets: "caught up" is an empty pull after the
   * last message, not a position noted at the start, so messages published during the run are read too.
   */
  untilCaughtUp?: boolean;
  /** How long a stream with nothing to deliver counts as an empty pull (default 3 s). */
  quietMs?: number;
  /** Finish after handing on this many messages. */
  maxEvents?: number;
  /** How long the client extends a held message's lease (default 60 min, the client's); past it Pub/Sub redelivers. */
  maxLeaseExtensionMs?: number;
}

export interface PubSubOutcome {
  /** 'caught up', a bound, or null (a signal). */
  finishedBy: string | null;
  /** Messages received, redelivered copies included. */
  received: number;
  /** Messages received again while this process still held them (their lease expired). */
  redelivered: number;
}

export interface PubSubSource extends StreamLineSource {
  readonly outcome: PubSubOutcome;
  /** Called when a message this process still holds is delivered again (tests wait on it). */
  onRedelivery(listener: () => void): void;
}

const DEFAULT_FLUSH_MS = 250;
const DEFAULT_QUIET_MS = 3_000;
/** How long close() waits for the last acks and nacks to reach Pub/Sub. */
const CLOSE_TIMEOUT_MS = 10_000;
/** How long the first call (the subscription's metadata) may take, retries included. */
const OPEN_TIMEOUT_MS = 30_000;

export function createPubSubSource(options: PubSubSourceOptions): PubSubSource {
  const config = options.pubsub;
  const name = requireSubscription(config);
  const log = options.log;
  const client = createPubSubClient(config, name);
  const flushMs = options.flushMs ?? DEFAULT_FLUSH_MS;
  const quietMs = options.quietMs ?? DEFAULT_QUIET_MS;
  const outcome: PubSubOutcome = { finishedBy: null, received: 0, redelivered: 0 };

  let subscription: Subscription | null = null;
  /** Messages received and not yet acknowledged or nacked, by Pub/Sub message id. */
  const held = new Map<string, Message>();
  /** Messages waiting to be handed on, in arrival order. */
  let pending: Message[] = [];
  let pendingSince = 0;
  /** Batches not yet handed to ingest, with their messages (nacked if a stop leaves them here). */
  const ready: Array<{ batch: LineBatch; messages: Message[] }> = [];
  /** Batches handed on and not yet acknowledged. */
  let unacked = 0;
  let handedMessages = 0;
  let lastActivity = Date.now();
  /** When the client last said a stream ended and will be retried: a quiet stream then is not an empty pull. */
  let troubleAt = 0;
  let stopping = false;
  let finishing = false;
  let failure: Error | null = null;
  let flushTimer: NodeJS.Timeout | null = null;
  let wakeReader: (() => void) | null = null;
  const redeliveryListeners: Array<() => void> = [];

  const signalReader = () => {
    const wake = wakeReader;
    wakeReader = null;
    wake?.();
  };
  const finish = (reason: string) => {
    if (finishing || stopping) return;
    finishing = true;
    outcome.finishedBy = reason;
    flush();
    signalReader();
  };
  const nack = (messages: Iterable<Message>) => {
    for (const message of messages) {
      if (held.get(message.id) === message) held.delete(message.id);
      message.nack();
    }
  };

  /** The pending messages become a batch (whole messages; a bound takes no more than it allows). */
  function flush(): void {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    if (pending.length === 0) return;
    let messages = pending;
    pending = [];
    if (options.maxEvents !== undefined) {
      const room = Math.max(0, options.maxEvents - handedMessages);
      if (messages.length > room) nack(messages.slice(room));
      messages = messages.slice(0, room);
    }
    if (messages.length === 0) return;
    handedMessages += messages.length;
    const lines: string[] = [];
    // Split on bytes and decoded only when UTF-8: a message that is not is rejected whole (invalid_utf8), not altered.
    for (const message of messages) for (const line of splitLineBytes(message.data, options.maxLineBytes)) lines.push(line);
    unacked += 1;
    const batch: LineBatch = {
      lines,
      arrivedAt: Date.now(),
      async ack() {
        // The raw store has these lines now. (A copy redelivered meanwhile is acknowledged with its own batch.)
        for (const message of messages) {
          if (held.get(message.id) === message) held.delete(message.id);
          message.ack();
        }
        unacked -= 1;
        lastActivity = Date.now();
      },
    };
    ready.push({ batch, messages });
    signalReader();
    if (options.maxEvents !== undefined && handedMessages >= options.maxEvents) finish(`max events (${options.maxEvents})`);
  }

  function onMessage(message: Message): void {
    outcome.received += 1;
    lastActivity = Date.now();
    if (held.has(message.id)) {
      outcome.redelivered += 1;
      for (const listener of redeliveryListeners) listener();
    }
    if (stopping || finishing) {
      // Not handed on: back to Pub/Sub at once, for this subscriber's next run or another one.
      nack([message]);
      return;
    }
    held.set(message.id, message);
    if (pending.length === 0) pendingSince = Date.now();
    pending.push(message);
    if (pending.length >= options.batchSize) flush();
    else flushTimer ??= setTimeout(flush, Math.max(0, flushMs - (Date.now() - pendingSince)));
  }

  let lastRetryNote = 0;
  async function open(): Promise<void> {
    // The subscription exists and Pub/Sub answers: else one error line now (exit 3), not a quiet
    // stream that retries forever and a micro-batch that takes it for "caught up".
    try {
      await client.subscription(name).getMetadata({ timeout: OPEN_TIMEOUT_MS });
    } catch (error) {
      throw pubsubFailure(`open the subscription ${name}`, error, config);
    }
    subscription = client.subscription(name, {
      flowControl: { maxMessages: config.flowControl.maxMessages, maxBytes: config.flowControl.maxBytes, allowExcessMessages: false },
      // One stream: messages of an ordering key come in order on it, and a batch keeps that order.
      streamingOptions: { maxStreams: 1 },
      // The client would extend leases by its own estimate (up to 10 min), so a killed run's messages
      // could stay leased that long: every extension is the configured ack deadline instead.
      ...(config.ackDeadlineSeconds !== undefined
        ? { minAckDeadline: Duration.from({ seconds: config.ackDeadlineSeconds }), maxAckDeadline: Duration.from({ seconds: config.ackDeadlineSeconds }) }
        : {}),
      ...(options.maxLeaseExtensionMs !== undefined ? { maxExtensionTime: Duration.from({ milliseconds: options.maxLeaseExtensionMs }) } : {}),
      closeOptions: { behavior: 'NACK', timeout: Duration.from({ milliseconds: CLOSE_TIMEOUT_MS }) },
    });
    subscription.on('message', onMessage);
    subscription.on('error', (error: unknown) => {
      failure = pubsubFailure(`pull from ${name}`, error, config);
      signalReader();
    });
    // The client retries a stream that ended (UNAVAILABLE and the like) by itself: say so, once a minute.
    subscription.on('debug', (message: { message?: string }) => {
      const now = Date.now();
      if (!/will be retried/.test(message.message ?? '')) return;
      troubleAt = now;
      if (now - lastRetryNote < 60_000) return;
      lastRetryNote = now;
      log(`pubsub: ${message.message}`);
    });
    log(`pubsub: pulling ${name}`);
  }

  return {
    description: `pubsub ${name}`,
    totalBytes: undefined,
    outcome,
    onRedelivery(listener) {
      redeliveryListeners.push(listener);
    },
    async *batches(): AsyncIterable<LineBatch> {
      if (!subscription) await open();
      lastActivity = Date.now();
      const idleMs = options.idleMs ?? 1_000;
      try {
        for (;;) {
          if (failure) throw failure;
          const next = ready.shift();
          if (next) {
            yield next.batch;
            continue;
          }
          if (stopping || finishing) return;
          const woken = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(
              () => {
                wakeReader = null;
                resolve(false);
              },
              Math.min(idleMs, quietMs),
            );
            wakeReader = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          if (woken || stopping || failure || ready.length > 0) continue;
          // An empty pull after the last message: nothing arrived for quietMs and everything handed on is stored.
          if (options.untilCaughtUp && unacked === 0 && pending.length === 0 && Date.now() - Math.max(lastActivity, troubleAt) >= quietMs) finish('caught up');
          else if (!finishing) yield { lines: [], arrivedAt: Date.now(), ack: async () => {} };
        }
      } finally {
        stopping = true;
      }
    },
    stop() {
      if (stopping) return;
      stopping = true;
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = null;
      // Not handed on yet: back to Pub/Sub. Batches ingest holds are finished and acknowledged.
      nack(pending.splice(0));
      for (const { messages } of ready.splice(0)) {
        nack(messages);
        unacked -= 1;
      }
      signalReader();
    },
    // A store outage: nothing is acknowledged meanwhile, so flow control stops the pulling once
    // maxMessages are held; their leases are extended (up to the extension limit, then redelivered).
    pause() {},
    resume() {},
    finish,
    async close() {
      stopping = true;
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = null;
      ready.splice(0);
      pending = [];
      const sub = subscription;
      subscription = null;
      // Closing stops the stream, nacks every message not acknowledged (redelivered at once), and
      // waits for the acks of stored batches to reach Pub/Sub.
      if (sub) await sub.close().catch((error: unknown) => log(`pubsub: closing ${name}: ${(error as Error).message}`));
      held.clear();
      // (A client whose server is gone may never finish closing its channel: not waited for past the flush.)
      await Promise.race([client.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
    },
  };
}
