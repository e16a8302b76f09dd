// The parts of ClickHouse's HTTP interface (what @clickhouse/client speaks) that do not touch the
// engine: error framing, URL parameters, statement scanning, bodies and compression. The server
// that answers with chdb is chdb-http-server.ts.
import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import zlib from 'node:zlib';

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
} as const;

export class HttpQueryError extends Error {
  readonly clickhouseCode: number;
  constructor(code: number, name: string, message: string) {
    super(`Code: ${code}. DB::Exception: ${message}. (${name})`);
    this.clickhouseCode = code;
  }
}
export const queryError = (name: keyof typeof ERR, message: string): HttpQueryError => new HttpQueryError(ERR[name], name, message);

// Which HTTP status ClickHouse answers for an exception (a subset of HTTPHandler's exceptionCodeToHTTPStatus).
function httpStatusFor(name: string): number {
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
  return 500;
}

export interface DescribedError {
  code: number;
  name: string;
  message: string;
  status: number;
}

// `Code: N. DB::Exception: message (NAME)` out of whatever was thrown. The name is the last
// `(NAME)` of the message (earlier ones can be query text).
export function describeError(e: unknown, engineVersion: string): DescribedError {
  const thrown = e as { message?: unknown; clickhouseCode?: number } | null;
  let message = (thrown && thrown.message != null ? String(thrown.message) : String(e)).replace(/\s+$/, '');
  let codeMatch = /^Code: (\d+)\./.exec(message);
  let nameMatch = /\(([A-Z][A-Z0-9_]{2,})\)(?:\s*\(version [^)]*\))?$/.exec(message);
  if (!codeMatch || !nameMatch) {
    message = `Code: ${ERR.STD_EXCEPTION}. DB::Exception: ${message}. (STD_EXCEPTION)`;
    codeMatch = /^Code: (\d+)\./.exec(message)!;
    nameMatch = /\((STD_EXCEPTION)\)$/.exec(message)!;
  }
  const code = Number(thrown?.clickhouseCode || codeMatch[1]);
  const name = nameMatch[1]!;
  if (!/\(version [^)]*\)$/.test(message)) message = `${message} (version ${engineVersion})`;
  return { code, name, message, status: httpStatusFor(name) };
}

// URL parameters that belong to the HTTP layer, not to the query's settings.
export const HTTP_PARAMS = new Set([
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

export function settingLiteral(value: string): string {
  if (/^-?\d+(\.\d+)?$/.test(value)) return value;
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

// Statement scanner: skips string literals, quoted identifiers and comments.
// Returns the index of a statement-separating ';' followed by more SQL, or -1.
export function secondStatementIndex(sql: string): number {
  let i = 0;
  const n = sql.length;
  let sawSemicolon = -1;
  while (i < n) {
    const c = sql[i]!;
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

export function firstKeyword(sql: string): string {
  const m = /^(?:\s+|--[^\n]*\n|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/.exec(sql);
  return m ? m[1]!.toUpperCase() : '';
}
export const STREAMABLE = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'EXISTS', 'VALUES']);

// The FORMAT clause at the end of a query, if any.
export function formatClause(sql: string): string | null {
  const m = /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;*\s*$/i.exec(sql);
  return m ? m[1]! : null;
}

const CONTENT_TYPES: [RegExp, string][] = [
  [/^(JSON|JSONStrings|JSONCompact|JSONCompactStrings|JSONColumns|JSONColumnsWithMetadata|JSONCompactColumns|JSONObjectEachRow)$/i, 'application/json; charset=UTF-8'],
  [
    /^(JSONEachRow|JSONStringsEachRow|JSONCompactEachRow.*|JSONCompactStringsEachRow.*|JSONEachRowWithProgress|JSONStringsEachRowWithProgress|NDJSON|JSONLines)$/i,
    'application/x-ndjson; charset=UTF-8',
  ],
  [/^(TabSeparated.*|TSV.*)$/i, 'text/tab-separated-values; charset=UTF-8'],
  [/^(CSV.*)$/i, 'text/csv; charset=UTF-8; header=absent'],
  [/^(Parquet|Arrow|ArrowStream|Native|RowBinary.*|ORC|Avro|MsgPack|Protobuf.*|CapnProto)$/i, 'application/octet-stream'],
];
export function contentTypeFor(format: string): string {
  for (const [re, ct] of CONTENT_TYPES) if (re.test(format)) return ct;
  return 'text/plain; charset=UTF-8';
}

// Placeholder types declared in the SQL: {name:Type}.
export function placeholderTypes(sql: string): Map<string, string> {
  const types = new Map<string, string>();
  const re = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}/g;
  let m;
  while ((m = re.exec(sql))) types.set(m[1]!, m[2]!);
  return types;
}
function isCompositeType(type: string): boolean {
  let t = type.trim();
  for (;;) {
    const m = /^(?:Nullable|LowCardinality)\s*\(([\s\S]*)\)$/.exec(t);
    if (!m) break;
    t = m[1]!.trim();
  }
  return /^(Array|Tuple|Map|Nested)\s*\(/i.test(t);
}

const SIMPLE_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', 0: '\0', a: '\x07', v: '\x0b' };
// HTTP param values arrive in ClickHouse's "escaped" text form (what the server would feed to the
// type's text deserializer). chdb's queryBindAsync takes JS values and escapes strings itself, so
// hand it the value that its escaping turns back into an equivalent text:
//  - scalar types: the unescaped string (chdb re-escapes it);
//  - Array/Tuple/Map: the literal with escapes inside quoted strings undone, except the quote
//    itself, which becomes '' (the backslash would be doubled).
export function decodeParam(raw: string, type: string | undefined): string | null {
  if (raw === '\\N') return null;
  const composite = type !== undefined && isCompositeType(type);
  let out = '';
  let inQuote = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
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
    const e = raw[++i]!;
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
export interface SimpleInsert {
  table: string;
  columns: string[] | undefined;
  format: string;
}
export function parseSimpleInsert(sql: string): SimpleInsert | null {
  const m = /^\s*INSERT\s+INTO\s+(?:TABLE\s+)?([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)\s*(?:\(([^()]*)\))?\s*FORMAT\s+([A-Za-z0-9_]+)\s*$/i.exec(sql);
  if (!m) return null;
  const format = RAW_INSERT_FORMATS.get(m[3]!.toLowerCase());
  if (!format) return null;
  let columns: string[] | undefined;
  if (m[2] !== undefined) {
    columns = m[2].split(',').map((s) => s.trim());
    if (columns.some((c) => !/^[A-Za-z0-9_]+$/.test(c))) return null;
  }
  return { table: m[1]!, columns, format };
}

export function parseMultipart(body: Buffer, contentType: string): Record<string, string> {
  const bm = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!bm) throw queryError('BAD_ARGUMENTS', 'multipart/form-data without boundary');
  const boundary = Buffer.from(`--${bm[1] || bm[2]}`);
  const parts: Record<string, string> = {};
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
      if (/filename=/i.test(headers)) throw queryError('NOT_IMPLEMENTED', 'External tables are not supported by this chdb HTTP server');
      parts[name] = body.subarray(headerEnd + 4, end).toString('utf8');
    }
    pos = next;
  }
  return parts;
}

type ZlibWithZstd = typeof zlib & { createZstdDecompress?: () => Transform; createZstdCompress?: () => Transform };
const zlibAll = zlib as ZlibWithZstd;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const encoding = String(req.headers['content-encoding'] || '')
    .toLowerCase()
    .trim();
  let source: Readable = req;
  if (encoding && encoding !== 'identity') {
    const make = (
      {
        gzip: () => zlib.createGunzip(),
        'x-gzip': () => zlib.createGunzip(),
        deflate: () => zlib.createInflate(),
        br: () => zlib.createBrotliDecompress(),
        zstd: zlibAll.createZstdDecompress ? () => zlibAll.createZstdDecompress!() : undefined,
      } as Record<string, (() => Transform) | undefined>
    )[encoding];
    if (!make) throw queryError('CANNOT_DECOMPRESS', `Unknown Content-Encoding: ${encoding}`);
    const decoded = req.pipe(make());
    req.on('error', (e) => decoded.destroy(e));
    source = decoded;
  }
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of source) chunks.push(chunk as Buffer);
  } catch (e) {
    if (encoding) throw queryError('CANNOT_DECOMPRESS', `Cannot decompress ${encoding} request body: ${(e as Error).message}`);
    throw e;
  }
  return Buffer.concat(chunks);
}

/** The user a request authenticates as; only `default` with the server's password gets in. */
export function credentials(req: IncomingMessage, url: URL, expectedPassword: string): string {
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
    throw queryError('AUTHENTICATION_FAILED', 'JWT authentication is not supported by this chdb HTTP server');
  }
  user = user || 'default';
  password = password || '';
  if (user !== 'default' || password !== expectedPassword) {
    throw queryError('AUTHENTICATION_FAILED', `${user}: Authentication failed: password is incorrect, or there is no user with such name`);
  }
  return user;
}

export interface QuerySummary {
  read_rows?: number;
  read_bytes?: number;
  written_rows?: number;
  written_bytes?: number;
  total_rows_to_read?: number;
  result_rows?: number;
  result_bytes?: number;
  elapsed_ns?: number;
}
export function summaryHeader(s: QuerySummary): string {
  const str = (v: number | undefined) => String(Math.max(0, Math.round(Number(v) || 0)));
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

export interface Compressor {
  name: string;
  make(): Transform;
}
export function responseCompressor(req: IncomingMessage, settingsOn: boolean): Compressor | null {
  if (!settingsOn) return null;
  const accept = String(req.headers['accept-encoding'] || '').toLowerCase();
  if (/\bgzip\b/.test(accept)) return { name: 'gzip', make: () => zlib.createGzip({ level: 3 }) };
  if (/\bdeflate\b/.test(accept)) return { name: 'deflate', make: () => zlib.createDeflate({ level: 3 }) };
  if (/\bbr\b/.test(accept)) return { name: 'br', make: () => zlib.createBrotliCompress() };
  if (/\bzstd\b/.test(accept) && zlibAll.createZstdCompress) return { name: 'zstd', make: () => zlibAll.createZstdCompress!() };
  return null;
}
