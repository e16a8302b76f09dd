import type { IdentityLink } from '../../domain/precedence.js';
import type { RawStore } from '../raw-store.js';
import { createMongoAdmin, type MongoAdmin } from './mongo-admin.js';
import { createMongoBatchWriter, type MongoWriteSeams } from './mongo-batch-writer.js';
import { connectMongo, mongoFailure } from './mongo-connection.js';
import { createMongoContext, guard } from './mongo-context.js';
import { createMongoCorrectionLog } from './mongo-correction-log.js';
import { createMongoDirtyQueue, insertMarks } from './mongo-dirty-queue.js';
import { createMongoEventReads } from './mongo-event-log.js';
import { createMongoIdentityGraph, writeLinks } from './mongo-identity-graph.js';
import { createMongoMetaAndLeases } from './mongo-meta-leases.js';
import { createMongoProfiles } from './mongo-profiles.js';
import { createMongoStats } from './mongo-stats.js';
import { createMongoTailReader } from './mongo-tail-reader.js';

export { MONGO_COLLECTIONS, MONGO_INDEXES } from './mongo-context.js';
export type { MongoWriteSeams } from './mongo-batch-writer.js';

export interface MongoRawStoreOptions {
  url: string;
  database: string;
}

/**
 * The MongoDB raw store: the same contract as the embedded SQLite store (the same conformance
 * suites), for production and for several journeyctl processes on several hosts. Assembled from
 * one part per port (mongo-<concern>.ts) sharing one client; how a batch is written without a
 * transaction is in mongo-batch-writer.ts, what FerretDB needs in mongo-context.ts.
 */
export type MongoRawStore = RawStore &
  MongoAdmin & {
    readonly engine: 'mongodb';
    /**
     * For a store whose events live elsewhere (`stores.raw.engine: clickhouse`): stores each link
     * unless the stored one wins (isEarlierLink) and marks the ids dirty, both idempotent.
     */
    recordArrivals(links: ReadonlyMap<string, IdentityLink>, dirty: ReadonlySet<string>): Promise<void>;
  };

export const MongoRawStore = {
  async open(options: MongoRawStoreOptions, seams: MongoWriteSeams = {}): Promise<MongoRawStore> {
    const client = await connectMongo(options.url);
    let ferret: boolean;
    try {
      const info = await client.db('admin').command({ buildInfo: 1 });
      ferret = typeof info.ferretdbVersion === 'string';
    } catch (error) {
      await client.close().catch(() => {});
      throw mongoFailure('read the server version', error, options.url);
    }
    const ctx = createMongoContext(client, options.url, options.database, ferret);
    const writer = createMongoBatchWriter(ctx, seams);
    return {
      engine: 'mongodb',
      ...writer.writes,
      ...createMongoEventReads(ctx),
      ...createMongoIdentityGraph(ctx),
      // Derivation starts at listDirtyIds: first pick up what writers that are gone left unmarked.
      ...createMongoDirtyQueue(ctx, () => writer.repairIntents(() => false)),
      ...createMongoCorrectionLog(ctx),
      ...createMongoMetaAndLeases(ctx),
      ...createMongoStats(ctx),
      ...createMongoTailReader(ctx),
      ...createMongoProfiles(ctx),
      ...createMongoAdmin(ctx),
      recordArrivals: (links, dirty) =>
        guard(ctx, 'record identity links and dirty marks', async () => {
          await writeLinks(ctx, new Map(links));
          await insertMarks(ctx, dirty);
        }),
      async close() {
        await client.close();
      },
    };
  },
};
