// The key table of a config file and the unknown-key check over it (warnings, not errors).
import { flagsKeySchema } from '../journeys/flags.js';
import type { FlagRegistry } from '../journeys/flags/kind.js';
import { findUnknownKeys, type KeySchema } from './unknown-keys.js';

/**
 * Every key a config file may have (see KeySchema): a key not in here is reported with its path
 * and the closest known key, at any depth. A new setting is one entry here.
 */
export const CONFIG_KEYS: KeySchema = {
  data_dir: null,
  pipeline: {
    session_inactivity: null,
    session_max_length: null,
    split_at_midnight: null,
    session_mode: null,
    client_session_id_paths: null,
    client_session_max_gap: null,
    max_users_per_anonymous_id: null,
    timezone: null,
    late_after: null,
    future_tolerance: null,
    future_events: null,
    max_event_bytes: null,
    max_line_bytes: null,
    max_nesting_depth: null,
    min_event_time: null,
    batch_size: null,
  },
  derivation: { engine: null, worker_from_users: null },
  tracking_plan: { allow_unplanned: null, events: { '*': { required: null, properties: null } } },
  stores: {
    raw: { engine: null, url: null, database: null, username: null, password: null, mongo_url: null, mongo_database: null },
    analytics: { engine: null, url: null, database: null, username: null, password: null, project: null, dataset: null, location: null, max_bytes_billed: null },
  },
  kafka: {
    brokers: null,
    topic: null,
    group: null,
    client_id: null,
    from_beginning: null,
    session_timeout: null,
    ssl: { ca_file: null, cert_file: null, key_file: null, reject_unauthorized: null },
    sasl: { mechanism: null, username: null, password: null },
  },
  source: null,
  pubsub: { project: null, topic: null, subscription: null, ack_deadline: null, flow_control: { max_messages: null, max_bytes: null } },
  redact: null,
  // Label rules and checks have strict parsers of their own (an unknown key there is an error).
  labels: null,
  disable_default_labels: null,
  funnels: { '[]': { name: null, window: null, steps: null } },
  // Each flag declares its settings keys (src/journeys/flags/).
  flags: flagsKeySchema(),
  checks: null,
};

/** A warning per key of `root` that no setting reads, with the closest known key (flag keys come from `flags`, default the shipped registry). */
export function unknownKeyWarnings(root: Record<string, unknown>, source: string, flags?: FlagRegistry): string[] {
  return findUnknownKeys(root, flags ? { ...CONFIG_KEYS, flags: flagsKeySchema(flags) } : CONFIG_KEYS).map(
    (unknown) => `${source}: unknown key "${unknown.path}" ignored${unknown.suggestion ? ` (did you mean "${unknown.suggestion}"?)` : ''}`,
  );
}
