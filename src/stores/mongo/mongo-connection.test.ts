import { describe, expect, it } from 'vitest';
import { databaseInMongoUrl, redactMongoUrl, redactSecrets } from './mongo-connection.js';

describe('MongoDB connection strings', () => {
  it('hides the password in every message', () => {
    expect(redactMongoUrl('mongodb://app:s3cr%40t@db1:27017,db2:27017/x?replicaSet=rs')).toBe('mongodb://app:***@db1:27017,db2:27017/x?replicaSet=rs');
    expect(redactMongoUrl('mongodb+srv://app:pw@cluster.example.net/')).toBe('mongodb+srv://app:***@cluster.example.net/');
    expect(redactMongoUrl('mongodb://db:27017/')).toBe('mongodb://db:27017/');
    const url = 'mongodb://app:s3cr%40t@db:27017/';
    expect(redactSecrets(`cannot reach ${url}: auth s3cr@t s3cr%40t`, url)).toBe('cannot reach mongodb://app:***@db:27017/: auth *** ***');
  });

  it('takes the database from the path', () => {
    expect(databaseInMongoUrl('mongodb://db:27017/analytics?authSource=admin')).toBe('analytics');
    expect(databaseInMongoUrl('mongodb://db:27017/')).toBeUndefined();
    expect(databaseInMongoUrl('mongodb://db:27017')).toBeUndefined();
    expect(databaseInMongoUrl('mongodb://u:p@db/x')).toBe('x');
  });
});
