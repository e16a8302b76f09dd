import { MongoBulkWriteError, MongoClient, type MongoClientOptions, MongoNetworkError, MongoParseError, MongoServerError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';
import { InfrastructureError, UsageError } from '../../errors.js';
import { redactMongoUrl, redactSecrets } from './mongo-url.js';

export { databaseInMongoUrl, redactMongoUrl, redactSecrets } from './mongo-url.js';

/**
 * Timeouts journeyctl needs that the driver leaves open: without socketTimeoutMS a hung server
 * (process stopped, network partition) blocks an operation forever instead of failing it as
 * retriable. Options written in the connection string win.
 */
function defaultOptions(url: string): MongoClientOptions {
  const query = new URLSearchParams(url.split('?')[1] ?? '');
  const has = (name: string) => [...query.keys()].some((key) => key.toLowerCase() === name.toLowerCase());
  const options: MongoClientOptions = { appName: 'journeyctl' };
  if (!has('serverSelectionTimeoutMS')) options.serverSelectionTimeoutMS = 10_000;
  if (!has('connectTimeoutMS')) options.connectTimeoutMS = 10_000;
  if (!has('socketTimeoutMS')) options.socketTimeoutMS = 120_000;
  return options;
}

/** Connects and pings; every failure is a typed error whose message never contains the password. */
export async function connectMongo(url: string): Promise<MongoClient> {
  let client: MongoClient;
  try {
    client = new MongoClient(url, defaultOptions(url));
  } catch (error) {
    throw new UsageError(`the MongoDB connection string ${redactMongoUrl(url)} is not valid: ${redactSecrets((error as Error).message, url)}`, {
      hint: 'use mongodb://[user:password@]host[:port][/database][?options] (--mongo-url, JOURNEY_MONGO_URL or stores.raw.url)',
    });
  }
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    return client;
  } catch (error) {
    await client.close().catch(() => {});
    throw mongoFailure(`connect to MongoDB at ${redactMongoUrl(url)}`, error, url);
  }
}

/** Error codes a retry can get past: the server is stepping down, shutting down or unreachable for a moment. */
const TRANSIENT_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 64]);
const AUTH_CODES = new Set([18, 8000]);

export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

/** A driver or server error as a typed infrastructure error; network trouble is retriable, a refused command is not. */
export function mongoFailure(what: string, error: unknown, url: string): InfrastructureError {
  if (error instanceof InfrastructureError) return error;
  const message = redactSecrets((error as Error)?.message ?? String(error), url).split('\n')[0];
  const place = redactMongoUrl(url);
  if (error instanceof MongoParseError) {
    return new InfrastructureError(`raw store (MongoDB): cannot ${what}: ${message}`, { hint: 'check the connection string (--mongo-url)', retriable: false, cause: redactedCause(error, url) });
  }
  const code = error instanceof MongoServerError || error instanceof MongoBulkWriteError ? Number(error.code) : undefined;
  if (code !== undefined && AUTH_CODES.has(code)) {
    return new InfrastructureError(`raw store (MongoDB at ${place}): cannot ${what}: authentication failed`, {
      hint: 'check the user, password and authSource in the connection string',
      retriable: false,
      cause: redactedCause(error, url),
    });
  }
  const transient =
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoTopologyClosedError ||
    (error instanceof Error && /ECONNREFUSED|ECONNRESET|EPIPE|timed out|connection .* closed|pool .* cleared/i.test(error.message)) ||
    (code !== undefined && TRANSIENT_CODES.has(code)) ||
    (error instanceof MongoServerError && (error.hasErrorLabel('RetryableWriteError') || error.hasErrorLabel('TransientTransactionError')));
  return new InfrastructureError(`raw store (MongoDB at ${place}): cannot ${what}: ${message}`, {
    hint: transient ? 'check that MongoDB is running and reachable (journeyctl doctor)' : 'this request was refused by the server; run journeyctl doctor and report it if the server is healthy',
    retriable: transient,
    cause: redactedCause(error, url),
  });
}

/** The driver's error for --debug, with the password taken out of its message and stack. */
function redactedCause(error: unknown, url: string): Error {
  const copy = new Error(redactSecrets((error as Error)?.message ?? String(error), url));
  copy.name = (error as Error)?.name ?? 'Error';
  copy.stack = redactSecrets((error as Error)?.stack ?? copy.message, url);
  return copy;
}
