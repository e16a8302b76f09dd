import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { parseNdjson, runCli } from './helpers/cli.js';
import { noisyJourneyLines, toLine } from './helpers/journeys.js';

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('journeyctl tail over the embedded stores', () => {
  let dataDir: string;
  let config: string;
  let allEvents: Record<string, unknown>[];
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jc-tail-'));
    const lines = noisyJourneyLines();
    // An event with personal data in properties and context, to be masked.
    lines.push(
      toLine({ messageId: 'pii-1', event: 'form_submitted', userId: 'dora', minutes: 3, properties: { email: 'dora@example.com', plan: 'pro', total: 3 } }).replace(
        '"context":{',
        '"context":{"ip":"203.0.113.9",',
      ),
    );
    const input = join(dataDir, 'input.ndjson');
    writeFileSync(input, `${lines.join('\n')}\n`);
    config = join(dataDir, 'journeyctl.yaml');
    writeFileSync(config, 'redact: [properties.email, context.ip]\n');
    expect((await runCli(['run', '--input', input, '--data-dir', dataDir])).code).toBe(0);
    allEvents = parseNdjson((await cli(['tail'])).stdout);
  });
  const cli = (args: string[]) => runCli([...args, '--data-dir', dataDir, '--config', config]);
  const ids = (stdout: string) => parseNdjson(stdout).map((r) => r.message_id);

  it('writes NDJSON when piped: every accepted event once, in arrival order, with a cursor that resumes after it', async () => {
    const exported = parseNdjson((await cli(['export', 'events'])).stdout);
    const identifies = 1; // an identify call is stored but not placed in a session
    expect(allEvents).toHaveLength(exported.length + identifies);
    expect(new Set(allEvents.map((r) => r.message_id)).size).toBe(allEvents.length);
    // A cursor is the engine's arrival position (a SQLite rowid, a ClickHouse seq): digits, rising.
    expect(allEvents[0]).toMatchObject({
      source: 'raw',
      cursor: expect.stringMatching(/^\d+$/),
      message_id: 'alice-1',
      event: 'page_viewed',
      anonymous_id: 'anon-alice',
      app_version: '2.3.0',
      type: 'track',
    });
    expect(Object.keys(allEvents[0]!)).toEqual([
      'source',
      'cursor',
      'received_at',
      'event_time',
      'session_id',
      'user_id',
      'anonymous_id',
      'event',
      'type',
      'message_id',
      'app_version',
      'properties',
      'context',
      'traits',
    ]);
    // Arrival order is the input's order (alice-5 came before the late alice-4), not event time.
    const order = allEvents.map((r) => r.message_id);
    expect(order.indexOf('alice-5')).toBeLessThan(order.indexOf('alice-4'));
    const cursors = allEvents.map((r) => Number(r.cursor));
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    const resumed = parseNdjson((await cli(['tail', '--offset', String(allEvents[9]!.cursor)])).stdout);
    expect(resumed.map((r) => r.message_id)).toEqual(order.slice(10));
    expect((await cli(['tail', '--offset', 'end'])).stdout).toBe('');
    // --from is a time in every command: on tail the same as --since.
    const start = String(allEvents[9]!.received_at);
    const fromTime = (await cli(['tail', '--from', start])).stdout;
    expect(ids(fromTime).length).toBeGreaterThan(0);
    expect(ids(fromTime)).not.toContain(order[0]);
    expect(fromTime).toBe((await cli(['tail', '--since', start])).stdout);
    expect(ids((await cli(['tail', '--limit', '4'])).stdout)).toEqual(order.slice(0, 4));
  });

  it('with --limit reads no more than it shows, and --grep still finds a match further on', async () => {
    // The same records, sessions included, as the first of a whole tail.
    expect(parseNdjson((await cli(['tail', '--limit', '3'])).stdout)).toEqual(allEvents.slice(0, 3));
    expect(parseNdjson((await cli(['tail', '--limit', '2', '--offset', String(allEvents[4]!.cursor)])).stdout)).toEqual(allEvents.slice(5, 7));
    // A filter applied after the read (--grep) reads on past the limit's rows until it has its match.
    expect(ids((await cli(['tail', '--limit', '1', '--grep', 'pii-1'])).stdout)).toEqual(['pii-1']);
  });

  it('shows the session of each event when the analytics store is free to read', async () => {
    const exported = new Map(parseNdjson((await cli(['export', 'events'])).stdout).map((e) => [e.message_id, e.session_id]));
    for (const record of allEvents) {
      expect(record.session_id).toBe(record.type === 'identify' ? null : exported.get(record.message_id));
    }
  });

  it('filters by user (following stitching), event, app version, property values, regex and received time', async () => {
    // alice's anonymous events and her late checkout, found from her anonymous id too.
    const alice = ['alice-1', 'alice-2', 'alice-id', 'alice-3', 'alice-5', 'alice-4'];
    expect(ids((await cli(['tail', '--user', 'alice'])).stdout)).toEqual(alice);
    expect(ids((await cli(['tail', '--user', 'anon-alice'])).stdout)).toEqual(alice);
    expect(ids((await cli(['tail', '--event', 'checkout_started'])).stdout)).toEqual(['alice-4']);
    expect(ids((await cli(['tail', '--where', 'product_id=p1'])).stdout)).toEqual(['alice-2', 'alice-3']);
    expect(ids((await cli(['tail', '--where', 'product_id=p1', '--where', 'context.app.version=2.3.0', '--event', 'product_added'])).stdout)).toEqual(['alice-3']);
    expect(ids((await cli(['tail', '--where', 'total=3'])).stdout)).toEqual(['pii-1']);
    expect(ids((await cli(['tail', '--app-version', '9.9.9'])).stdout)).toEqual([]);
    expect(ids((await cli(['tail', '--grep', '"messageId":"carol-\\d"'])).stdout)).toEqual(['carol-1', 'carol-2', 'carol-3']);
    const received = allEvents.find((r) => r.message_id === 'carol-3')!.received_at as string;
    expect(ids((await cli(['tail', '--user', 'carol', '--since', received])).stdout)).toEqual([]);
    expect(ids((await cli(['tail', '--user', 'carol-phone', '--since', received])).stdout)).toEqual(['carol-3']);
    expect(ids((await cli(['tail', '--user', 'carol', '--until', received])).stdout)).toEqual(['carol-1', 'carol-2']);
  });

  it('treats injection attempts in any filter as data: they match nothing and harm nothing', async () => {
    const before = (await cli(['export', 'events'])).stdout;
    for (const attempt of [
      ['--user', "x' OR '1'='1"],
      ['--where', 'a=1; DROP TABLE raw_events'],
      ['--where', "plan=pro' OR '1'='1"],
      ['--where', "a') OR 1=1 --=1"],
      ['--where', 'a"]; DROP TABLE raw_events; --=1'],
      ['--event', "page_viewed' OR 1=1 --"],
      ['--app-version', '2.3.0"; DROP TABLE raw_events; --'],
    ]) {
      for (const source of ['raw', 'rejected']) {
        const result = await cli(['tail', '--source', source, ...attempt]);
        expect(result.code, `${source} ${attempt.join(' ')}`).toBe(0);
        expect(result.stdout, `${source} ${attempt.join(' ')}`).toBe('');
      }
    }
    expect(ids((await cli(['tail'])).stdout)).toEqual(allEvents.map((r) => r.message_id));
    expect((await cli(['export', 'events'])).stdout).toBe(before);
    expect(parseNdjson((await cli(['export', 'rejected'])).stdout)).toHaveLength(3);
  });

  it('masks the fields the config lists under redact:, unless --no-redact', async () => {
    const [masked] = parseNdjson((await cli(['tail', '--user', 'dora'])).stdout);
    expect(masked).toMatchObject({ properties: { email: '[redacted]', plan: 'pro', total: 3 }, context: { ip: '[redacted]', app: { version: '2.3.0' } } });
    const pretty = await cli(['tail', '--user', 'dora', '--output', 'pretty']);
    expect(pretty.stdout).toContain('email=[redacted]');
    expect(pretty.stdout).not.toContain('dora@example.com');
    const [plain] = parseNdjson((await cli(['tail', '--user', 'dora', '--no-redact'])).stdout);
    expect(plain).toMatchObject({ properties: { email: 'dora@example.com' }, context: { ip: '203.0.113.9' } });
  });

  it('samples deterministically by message id: repeated tails keep the same records', async () => {
    const first = ids((await cli(['tail', '--sample', '0.3'])).stdout);
    const second = ids((await cli(['tail', '--sample', '0.3'])).stdout);
    expect(second).toEqual(first);
    expect(first.length).toBeGreaterThan(allEvents.length * 0.15);
    expect(first.length).toBeLessThan(allEvents.length * 0.45);
    // A sample of a filtered tail is the filtered part of the sample.
    const sampledClicks = ids((await cli(['tail', '--sample', '0.3', '--event', 'button_clicked'])).stdout);
    expect(sampledClicks).toEqual(first.filter((id) => allEvents.find((r) => r.message_id === id)!.event === 'button_clicked'));
    expect(ids((await cli(['tail', '--sample', '0.3', '--limit', '3'])).stdout)).toEqual(first.slice(0, 3));
  });

  it('tails rejected lines with their reason, and prints pretty rows or a JSON array on request', async () => {
    const rejected = parseNdjson((await cli(['tail', '--source', 'rejected'])).stdout);
    expect(rejected.map((r) => r.reason)).toEqual(['invalid_json', 'not_an_object', 'invalid_timestamp']);
    expect(rejected[2]).toMatchObject({ source: 'rejected', cursor: expect.stringMatching(/^\d+$/), message_id: 'bad-time', event: 'x' });
    const resumed = parseNdjson((await cli(['tail', '--source', 'rejected', '--offset', String(rejected[0]!.cursor)])).stdout);
    expect(resumed.map((r) => r.reason)).toEqual(['not_an_object', 'invalid_timestamp']);
    expect(ids((await cli(['tail', '--source', 'rejected', '--grep', 'not-a-date'])).stdout)).toEqual(['bad-time']);
    const pretty = (await cli(['tail', '--source', 'rejected', '--output', 'pretty'])).stdout.split('\n');
    expect(pretty[0]).toMatch(/^TIME \(UTC\)\s+USER\s+SESSION\s+EVENT\s+PROPERTIES \/ REASON$/);
    expect(pretty[3]).toMatch(/\bz\s+x\s+✗ invalid_timestamp: timestamp "not-a-date" is not ISO-8601/);
    const json = JSON.parse((await cli(['tail', '--limit', '2', '--output', 'json'])).stdout) as unknown[];
    expect(json).toHaveLength(2);
    expect(JSON.parse((await cli(['tail', '--offset', 'end', '--output', 'json'])).stdout)).toEqual([]);
  });

  it('refuses bad flags with exit 2 and one line, never a stack', async () => {
    for (const [args, message] of [
      [['tail', '--where', 'novalue'], '--where "novalue" is not key=value'],
      [['tail', '--sample', '2'], '--sample "2" is not a rate in (0, 1]'],
      [['tail', '--grep', '(['], 'is not a regular expression'],
      [['tail', '--offset', 'yesterday-ish'], '"yesterday-ish" is not a tail position of the'],
      [['tail', '--from', 'end'], '--from is a time; "end" is a position\n  hint: start at a position with --offset end'],
      [['tail', '--from', '4211'], 'hint: start at a position with --offset 4211'],
      [['tail', '--from', '1h', '--since', '2h'], '--from and --since both give the start time; give one'],
      [['tail', '--from', '1h', '--to', '2h'], '--from must be before --to'],
      [['tail', '--since', 'whenever'], '--since "whenever" is not a time'],
      [['tail', '--since', '1h', '--until', '2h'], '--since must be before --until'],
      [['tail', '--follow', '--output', 'json'], '--output json cannot be used with --follow'],
      [['tail', '--source', 'kafka'], '--source kafka needs brokers'],
      [['tail', '--source', 'elsewhere'], "argument 'elsewhere' is invalid"],
      [['tail', '--limit', 'all'], '--limit "all" is not a positive whole number'],
    ] as const) {
      const result = await cli([...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
      noStack(result.stderr);
    }
  });

  it('draws the live ink view on a terminal: header, rows and a status line', async () => {
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 140 });
    const chunks: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const stderr = new PassThrough();
    const code = await main(['node', 'journeyctl', 'tail', '--user', 'alice', '--data-dir', dataDir, '--config', config, '--no-color'], {
      stdout,
      stderr,
      stdin: Readable.from([]),
      env: { JOURNEY_RAW_ENGINE: process.env['JOURNEY_RAW_ENGINE'] },
    });
    expect(code).toBe(0);
    const screen = Buffer.concat(chunks).toString('utf8');
    expect(screen).toMatch(/TIME \(UTC\)\s+USER\s+SESSION\s+EVENT/);
    expect(screen).toMatch(/2026-01-05 09:05:00\.200\s+anon-alice\s+\w{11}…\s+product_viewed\s+product_id=p1/);
    expect(screen).toContain('● done raw store');
    expect(screen).toContain('· 6 shown');
  });
});
