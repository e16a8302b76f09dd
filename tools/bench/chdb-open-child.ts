// The floor under every analytics command's start-up: a process that loads chdb, opens the
// embedded analytics directory given as argv[2], reads one count and lets go, and nothing else.
import { createClient } from '@clickhouse/client';
import { drainPending } from 'chdb';
import { createChdbConnection } from 'chdb/connection';

const path = process.argv[2];
if (!path) throw new Error('usage: chdb-open-child <analytics directory>');
const connection = createChdbConnection({ path }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'];
const client = createClient({ connection });
const result = await client.query({ query: 'SELECT count() AS n FROM journeyctl.sessions', format: 'JSONEachRow' });
await result.json();
await client.close();
await drainPending();
