/**
 * `npm run bench:api`: read throughput of the targets API, Vitals against a bare Fastify + pg reference server
 * (bench/reference-server.ts) that runs the same SQL and returns byte-identical JSON. Both run as child processes
 * on 127.0.0.1 against one freshly seeded database; autocannon loads them one after the other from this process.
 *
 * DATABASE_URL: a PostgreSQL server to create a throw-away `vitals_bench_*` database on; without it an embedded
 * PostgreSQL is started in a temporary directory. Reports only: exits non-zero when a request failed, never
 * because of timing.
 *
 * BENCH_CPU_PROF=<dir>: both servers run with `node --cpu-prof` and write vitals.cpuprofile and
 * reference.cpuprofile there when they are stopped (open them in Chrome DevTools or speedscope).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedDatabase } from '../src/database/embedded';
import {
  ChildServer,
  Cleanup,
  REPO_ROOT,
  createBenchDatabase,
  formatTable,
  freePort,
  runLoad,
  type LoadRequest,
  type LoadResult,
  targetsSeed,
  runBench,
} from './support';

const TARGETS = 10_000;
const CONNECTIONS = 32;
const PIPELINING = 1;
const WARMUP_SECONDS = 2;
const MEASURE_SECONDS = 8;
const READY_TIMEOUT_MS = 60_000;
const RATIO_GOAL = 0.7;
const PAGE_PATH = '/api/v1/targets?limit=100';
/** Vitals' own settings, cleared so that whatever the caller's shell holds cannot skew the run. */
const VITALS_VARIABLES = [
  'API_TOKENS',
  'DB_POOL_SIZE',
  'TARGETS_FILE',
  'DATA_DIR',
  'EMBEDDED_DB_PORT',
  'BODY_LIMIT',
  'TARGET_DENY_CIDRS',
  'LOG_FILE',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'ROLE',
];

const cpuProfileDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** A PostgreSQL server to create the benchmark database on: DATABASE_URL, or an embedded one. */
async function databaseServer(cleanup: Cleanup): Promise<string> {
  const given = process.env.DATABASE_URL;
  if (given) return given;
  const dir = await mkdtemp(join(tmpdir(), 'vitals-bench-'));
  cleanup.add('removing the embedded database directory', () => rm(dir, { recursive: true, force: true }));
  say(`starting an embedded PostgreSQL under ${dir}`);
  const log: string[] = [];
  try {
    const embedded = await startEmbeddedDatabase(dir, 0, (line) => log.push(line));
    cleanup.add('stopping the embedded PostgreSQL', () => embedded.stop());
    return embedded.url;
  } catch (error) {
    process.stderr.write(`${log.slice(-20).join('\n')}\n`);
    throw error;
  }
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Seeds the targets (one statement) and returns their ids, in name order. */
async function seed(databaseUrl: string): Promise<string[]> {
  return withClient(databaseUrl, async (client) => {
    await client.query(targetsSeed(TARGETS));
    await client.query('ANALYZE targets');
    const { rows } = await client.query<{ id: string }>('SELECT id FROM targets ORDER BY name');
    if (rows.length !== TARGETS) throw new Error(`seeded ${rows.length} targets, expected ${TARGETS}`);
    return rows.map((row) => row.id);
  });
}

/** Node flags for a server child: a CPU profile, written on exit, when BENCH_CPU_PROF asks for one. */
function nodeFlags(name: string): string[] {
  if (!cpuProfileDir) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`, `--cpu-prof-name=${name}.cpuprofile`];
}

function childEnv(databaseUrl: string, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of VITALS_VARIABLES) delete env[name];
  // ROLE=api: the seeded targets must not be checked while the API is measured.
  return { ...env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error', ROLE: 'api' };
}

async function get(server: ChildServer, path: string): Promise<string> {
  const response = await fetch(`${server.baseUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${server.name}: GET ${path} answered ${response.status}: ${body}`);
  return body;
}

/** Fails unless both servers answer `path` with the very same bytes. */
async function assertSameBody(vitals: ChildServer, reference: ChildServer, path: string): Promise<void> {
  const [ours, theirs] = await Promise.all([get(vitals, path), get(reference, path)]);
  if (ours === theirs) return;
  let at = 0;
  while (at < ours.length && ours[at] === theirs[at]) at++;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, at - 80), at + 80));
  throw new Error(
    `the servers answer GET ${path} differently (first difference at character ${at}):\n` +
      `  vitals:    ${around(ours)}\n  reference: ${around(theirs)}`,
  );
}

interface Scenario {
  route: string;
  requests: LoadRequest[];
}

interface Measurement {
  scenario: Scenario;
  server: ChildServer;
  result: LoadResult;
  /** Failed requests during the warm-up, which is otherwise not reported. */
  warmupFailures: number;
}

const failures = (result: LoadResult) => result.errors + result.non2xx;

async function measure(scenario: Scenario, server: ChildServer): Promise<Measurement> {
  const options = {
    url: server.baseUrl,
    connections: CONNECTIONS,
    pipelining: PIPELINING,
    requests: scenario.requests,
  };
  say(`${scenario.route} on ${server.name}: ${WARMUP_SECONDS}s warm-up, ${MEASURE_SECONDS}s measured`);
  const warmup = await runLoad({ ...options, duration: WARMUP_SECONDS });
  const result = await runLoad({ ...options, duration: MEASURE_SECONDS });
  return { scenario, server, result, warmupFailures: failures(warmup) };
}

/** Prints the table; false when any request failed. */
function report(measurements: Measurement[], vitals: ChildServer): boolean {
  const rows: string[][] = [];
  const ratios: string[] = [];
  for (const { scenario, server, result } of measurements) {
    const reference = measurements.find((m) => m.scenario === scenario && m.server !== vitals);
    const ratio =
      server === vitals && reference ? result.requests.average / reference.result.requests.average : undefined;
    if (ratio !== undefined) {
      const verdict = ratio >= RATIO_GOAL ? 'meets' : 'below';
      ratios.push(`${scenario.route}: Vitals/reference = ${ratio.toFixed(2)} (${verdict} the goal of ≥ ${RATIO_GOAL})`);
    }
    rows.push([
      scenario.route,
      server.name,
      result.requests.average.toFixed(0),
      String(result.requests.total),
      String(result.latency.p50),
      String(result.latency.p99),
      String(result.non2xx),
      String(result.errors),
      ratio === undefined ? '' : ratio.toFixed(2),
    ]);
  }
  const header = ['route', 'server', 'req/s', 'requests', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'vitals/ref'];
  const out: string[] = [
    '',
    `${CONNECTIONS} connections, pipelining ${PIPELINING}, ${MEASURE_SECONDS}s measured after ${WARMUP_SECONDS}s ` +
      `warm-up; ${TARGETS} targets; req/s is the mean of per-second samples; latencies in whole ms ` +
      `(autocannon's resolution)`,
    '',
    formatTable(header, rows),
    '',
    ...ratios,
  ];
  const peak = vitals.peakRssMiB();
  if (peak !== undefined) out.push(`Vitals peak RSS (VmHWM): ${peak.toFixed(0)} MiB`);

  const failed = measurements.filter((m) => failures(m.result) > 0 || m.warmupFailures > 0);
  for (const m of failed) {
    const codes = Object.entries(m.result.statusCodeStats)
      .map(([code, { count }]) => `${code}×${count}`)
      .join(', ');
    out.push(
      `FAILED: ${m.scenario.route} on ${m.server.name}: ${m.result.non2xx} non-2xx, ${m.result.errors} errors ` +
        `(${m.result.timeouts} timeouts), ${m.warmupFailures} failed in the warm-up; status codes: ${codes}`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return failed.length === 0;
}

async function main(cleanup: Cleanup): Promise<boolean> {
  const database = await createBenchDatabase(await databaseServer(cleanup));
  cleanup.add('dropping the benchmark database', () => database.drop());

  say('starting Vitals (node dist/main.js)');
  const vitalsPort = await freePort();
  const vitals = ChildServer.start(
    'vitals',
    [...nodeFlags('vitals'), join(REPO_ROOT, 'dist/main.js')],
    childEnv(database.url, vitalsPort),
    vitalsPort,
  );
  cleanup.add('stopping Vitals', () => vitals.stop());
  // Migrations run at start: once /ready answers 200 the targets table exists.
  await vitals.waitFor('/ready', 200, READY_TIMEOUT_MS);

  say(`seeding ${TARGETS} targets`);
  const ids = await seed(database.url);

  say('starting the reference server (bench/reference-server.ts)');
  const referencePort = await freePort();
  // tsx's CommonJS hook rather than `--import tsx`: no loader thread beside the server, one process to profile.
  const reference = ChildServer.start(
    'reference',
    [...nodeFlags('reference'), '--require', require.resolve('tsx/cjs'), join(REPO_ROOT, 'bench/reference-server.ts')],
    childEnv(database.url, referencePort),
    referencePort,
  );
  cleanup.add('stopping the reference server', () => reference.stop());
  await reference.waitFor('/ready', 200, READY_TIMEOUT_MS);

  // bench-00001…00024 include every shape the seed makes: both kinds, a URL with a password, expectedStatus,
  // both bodyMatch forms, secret and plain headers, extra labels, disabled targets.
  for (const id of ids.slice(0, 24)) await assertSameBody(vitals, reference, `/api/v1/targets/${id}`);
  await assertSameBody(vitals, reference, PAGE_PATH);
  say('both servers answer byte-identical JSON');

  const randomId = () => ids[Math.floor(Math.random() * ids.length)];
  const scenarios: Scenario[] = [
    {
      route: 'GET /api/v1/targets/{id}',
      requests: [
        {
          method: 'GET',
          // A different, random seeded target on every request, so no single row stays hot.
          setupRequest: (request) => ({ ...request, path: `/api/v1/targets/${randomId()}` }),
        },
      ],
    },
    { route: `GET ${PAGE_PATH}`, requests: [{ method: 'GET', path: PAGE_PATH }] },
  ];
  const measurements: Measurement[] = [];
  for (const scenario of scenarios) {
    for (const server of [vitals, reference]) measurements.push(await measure(scenario, server));
  }
  return report(measurements, vitals);
}

runBench(main);
