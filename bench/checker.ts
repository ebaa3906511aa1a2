/**
 * `npm run bench:checker`: how much checking Vitals' checker (ROLE=checker, `node dist/main.js`) sustains on this
 * machine, against references measured in the same run.
 *
 * 1. HTTP: BENCH_HTTP_TARGETS (50,000) `http` targets every 10 s, i.e. 5,000 checks/s, against a plain Node
 *    keep-alive server (bench/checker-targets.ts http) answering 200 "ok". Reports checks/s (rows in `checks` and
 *    requests the server answered), scheduling lag p50/p99 (Vitals' own histogram), results lost, CPU of Vitals
 *    and PostgreSQL, Vitals' peak RSS; then a bare undici loop (bench/checker-reference.ts) sends the same number
 *    of GETs per second to the same server, and Vitals' CPU per check is divided by its CPU per request.
 * 2. Scrape: BENCH_SCRAPE_TARGETS (200) `prometheus` targets × 500 series every second (100,000 samples/s) from
 *    one exporter process (bench/checker-targets.ts exporter). Reports samples/s written and CPU seconds per
 *    million samples; when Vitals falls short, the run is repeated with half the targets (twice at most) to find
 *    what it sustains. If a `prometheus` binary is on PATH, Prometheus then scrapes the same targets alone for
 *    the same window and Vitals' CPU per sample is divided by its.
 *
 * Every process runs on this machine and talks to 127.0.0.1 only; every phase stops by itself, and every child
 * process, database and temporary directory is removed at the end, however the benchmark ends.
 *
 * DATABASE_URL: a PostgreSQL server on this machine to create throw-away `vitals_bench_checker_*` databases on
 * (PostgreSQL's CPU is read from /proc, so the server must run here); without it an embedded PostgreSQL is
 * started in a temporary directory.
 *
 * Knobs: BENCH_PART=http|scrape|all (all), BENCH_WINDOW_S (40), BENCH_HTTP_TARGETS (50000),
 * BENCH_SCRAPE_TARGETS (200), BENCH_HTTP_SERVERS (1: target server processes, one port each),
 * BENCH_CHECKER_CONCURRENCY (1000), BENCH_SCRAPE_FALLBACK (2: how many halved retries when scraping falls short;
 * 0 for none), BENCH_WARMUP_S (extra warm-up after the first full interval: 5 for HTTP, 8 for scrapes),
 * BENCH_CPU_PROF=<dir> (Vitals and the reference run with `node --cpu-prof` and write vitals-http.cpuprofile,
 * vitals-scrape-<targets>.cpuprofile and reference.cpuprofile there), BENCH_VITALS_NODE_FLAGS (more Node flags
 * for Vitals, space-separated, e.g. `--heapsnapshot-signal=SIGUSR2`), BENCH_VITALS_MAIN (another build's main.js to
 * run instead of dist/main.js, to compare a change).
 *
 * Reports only: exits non-zero when something failed to run, never because a goal was missed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmbeddedDatabase } from '../src/database/embedded';
import { Cleanup, REPO_ROOT, formatTable, freePort, runBench } from './support';
import {
  PgCpuMeter,
  Proc,
  createNamedDatabase,
  getText,
  histogramBuckets,
  loadAverage,
  metricSum,
  quantileBetween,
  withClient,
  type NamedDatabase,
  type PgCpu,
  type Quantile,
} from './checker-support';

function envInt(name: string, fallback: number, min = 1): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number ≥ ${min}, got ${text}`);
  return value;
}

const PART = process.env.BENCH_PART || 'all';
if (!['all', 'http', 'scrape'].includes(PART)) throw new Error(`BENCH_PART must be http, scrape or all, got ${PART}`);
const WINDOW_S = envInt('BENCH_WINDOW_S', 40);
const HTTP_TARGETS = envInt('BENCH_HTTP_TARGETS', 50_000);
const SCRAPE_TARGETS = envInt('BENCH_SCRAPE_TARGETS', 200);
const HTTP_SERVERS = envInt('BENCH_HTTP_SERVERS', 1);
const CHECKER_CONCURRENCY = envInt('BENCH_CHECKER_CONCURRENCY', 1000);
const SCRAPE_FALLBACK = envInt('BENCH_SCRAPE_FALLBACK', 2, 0);
const HTTP_WARMUP_EXTRA_S = envInt('BENCH_WARMUP_S', 5, 0);
const SCRAPE_WARMUP_EXTRA_S = envInt('BENCH_WARMUP_S', 8, 0);
const cpuProfileDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;

const HTTP_INTERVAL_MS = 10_000;
const HTTP_TIMEOUT_MS = 5000;
const SCRAPE_INTERVAL_MS = 1000;
const SCRAPE_TIMEOUT_MS = 1000;
const SERIES_PER_TARGET = 500;
/** Vitals adds `up`, `scrape_duration_seconds` and `scrape_samples_scraped` to every scrape. */
const VITALS_SYNTHETIC_SERIES = 3;
const DB_POOL_SIZE = 5;
const READY_TIMEOUT_MS = 60_000;
const CLAIM_TIMEOUT_MS = 60_000;
const REFERENCE_WARMUP_S = 5;
const PROMETHEUS_WARMUP_S = 10;
const VITALS_STOP_GRACE_MS = 30_000;

const GOAL_CHECKS_PER_S = HTTP_TARGETS / (HTTP_INTERVAL_MS / 1000);
const GOAL_LAG_P99_S = 1;
const GOAL_RSS_MIB = 400;
const GOAL_PROMETHEUS_RATIO = 3;
/** A rate counts as sustained at this share of its goal (boundary effects of a window of a few tens of seconds). */
const SUSTAINED_SHARE = 0.98;

/** Vitals' settings, cleared so that whatever the caller's shell holds cannot skew the run. */
const VITALS_VARIABLES = [
  'PORT',
  'HOST',
  'DATA_DIR',
  'EMBEDDED_DB_PORT',
  'DB_POOL_SIZE',
  'TARGETS_FILE',
  'API_TOKENS',
  'TARGET_DENY_CIDRS',
  'BODY_LIMIT',
  'LOG_LEVEL',
  'ROLE',
  'RETENTION',
  'MAX_QUERY_SPAN',
  'LOG_FILE',
  'SCRAPE_BODY_LIMIT',
];
/** …and every variable with one of these prefixes (checker settings, tracing, the lead-time sync). */
const VITALS_PREFIXES = ['CHECKER_', 'OTEL_', 'YOUTRACK_', 'LEADTIME_'];

const TSX_CJS = require.resolve('tsx/cjs');
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const print = (...lines: string[]) => {
  for (const line of lines.length === 0 ? [''] : lines) process.stdout.write(`${line}\n`);
};

// ---------------------------------------------------------------------------------------------------------------
// Formatting

const fixed = (value: number | undefined, digits = 0) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
const int = (value: number) => Math.round(value).toLocaleString('en-US');
const µs = (seconds: number | undefined) => (seconds === undefined ? 'n/a' : `${(seconds * 1e6).toFixed(1)} µs`);
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

function quantileText(quantile: Quantile | undefined): string {
  if (!quantile) return 'n/a';
  if (!Number.isFinite(quantile.value)) return `> ${quantile.lastBound} s`;
  return quantile.value < 1 ? `${(quantile.value * 1000).toFixed(1)} ms` : `${quantile.value.toFixed(2)} s`;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

function nodeFlags(name: string): string[] {
  if (!cpuProfileDir) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`, `--cpu-prof-name=${name}.cpuprofile`];
}

/** BENCH_VITALS_NODE_FLAGS: more Node flags for Vitals only (e.g. --heapsnapshot-signal=SIGUSR2), space-separated. */
const vitalsNodeFlags = (process.env.BENCH_VITALS_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
/** BENCH_VITALS_MAIN: another build of Vitals to run (an A/B comparison of a change), instead of dist/main.js. */
const vitalsMain = resolve(process.env.BENCH_VITALS_MAIN || join(REPO_ROOT, 'dist/main.js'));

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (VITALS_VARIABLES.includes(name) || VITALS_PREFIXES.some((prefix) => name.startsWith(prefix))) delete env[name];
  }
  return env;
}

/** A TypeScript script under bench/, run by this Node binary through tsx's CommonJS hook (one process, no loader thread). */
function startScript(name: string, script: string, args: string[], env: NodeJS.ProcessEnv, flags: string[] = []): Proc {
  return Proc.node(name, [...flags, '--require', TSX_CJS, join(REPO_ROOT, 'bench', script), ...args], env);
}

async function startVitals(
  cleanup: Cleanup,
  databaseUrl: string,
  profileName: string,
): Promise<{ proc: Proc; base: string }> {
  const port = await freePort();
  const env = {
    ...baseEnv(),
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    ROLE: 'checker',
    LOG_LEVEL: 'warn',
    CHECKER_CONCURRENCY: String(CHECKER_CONCURRENCY),
    DB_POOL_SIZE: String(DB_POOL_SIZE),
  };
  const proc = Proc.node('vitals', [...nodeFlags(profileName), ...vitalsNodeFlags, vitalsMain], env);
  cleanup.add('stopping Vitals', () => proc.stop(VITALS_STOP_GRACE_MS));
  const base = `http://127.0.0.1:${port}`;
  // Migrations run at start: once /ready answers 200 the tables exist.
  await proc.waitFor(`${base}/ready`, 200, READY_TIMEOUT_MS);
  return { proc, base };
}

async function startTargetServer(cleanup: Cleanup, mode: 'http' | 'exporter', env: NodeJS.ProcessEnv = {}) {
  const port = await freePort();
  const proc = startScript(`${mode} target server`, 'checker-targets.ts', [mode], {
    ...baseEnv(),
    ...env,
    PORT: String(port),
  });
  cleanup.add(`stopping the ${mode} target server`, () => proc.stop());
  const base = `http://127.0.0.1:${port}`;
  await proc.waitFor(`${base}/count`, 200, READY_TIMEOUT_MS);
  return { proc, port, base };
}

type TargetServer = Awaited<ReturnType<typeof startTargetServer>>;

async function answered(servers: TargetServer[]): Promise<number> {
  let total = 0;
  for (const server of servers)
    total += (JSON.parse(await getText(`${server.base}/count`)) as { requests: number }).requests;
  return total;
}

const sumCpu = (procs: Proc[]) => procs.reduce((sum, proc) => sum + (proc.cpuSeconds() ?? NaN), 0);

/** Sleeps `seconds`, failing early if a process that must keep running exits. */
async function hold(seconds: number, watched: Proc[]): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    for (const proc of watched) {
      if (!proc.running) throw new Error(`${proc.name} exited during the run:\n${proc.recentOutput()}`);
    }
    await sleep(Math.min(1000, until - Date.now()));
  }
}

function findOnPath(binary: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Database

/** A PostgreSQL server to create the benchmark databases on: DATABASE_URL, or an embedded one. */
async function databaseServer(cleanup: Cleanup): Promise<{ url: string; mode: string }> {
  const given = process.env.DATABASE_URL;
  if (given) return { url: given, mode: `DATABASE_URL (${new URL(given).host})` };
  const dir = await mkdtemp(join(tmpdir(), 'vitals-bench-checker-'));
  cleanup.add('removing the embedded database directory', () => rm(dir, { recursive: true, force: true }));
  say(`starting an embedded PostgreSQL under ${dir}`);
  const log: string[] = [];
  try {
    const embedded = await startEmbeddedDatabase(dir, 0, (line) => log.push(line));
    cleanup.add('stopping the embedded PostgreSQL', () => embedded.stop());
    return { url: embedded.url, mode: 'embedded PostgreSQL' };
  } catch (error) {
    process.stderr.write(`${log.slice(-20).join('\n')}\n`);
    throw error;
  }
}

async function newDatabase(cleanup: Cleanup, serverUrl: string): Promise<NamedDatabase> {
  const database = await createNamedDatabase(serverUrl, 'vitals_bench_checker');
  // DROP DATABASE IF EXISTS: dropping it early (to free the disk) and again at clean-up is harmless.
  cleanup.add(`dropping the database ${database.name}`, () => database.drop());
  return database;
}

/** Seeds `count` targets of one kind with one statement; the URLs spread over `ports`. */
async function seedTargets(
  databaseUrl: string,
  kind: 'http' | 'prometheus',
  count: number,
  ports: number[],
  pathPrefix: string,
  intervalMs: number,
  timeoutMs: number,
): Promise<void> {
  await withClient(databaseUrl, async (client) => {
    await client.query(
      `INSERT INTO targets (name, kind, url, interval_ms, timeout_ms)
       SELECT format('bench-%s-%s', $1::text, i), $1::text,
              format('http://127.0.0.1:%s${pathPrefix}%s', ($5::int[])[1 + i % cardinality($5::int[])], i), $3, $4
         FROM generate_series(1, $2::int) AS i`,
      [kind, count, intervalMs, timeoutMs, ports],
    );
    await client.query('ANALYZE targets');
  });
}

/** Waits until Vitals owns every target (it takes them through leases within a few seconds). */
async function waitForClaim(databaseUrl: string, count: number, vitals: Proc): Promise<void> {
  await withClient(databaseUrl, async (client) => {
    const deadline = Date.now() + CLAIM_TIMEOUT_MS;
    let owned = 0;
    while (Date.now() < deadline) {
      if (!vitals.running) throw new Error(`Vitals exited:\n${vitals.recentOutput()}`);
      owned = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM target_owners')).rows[0].n;
      if (owned >= count) return;
      await sleep(250);
    }
    throw new Error(`Vitals owns ${owned} of ${count} targets after ${CLAIM_TIMEOUT_MS} ms\n${vitals.recentOutput()}`);
  });
}

async function countRows(databaseUrl: string, sql: string, parameters: unknown[]): Promise<Record<string, number>> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<Record<string, string | number>>(sql, parameters);
    return Object.fromEntries(Object.entries(rows[0]).map(([key, value]) => [key, Number(value)]));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The measured window

interface Reading {
  at: number;
  metrics: string;
  metricsMs: number;
  metricsBytes: number;
  vitalsCpu: number;
  serverCpu: number;
  served: number;
}

interface Window {
  start: Reading;
  end: Reading;
  /** Vitals' resident set (VmRSS) at the start, highest once a second during the window, and at the end, MiB. */
  rss: { start?: number; max?: number; end?: number };
  /** The 1-minute load average at the start and at the end of the window: other processes competing for the CPU. */
  load: { start: string; end: string };
  seconds: number;
  pg: PgCpu;
}

async function readMetrics(base: string): Promise<{ text: string; ms: number }> {
  const started = performance.now();
  const text = await getText(`${base}/metrics`, 60_000);
  return { text, ms: performance.now() - started };
}

/**
 * Opens the window right after reading Vitals' /metrics and closes it right before reading them again, so the
 * two readings bracket the window and rendering them (large with 50,000 targets) costs no CPU inside it.
 */
async function measureWindow(
  vitals: { proc: Proc; base: string },
  servers: TargetServer[],
  pgMeter: PgCpuMeter,
): Promise<Window> {
  const before = await readMetrics(vitals.base);
  await pgMeter.begin();
  const start: Reading = {
    at: Date.now(),
    metrics: before.text,
    metricsMs: before.ms,
    metricsBytes: Buffer.byteLength(before.text),
    vitalsCpu: vitals.proc.cpuSeconds() ?? NaN,
    serverCpu: sumCpu(servers.map((server) => server.proc)),
    served: await answered(servers),
  };
  const rss = { start: vitals.proc.rssMiB(), max: vitals.proc.rssMiB(), end: undefined as number | undefined };
  const rssTimer = setInterval(() => (rss.max = Math.max(rss.max ?? 0, vitals.proc.rssMiB() ?? 0)), 1000);
  const load = { start: loadAverage(), end: '' };
  say(`measuring for ${WINDOW_S} s (load average ${load.start})`);
  try {
    await hold(WINDOW_S, [vitals.proc, ...servers.map((server) => server.proc)]);
  } finally {
    clearInterval(rssTimer);
  }
  rss.end = vitals.proc.rssMiB();
  load.end = loadAverage();
  const at = Date.now();
  const vitalsCpu = vitals.proc.cpuSeconds() ?? NaN;
  const serverCpu = sumCpu(servers.map((server) => server.proc));
  const served = await answered(servers);
  const pg = await pgMeter.end();
  const after = await readMetrics(vitals.base);
  const end: Reading = {
    at,
    metrics: after.text,
    metricsMs: after.ms,
    metricsBytes: Buffer.byteLength(after.text),
    vitalsCpu,
    serverCpu,
    served,
  };
  return { start, end, rss, load, seconds: (end.at - start.at) / 1000, pg };
}

const delta = (window: Window, name: string) =>
  metricSum(window.end.metrics, name) - metricSum(window.start.metrics, name);

function lagQuantiles(window: Window): { p50?: Quantile; p99?: Quantile; observed: number } {
  const name = 'vitals_checker_scheduling_lag_seconds';
  const before = histogramBuckets(window.start.metrics, name);
  const after = histogramBuckets(window.end.metrics, name);
  return {
    p50: quantileBetween(before, after, 0.5),
    p99: quantileBetween(before, after, 0.99),
    observed: (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0),
  };
}

/** Figures from Vitals' own metrics that explain where time went. */
function vitalsDiagnostics(window: Window): string[] {
  const gcSeconds = delta(window, 'nodejs_gc_duration_seconds_sum');
  const loopP99 = metricSum(window.end.metrics, 'nodejs_eventloop_lag_p99_seconds');
  const heapMiB = metricSum(window.end.metrics, 'nodejs_heap_size_used_bytes') / 2 ** 20;
  const durations = [
    histogramBuckets(window.start.metrics, 'vitals_check_duration_seconds'),
    histogramBuckets(window.end.metrics, 'vitals_check_duration_seconds'),
  ] as const;
  return [
    `  load average (1, 5, 15 min) at the start of the window ${window.load.start}, at the end ${window.load.end} ` +
      `(${cpus().length} cores; above ${cpus().length}, processes wait for a CPU)`,
    `  check duration (vitals_check_duration_seconds, in the window): p50 ${quantileText(quantileBetween(...durations, 0.5))}, ` +
      `p99 ${quantileText(quantileBetween(...durations, 0.99))}`,
    `  Vitals GC time in the window: ${fixed(gcSeconds, 2)} s; event-loop delay p99 (prom-client, since the ` +
      `previous /metrics): ${fixed(loopP99 * 1000, 1)} ms; heap used at the end: ${fixed(heapMiB)} MiB`,
    `  Vitals /metrics: ${fixed(window.end.metricsBytes / 2 ** 20, 1)} MiB, answered in ${fixed(window.start.metricsMs)} ms ` +
      `(read just before the window) and ${fixed(window.end.metricsMs)} ms (just after)`,
    `  Vitals RSS (VmRSS): ${fixed(window.rss.start)} MiB at the start of the window, at most ${fixed(window.rss.max)} MiB ` +
      `during it (read once a second), ${fixed(window.rss.end)} MiB at the end`,
  ];
}

function pgLine(pg: PgCpu, seconds: number): string {
  if (!pg.visible) return '  PostgreSQL CPU: its processes are not visible in /proc here (another host or container)';
  return (
    `  PostgreSQL CPU: ${fixed(pg.database, 2)} s in the backends of the bench database (${fixed((pg.database / seconds) * 100)}% of a core)` +
    ` + ${fixed(pg.background, 2)} s in the server's background processes (WAL writer, checkpointer…, shared by every database on it)`
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Part 1: HTTP checks

interface TableLag {
  p50: number;
  p99: number;
  max: number;
  /** Seconds of the window (from its start) whose p99 lag exceeded 100 ms. */
  slowSeconds: Array<{ second: number; checks: number; p99: number; max: number }>;
}

/**
 * Scheduling lag of every check in the window, from the `checks` table: started_at against the target's slot on
 * its grid (offset = the first 48 bits of sha256(id) modulo the interval, as src/checker/schedule.ts computes
 * it). Exact, and independent of /metrics; valid while lags stay below the interval.
 */
/** A target's offset on its grid, in SQL, as src/checker/schedule.ts computes it. */
const offsetSql = (id: string) =>
  `(('x' || encode(substring(sha256(convert_to(${id}::text, 'UTF8')) FROM 1 FOR 6), 'hex'))::bit(48)::bigint % t.interval_ms)`;

/** How many checks of enabled targets were due in [from, to): slots `offset + k × interval` in the range. */
async function checksDue(databaseUrl: string, from: number, to: number): Promise<number> {
  const { due } = await countRows(
    databaseUrl,
    `SELECT sum(ceil(($2::float8 - o) / i) - ceil(($1::float8 - o) / i)) AS due
       FROM (SELECT t.interval_ms::float8 AS i, ${offsetSql('t.id')}::float8 AS o FROM targets t WHERE t.enabled) g`,
    [from, to],
  );
  return due;
}

async function tableLag(databaseUrl: string, from: number, to: number): Promise<TableLag> {
  return withClient(databaseUrl, async (client) => {
    const lags = `
      WITH c AS (
        SELECT extract(epoch FROM c.started_at) * 1000 AS s, t.interval_ms AS i, ${offsetSql('c.target_id')} AS o
          FROM checks c JOIN targets t ON t.id = c.target_id
         WHERE c.started_at >= to_timestamp($1 / 1000.0) AND c.started_at < to_timestamp($2 / 1000.0)
      )
      SELECT s - (o + floor((s - o) / i) * i) AS lag, floor((s - $1) / 1000)::int AS second FROM c`;
    const [all] = (
      await client.query<{ p50: number; p99: number; max: number }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99, max(lag) AS max FROM (${lags}) l`,
        [from, to],
      )
    ).rows;
    const { rows } = await client.query<{ second: number; checks: string; p99: number; max: number }>(
      `SELECT second, count(*) AS checks, percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99, max(lag) AS max
         FROM (${lags}) l GROUP BY second HAVING percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) > 100 ORDER BY second`,
      [from, to],
    );
    return {
      p50: Number(all.p50),
      p99: Number(all.p99),
      max: Number(all.max),
      slowSeconds: rows.map((row) => ({
        ...row,
        checks: Number(row.checks),
        p99: Number(row.p99),
        max: Number(row.max),
      })),
    };
  });
}

async function httpPart(cleanup: Cleanup, serverUrl: string): Promise<void> {
  say(
    `HTTP: ${HTTP_TARGETS} targets every ${HTTP_INTERVAL_MS / 1000} s against ${HTTP_SERVERS} target server process(es)`,
  );
  const servers: TargetServer[] = [];
  for (let index = 0; index < HTTP_SERVERS; index++) servers.push(await startTargetServer(cleanup, 'http'));
  const database = await newDatabase(cleanup, serverUrl);
  const vitals = await startVitals(cleanup, database.url, 'vitals-http');

  say(`seeding ${HTTP_TARGETS} http targets`);
  await seedTargets(
    database.url,
    'http',
    HTTP_TARGETS,
    servers.map((server) => server.port),
    '/t/',
    HTTP_INTERVAL_MS,
    HTTP_TIMEOUT_MS,
  );
  await waitForClaim(database.url, HTTP_TARGETS, vitals.proc);
  const warmup = HTTP_INTERVAL_MS / 1000 + HTTP_WARMUP_EXTRA_S;
  say(`Vitals owns every target; warming up for ${warmup} s (the first round ramps up over one interval)`);
  await hold(warmup, [vitals.proc, ...servers.map((server) => server.proc)]);

  const window = await measureWindow(vitals, servers, new PgCpuMeter(database.url, database.name));
  // Checks started in the window finish within the timeout and are written within a flush interval.
  await sleep(HTTP_TIMEOUT_MS + 1500);
  const rows = await countRows(
    database.url,
    `SELECT count(*) AS total, count(*) FILTER (WHERE up) AS up,
            count(*) FILTER (WHERE error_kind = 'timeout') AS timeouts
       FROM checks WHERE started_at >= to_timestamp($1 / 1000.0) AND started_at < to_timestamp($2 / 1000.0)`,
    [window.start.at, window.end.at],
  );
  const exactLag = await tableLag(database.url, window.start.at, window.end.at);
  const due = await checksDue(database.url, window.start.at, window.end.at);
  const rssMiB = vitals.proc.peakRssMiB();
  say('stopping Vitals (SIGTERM: it writes every result before it exits)');
  await vitals.proc.stop(VITALS_STOP_GRACE_MS);
  const exitCode = await vitals.proc.exited;
  const servedTotal = await answered(servers);
  const allRows = await countRows(
    database.url,
    'SELECT count(*) AS total, count(*) FILTER (WHERE up) AS up FROM checks',
    [],
  );
  await database.drop();

  // The reference: the same request rate from a bare undici loop, alone with the same server.
  const rate = GOAL_CHECKS_PER_S;
  say(`reference: a bare undici loop sending ${rate} GET/s for ${REFERENCE_WARMUP_S} s + ${WINDOW_S} s`);
  const reference = startScript(
    'reference',
    'checker-reference.ts',
    [],
    {
      ...baseEnv(),
      BASES: servers.map((server) => server.base).join(','),
      TARGETS: String(HTTP_TARGETS),
      RATE: String(rate),
      DURATION_S: String(REFERENCE_WARMUP_S + WINDOW_S + 1),
    },
    nodeFlags('reference'),
  );
  cleanup.add('stopping the reference loop', () => reference.stop());
  await hold(REFERENCE_WARMUP_S, [reference]);
  const refStart = {
    at: Date.now(),
    cpu: reference.cpuSeconds() ?? NaN,
    served: await answered(servers),
    serverCpu: sumCpu(servers.map((s) => s.proc)),
  };
  await hold(WINDOW_S, [reference]);
  const refEnd = {
    at: Date.now(),
    cpu: reference.cpuSeconds() ?? NaN,
    served: await answered(servers),
    serverCpu: sumCpu(servers.map((s) => s.proc)),
  };
  await Promise.race([reference.exited, sleep(20_000)]);
  await reference.stop();
  const summaryLine = reference.stdout().find((line) => line.startsWith('{'));
  const summary = summaryLine ? (JSON.parse(summaryLine) as { sent: number; ok: number; failed: number }) : undefined;

  // Figures.
  const seconds = window.seconds;
  const checksPerS = rows.total / seconds;
  const servedPerS = (window.end.served - window.start.served) / seconds;
  const lag = lagQuantiles(window);
  const dropped = metricSum(window.end.metrics, 'vitals_checker_dropped_results_total');
  const skipped = delta(window, 'vitals_checker_skipped_runs_total');
  const lostWholeRun = Math.max(0, servedTotal - allRows.total);
  const vitalsCpu = window.end.vitalsCpu - window.start.vitalsCpu;
  const vitalsPerCheck = vitalsCpu / rows.total;
  const pgPerCheck = window.pg.database / rows.total;
  const refSeconds = (refEnd.at - refStart.at) / 1000;
  const refRequests = refEnd.served - refStart.served;
  const refCpu = refEnd.cpu - refStart.cpu;
  const refPerRequest = refCpu / refRequests;
  const serverPerRequestVitals =
    (window.end.serverCpu - window.start.serverCpu) / (window.end.served - window.start.served);
  const serverPerRequestRef = (refEnd.serverCpu - refStart.serverCpu) / refRequests;

  print('');
  print(
    `== HTTP checks: ${int(HTTP_TARGETS)} targets every ${HTTP_INTERVAL_MS / 1000} s, ${fixed(seconds, 1)} s measured ==`,
  );
  print(
    formatTable(
      ['figure', 'goal', 'measured', 'verdict'],
      [
        [
          'checks/s (rows in `checks`)',
          `${int(GOAL_CHECKS_PER_S)}`,
          int(checksPerS),
          verdict(rows.total >= SUSTAINED_SHARE * due),
        ],
        [
          'checks/s (server answered)',
          `${int(GOAL_CHECKS_PER_S)}`,
          int(servedPerS),
          verdict(window.end.served - window.start.served >= SUSTAINED_SHARE * due),
        ],
        ['scheduling lag p50', '', quantileText(lag.p50), ''],
        [
          'scheduling lag p99',
          `< ${GOAL_LAG_P99_S} s`,
          quantileText(lag.p99),
          verdict((lag.p99?.value ?? Infinity) < GOAL_LAG_P99_S),
        ],
        ['results lost', '0', int(lostWholeRun + dropped), verdict(lostWholeRun + dropped === 0)],
        [
          'Vitals peak RSS (VmHWM)',
          `< ${GOAL_RSS_MIB} MiB`,
          `${fixed(rssMiB)} MiB`,
          verdict((rssMiB ?? Infinity) < GOAL_RSS_MIB),
        ],
        ['Vitals CPU / check', '', µs(vitalsPerCheck), ''],
        ['reference CPU / request', '', µs(refPerRequest), ''],
        ['Vitals ÷ reference CPU', '', `${fixed(vitalsPerCheck / refPerRequest, 2)}×`, ''],
      ],
    ),
  );
  print('');
  print(
    `  window: ${int(due)} checks due on the grid (${fixed(due / seconds)}/s; "met" above means ≥ ${SUSTAINED_SHARE * 100}% of them ran); ` +
      `${int(rows.total)} checks stored (${int(rows.up)} up, ${int(rows.timeouts)} timeouts, ` +
      `${int(rows.total - rows.up - rows.timeouts)} other failures); the server answered ${int(window.end.served - window.start.served)}; ` +
      `${int(lag.observed)} lag observations; ${int(skipped)} runs skipped (previous check still going)`,
  );
  print(
    `  whole run: the server answered ${int(servedTotal)} checks, \`checks\` holds ${int(allRows.total)} rows ` +
      `(${int(allRows.up)} up) after Vitals' shutdown (exit code ${exitCode}) → ${int(lostWholeRun)} lost; ` +
      `vitals_checker_dropped_results_total ${int(dropped)}`,
  );
  const slow = exactLag.slowSeconds.map(
    (second) =>
      `s${second.second}: ${int(second.checks)} checks, p99 ${fixed(second.p99)} ms, max ${fixed(second.max)} ms`,
  );
  print(
    `  lag from \`checks\` (started_at − slot): p50 ${fixed(exactLag.p50, 1)} ms, p99 ${fixed(exactLag.p99, 1)} ms, ` +
      `max ${fixed(exactLag.max)} ms; seconds of the window with p99 > 100 ms: ${slow.length === 0 ? 'none' : slow.join('; ')}`,
  );
  print(
    `  Vitals CPU: ${fixed(vitalsCpu, 2)} s (${fixed((vitalsCpu / seconds) * 100)}% of a core); ` +
      `target server: ${µs(serverPerRequestVitals)} per request`,
  );
  print(pgLine(window.pg, seconds));
  if (window.pg.visible) print(`  PostgreSQL CPU per check (bench database backends): ${µs(pgPerCheck)}`);
  print(...vitalsDiagnostics(window));
  print(
    `  reference: ${int(refRequests)} requests in ${fixed(refSeconds, 1)} s (${fixed(refRequests / refSeconds)}/s), ` +
      `CPU ${fixed(refCpu, 2)} s (${fixed((refCpu / refSeconds) * 100)}% of a core); ` +
      (summary ? `${int(summary.ok)} ok, ${int(summary.failed)} failed over its whole run; ` : 'no summary; ') +
      `target server: ${µs(serverPerRequestRef)} per request`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Part 2: scrapes

interface ScrapeRun {
  targets: number;
  goalPerS: number;
  rowsPerS: number;
  writtenPerS: number;
  scrapesPerS: number;
  scrapesDown: number;
  vitalsCpu: number;
  pg: PgCpu;
  seconds: number;
  samples: number;
  rssMiB?: number;
  lag: ReturnType<typeof lagQuantiles>;
  bufferedAtEnd: number;
  dropped: number;
  skipped: number;
  diagnostics: string[];
}

async function scrapeRun(
  cleanup: Cleanup,
  serverUrl: string,
  exporter: TargetServer,
  targets: number,
): Promise<ScrapeRun> {
  say(`scrape: ${targets} prometheus targets × ${SERIES_PER_TARGET} series every second`);
  const database = await newDatabase(cleanup, serverUrl);
  const vitals = await startVitals(cleanup, database.url, `vitals-scrape-${targets}`);
  await seedTargets(database.url, 'prometheus', targets, [exporter.port], '/m/', SCRAPE_INTERVAL_MS, SCRAPE_TIMEOUT_MS);
  await waitForClaim(database.url, targets, vitals.proc);
  const warmup = SCRAPE_INTERVAL_MS / 1000 + SCRAPE_WARMUP_EXTRA_S;
  say(`Vitals owns every target; warming up for ${warmup} s (the first scrapes create the series)`);
  await hold(warmup, [vitals.proc, exporter.proc]);
  const window = await measureWindow(vitals, [exporter], new PgCpuMeter(database.url, database.name));
  await sleep(SCRAPE_TIMEOUT_MS + 2000);
  const range = [window.start.at, window.end.at];
  const samples = await countRows(
    database.url,
    `SELECT count(*) AS total FROM samples WHERE ts >= to_timestamp($1 / 1000.0) AND ts < to_timestamp($2 / 1000.0)`,
    range,
  );
  const checks = await countRows(
    database.url,
    `SELECT count(*) AS total, count(*) FILTER (WHERE NOT up) AS down
       FROM checks WHERE started_at >= to_timestamp($1 / 1000.0) AND started_at < to_timestamp($2 / 1000.0)`,
    range,
  );
  const rssMiB = vitals.proc.peakRssMiB();
  await vitals.proc.stop(VITALS_STOP_GRACE_MS);
  await database.drop();
  const seconds = window.seconds;
  const written =
    metricSum(window.end.metrics, 'vitals_checker_written_total{kind="samples"}') -
    metricSum(window.start.metrics, 'vitals_checker_written_total{kind="samples"}');
  return {
    targets,
    goalPerS: (targets * (SERIES_PER_TARGET + VITALS_SYNTHETIC_SERIES)) / (SCRAPE_INTERVAL_MS / 1000),
    rowsPerS: samples.total / seconds,
    writtenPerS: written / seconds,
    scrapesPerS: checks.total / seconds,
    scrapesDown: checks.down,
    vitalsCpu: window.end.vitalsCpu - window.start.vitalsCpu,
    pg: window.pg,
    seconds,
    samples: samples.total,
    rssMiB,
    lag: lagQuantiles(window),
    bufferedAtEnd: metricSum(window.end.metrics, 'vitals_checker_buffer_depth{kind="samples"}'),
    dropped: metricSum(window.end.metrics, 'vitals_checker_dropped_results_total'),
    skipped: delta(window, 'vitals_checker_skipped_runs_total'),
    diagnostics: vitalsDiagnostics(window),
  };
}

interface PrometheusRun {
  version: string;
  seconds: number;
  cpu: number;
  appended: number;
  up: number;
  rssMiB?: number;
  load: { start: string; end: string };
}

async function prometheusRun(
  cleanup: Cleanup,
  binary: string,
  exporter: TargetServer,
  targets: number,
): Promise<PrometheusRun> {
  const dir = await mkdtemp(join(tmpdir(), 'vitals-bench-prometheus-'));
  cleanup.add('removing the Prometheus directory', () => rm(dir, { recursive: true, force: true }));
  const lines = [
    'global:',
    `  scrape_interval: ${SCRAPE_INTERVAL_MS / 1000}s`,
    `  scrape_timeout: ${SCRAPE_TIMEOUT_MS / 1000}s`,
    '  evaluation_interval: 1m',
    'scrape_configs:',
    '  - job_name: bench',
    '    static_configs:',
  ];
  // One target per path: same address, its own __metrics_path__ and instance label (the series stay distinct).
  for (let target = 1; target <= targets; target++) {
    lines.push(
      `      - targets: ['127.0.0.1:${exporter.port}']`,
      `        labels: { __metrics_path__: '/m/${target}', instance: 'bench-prometheus-${target}' }`,
    );
  }
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, `${lines.join('\n')}\n`);
  const port = await freePort();
  const firstLine = execFileSync(binary, ['--version'], { encoding: 'utf8' }).split('\n')[0];
  const version = /version (\S+)/.exec(firstLine)?.[1] ?? firstLine;
  const proc = Proc.start(
    'prometheus',
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    baseEnv(),
  );
  cleanup.add('stopping Prometheus', () => proc.stop(10_000));
  const base = `http://127.0.0.1:${port}`;
  await proc.waitFor(`${base}/-/ready`, 200, READY_TIMEOUT_MS);
  say(`Prometheus (${version}) scrapes the same ${targets} targets; warming up for ${PROMETHEUS_WARMUP_S} s`);
  await hold(PROMETHEUS_WARMUP_S, [proc, exporter.proc]);
  const appended = async () =>
    metricSum(await getText(`${base}/metrics`), 'prometheus_tsdb_head_samples_appended_total');
  const start = { at: Date.now(), cpu: proc.cpuSeconds() ?? NaN, appended: await appended() };
  const loadStart = loadAverage();
  say(`measuring Prometheus for ${WINDOW_S} s (load average ${loadStart})`);
  await hold(WINDOW_S, [proc, exporter.proc]);
  const end = { at: Date.now(), cpu: proc.cpuSeconds() ?? NaN, appended: await appended() };
  const load = { start: loadStart, end: loadAverage() };
  const upText = await getText(`${base}/api/v1/query?query=${encodeURIComponent('sum(up)')}`);
  const up = Number(
    (JSON.parse(upText) as { data: { result: Array<{ value: [number, string] }> } }).data.result[0]?.value[1] ?? 0,
  );
  const rssMiB = proc.peakRssMiB();
  await proc.stop(10_000);
  await rm(dir, { recursive: true, force: true });
  return {
    version,
    seconds: (end.at - start.at) / 1000,
    cpu: end.cpu - start.cpu,
    appended: end.appended - start.appended,
    load,
    up,
    rssMiB,
  };
}

async function scrapePart(cleanup: Cleanup, serverUrl: string): Promise<void> {
  const exporter = await startTargetServer(cleanup, 'exporter', {
    TARGETS: String(SCRAPE_TARGETS),
    SERIES: String(SERIES_PER_TARGET),
  });
  const runs: ScrapeRun[] = [];
  let targets = SCRAPE_TARGETS;
  for (let attempt = 0; attempt <= SCRAPE_FALLBACK; attempt++) {
    const run = await scrapeRun(cleanup, serverUrl, exporter, targets);
    runs.push(run);
    if (run.rowsPerS >= SUSTAINED_SHARE * run.goalPerS || targets < 2) break;
    targets = Math.floor(targets / 2);
    if (attempt < SCRAPE_FALLBACK)
      say(`Vitals fell short (${fixed(run.rowsPerS)} of ${fixed(run.goalPerS)} samples/s); trying ${targets} targets`);
  }

  const binary = findOnPath('prometheus');
  const prometheus = binary ? await prometheusRun(cleanup, binary, exporter, SCRAPE_TARGETS) : undefined;

  const perMillion = (cpu: number, samples: number) => (cpu / samples) * 1e6;
  print('');
  print(
    `== Scrapes: targets × ${SERIES_PER_TARGET} series every ${SCRAPE_INTERVAL_MS / 1000} s (+${VITALS_SYNTHETIC_SERIES} synthetic series per scrape), ${WINDOW_S} s measured ==`,
  );
  print(
    formatTable(
      [
        'targets',
        'goal samples/s',
        'stored samples/s',
        'written/s',
        'scrapes/s',
        'sustained',
        'Vitals CPU s/M',
        'PG CPU s/M',
        'total s/M',
        'lag p99',
        'peak RSS',
      ],
      runs.map((run) => [
        String(run.targets),
        int(run.goalPerS),
        int(run.rowsPerS),
        int(run.writtenPerS),
        fixed(run.scrapesPerS, 1),
        verdict(run.rowsPerS >= SUSTAINED_SHARE * run.goalPerS)
          .replace('met', 'yes')
          .replace('MISSED', 'NO'),
        fixed(perMillion(run.vitalsCpu, run.samples), 2),
        run.pg.visible ? fixed(perMillion(run.pg.database, run.samples), 2) : 'n/a',
        run.pg.visible ? fixed(perMillion(run.vitalsCpu + run.pg.database, run.samples), 2) : 'n/a',
        quantileText(run.lag.p99),
        `${fixed(run.rssMiB)} MiB`,
      ]),
    ),
  );
  print('');
  print(
    '  stored samples/s: rows in `samples` with ts in the window; written/s: vitals_checker_written_total{kind="samples"} over the window',
  );
  print('  s/M: CPU seconds per million stored samples; PG: the backends of the bench database');
  for (const run of runs) {
    print(
      `  ${run.targets} targets: Vitals ${fixed(run.vitalsCpu, 2)} s CPU (${fixed((run.vitalsCpu / run.seconds) * 100)}% of a core), ` +
        `PostgreSQL ${run.pg.visible ? `${fixed(run.pg.database, 2)} s (${fixed((run.pg.database / run.seconds) * 100)}%) + ${fixed(run.pg.background, 2)} s shared background` : 'not visible'}; ` +
        `${int(run.scrapesDown)} scrapes down, ${int(run.skipped)} skipped; ${int(run.bufferedAtEnd)} samples buffered at the end; ` +
        `${int(run.dropped)} dropped`,
    );
    print(...run.diagnostics.map((line) => `  ${line}`));
  }
  const best = runs
    .filter((run) => run.rowsPerS >= SUSTAINED_SHARE * run.goalPerS)
    .sort((a, b) => b.targets - a.targets)[0];
  const first = runs[0];
  print(
    best
      ? `  highest rate sustained: ${best.targets} targets, ${int(best.rowsPerS)} samples/s` +
          (best === first ? ' (the goal)' : ` (goal: ${int(first.goalPerS)} samples/s)`)
      : `  Vitals sustained none of the rates tried (lowest: ${runs[runs.length - 1].targets} targets, ${int(runs[runs.length - 1].rowsPerS)} of ${int(runs[runs.length - 1].goalPerS)} samples/s)`,
  );

  print('');
  if (!prometheus) {
    print(
      '  Prometheus: no `prometheus` binary on PATH; the comparison was skipped (Debian package `prometheus` provides it)',
    );
    return;
  }
  const promPerMillion = perMillion(prometheus.cpu, prometheus.appended);
  print(
    `  Prometheus (${prometheus.version}), alone, ${SCRAPE_TARGETS} targets: ${int(prometheus.appended / prometheus.seconds)} samples/s appended, ` +
      `${int(prometheus.up)} targets up, CPU ${fixed(prometheus.cpu, 2)} s (${fixed((prometheus.cpu / prometheus.seconds) * 100)}% of a core) ` +
      `= ${fixed(promPerMillion, 2)} s per million samples; peak RSS ${fixed(prometheus.rssMiB)} MiB; ` +
      `load average ${prometheus.load.start} → ${prometheus.load.end}`,
  );
  const vitalsOnly = perMillion(first.vitalsCpu, first.samples) / promPerMillion;
  const withPg = perMillion(first.vitalsCpu + first.pg.database, first.samples) / promPerMillion;
  print(
    `  CPU per sample, Vitals ÷ Prometheus (${first.targets} targets): Vitals alone ${fixed(vitalsOnly, 2)}×; ` +
      (first.pg.visible
        ? `Vitals + PostgreSQL ${fixed(withPg, 2)}× — goal ≤ ${GOAL_PROMETHEUS_RATIO}×: ${verdict(withPg <= GOAL_PROMETHEUS_RATIO)}`
        : `goal ≤ ${GOAL_PROMETHEUS_RATIO}×: ${verdict(vitalsOnly <= GOAL_PROMETHEUS_RATIO)}`),
  );
}

// ---------------------------------------------------------------------------------------------------------------

async function main(cleanup: Cleanup): Promise<void> {
  const server = await databaseServer(cleanup);
  const pgVersion = await withClient(
    server.url,
    async (client) => (await client.query<{ v: string }>('SELECT current_setting($$server_version$$) AS v')).rows[0].v,
  );
  print(
    `bench:checker — ${cpus().length} cores, Node ${process.version}, PostgreSQL ${pgVersion} (${server.mode}); ` +
      `load average at start ${loadAverage()}`,
  );
  if (process.env.BENCH_VITALS_MAIN) print(`Vitals from ${vitalsMain}`);
  print(
    `Vitals: ROLE=checker LOG_LEVEL=warn CHECKER_CONCURRENCY=${CHECKER_CONCURRENCY} DB_POOL_SIZE=${DB_POOL_SIZE}; ` +
      `window ${WINDOW_S} s` +
      (cpuProfileDir ? `; CPU profiles in ${cpuProfileDir}` : ''),
  );
  const load = Number(loadAverage().split(' ')[0]);
  if (load > cpus().length - 0.5)
    print(
      `WARNING: the 1-minute load average (${load}) is about the number of cores (${cpus().length}) or above: other ` +
        `processes compete for the CPU and every figure below is pessimistic`,
    );
  if (PART === 'all' || PART === 'http') await httpPart(cleanup, server.url);
  if (PART === 'all' || PART === 'scrape') await scrapePart(cleanup, server.url);
  print('');
  print(`load average at the end: ${loadAverage()}`);
}

runBench(main);
