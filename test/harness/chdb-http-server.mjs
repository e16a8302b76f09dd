#!/usr/bin/env node
// A ClickHouse HTTP interface (the part @clickhouse/client uses) served by chdb,
// the in-process ClickHouse engine. No ClickHouse server binary can be installed
// on the test machines, so this process stands in for one: real ClickHouse SQL,
// real MergeTree storage in --data-dir, the HTTP framing the client expects.
//
//   node test/harness/chdb-http-server.mjs --data-dir DIR [--host 127.0.0.1] [--port 0]
//                                          [--password ''] [--log FILE]
//
// On start it prints one JSON line to stdout: {"ready":true,"url":"http://127.0.0.1:PORT",...}
//
// It runs as its own process because chdb binds one data directory per process
// and locks it. It can be stopped (SIGTERM, SIGKILL, SIGSTOP/SIGCONT) and started
// again on the same data directory.
//
// Implemented:
//   GET /ping, GET / (no query), GET /replicas_status -> "Ok.\n"
//   GET|POST /?query=...&database=...&query_id=...&default_format=...&session_id=...
//            &param_<name>=<value>&<any ClickHouse setting>=<value>
//     - SQL in the `query` URL parameter, in the body, or split (URL part, "\n", body),
//       which is how INSERT ... FORMAT X carries its data;
//     - multipart/form-data bodies (client option use_multipart_params);
//     - request bodies with Content-Encoding gzip/deflate/br (and zstd where Node has it);
//     - response compression when enable_http_compression=1 and Accept-Encoding allows;
//     - server-side parameter binding through chdb's queryBindAsync/queryStreamBind
//       (values never enter the SQL text);
//     - SELECT-like results streamed chunk by chunk; an error after the first byte is
//       reported with the X-ClickHouse-Exception-Tag framing of ClickHouse >= 25.11;
//     - errors as `Code: N. DB::Exception: ... (NAME)` with X-ClickHouse-Exception-Code
//       and an HTTP status like ClickHouse's (400 bad query, 404 unknown object,
//       403 authentication, 500 otherwise);
//     - headers X-ClickHouse-Query-Id, -Format, -Timezone, -Summary, -Server-Display-Name;
//     - basic auth / X-ClickHouse-User+Key / user+password params: user `default`
//       with the configured password (empty by default);
//     - sessions (session_id, session_timeout, session_check), one engine connection each;
//     - multi-statement queries are refused, as ClickHouse's HTTP interface does.
// Not implemented (answered with NOT_IMPLEMENTED): ClickHouse-native compressed
// bodies (compress=1/decompress=1), external tables, progress headers.
import http from 'node:http';
import zlib from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Session, drainPending } from 'chdb';

// ------------------------------------------------------------------ args ----
function parseArgs(argv) {
  const out = { host: '127.0.0.1', port: 0, dataDir: '', password: '', log: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(0, eq) : a;
    const val = () => (eq > 0 ? a.slice(eq + 1) : argv[++i]);
    switch (key) {
      case '--host':
        out.host = val();
        break;
      case '--port':
        out.port = Number(val());
        break;
      case '--data-dir':
        out.dataDir = val();
        break;
      case '--password':
        out.password = val();
        break;
      case '--log':
        out.log = val();
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  if (!out.dataDir) throw new Error('--data-dir is required');
  return out;
}
const opts = parseArgs(process.argv.slice(2));
const dataDir = path.resolve(opts.dataDir);
fs.mkdirSync(dataDir, { recursive: true });

const logStream = opts.log ? fs.createWriteStream(opts.log, { flags: 'a' }) : null;
function log(msg) {
  if (logStream) logStream.write(`${new Date().toISOString()} ${msg}\n`);
}

// ----------------------------------------------------------- chdb engine ----
// The anchor connection keeps the engine (and its lock on dataDir) for the
// server's lifetime. Every request gets a connection of its own on the same
// directory (cheap: about a millisecond), so SET and USE never leak from one
// request into the next; a session_id keeps its connection between requests.
const anchor = new Session(dataDir, {
  connectionArgs: ['--async_load_databases=0', '--async_load_system_database=0'],
});
const [engineVersion, engineTimezone] = anchor.query('SELECT version(), timezone()', 'TabSeparated').trim().split('\t');

// chdb's built-in defaults are those of an embedded engine; a ClickHouse server
// answers with these (e.g. 64-bit integers quoted in JSON, synchronous plain
// inserts, asynchronous mutations, no `SELECT`-less queries). Every connection
// starts from them, so what passes here behaves the same against a real server.
const SERVER_DEFAULTS = [
  'output_format_json_quote_64bit_integers = 1',
  'async_insert = 0',
  'mutations_sync = 0',
  "date_time_input_format = 'basic'",
  'implicit_select = 0',
  'allow_introspection_functions = 0',
  'input_format_skip_unknown_fields = 1',
];

function openConnection() {
  return new Session(dataDir);
}

// ------------------------------------------------------------ ClickHouse ----
// Error names for codes the server itself raises (the engine supplies its own).
const ERR = {
  SYNTAX_ERROR: 62,
  NOT_IMPLEMENTED: 48,
  UNKNOWN_DATABASE: 81,
  BAD_ARGUMENTS: 36,
  CANNOT_DECOMPRESS: 271,
  SESSION_NOT_FOUND: 372,
  SESSION_IS_LOCKED: 373,
  AUTHENTICATION_FAILED: 516,
  HTTP_LENGTH_REQUIRED: 381,
  UNKNOWN_FORMAT: 73,
  STD_EXCEPTION: 1001,
};
class HttpQueryError extends Error {
  constructor(code, name, message) {
    super(`Code: ${code}. DB::Exception: ${message}. (${name})`);
    this.clickhouseCode = code;
  }
}
const err = (name, message) => new HttpQueryError(ERR[name], name, message);

// Which HTTP status ClickHouse answers for an exception (a subset of
// HTTPHandler's exceptionCodeToHTTPStatus).
function httpStatusFor(code, name) {
  if (name === 'AUTHENTICATION_FAILED' || name === 'UNKNOWN_USER' || name === 'WRONG_PASSWORD' || name === 'REQUIRED_PASSWORD' || name === 'ACCESS_DENIED' || name === 'READONLY') return 403;
  if (
    /^(UNKNOWN_(TABLE|DATABASE|FUNCTION|IDENTIFIER|TYPE|STORAGE|SETTING|AGGREGATE_FUNCTION|FORMAT|ELEMENT_IN_CONFIG|COLUMN)|NO_SUCH_COLUMN_IN_TABLE|THERE_IS_NO_COLUMN|RESOURCE_NOT_FOUND)$/.test(
      name,
    ) &&
    name !== 'UNKNOWN_SETTING'
  )
    return 404;
  if (
    /^(SYNTAX_ERROR|CANNOT_PARSE_.*|CANNOT_READ_.*|TOO_DEEP_AST|TOO_BIG_AST|UNEXPECTED_AST_STRUCTURE|TYPE_MISMATCH|ILLEGAL_TYPE_OF_ARGUMENT|ILLEGAL_COLUMN|NUMBER_OF_ARGUMENTS_DOESNT_MATCH|BAD_ARGUMENTS|UNKNOWN_SETTING|INCORRECT_DATA|INCORRECT_QUERY|VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE|CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN|DUPLICATE_COLUMN|NO_ELEMENTS_IN_CONFIG|UNKNOWN_QUERY_PARAMETER|QUERY_PARAMETER_.*|ATTEMPT_TO_READ_AFTER_EOF|CANNOT_DECOMPRESS|SESSION_NOT_FOUND)$/.test(
      name,
    )
  )
    return 400;
  if (name === 'NOT_IMPLEMENTED') return 501;
  if (name === 'SESSION_IS_LOCKED') return 423;
  if (name === 'TIMEOUT_EXCEEDED') return 500;
  void code;
  return 500;
}

// `Code: N. DB::Exception: message (NAME)` out of whatever was thrown. The
// name is the last `(NAME)` of the message (earlier ones can be query text).
function describeError(e) {
  let message = (e && e.message != null ? String(e.message) : String(e)).replace(/\s+$/, '');
  let codeMatch = /^Code: (\d+)\./.exec(message);
  let nameMatch = /\(([A-Z][A-Z0-9_]{2,})\)(?:\s*\(version [^)]*\))?$/.exec(message);
  if (!codeMatch || !nameMatch) {
    message = `Code: ${ERR.STD_EXCEPTION}. DB::Exception: ${message}. (STD_EXCEPTION)`;
    codeMatch = /^Code: (\d+)\./.exec(message);
    nameMatch = /\((STD_EXCEPTION)\)$/.exec(message);
  }
  const code = Number((e && e.clickhouseCode) || codeMatch[1]);
  const name = nameMatch[1];
  if (!/\(version [^)]*\)$/.test(message)) message = `${message} (version ${engineVersion})`;
  return { code, name, message, status: httpStatusFor(code, name) };
}

// URL parameters that belong to the HTTP layer, not to the query's settings.
const HTTP_PARAMS = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'session_id',
  'session_timeout',
  'session_check',
  'user',
  'password',
  'quota_key',
  'compress',
  'decompress',
  'buffer_size',
  'wait_end_of_query',
  'role',
  'stacktrace',
  'client_protocol_version',
  'enable_http_compression',
  'http_zlib_compression_level',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'http_wait_end_of_query',
  'cancel_http_readonly_queries_on_client_close',
  'add_http_cors_header',
  'http_native_compression_disable_checksumming_on_decompress',
  'http_max_field_value_size',
  'http_max_fields',
  'http_max_uri_size',
  'http_make_head_request',
  'http_response_headers',
  'max_http_get_redirects',
  'output_format_parallel_formatting_for_http',
]);

function settingLiteral(value) {
  if (/^-?\d+(\.\d+)?$/.test(value)) return value;
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

// Statement scanner: skips string literals, quoted identifiers and comments.
// Returns the index of a statement-separating ';' followed by more SQL, or -1.
function secondStatementIndex(sql) {
  let i = 0;
  const n = sql.length;
  let sawSemicolon = -1;
  while (i < n) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < n && sql[i] !== c) i += sql[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '#' && (sql[i + 1] === ' ' || sql[i + 1] === '!')) {
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === ';') {
      sawSemicolon = i;
      i++;
      continue;
    }
    if (sawSemicolon >= 0 && !/\s/.test(c)) return sawSemicolon;
    i++;
  }
  return -1;
}

function firstKeyword(sql) {
  const m = /^(?:\s+|--[^\n]*\n|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/.exec(sql);
  return m ? m[1].toUpperCase() : '';
}
const STREAMABLE = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'EXISTS', 'VALUES']);

// The FORMAT clause at the end of a query, if any.
function formatClause(sql) {
  const m = /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;*\s*$/i.exec(sql);
  return m ? m[1] : null;
}

const CONTENT_TYPES = [
  [/^(JSON|JSONStrings|JSONCompact|JSONCompactStrings|JSONColumns|JSONColumnsWithMetadata|JSONCompactColumns|JSONObjectEachRow)$/i, 'application/json; charset=UTF-8'],
  [
    /^(JSONEachRow|JSONStringsEachRow|JSONCompactEachRow.*|JSONCompactStringsEachRow.*|JSONEachRowWithProgress|JSONStringsEachRowWithProgress|NDJSON|JSONLines)$/i,
    'application/x-ndjson; charset=UTF-8',
  ],
  [/^(TabSeparated.*|TSV.*)$/i, 'text/tab-separated-values; charset=UTF-8'],
  [/^(CSV.*)$/i, 'text/csv; charset=UTF-8; header=absent'],
  [/^(Parquet|Arrow|ArrowStream|Native|RowBinary.*|ORC|Avro|MsgPack|Protobuf.*|CapnProto)$/i, 'application/octet-stream'],
];
function contentTypeFor(format) {
  for (const [re, ct] of CONTENT_TYPES) if (re.test(format)) return ct;
  return 'text/plain; charset=UTF-8';
}

// Placeholder types declared in the SQL: {name:Type}.
function placeholderTypes(sql) {
  const types = new Map();
  const re = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}/g;
  let m;
  while ((m = re.exec(sql))) types.set(m[1], m[2]);
  return types;
}
function isCompositeType(type) {
  let t = type.trim();
  for (;;) {
    const m = /^(?:Nullable|LowCardinality)\s*\(([\s\S]*)\)$/.exec(t);
    if (!m) break;
    t = m[1].trim();
  }
  return /^(Array|Tuple|Map|Nested)\s*\(/i.test(t);
}

const SIMPLE_ESCAPES = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', 0: '\0', a: '\x07', v: '\x0b' };
// HTTP param values arrive in ClickHouse's "escaped" text form (what the server
// would feed to the type's text deserializer). chdb's queryBindAsync takes JS
// values and escapes strings itself, so hand it the value that its escaping
// turns back into an equivalent text:
//  - scalar types: the unescaped string (chdb re-escapes it);
//  - Array/Tuple/Map: the literal with escapes inside quoted strings undone,
//    except the quote itself, which becomes '' (the backslash would be doubled).
function decodeParam(raw, type) {
  if (raw === '\\N') return null;
  const composite = type !== undefined && isCompositeType(type);
  let out = '';
  let inQuote = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (composite && !inQuote) {
      if (c === "'") inQuote = true;
      out += c;
      continue;
    }
    if (composite && c === "'") {
      if (raw[i + 1] === "'") {
        out += "''";
        i++;
        continue;
      }
      inQuote = false;
      out += c;
      continue;
    }
    if (c !== '\\' || i + 1 >= raw.length) {
      out += c;
      continue;
    }
    const e = raw[++i];
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (e === 'x' && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e === "'" && composite) out += "''";
    else out += e;
  }
  return out;
}

// The INSERT the client sends in the URL: `INSERT INTO db.t (a, b) FORMAT X`.
const RAW_INSERT_FORMATS = new Map([
  ['jsoneachrow', 'JSONEachRow'],
  ['jsoncompacteachrow', 'JSONCompactEachRow'],
  ['csv', 'CSV'],
  ['csvwithnames', 'CSVWithNames'],
  ['tsv', 'TSV'],
  ['tabseparated', 'TabSeparated'],
  ['tsvwithnames', 'TSVWithNames'],
  ['tabseparatedwithnames', 'TabSeparatedWithNames'],
]);
function parseSimpleInsert(sql) {
  const m = /^\s*INSERT\s+INTO\s+(?:TABLE\s+)?([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)\s*(?:\(([^()]*)\))?\s*FORMAT\s+([A-Za-z0-9_]+)\s*$/i.exec(sql);
  if (!m) return null;
  const format = RAW_INSERT_FORMATS.get(m[3].toLowerCase());
  if (!format) return null;
  let columns;
  if (m[2] !== undefined) {
    columns = m[2].split(',').map((s) => s.trim());
    if (columns.some((c) => !/^[A-Za-z0-9_]+$/.test(c))) return null;
  }
  return { table: m[1], columns, format };
}

function parseMultipart(body, contentType) {
  const bm = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!bm) throw err('BAD_ARGUMENTS', 'multipart/form-data without boundary');
  const boundary = Buffer.from(`--${bm[1] || bm[2]}`);
  const parts = {};
  let pos = body.indexOf(boundary);
  while (pos >= 0) {
    pos += boundary.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    if (body.subarray(pos, pos + 2).toString() === '\r\n') pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) break;
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(boundary, headerEnd + 4);
    if (next < 0) break;
    let end = next;
    if (body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    if (name !== undefined) {
      if (/filename=/i.test(headers)) throw err('NOT_IMPLEMENTED', 'External tables are not supported by this chdb HTTP server');
      parts[name] = body.subarray(headerEnd + 4, end).toString('utf8');
    }
    pos = next;
  }
  return parts;
}

async function readBody(req) {
  const encoding = String(req.headers['content-encoding'] || '')
    .toLowerCase()
    .trim();
  let source = req;
  if (encoding && encoding !== 'identity') {
    const make = {
      gzip: () => zlib.createGunzip(),
      'x-gzip': () => zlib.createGunzip(),
      deflate: () => zlib.createInflate(),
      br: () => zlib.createBrotliDecompress(),
      zstd: typeof zlib.createZstdDecompress === 'function' ? () => zlib.createZstdDecompress() : undefined,
    }[encoding];
    if (!make) throw err('CANNOT_DECOMPRESS', `Unknown Content-Encoding: ${encoding}`);
    source = req.pipe(make());
    req.on('error', (e) => source.destroy(e));
  }
  const chunks = [];
  try {
    for await (const chunk of source) chunks.push(chunk);
  } catch (e) {
    if (encoding) throw err('CANNOT_DECOMPRESS', `Cannot decompress ${encoding} request body: ${e.message}`);
    throw e;
  }
  return Buffer.concat(chunks);
}

function credentials(req, url) {
  let user = url.searchParams.get('user');
  let password = url.searchParams.get('password');
  const h = req.headers;
  if (h['x-clickhouse-user'] !== undefined) user = String(h['x-clickhouse-user']);
  if (h['x-clickhouse-key'] !== undefined) password = String(h['x-clickhouse-key']);
  const auth = h.authorization;
  if (auth && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    user = i < 0 ? decoded : decoded.slice(0, i);
    password = i < 0 ? '' : decoded.slice(i + 1);
  } else if (auth && /^bearer /i.test(auth)) {
    throw err('AUTHENTICATION_FAILED', 'JWT authentication is not supported by this chdb HTTP server');
  }
  user = user || 'default';
  password = password || '';
  if (user !== 'default' || password !== opts.password) {
    throw err('AUTHENTICATION_FAILED', `${user}: Authentication failed: password is incorrect, or there is no user with such name`);
  }
  return user;
}

// ------------------------------------------------------------- sessions ----
const sessions = new Map(); // id -> { conn, busy, timer, timeoutMs }
function touchSession(id, s) {
  clearTimeout(s.timer);
  s.timer = setTimeout(() => {
    if (s.busy) return touchSession(id, s);
    sessions.delete(id);
    s.conn.close();
  }, s.timeoutMs);
  s.timer.unref();
}

// ---------------------------------------------------------------- server ----
let active = 0;

function summaryHeader(s) {
  const str = (v) => String(Math.max(0, Math.round(Number(v) || 0)));
  return JSON.stringify({
    read_rows: str(s.read_rows),
    read_bytes: str(s.read_bytes),
    written_rows: str(s.written_rows),
    written_bytes: str(s.written_bytes),
    total_rows_to_read: str(s.total_rows_to_read),
    result_rows: str(s.result_rows),
    result_bytes: str(s.result_bytes),
    elapsed_ns: str(s.elapsed_ns),
  });
}

function responseCompressor(req, settingsOn) {
  if (!settingsOn) return null;
  const accept = String(req.headers['accept-encoding'] || '').toLowerCase();
  if (/\bgzip\b/.test(accept)) return { name: 'gzip', make: () => zlib.createGzip({ level: 3 }) };
  if (/\bdeflate\b/.test(accept)) return { name: 'deflate', make: () => zlib.createDeflate({ level: 3 }) };
  if (/\bbr\b/.test(accept)) return { name: 'br', make: () => zlib.createBrotliCompress() };
  if (/\bzstd\b/.test(accept) && typeof zlib.createZstdCompress === 'function') {
    return { name: 'zstd', make: () => zlib.createZstdCompress() };
  }
  return null;
}

function sendError(res, e, queryId) {
  const d = describeError(e);
  log(`query ${queryId} failed: ${d.message.split('\n')[0]}`);
  if (res.headersSent) return res.destroy();
  res.writeHead(d.status, {
    'Content-Type': 'text/plain; charset=UTF-8',
    'X-ClickHouse-Exception-Code': String(d.code),
    'X-ClickHouse-Query-Id': queryId,
    'X-ClickHouse-Server-Display-Name': 'chdb-http',
    'X-ClickHouse-Timezone': engineTimezone,
  });
  res.end(`${d.message}\n`);
}

async function handle(req, res) {
  const url = new URL(req.url || '/', 'http://localhost');
  const pathname = url.pathname;
  const queryId = url.searchParams.get('query_id') || String(req.headers['x-clickhouse-query-id'] || '') || randomUUID();

  if ((req.method === 'GET' || req.method === 'HEAD') && (pathname === '/ping' || pathname === '/replicas_status' || (pathname === '/' && !url.searchParams.has('query')))) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': '4' });
    return res.end(req.method === 'HEAD' ? undefined : 'Ok.\n');
  }
  if (pathname !== '/' && pathname !== '/query') {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' });
    return res.end(`There is no handle ${pathname}\n`);
  }
  if (req.method !== 'GET' && req.method !== 'POST') {
    res.writeHead(405, { 'Content-Type': 'text/plain; charset=UTF-8', Allow: 'GET, POST' });
    return res.end('Method not allowed\n');
  }

  let conn = null;
  let session = null;
  let stream = null;
  let ownsConn = false;
  const started = process.hrtime.bigint();
  try {
    credentials(req, url);
    if (url.searchParams.get('compress') === '1' || url.searchParams.get('decompress') === '1') {
      throw err('NOT_IMPLEMENTED', 'ClickHouse-native compression (compress=1/decompress=1) is not supported by this chdb HTTP server');
    }

    let body = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
    const params = {};
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
    const settings = [];
    for (const [k, v] of url.searchParams) {
      if (k.startsWith('param_')) params[k.slice(6)] = v;
      else if (!HTTP_PARAMS.has(k)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw err('BAD_ARGUMENTS', `Invalid setting name ${JSON.stringify(k)}`);
        settings.push(`${k} = ${settingLiteral(v)}`);
      }
    }
    if (req.method === 'GET') settings.push('readonly = 2');

    // Where the SQL is: URL only, body only, or URL start + "\n" + body (INSERT data).
    let sql;
    let insertData = null;
    if (urlQuery !== null && body.length > 0) {
      const simple = parseSimpleInsert(urlQuery);
      if (simple) insertData = { ...simple, data: body };
      sql = insertData ? urlQuery : `${urlQuery}\n${body.toString('utf8')}`;
    } else if (urlQuery !== null) {
      sql = urlQuery;
    } else {
      sql = body.toString('utf8');
    }
    if (!sql.trim()) throw err('SYNTAX_ERROR', 'Empty query');
    if (firstKeyword(sql) !== 'INSERT' && secondStatementIndex(sql) >= 0) {
      throw err('SYNTAX_ERROR', 'Multi-statements are not allowed');
    }

    // Connection: the session's, or a fresh one for this request.
    const sessionId = url.searchParams.get('session_id');
    if (sessionId) {
      session = sessions.get(sessionId);
      if (!session) {
        if (url.searchParams.get('session_check') === '1') throw err('SESSION_NOT_FOUND', `Session ${sessionId} not found`);
        session = { conn: openConnection(), busy: false, fresh: true, timer: null, timeoutMs: 60_000 };
        sessions.set(sessionId, session);
      }
      if (session.busy) throw err('SESSION_IS_LOCKED', `Session ${sessionId} is locked by a concurrent client`);
      const t = Number(url.searchParams.get('session_timeout'));
      if (t > 0) session.timeoutMs = t * 1000;
      session.busy = true;
      clearTimeout(session.timer);
      conn = session.conn;
    } else {
      conn = openConnection();
      ownsConn = true;
    }

    const database = url.searchParams.get('database') || String(req.headers['x-clickhouse-database'] || '');
    if (database && database !== 'default') await conn.queryAsync(`USE \`${database.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``);
    if (ownsConn || session.fresh) settings.unshift(...SERVER_DEFAULTS);
    if (settings.length) await conn.queryAsync(`SET ${settings.join(', ')}`);
    if (session) session.fresh = false;

    const defaultFormat = url.searchParams.get('default_format') || String(req.headers['x-clickhouse-format'] || '') || 'TabSeparated';
    const format = insertData ? defaultFormat : formatClause(sql) || defaultFormat;
    const compressor = responseCompressor(req, url.searchParams.get('enable_http_compression') === '1');
    const headers = {
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
      const r = await conn.insert({
        table: insertData.table,
        columns: insertData.columns,
        values: insertData.data,
        format: insertData.format,
      });
      headers['X-ClickHouse-Summary'] = summaryHeader({
        written_rows: r.rowsWritten,
        written_bytes: r.bytesWritten,
        elapsed_ns: elapsedNs(),
      });
      res.writeHead(200, headers);
      return res.end();
    }

    const hasParams = Object.keys(params).length > 0;
    let bound = {};
    if (hasParams) {
      const types = placeholderTypes(sql);
      for (const [k, v] of Object.entries(params)) bound[k] = decodeParam(v, types.get(k));
    }
    const waitEnd = url.searchParams.get('wait_end_of_query') === '1';

    // SELECT-like statements stream; the rest (DDL, INSERT ... SELECT, ALTER,
    // SET, USE, ...) run to completion, which chdb's streaming refuses anyway.
    if (STREAMABLE.has(firstKeyword(sql))) {
      try {
        stream = hasParams ? conn.queryStreamBind(sql, bound, { format: defaultFormat }) : conn.queryStream(sql, { format: defaultFormat });
      } catch (e) {
        if (!/Streaming query is not supported/.test(String(e && e.message))) throw e;
        stream = null;
      }
    }
    if (stream) {
      const it = stream[Symbol.asyncIterator]();
      let first = await it.next(); // errors before the first byte become a proper error response
      let resultRows = 0;
      let resultBytes = 0;
      if (waitEnd) {
        const chunks = [];
        while (!first.done) {
          chunks.push(Buffer.from(first.value.raw()));
          resultRows += first.value.numRows;
          first = await it.next();
        }
        const out = Buffer.concat(chunks);
        resultBytes = out.length;
        headers['X-ClickHouse-Summary'] = summaryHeader({ result_rows: resultRows, result_bytes: resultBytes, read_rows: resultRows, elapsed_ns: elapsedNs() });
        return await sendBody(res, headers, out, compressor);
      }
      const tag = randomUUID().replace(/-/g, '').slice(0, 16);
      headers['X-ClickHouse-Exception-Tag'] = tag;
      headers['X-ClickHouse-Summary'] = summaryHeader({ elapsed_ns: elapsedNs() });
      res.writeHead(200, headers);
      const sink = compressor ? compressor.make() : null;
      const done = sink ? pipeline(sink, res) : null;
      const out = sink || res;
      const write = (buf) =>
        new Promise((resolve, reject) => {
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
        while (!first.done) {
          await write(Buffer.from(first.value.raw()));
          first = await it.next();
        }
      } catch (e) {
        if (res.destroyed || /client went away/.test(String(e && e.message))) {
          stream.cancel();
          return;
        }
        // ClickHouse >= 25.11 framing for an exception after the response started.
        const msg = describeError(e).message;
        const len = Buffer.byteLength(msg) + 1;
        await write(Buffer.from(`\r\n__exception__\r\n${tag}\r\n${msg}\n${len} ${tag}\r\n__exception__\r\n`)).catch(() => {});
        log(`query ${queryId} failed mid-stream: ${msg.split('\n')[0]}`);
      }
      out.end();
      if (done) await done.catch(() => {});
      return;
    }

    const result = hasParams ? await conn.queryBindAsync(sql, bound, { format: defaultFormat }) : await conn.queryAsync(sql, { format: defaultFormat });
    const out = Buffer.from(result.bytes());
    headers['X-ClickHouse-Summary'] = summaryHeader({
      read_rows: result.rowsRead,
      read_bytes: result.bytesRead,
      result_rows: 0,
      result_bytes: out.length,
      elapsed_ns: elapsedNs(),
    });
    return await sendBody(res, headers, out, compressor);
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
  }
}

async function sendBody(res, headers, buf, compressor) {
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

const server = http.createServer({ maxHeaderSize: 1024 * 1024, keepAliveTimeout: 10_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
  active++;
  res.on('close', () => {
    active--;
  });
  handle(req, res).catch((e) => {
    log(`internal error: ${e && e.stack}`);
    try {
      sendError(res, e, 'unknown');
    } catch {
      res.destroy();
    }
  });
});
server.keepAliveTimeout = 10_000;

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: shutting down (${active} requests in flight)`);
  server.close();
  server.closeIdleConnections?.();
  const deadline = Date.now() + 5000;
  while (active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  server.closeAllConnections?.();
  for (const s of sessions.values()) {
    clearTimeout(s.timer);
    s.conn.close();
  }
  anchor.close();
  await drainPending().catch(() => {});
  logStream?.end();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

server.listen(opts.port, opts.host, () => {
  const addr = server.address();
  const info = {
    ready: true,
    url: `http://${opts.host}:${addr.port}`,
    port: addr.port,
    pid: process.pid,
    dataDir,
    engine: engineVersion,
    timezone: engineTimezone,
  };
  log(`listening: ${JSON.stringify(info)}`);
  process.stdout.write(`${JSON.stringify(info)}\n`);
});
