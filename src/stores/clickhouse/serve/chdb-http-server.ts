// A ClickHouse HTTP interface (the part @clickhouse/client uses) answered by chdb, the in-process
// ClickHouse engine: real ClickHouse SQL on the MergeTree storage of one directory, with the HTTP
// framing the client expects. chdb locks its directory to one process, so the process that holds
// it serves it (ADR 0016); the test harness serves a directory the same way
// (test/harness/chdb-http-server.mjs).
//
// Implemented:
//   GET /ping, GET / (no query), GET /replicas_status -> "Ok.\n"
//   GET|POST /?query=...&database=...&query_id=...&default_format=...&session_id=...
//            &param_<name>=<value>&<any ClickHouse setting>=<value>
//     - SQL in the `query` URL parameter, in the body, or split (URL part, "\n", body), which is
//       how INSERT ... FORMAT X carries its data;
//     - multipart/form-data bodies (client option use_multipart_params);
//     - request bodies with Content-Encoding gzip/deflate/br (and zstd where Node has it);
//     - response compression when enable_http_compression=1 and Accept-Encoding allows;
//     - server-side parameter binding through chdb's queryBindAsync/queryStreamBind (values never
//       enter the SQL text);
//     - SELECT-like results streamed chunk by chunk; an error after the first byte is reported
//       with the X-ClickHouse-Exception-Tag framing of ClickHouse >= 25.11;
//     - errors as `Code: N. DB::Exception: ... (NAME)` with X-ClickHouse-Exception-Code and an
//       HTTP status like ClickHouse's (400 bad query, 404 unknown object, 403 authentication,
//       500 otherwise);
//     - headers X-ClickHouse-Query-Id, -Format, -Timezone, -Summary, -Server-Display-Name;
//     - basic auth / X-ClickHouse-User+Key / user+password params: user `default` with the
//       configured password;
//     - sessions (session_id, session_timeout, session_check), one engine connection each;
//     - multi-statement queries are refused, as ClickHouse's HTTP interface does.
// Not implemented (answered with NOT_IMPLEMENTED): ClickHouse-native compressed bodies
// (compress=1/decompress=1), external tables, progress headers.
import { type ChdbQueryStream, type RawInsertFormat, Session } from 'chdb';
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import {
  type Compressor,
  contentTypeFor,
  credentials,
  decodeParam,
  describeError,
  firstKeyword,
  formatClause,
  HTTP_PARAMS,
  parseMultipart,
  parseSimpleInsert,
  placeholderTypes,
  queryError,
  readBody,
  responseCompressor,
  secondStatementIndex,
  settingLiteral,
  type SimpleInsert,
  STREAMABLE,
  summaryHeader,
} from './clickhouse-http-protocol.js';

export interface ChdbHttpServerOptions {
  /** The chdb directory served. */
  path: string;
  host?: string;
  port?: number;
  /** The password of user `default`; empty allows anyone who can reach the port. */
  password: string;
  log?: (message: string) => void;
  /** Queries run at once; the rest queue. The owner of a data directory serves one at a time. */
  maxConcurrentQueries?: number;
  /** Open the engine here and hold it for the server's life (a process that only serves). */
  holdEngine?: boolean;
}

export interface ChdbHttpServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly engineVersion: string;
  readonly engineTimezone: string;
  /** Stops listening, lets requests in flight finish (up to 5 s), closes every engine connection. */
  close(): Promise<void>;
}

// chdb's built-in defaults are those of an embedded engine; a ClickHouse server answers with these
// (e.g. 64-bit integers quoted in JSON, synchronous plain inserts, asynchronous mutations, no
// `SELECT`-less queries). Every connection starts from them, so what passes here behaves the same
// against a real server.
const SERVER_DEFAULTS = [
  'output_format_json_quote_64bit_integers = 1',
  'async_insert = 0',
  'mutations_sync = 0',
  "date_time_input_format = 'basic'",
  'implicit_select = 0',
  'allow_introspection_functions = 0',
  'input_format_skip_unknown_fields = 1',
];

interface HttpSession {
  conn: Session;
  busy: boolean;
  fresh: boolean;
  timer: NodeJS.Timeout | null;
  timeoutMs: number;
}

export async function startChdbHttpServer(options: ChdbHttpServerOptions): Promise<ChdbHttpServer> {
  const log = options.log ?? (() => {});
  const host = options.host ?? '127.0.0.1';
  // The anchor keeps the engine (and its lock on the directory) for the server's life. Every
  // request gets a connection of its own on the same directory (about a millisecond), so SET and
  // USE never leak from one request into the next; a session_id keeps its connection.
  const anchor = options.holdEngine ? new Session(options.path, { connectionArgs: ['--async_load_databases=0', '--async_load_system_database=0'] }) : null;
  const openConnection = () => new Session(options.path);
  const probe = anchor ?? openConnection();
  const [engineVersion = '', engineTimezone = 'UTC'] = probe.query('SELECT version(), timezone()', 'TabSeparated').trim().split('\t');
  if (!anchor) probe.close();
  const slots = createSlots(options.maxConcurrentQueries ?? Number.POSITIVE_INFINITY);
  const sessions = new Map<string, HttpSession>();

  const touchSession = (id: string, s: HttpSession): void => {
    if (s.timer) clearTimeout(s.timer);
    s.timer = setTimeout(() => {
      if (s.busy) return touchSession(id, s);
      sessions.delete(id);
      s.conn.close();
    }, s.timeoutMs);
    s.timer.unref();
  };

  const sendError = (res: ServerResponse, e: unknown, queryId: string): void => {
    const d = describeError(e, engineVersion);
    log(`query ${queryId} failed: ${d.message.split('\n')[0]}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(d.status, {
      'Content-Type': 'text/plain; charset=UTF-8',
      'X-ClickHouse-Exception-Code': String(d.code),
      'X-ClickHouse-Query-Id': queryId,
      'X-ClickHouse-Server-Display-Name': 'chdb-http',
      'X-ClickHouse-Timezone': engineTimezone,
    });
    res.end(`${d.message}\n`);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url || '/', 'http://localhost');
    const pathname = url.pathname;
    const queryId = url.searchParams.get('query_id') || String(req.headers['x-clickhouse-query-id'] || '') || randomUUID();

    if ((req.method === 'GET' || req.method === 'HEAD') && (pathname === '/ping' || pathname === '/replicas_status' || (pathname === '/' && !url.searchParams.has('query')))) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': '4' });
      res.end(req.method === 'HEAD' ? undefined : 'Ok.\n');
      return;
    }
    if (pathname !== '/' && pathname !== '/query') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' });
      res.end(`There is no handle ${pathname}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=UTF-8', Allow: 'GET, POST' });
      res.end('Method not allowed\n');
      return;
    }

    let conn: Session | null = null;
    let session: HttpSession | undefined;
    let stream = null as ChdbQueryStream | null;
    let ownsConn = false;
    let releaseSlot: (() => void) | null = null;
    const started = process.hrtime.bigint();
    try {
      credentials(req, url, options.password);
      if (url.searchParams.get('compress') === '1' || url.searchParams.get('decompress') === '1') {
        throw queryError('NOT_IMPLEMENTED', 'ClickHouse-native compression (compress=1/decompress=1) is not supported by this chdb HTTP server');
      }

      let body = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
      const params: Record<string, string> = {};
      let urlQuery = url.searchParams.get('query');
      const contentType = String(req.headers['content-type'] || '');
      if (/^multipart\/form-data/i.test(contentType)) {
        const parts = parseMultipart(body, contentType);
        body = Buffer.alloc(0);
        for (const [k, v] of Object.entries(parts)) {
          if (k === 'query') urlQuery = urlQuery === null ? v : `${urlQuery}\n${v}`;
          else if (k.startsWith('param_')) params[k.slice(6)] = v;
        }
      }
      const settings: string[] = [];
      for (const [k, v] of url.searchParams) {
        if (k.startsWith('param_')) params[k.slice(6)] = v;
        else if (!HTTP_PARAMS.has(k)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw queryError('BAD_ARGUMENTS', `Invalid setting name ${JSON.stringify(k)}`);
          settings.push(`${k} = ${settingLiteral(v)}`);
        }
      }
      if (req.method === 'GET') settings.push('readonly = 2');

      // Where the SQL is: URL only, body only, or URL start + "\n" + body (INSERT data).
      let sql: string;
      let insertData: (SimpleInsert & { data: Buffer }) | null = null;
      if (urlQuery !== null && body.length > 0) {
        const simple = parseSimpleInsert(urlQuery);
        if (simple) insertData = { ...simple, data: body };
        sql = insertData ? urlQuery : `${urlQuery}\n${body.toString('utf8')}`;
      } else if (urlQuery !== null) {
        sql = urlQuery;
      } else {
        sql = body.toString('utf8');
      }
      if (!sql.trim()) throw queryError('SYNTAX_ERROR', 'Empty query');
      if (firstKeyword(sql) !== 'INSERT' && secondStatementIndex(sql) >= 0) throw queryError('SYNTAX_ERROR', 'Multi-statements are not allowed');

      releaseSlot = await slots.take();
      // Connection: the session's, or a fresh one for this request.
      const sessionId = url.searchParams.get('session_id');
      if (sessionId) {
        session = sessions.get(sessionId);
        if (!session) {
          if (url.searchParams.get('session_check') === '1') throw queryError('SESSION_NOT_FOUND', `Session ${sessionId} not found`);
          session = { conn: openConnection(), busy: false, fresh: true, timer: null, timeoutMs: 60_000 };
          sessions.set(sessionId, session);
        }
        if (session.busy) throw queryError('SESSION_IS_LOCKED', `Session ${sessionId} is locked by a concurrent client`);
        const t = Number(url.searchParams.get('session_timeout'));
        if (t > 0) session.timeoutMs = t * 1000;
        session.busy = true;
        if (session.timer) clearTimeout(session.timer);
        conn = session.conn;
      } else {
        conn = openConnection();
        ownsConn = true;
      }

      const database = url.searchParams.get('database') || String(req.headers['x-clickhouse-database'] || '');
      if (database && database !== 'default') await conn.queryAsync(`USE \`${database.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``);
      if (ownsConn || session?.fresh) settings.unshift(...SERVER_DEFAULTS);
      if (settings.length) await conn.queryAsync(`SET ${settings.join(', ')}`);
      if (session) session.fresh = false;

      const defaultFormat = url.searchParams.get('default_format') || String(req.headers['x-clickhouse-format'] || '') || 'TabSeparated';
      const format = insertData ? defaultFormat : formatClause(sql) || defaultFormat;
      const compressor = responseCompressor(req, url.searchParams.get('enable_http_compression') === '1');
      const headers: OutgoingHttpHeaders = {
        'Content-Type': contentTypeFor(format),
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Format': format,
        'X-ClickHouse-Timezone': engineTimezone,
        'X-ClickHouse-Server-Display-Name': 'chdb-http',
        'Keep-Alive': 'timeout=10, max=10000',
      };
      if (compressor) headers['Content-Encoding'] = compressor.name;
      const elapsedNs = () => Number(process.hrtime.bigint() - started);

      if (insertData) {
        const written = await conn.insert({ table: insertData.table, columns: insertData.columns, values: insertData.data, format: insertData.format as RawInsertFormat });
        headers['X-ClickHouse-Summary'] = summaryHeader({ written_rows: written.rowsWritten, written_bytes: written.bytesWritten, elapsed_ns: elapsedNs() });
        res.writeHead(200, headers);
        res.end();
        return;
      }

      const hasParams = Object.keys(params).length > 0;
      const bound: Record<string, string | null> = {};
      if (hasParams) {
        const types = placeholderTypes(sql);
        for (const [k, v] of Object.entries(params)) bound[k] = decodeParam(v, types.get(k));
      }
      const waitEnd = url.searchParams.get('wait_end_of_query') === '1';

      // SELECT-like statements stream; the rest (DDL, INSERT ... SELECT, ALTER, SET, USE, ...) run
      // to completion, which chdb's streaming refuses anyway.
      if (STREAMABLE.has(firstKeyword(sql))) {
        try {
          stream = hasParams ? conn.queryStreamBind(sql, bound, { format: defaultFormat }) : conn.queryStream(sql, { format: defaultFormat });
        } catch (e) {
          if (!/Streaming query is not supported/.test(String((e as Error)?.message))) throw e;
          stream = null;
        }
      }
      if (stream) {
        await streamResult(res, stream, headers, compressor, waitEnd, elapsedNs, queryId);
        return;
      }

      const result = hasParams ? await conn.queryBindAsync(sql, bound, { format: defaultFormat }) : await conn.queryAsync(sql, { format: defaultFormat });
      const out = Buffer.from(result.bytes());
      headers['X-ClickHouse-Summary'] = summaryHeader({ read_rows: result.rowsRead, read_bytes: result.bytesRead, result_rows: 0, result_bytes: out.length, elapsed_ns: elapsedNs() });
      await sendBody(res, headers, out, compressor);
    } catch (e) {
      if (stream) stream.cancel();
      sendError(res, e, queryId);
    } finally {
      if (session) {
        session.busy = false;
        const id = url.searchParams.get('session_id');
        if (id && sessions.get(id) === session) touchSession(id, session);
      }
      if (ownsConn && conn) conn.close();
      releaseSlot?.();
    }
  }

  async function streamResult(
    res: ServerResponse,
    stream: ChdbQueryStream,
    headers: OutgoingHttpHeaders,
    compressor: Compressor | null,
    waitEnd: boolean,
    elapsedNs: () => number,
    queryId: string,
  ): Promise<void> {
    const it = stream[Symbol.asyncIterator]();
    let next = await it.next(); // errors before the first byte become a proper error response
    if (waitEnd) {
      const chunks: Buffer[] = [];
      let resultRows = 0;
      while (!next.done) {
        chunks.push(Buffer.from(next.value.raw()));
        resultRows += next.value.numRows;
        next = await it.next();
      }
      const out = Buffer.concat(chunks);
      headers['X-ClickHouse-Summary'] = summaryHeader({ result_rows: resultRows, result_bytes: out.length, read_rows: resultRows, elapsed_ns: elapsedNs() });
      await sendBody(res, headers, out, compressor);
      return;
    }
    const tag = randomUUID().replace(/-/g, '').slice(0, 16);
    headers['X-ClickHouse-Exception-Tag'] = tag;
    headers['X-ClickHouse-Summary'] = summaryHeader({ elapsed_ns: elapsedNs() });
    res.writeHead(200, headers);
    const sink = compressor ? compressor.make() : null;
    const done = sink ? pipeline(sink, res) : null;
    const out = sink ?? res;
    const write = (buf: Buffer) =>
      new Promise<void>((resolve, reject) => {
        if (res.destroyed) return reject(new Error('client went away'));
        if (out.write(buf)) return resolve();
        const onDrain = () => {
          res.off('close', onClose);
          resolve();
        };
        const onClose = () => {
          out.off('drain', onDrain);
          reject(new Error('client went away'));
        };
        out.once('drain', onDrain);
        res.once('close', onClose);
      });
    try {
      while (!next.done) {
        await write(Buffer.from(next.value.raw()));
        next = await it.next();
      }
    } catch (e) {
      if (res.destroyed || /client went away/.test(String((e as Error)?.message))) {
        stream.cancel();
        return;
      }
      // ClickHouse >= 25.11 framing for an exception after the response started.
      const msg = describeError(e, engineVersion).message;
      const len = Buffer.byteLength(msg) + 1;
      await write(Buffer.from(`\r\n__exception__\r\n${tag}\r\n${msg}\n${len} ${tag}\r\n__exception__\r\n`)).catch(() => {});
      log(`query ${queryId} failed mid-stream: ${msg.split('\n')[0]}`);
    }
    out.end();
    if (done) await done.catch(() => {});
  }

  let active = 0;
  const server = http.createServer({ maxHeaderSize: 1024 * 1024, keepAliveTimeout: 10_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    active++;
    res.on('close', () => {
      active--;
    });
    handle(req, res).catch((e: unknown) => {
      log(`internal error: ${(e as Error)?.stack ?? String(e)}`);
      try {
        sendError(res, e, 'unknown');
      } catch {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    engineVersion,
    engineTimezone,
    close() {
      closing ??= (async () => {
        log(`shutting down (${active} requests in flight)`);
        server.close();
        server.closeIdleConnections();
        const deadline = Date.now() + 5000;
        while (active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        server.closeAllConnections();
        for (const s of sessions.values()) {
          if (s.timer) clearTimeout(s.timer);
          s.conn.close();
        }
        sessions.clear();
        anchor?.close();
      })();
      return closing;
    },
  };
}

async function sendBody(res: ServerResponse, headers: OutgoingHttpHeaders, buf: Buffer, compressor: Compressor | null): Promise<void> {
  if (compressor) {
    res.writeHead(200, headers);
    const z = compressor.make();
    const done = pipeline(z, res);
    z.end(buf);
    await done.catch(() => {});
    return;
  }
  headers['Content-Length'] = String(buf.length);
  res.writeHead(200, headers);
  res.end(buf);
}

/** At most `limit` holders at once; the rest wait in arrival order. */
function createSlots(limit: number): { take(): Promise<() => void> } {
  let used = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else used--;
  };
  return {
    async take() {
      if (used < limit) used++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      let released = false;
      return () => {
        if (released) return;
        released = true;
        release();
      };
    },
  };
}
