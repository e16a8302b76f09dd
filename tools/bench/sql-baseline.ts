// The ClickHouse-SQL-only sessionization of the same NDJSON, in chdb: dedup by messageId,
// the same clock-skew formula, a 30-minute gap with window functions, sessions counted.
// Run as its own process (chdb binds one data directory per process).
import { queryAsync } from 'chdb';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: sql-baseline <file.ndjson>');
const quoted = `'${file.replaceAll("'", "\\'")}'`;
const sql = `
WITH parsed AS (
  SELECT
    JSONExtractString(json, 'messageId') AS message_id,
    if(JSONExtractString(json, 'userId') != '', JSONExtractString(json, 'userId'), JSONExtractString(json, 'anonymousId')) AS user,
    parseDateTime64BestEffortOrNull(JSONExtractString(json, 'timestamp'), 3, 'UTC') AS ts,
    parseDateTime64BestEffortOrNull(JSONExtractString(json, 'sentAt'), 3, 'UTC') AS sent,
    parseDateTime64BestEffortOrNull(JSONExtractString(json, 'receivedAt'), 3, 'UTC') AS received
  FROM file(${quoted}, 'LineAsString', 'json String')
  WHERE isValidJSON(json) AND message_id != '' AND user != ''
),
deduped AS (
  SELECT message_id, any(user) AS user,
    argMin(if(ts IS NOT NULL AND sent IS NOT NULL AND ts <= sent AND received IS NOT NULL,
              fromUnixTimestamp64Milli(toUnixTimestamp64Milli(received) - (toUnixTimestamp64Milli(sent) - toUnixTimestamp64Milli(ts))),
              coalesce(received, ts)), received) AS t
  FROM parsed WHERE coalesce(received, ts) IS NOT NULL
  GROUP BY message_id
),
gaps AS (
  SELECT user, t,
    if(dateDiff('millisecond', lagInFrame(t, 1, t) OVER (PARTITION BY user ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), t) > 1800000
       OR row_number() OVER (PARTITION BY user ORDER BY t) = 1, 1, 0) AS is_new
  FROM deduped
)
SELECT count() AS events, sum(is_new) AS sessions FROM gaps`;
const started = performance.now();
const result = await queryAsync(sql, { format: 'JSONEachRow' });
const elapsedMs = performance.now() - started;
const row = JSON.parse(result.text().trim()) as { events: string; sessions: string };
process.stdout.write(`${JSON.stringify({ elapsedMs, events: Number(row.events), sessions: Number(row.sessions), maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
