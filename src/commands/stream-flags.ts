// The stream flags of run, produce, tail, doctor and migrate, and what they override (light: the command tree imports it).
import type { CommandContext, GlobalOptions } from './context.js';

/**
 * Flags a command hands to its context. `--topic` names a Kafka topic or a Pub/Sub topic
 * (projects/P/topics/T, or T with --project): `stream` says which; without it, the config's
 * `source:` (kafka | pubsub, env JOURNEY_SOURCE) does (see contextForStream).
 */
export interface StreamFlags {
  brokers?: string | undefined;
  topic?: string | undefined;
  group?: string | undefined;
  /** Pub/Sub: the subscription (run: the pipeline's; tail: its own). */
  subscription?: string | undefined;
  /** Pub/Sub: the project of short topic and subscription names. */
  project?: string | undefined;
  /** Which stream the command uses, when a flag (--source, --sink) chose it. */
  stream?: 'kafka' | 'pubsub' | undefined;
}

export type StreamContext = (flags: StreamFlags) => CommandContext;

/** The global-option overrides of the flags: --topic goes to the stream the command uses. */
export function streamOverrides(flags: StreamFlags): Pick<GlobalOptions, 'brokers' | 'topic' | 'group' | 'project' | 'pubsubTopic' | 'subscription' | 'streamSource'> {
  const pubsub = flags.stream === 'pubsub';
  return {
    brokers: flags.brokers,
    group: flags.group,
    project: flags.project,
    subscription: flags.subscription,
    streamSource: flags.stream,
    ...(pubsub ? { pubsubTopic: flags.topic } : { topic: flags.topic }),
  };
}

/** The context of a command that may use either stream: the flag's choice, else the config's `source:`. */
export function contextForStream(context: StreamContext, flags: StreamFlags, chosen: 'kafka' | 'pubsub' | undefined): { ctx: CommandContext; stream: 'kafka' | 'pubsub' } {
  if (chosen !== undefined) return { ctx: context({ ...flags, stream: chosen }), stream: chosen };
  const ctx = context(flags);
  if (ctx.config.streamSource === 'kafka') return { ctx, stream: 'kafka' };
  return { ctx: context({ ...flags, stream: 'pubsub' }), stream: 'pubsub' };
}
