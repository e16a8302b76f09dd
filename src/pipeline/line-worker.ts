// The worker thread of createLineProcessor: runs the per-line stages on whole batches and
// sends them back in wire form. Pure: the same lines and arrival time give the same batch.
import { parentPort, workerData } from 'node:worker_threads';
import { keysOf, processToWire, type WorkerReply, type WorkerRequest } from './line-processor.js';
import { createProcessLine, type ProcessLineDeps } from './process-line.js';

const port = parentPort;
if (port === null) throw new Error('line-worker runs as a worker thread');
const processLine = createProcessLine(workerData as ProcessLineDeps);

port.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = 'keys' in request ? { id: request.id, keys: keysOf(request.keys) } : { id: request.id, wire: processToWire(processLine, request.lines, request.arrivedAt) };
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    reply = { id: request.id, error: { message: failure.message, ...(failure.stack ? { stack: failure.stack } : {}) } };
  }
  if ('wire' in reply) port.postMessage(reply, [reply.wire.numbers.buffer as ArrayBuffer]);
  else port.postMessage(reply);
});
