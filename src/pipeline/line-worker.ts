// The worker thread of createLineProcessor: runs the per-line stages on whole batches and
// sends them back in wire form. Pure: the same lines and arrival time give the same batch
// (a pre-filtered batch also depends on what its read-only look-up finds stored; docs/decisions/0026).
import { parentPort, workerData } from 'node:worker_threads';
import { createRequestHandler, type WorkerReply, type WorkerRequest } from './line-processor.js';
import type { ProcessLineDeps } from './process-line.js';

const port = parentPort;
if (port === null) throw new Error('line-worker runs as a worker thread');
const handler = createRequestHandler(workerData as ProcessLineDeps);

port.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = handler.answer(request);
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    reply = { id: request.id, error: { message: failure.message, ...(failure.stack ? { stack: failure.stack } : {}) } };
  }
  if ('wire' in reply) port.postMessage(reply, [reply.wire.numbers.buffer as ArrayBuffer]);
  else if ('filtered' in reply) port.postMessage(reply, [...(reply.filtered.wire ? [reply.filtered.wire.numbers.buffer as ArrayBuffer] : []), reply.filtered.stored.buffer as ArrayBuffer]);
  else port.postMessage(reply);
});
