import type { PipelineConfig, TrackingPlan } from '../../src/config/config.js';
import { DEFAULT_EVENT_NAMES, EVENT_TYPES, MAX_MESSAGE_ID_LENGTH } from '../../src/domain/event.js';
import { ILLEGAL_IDS, MAX_ID_LENGTH } from '../../src/domain/identity.js';

/**
 * The per-line stages (parse → validate → clock skew → time range) as ClickHouse SQL over raw
 * lines, for the lines where SQL can be exact; the rest are left to the JavaScript stages, the one
 * reference. A line is `accepted` here only when createProcessLine would accept it with the same
 * fields (test/sql-line-stage.differential.test.ts); every other line is `js`, never a rejection,
 * so reason codes and details come from one implementation. A bench instrument, not part of `run`:
 * it costs about what the JS stages cost (docs/decisions/0029).
 */
export type SqlLineStageConfig = Pick<PipelineConfig, 'maxEventBytes' | 'maxNestingDepth' | 'futureToleranceMs' | 'futureEvents' | 'minEventTimeMs'> & {
  trackingPlan: TrackingPlan | null;
};

/** The stage's columns, in order. Values other than `verdict` mean something only where it is `accepted`. */
export const SQL_LINE_STAGE_COLUMNS = [
  'verdict',
  'message_id',
  'type',
  'event',
  'user_id',
  'anonymous_id',
  'previous_id',
  'identity_key',
  'event_time',
  'time_source',
  'skew_ms',
  'received_at',
  'app_version',
  'raw_hash',
] as const;

/**
 * Settings every query of the stage needs. With short-circuit evaluation, a value under an if/multiIf
 * or and/or is computed per use, not once: the stage took 20× the CPU and ran out of memory.
 */
export const SQL_LINE_STAGE_SETTINGS = { short_circuit_function_evaluation: 'disable' } as const;

export interface SqlLineStageQuery {
  /** A table expression with a `line` String column (e.g. `file('…', LineAsString)`). */
  source: string;
  /** When the lines arrived, epoch ms: one time for the batch, as ingest gives it. */
  arrivedAtMs: number;
  /** Columns of `source` to carry through after the stage's own (e.g. a line number). */
  passThrough?: readonly string[];
}

/**
 * The SELECT of the stage over `source`, or null when the configuration has a check that only
 * the JavaScript stages make (a tracking plan): then every line goes there.
 */
export function sqlLineStage(config: SqlLineStageConfig, query: SqlLineStageQuery): string | null {
  if (config.trackingPlan !== null) return null;
  if (!Number.isSafeInteger(query.arrivedAtMs)) throw new RangeError(`arrivedAtMs must be an integer epoch ms, got ${query.arrivedAtMs}`);
  const arrivedAt = `toInt64(${query.arrivedAtMs})`;
  const latest = `toInt64(${query.arrivedAtMs + config.futureToleranceMs})`;
  const tolerance = `toInt64(${config.futureToleranceMs})`;
  const minTime = int(config.minEventTimeMs);
  // Each layer reads the one below by column, so every value is computed once per line: the
  // line is parsed once (keys and raw values), the context and its app once each. One SELECT of
  // aliases instead passes the analyzer's 500,000-node limit (each alias is expanded where used).
  const layers: string[][] = [
    [
      // Exact only for text JSON.parse reads as SQL does: UTF-8, no escapes (strings are their
      // bytes), an object from the first byte to the last (a BOM or padding is JS's to judge),
      // under the size and opener count at which parse-line passes it without a walk.
      `isValidUTF8(line) AND position(line, ${quote('\\')}) = 0 AND startsWith(line, '{') AND endsWith(line, '}')
        AND length(line) <= ${int(config.maxEventBytes)}
        AND countSubstrings(line, '{') + countSubstrings(line, '[') <= ${int(config.maxNestingDepth)}
        AND isValidJSON(line) AS _plain`,
      'JSONExtractKeysAndValuesRaw(line) AS _top',
    ],
    [
      ...TOP_FIELDS.map((field) => `${rawOf('_top', field)} AS ${rawColumn(field)}`),
      // JSON.parse keeps the last of repeated keys, JSONExtract the first.
      'arrayUniq(_top.1) = length(_top.1) AS _top_unique',
    ],
    [`if(startsWith(${rawColumn('context')}, '{'), JSONExtractKeysAndValuesRaw(${rawColumn('context')}), []) AS _context`],
    [`${rawOf('_context', 'app')} AS _app_raw`, 'arrayUniq(_context.1) = length(_context.1) AS _context_unique'],
    [`if(startsWith(_app_raw, '{'), JSONExtractKeysAndValuesRaw(_app_raw), []) AS _app`],
    [
      `${rawOf('_app', 'version')} AS _version_raw`,
      'arrayUniq(_app.1) = length(_app.1) AS _app_unique',
      ...TOP_FIELDS.filter((field) => TEXT_FIELDS.includes(field)).map((field) => `${stringOf(rawColumn(field))} AS ${textColumn(field)}`),
      ...TIME_FIELDS.flatMap((field) => timeParts(field)),
    ],
    [
      `if(${rawColumn('type')} = '', 'track', ${textColumn('type')}) AS _type`,
      `${rawColumn('type')} = '' OR (${isString(rawColumn('type'))} AND ${textColumn('type')} IN (${list(EVENT_TYPES)})) AS _type_ok`,
      `${isString(rawColumn('messageId'))} AND ${named(textColumn('messageId'))} AND length(${textColumn('messageId')}) <= ${int(MAX_MESSAGE_ID_LENGTH)} AS _message_id_ok`,
      ...['event', 'name'].flatMap((field) => [
        `${isString(rawColumn(field))} AND ${named(textColumn(field))} AS _${field}_named`,
        `${isAbsentOrNull(rawColumn(field))} OR (${isString(rawColumn(field))} AND match(${textColumn(field)}, '^ *$')) AS _${field}_blank`,
      ]),
      ...ID_FIELDS.flatMap(([field, prefix]) => idValue(field, prefix)),
      ...TIME_FIELDS.flatMap((field) => timeValue(field)),
      `${rawColumn('properties')} = '' OR ${rawColumn('properties')} = 'null' OR startsWith(${rawColumn('properties')}, '{') AS _properties_ok`,
      // String(number) is JavaScript's to write; a string ClickHouse wrote back escaped is JS's to read.
      `_version_raw = '' OR _version_raw = 'null' OR (${isString('_version_raw')} AND position(_version_raw, ${quote('\\')}) = 0)
        OR startsWith(_version_raw, '{') OR startsWith(_version_raw, '[') OR _version_raw IN ('true', 'false') AS _version_ok`,
      `if(${isString('_version_raw')}, ${stringOf('_version_raw')}, NULL) AS _app_version`,
    ],
    [
      `multiIf(_event_named, ${textColumn('event')}, _type = 'track' OR NOT _event_blank, '', _name_named, ${textColumn('name')}, _name_blank, ${defaultNames()}, '') AS _event`,
      `_user_plain AND _anonymous_plain AND (_user_id IS NOT NULL OR _anonymous_id IS NOT NULL) AS _ids_ok`,
      `_type != 'alias' OR (_previous_id IS NOT NULL AND _user_id IS NOT NULL) AS _alias_ok`,
      // createCorrectClockSkew, branch by branch.
      `if(_ra IS NULL, coalesce(_ts, _sa), _ts) AS _client`,
      `ifNull(_ra, ${arrivedAt}) AS _bound`,
    ],
    [
      `multiIf(
        _ra IS NULL AND _client IS NULL, 'received_at',
        _ra IS NOT NULL AND _ts IS NOT NULL AND _sa IS NOT NULL AND _ts > _sa, 'client_time_rejected',
        _ra IS NOT NULL AND _ts IS NOT NULL AND _sa IS NOT NULL, 'skew_corrected',
        _ra IS NOT NULL AND _ts IS NULL, 'received_at',
        assumeNotNull(_client) > _bound + ${tolerance}, 'clamped_future',
        'timestamp') AS _time_source`,
    ],
    [
      `toInt64(multiIf(
        _time_source = 'received_at', _bound,
        _time_source = 'client_time_rejected', assumeNotNull(_ra),
        _time_source = 'skew_corrected', assumeNotNull(_ra) - (assumeNotNull(_sa) - assumeNotNull(_ts)),
        _time_source = 'clamped_future', _bound,
        assumeNotNull(_client))) AS _event_time`,
      `toInt64(multiIf(
        _time_source = 'skew_corrected', assumeNotNull(_sa) - assumeNotNull(_ra),
        _time_source = 'clamped_future', assumeNotNull(_client) - _bound,
        0)) AS _skew_ms`,
    ],
    [
      // createCheckTimeRange: the collector's receivedAt and the corrected time.
      `(_ra IS NULL OR (assumeNotNull(_ra) >= ${minTime} AND assumeNotNull(_ra) <= ${latest}))
        AND _event_time >= ${minTime} AND _event_time <= ${latest} AS _in_range`,
      config.futureEvents === 'reject' ? `_time_source != 'clamped_future' AS _future_ok` : `1 AS _future_ok`,
    ],
  ];
  const verdict = `if(_plain AND _top_unique AND _context_unique AND _app_unique AND _type_ok AND _message_id_ok AND _event != '' AND _ids_ok
      AND _alias_ok AND _ts_ok AND _sa_ok AND _ra_ok AND _properties_ok AND _version_ok AND _future_ok AND _in_range, 'accepted', 'js')`;
  const outputs = [
    `${verdict} AS verdict`,
    `${textColumn('messageId')} AS message_id`,
    '_type AS type',
    '_event AS event',
    '_user_id AS user_id',
    '_anonymous_id AS anonymous_id',
    `if(_type = 'alias', _previous_id, NULL) AS previous_id`,
    `coalesce(_user_id, _anonymous_id, '') AS identity_key`,
    '_event_time AS event_time',
    '_time_source AS time_source',
    '_skew_ms AS skew_ms',
    '_bound AS received_at',
    '_app_version AS app_version',
    'lower(hex(SHA256(line))) AS raw_hash',
    ...(query.passThrough ?? []),
  ];
  const body = layers.reduce((from, columns) => `(SELECT *,\n  ${columns.join(',\n  ')}\nFROM ${from})`, query.source);
  return `SELECT ${outputs.join(',\n  ')}\nFROM ${body}`;
}

/** The top-level fields the stages read. */
const TOP_FIELDS = ['type', 'messageId', 'event', 'name', 'userId', 'anonymousId', 'previousId', 'timestamp', 'sentAt', 'receivedAt', 'properties', 'context'];
const TEXT_FIELDS = ['type', 'messageId', 'event', 'name', 'userId', 'anonymousId', 'previousId', 'timestamp', 'sentAt', 'receivedAt'];
const ID_FIELDS = [
  ['userId', '_user'],
  ['anonymousId', '_anonymous'],
  ['previousId', '_previous'],
] as const;
const TIME_FIELDS = ['timestamp', 'sentAt', 'receivedAt'] as const;
const TIME_PREFIX: Record<(typeof TIME_FIELDS)[number], string> = { timestamp: '_ts', sentAt: '_sa', receivedAt: '_ra' };

const rawColumn = (field: string) => `_raw_${field}`;
const textColumn = (field: string) => `_text_${field}`;
/** The raw JSON of `field` in a keys-and-raw-values array: '' when absent. */
const rawOf = (pairs: string, field: string) => `arrayElement(${pairs}.2, indexOf(${pairs}.1, '${field}'))`;
const isString = (raw: string) => `startsWith(${raw}, '"')`;
const isAbsentOrNull = (raw: string) => `(${raw} = '' OR ${raw} = 'null')`;
/** A string value's text: the raw JSON without its quotes (the line has no escapes). */
const stringOf = (raw: string) => `substring(${raw}, 2, length(${raw}) - 2)`;

/** Printable ASCII: trim is the space alone, UTF-16 length is bytes, lower() is toLowerCase. */
const ASCII = `'^[ -~]*$'`;
/** Printable ASCII with a character that is not a space: nonEmptyString's test on such text. */
const ASCII_NAMED = `'^[ -~]*[!-~][ -~]*$'`;
const named = (column: string) => `match(${column}, ${ASCII_NAMED})`;

/** validate-event's idValue and isLegalId: `<prefix>_plain` when SQL reads it as JS does, `<prefix>_id` the legal id or NULL. */
function idValue(field: string, prefix: string): string[] {
  const raw = rawColumn(field);
  const text = textColumn(field);
  return [
    `${isAbsentOrNull(raw)} OR (${isString(raw)} AND match(${text}, ${ASCII})) AS ${prefix}_plain`,
    `if(${isString(raw)} AND ${named(text)} AND lower(trimBoth(${text})) NOT IN (${list([...ILLEGAL_IDS])}) AND length(${text}) <= ${int(MAX_ID_LENGTH)},
      ${text}, NULL) AS ${prefix}_id`,
  ];
}

/** A time's year, month, day, hour, minute, second and millisecond, read as digits (0 where they are not). */
function timeParts(field: (typeof TIME_FIELDS)[number]): string[] {
  const prefix = TIME_PREFIX[field];
  const text = textColumn(field);
  const part = (name: string, start: number, length: number) => `toInt64OrZero(substring(${text}, ${start}, ${length})) AS ${prefix}_${name}`;
  return [part('y', 1, 4), part('mo', 6, 2), part('d', 9, 2), part('h', 12, 2), part('mi', 15, 2), part('s', 18, 2), part('ms', 21, 3)];
}

/**
 * A wire time SQL reads exactly: absent or null, or `YYYY-MM-DDTHH:MM:SS.sssZ` with a real date
 * and time in DateTime64's years 1900–2299 (parseEventTimestamp's canonical path). `<prefix>` is its
 * epoch ms or NULL; `<prefix>_ok` false for every other shape (numbers, offsets, luxon's forms,
 * other years), which JS reads.
 */
function timeValue(field: (typeof TIME_FIELDS)[number]): string[] {
  const prefix = TIME_PREFIX[field];
  const raw = rawColumn(field);
  const [y, mo, d] = [`${prefix}_y`, `${prefix}_mo`, `${prefix}_d`];
  const canonical = `${isString(raw)} AND match(${textColumn(field)}, '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$')
      AND ${y} BETWEEN 1900 AND 2299 AND ${mo} BETWEEN 1 AND 12 AND ${d} BETWEEN 1 AND ${daysInMonth(y, mo)}
      AND ${prefix}_h <= 23 AND ${prefix}_mi <= 59 AND ${prefix}_s <= 59`;
  return [
    `${canonical} AS ${prefix}_canonical`,
    `${isAbsentOrNull(raw)} OR ${prefix}_canonical AS ${prefix}_ok`,
    `if(${prefix}_canonical, toUnixTimestamp64Milli(makeDateTime64(${y}, ${mo}, ${d}, ${prefix}_h, ${prefix}_mi, ${prefix}_s, ${prefix}_ms, 3, 'UTC')), NULL) AS ${prefix}`,
  ];
}

function daysInMonth(year: string, month: string): string {
  return `if(${month} = 2, if((${year} % 4 = 0 AND ${year} % 100 != 0) OR ${year} % 400 = 0, 29, 28),
    arrayElement([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], toUInt8(least(greatest(${month}, 1), 12))))`;
}

function defaultNames(): string {
  const types = Object.keys(DEFAULT_EVENT_NAMES);
  return `transform(_type, [${list(types)}], [${list(types.map((type) => DEFAULT_EVENT_NAMES[type as keyof typeof DEFAULT_EVENT_NAMES]!))}], '')`;
}

function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function list(values: readonly string[]): string {
  return values.map(quote).join(', ');
}

function int(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`expected an integer, got ${value}`);
  return String(value);
}
