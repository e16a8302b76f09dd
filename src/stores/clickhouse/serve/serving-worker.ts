// The thread of serving-thread.ts: answers the ClickHouse HTTP interface of a held data directory,
// so a reader's query never waits for the holder's own thread (an ingest's synchronous SQLite
// writes, its checkpoints, its garbage collections; docs/decisions/0016, "Served from a thread").
// This thread must outlive every chdb connection of the process: chdb's addon closes all of them
// when any thread that loaded it ends (its environment clean-up hook), so it serves, closes and
// serves again, and ends only with the process.
import { parentPort } from 'node:worker_threads';
import type { ChdbHttpServer, ChdbHttpServerOptions } from './chdb-http-server.js';
import type { ServingReply, ServingRequest } from './serving-messages.js';

const port = parentPort;
if (port === null) throw new Error('serving-worker runs as a worker thread');
// Said before chdb loads here: an end before it cannot have taken the engine along (serving-thread.ts).
port.postMessage({ type: 'running' } satisfies ServingReply);
const serverModule = import('./chdb-http-server.js');

const servers = new Map<number, ChdbHttpServer>();
const reply = (message: ServingReply) => port.postMessage(message);
const logOf = (id: number | null) => (message: string) => reply({ type: 'log', id, message });
const log = logOf(null);

// An error no request caught must not end this thread (see above): it is reported and serving goes on.
process.on('uncaughtException', (error) => log(`serving thread: ${error.stack ?? String(error)}`));
process.on('unhandledRejection', (error) => log(`serving thread: ${(error as Error | null)?.stack ?? String(error)}`));

port.on('message', (request: ServingRequest) => {
  if (request.type === 'start') {
    const options: ChdbHttpServerOptions = { ...request.options, log: logOf(request.id) };
    serverModule
      .then(({ startChdbHttpServer }) => startChdbHttpServer(options))
      .then(
        (server) => {
          servers.set(request.id, server);
          const { url, host, port: listening, engineVersion, engineTimezone } = server;
          reply({ type: 'started', id: request.id, url, host, port: listening, engineVersion, engineTimezone });
        },
        (error: unknown) => reply({ type: 'failed', id: request.id, message: (error as Error).message }),
      );
    return;
  }
  const server = servers.get(request.id);
  servers.delete(request.id);
  (server ? server.close() : Promise.resolve()).then(
    () => reply({ type: 'closed', id: request.id }),
    () => reply({ type: 'closed', id: request.id }),
  );
});
