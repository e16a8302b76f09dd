import { guard, MONGO_COLLECTIONS, MONGO_INDEXES, type MongoContext } from './mongo-context.js';

export interface MongoAdmin {
  /** Creates the collections and secondary indexes. Idempotent: existing ones are kept. */
  migrate(): Promise<void>;
  /** What migrate() creates and is missing, as `collection` or `collection.index` (for doctor). */
  missingSchema(): Promise<string[]>;
  /** Server version, and FerretDB's own version when the server is FerretDB. */
  serverInfo(): Promise<{ version: string; ferretdb: string | null }>;
}

export function createMongoAdmin(ctx: MongoContext): MongoAdmin {
  const { db } = ctx;
  const collectionNames = async () => new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((info) => info.name));
  const indexNames = async (name: string) => new Set((await db.collection(name).listIndexes().toArray()).map((index) => index.name as string));
  return {
    async migrate() {
      await guard(ctx, 'create the raw store collections and indexes', async () => {
        const existing = await collectionNames();
        for (const name of Object.values(MONGO_COLLECTIONS)) {
          if (!existing.has(name)) {
            await db.createCollection(name).catch((error: unknown) => {
              if ((error as { code?: number }).code !== 48) throw error; // created meanwhile by another process
            });
          }
          // One index per command, only the missing ones: FerretDB 1.24 drops the connection (a panic)
          // when a createIndexes command with several indexes names only existing ones.
          const present = await indexNames(name);
          for (const index of MONGO_INDEXES) {
            if (index.collection === name && !present.has(index.name)) await db.collection(name).createIndex(index.key, { name: index.name });
          }
        }
      });
    },
    async missingSchema() {
      return guard(ctx, 'list collections and indexes', async () => {
        const existing = await collectionNames();
        const missing: string[] = [];
        for (const name of Object.values(MONGO_COLLECTIONS)) {
          if (!existing.has(name)) {
            missing.push(name);
            continue;
          }
          const present = await indexNames(name);
          for (const index of MONGO_INDEXES) if (index.collection === name && !present.has(index.name)) missing.push(`${name}.${index.name}`);
        }
        return missing;
      });
    },
    async serverInfo() {
      return guard(ctx, 'read the server version', async () => {
        const info = await db.admin().command({ buildInfo: 1 });
        return { version: String(info.version), ferretdb: typeof info.ferretdbVersion === 'string' ? info.ferretdbVersion : null };
      });
    },
  };
}
