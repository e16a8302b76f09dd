// `npm run bench -- --sql-line-stage`: the per-line stages in ClickHouse SQL (sql-line-stage.ts)
// against the JavaScript stages `run` uses, on one file, in CPU seconds per million lines (all
// threads of this process: chdb works in-process). Issue 19, work point 3; ADR 0029.
//   --input PATH   measure this NDJSON file (default: the generator's ~1M lines, seed 2026, cached)
//   --events N     size of the generated file (default 1,000,000)
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { DEFAULT_PIPELINE } from '../../src/config/config.js';
import { createProcessLine } from '../../src/pipeline/process-line.js';
import { createFileSource } from '../../src/sources/file-source.js';
import { openChdbClient } from '../../src/stores/clickhouse/embedded-engine.js';
import { EVENT_COLUMNS, RAW_TABLES, rawSchemaStatements, storedList } from '../../src/stores/clickhouse/raw/raw-schema.js';
import { cachedGeneratorFile } from './generated-input.js';
import { SQL_LINE_STAGE_SETTINGS, type SqlLineStageConfig, sqlLineStage } from './sql-line-stage.js';

/** The raw store's write size on chdb (lines per INSERT), as `run` groups them. */
const BATCH_LINES = 20_000;
/** Any fixed arrival time: the file's events are in January 2026, the same for both sides. */
const ARRIVED_AT = Date.UTC(2026, 0, 20);

interface Row {
  name: string;
  cpuSeconds: number;
  wallSeconds: number;
}

async function measured(name: string, work: () => Promise<unknown>): Promise<Row> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const spent = process.cpuUsage(cpu);
  return { name, cpuSeconds: (spent.user + spent.system) / 1e6, wallSeconds: (performance.now() - started) / 1000 };
}

export async function runSqlLineStageBench(args: readonly string[]): Promise<void> {
  const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const input = option('--input') ?? (await cachedGeneratorFile(Number(option('--events') ?? 1_000_000)));
  const work = mkdtempSync(join(tmpdir(), 'journeyctl-sql-line-stage-'));
  const config: SqlLineStageConfig = { ...DEFAULT_PIPELINE, trackingPlan: null };
  const stage = (source: string, passThrough?: string[]) => sqlLineStage(config, { source, arrivedAtMs: ARRIVED_AT, passThrough })!;
  const client = await openChdbClient(join(work, 'engine'));
  const run = async (query: string) => client.command({ query, clickhouse_settings: { ...SQL_LINE_STAGE_SETTINGS, max_partitions_per_insert_block: '0' } });
  try {
    console.log(`per-line stages, SQL against JS: ${input}, Node ${process.version}`);
    // The batches as the spool would hold them (written before anything is timed).
    const batchFiles = await splitLines(input, work);
    const tiny = join(work, 'tiny.ndjson');
    writeFileSync(tiny, readFileSync(batchFiles[0]!, 'utf8').split('\n').slice(0, 10).join('\n') + '\n');

    let lines = 0;
    let jsAccepted = 0;
    const processLine = createProcessLine({ pipeline: config, trackingPlan: null });
    const rows: Row[] = [];
    rows.push(
      await measured('JS: processLine (parse, sha256, validate, skew, range)', async () => {
        for await (const batch of createFileSource({ input, batchSize: DEFAULT_PIPELINE.batchSize, maxLineBytes: DEFAULT_PIPELINE.maxLineBytes }).batches()) {
          for (const line of batch.lines) if (processLine(line, ARRIVED_AT).ok) jsAccepted += 1;
          lines += batch.lines.length;
        }
      }),
    );
    const file = (path: string) => `file('${path}', LineAsString)`;
    rows.push(await measured('SQL: the stage, one query over the file', () => run(`SELECT * FROM (${stage(file(input))}) FORMAT Null`)));
    rows.push(
      await measured(`SQL: the stage, one query per ${BATCH_LINES.toLocaleString('en-US')} lines`, async () => {
        for (const batch of batchFiles) await run(`SELECT * FROM (${stage(file(batch))}) FORMAT Null`);
      }),
    );
    const planning = await measured('SQL: one query over 10 lines (planning), ×5', async () => {
      for (let i = 0; i < 5; i += 1) await run(`SELECT * FROM (${stage(file(tiny))}) FORMAT Null`);
    });
    for (const statement of rawSchemaStatements('bench')) await client.command({ query: statement });
    // The stage's columns under the batch names the raw store spools, stored by its own mapping (raw-schema.ts).
    const accepted = `SELECT *, JSONExtractRaw(line, 'properties') AS properties, JSONExtractRaw(line, 'traits') AS traits, line AS raw, n AS seq,
        toUnixTimestamp64Milli(now64(3)) AS ingested_at
      FROM (${stage(`(SELECT line, rowNumberInAllBlocks() AS n FROM ${file(input)})`, ['line', 'n'])}) WHERE verdict = 'accepted'`;
    rows.push(
      await measured('SQL: the stage + INSERT into raw_events, one query', () =>
        run(`INSERT INTO bench.${RAW_TABLES.events} (${EVENT_COLUMNS.map((column) => column.name).join(', ')}) SELECT ${storedList(EVENT_COLUMNS)} FROM (${accepted})`),
      ),
    );
    const verdicts = await client.query({
      query: `SELECT verdict, count() AS lines FROM (${stage(file(input))}) GROUP BY verdict`,
      format: 'JSONEachRow',
      clickhouse_settings: SQL_LINE_STAGE_SETTINGS,
    });
    const counts = Object.fromEntries(((await verdicts.json()) as Array<{ verdict: string; lines: string }>).map((row) => [row.verdict, Number(row.lines)]));
    const perMillion = 1_000_000 / lines;
    console.log(
      `${lines.toLocaleString('en-US')} lines; JS accepts ${jsAccepted.toLocaleString('en-US')}, SQL ${Number(counts.accepted ?? 0).toLocaleString('en-US')} (leaves ${Number(counts.js ?? 0).toLocaleString('en-US')} to JS)`,
    );
    console.log('| stage | CPU-s per million lines | wall s per million lines |\n| --- | ---: | ---: |');
    for (const row of rows) console.log(`| ${row.name} | ${(row.cpuSeconds * perMillion).toFixed(2)} | ${(row.wallSeconds * perMillion).toFixed(2)} |`);
    console.log(`| ${planning.name} | ${(planning.cpuSeconds / 5).toFixed(3)} s a query | ${(planning.wallSeconds / 5).toFixed(3)} s a query |`);
  } finally {
    await client.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Splits `input` into files of BATCH_LINES lines in `dir`. */
async function splitLines(input: string, dir: string): Promise<string[]> {
  const files: string[] = [];
  let out: ReturnType<typeof createWriteStream> | null = null;
  let inFile = 0;
  for await (const batch of createFileSource({ input, batchSize: DEFAULT_PIPELINE.batchSize, maxLineBytes: DEFAULT_PIPELINE.maxLineBytes }).batches()) {
    for (const line of batch.lines) {
      if (out === null || inFile === BATCH_LINES) {
        if (out !== null) {
          out.end();
          await finished(out);
        }
        const path = join(dir, `batch-${files.length}.ndjson`);
        files.push(path);
        out = createWriteStream(path);
        inFile = 0;
      }
      out.write(`${line}\n`);
      inFile += 1;
    }
  }
  if (out !== null) {
    out.end();
    await finished(out);
  }
  return files;
}
