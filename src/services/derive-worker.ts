// The worker thread of an offloaded derive round (derive-offload.ts): reads the round's users
// back from the raw store on its own SQLite connection, derives them in deriveRound's chunks and
// sends each chunk encoded for the analytics store. Pure over what it reads: the same stored
// events, identity plan, corrections and signals give the same chunks (docs/decisions/0025).
import { parentPort, workerData } from 'node:worker_threads';
import { compileCorrections } from '../corrections/apply-corrections.js';
import { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { flaggedSessionCount, usersPerReadAfter, FIRST_USERS_PER_READ } from '../pipeline/derive-dirty-users.js';
import { deriveUsers, loadEventsOfUsers } from '../pipeline/derive-users.js';
import { createSessionize } from '../pipeline/sessionize.js';
import { encodeDerivation } from '../stores/clickhouse/clickhouse-derived-writes.js';
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

const send = (reply: DeriveWorkerReply) => port.postMessage(reply);

async function run(): Promise<void> {
  const raw = SqliteRawStore.open(data.rawPath);
  try {
    const sessionize = createSessionize(data.pipeline);
    const deps = { sessionize, deriveJourneys: createDeriveJourneys(data.journeys, () => data.signals) };
    const corrections = compileCorrections(data.corrections);
    let usersPerRead = FIRST_USERS_PER_READ;
    for (let start = 0; start < data.users.length;) {
      while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
      credits -= 1;
      const chunk = data.users.slice(start, start + usersPerRead);
      start += chunk.length;
      const derived = deriveUsers(deps, chunk, await loadEventsOfUsers(raw, chunk, data.canonical, sessionize), corrections);
      const events = derived.derivation.events.length;
      usersPerRead = usersPerReadAfter(chunk.length, events, data.eventsPerRead);
      send({
        chunk: {
          users: chunk,
          encoded: encodeDerivation(derived.derivation),
          events,
          profiles: derived.profiles,
          removed: derived.removed,
          flaggedSessions: flaggedSessionCount(derived.derivation.findings),
        },
      });
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
