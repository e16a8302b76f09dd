// The worker thread of an offloaded derive round or reprocessed day (derive-offload.ts): reads
// the users back from the raw store on its own SQLite connection, derives them in the chunks this
// thread's derivation would cut and sends each chunk encoded for the analytics store. Pure over
// what it reads: the same stored events, identity plan, corrections and signals give the same
// chunks (docs/decisions/0025, 0023).
import { parentPort, workerData } from 'node:worker_threads';
import { compileCorrections } from '../corrections/apply-corrections.js';
import { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { deriveInChunks, flaggedSessionCount } from '../pipeline/derive-dirty-users.js';
import { deriveUsers, groupByOwner, loadEventsOfUsers } from '../pipeline/derive-users.js';
import { markIdentityConflicts } from '../pipeline/event-facts.js';
import { createSessionize } from '../pipeline/sessionize.js';
import { encodeDayOfDerivation, encodeDerivation } from '../stores/clickhouse/clickhouse-derived-writes.js';
import { SqliteRawStore } from '../stores/sqlite/sqlite-raw-store.js';
import type { DeriveWorkerData, DeriveWorkerReply } from './derive-offload.js';

const port = parentPort;
if (port === null) throw new Error('derive-worker runs as a worker thread');
const data = workerData as DeriveWorkerData;

let credits = 0;
let wake: (() => void) | null = null;
port.on('message', (message: { credit: number }) => {
  credits += message.credit;
  wake?.();
});

/** Takes a credit (a chunk this thread may derive ahead), waiting for one. */
async function credit(): Promise<void> {
  while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
  credits -= 1;
}

const send = (reply: DeriveWorkerReply) => port.postMessage(reply);

async function run(): Promise<void> {
  const raw = SqliteRawStore.open(data.rawPath);
  try {
    const sessionize = createSessionize(data.pipeline);
    const deps = { sessionize, deriveJourneys: createDeriveJourneys(data.journeys, () => data.signals) };
    const corrections = compileCorrections(data.corrections);
    if (data.kind === 'round') {
      const { canonical } = data;
      const derive = async (chunk: readonly string[]) => deriveUsers(deps, chunk, await loadEventsOfUsers(raw, chunk, canonical, sessionize), corrections);
      for await (const { users, derived } of deriveInChunks(data.users, data.eventsPerRead, derive, credit)) {
        const { derivation, profiles, removed } = derived;
        send({ chunk: { users, encoded: encodeDerivation(derivation), events: derivation.events.length, profiles, removed, flaggedSessions: flaggedSessionCount(derivation.findings) } });
      }
    } else {
      // A reprocessed day's fast path (createReprocess' deriveDay): each chunk's stored fields by its identity keys.
      for (const { chunk, ownerOf } of data.chunks) {
        await credit();
        const events = await raw.eventsByIdentity([...ownerOf.keys()]);
        if (data.conflicts !== null) markIdentityConflicts(events, data.conflicts);
        const { derivation } = deriveUsers(deps, chunk, groupByOwner(events, ownerOf), corrections);
        send({ chunk: encodeDayOfDerivation(derivation, data.day) });
      }
    }
    send({ done: true });
  } finally {
    await raw.close();
  }
}

run().catch((error: unknown) => {
  const failure = error instanceof Error ? error : new Error(String(error));
  send({ error: { message: failure.message, ...(failure.stack ? { stack: failure.stack } : {}) } });
});
