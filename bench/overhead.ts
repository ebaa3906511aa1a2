/**
 * `npm run bench:overhead`: what Vitals' own observability costs in API throughput. The same build
 * (`node dist/main.js`, ROLE=api so nothing is checked) on the same seeded database is loaded by autocannon in two
 * configurations:
 *
 * - on:  LOG_LEVEL=info (one access line per request, to stdout and to LOG_FILE in a temporary directory) and
 *        OTEL_EXPORTER_OTLP_ENDPOINT at an OTLP/gRPC collector on 127.0.0.1 (test/support/otlp-collector.ts, run
 *        by bench/overhead-collector.ts in a child process), plus metrics, which then also carry exemplars;
 * - off: LOG_LEVEL=error, no LOG_FILE, no endpoint (the OpenTelemetry SDK is not even loaded); metrics are still
 *        collected, as they cannot be switched off.
 *
 * Four runs, off, on, on, off, each a fresh Vitals process: per run and per route (GET /api/v1/targets/{id} on a
 * random seeded id, and GET /api/v1/targets?limit=100) a warm-up and a measured window. Reports each run, the
 * mean per configuration, and the throughput lost, 1 − on/off, against the goal of at most 15 %. Vitals' stdout
 * goes to a file (as to a container runtime's log), not through this process.
 *
 * DATABASE_URL: a PostgreSQL server to create a throw-away `vitals_bench_*` database on; without it an embedded
 * PostgreSQL is started in a temporary directory. 127.0.0.1 only; every child process, temporary directory and
 * database is removed at the end, however the benchmark ends.
 *
 * Exits non-zero when a request failed or an "on" run was not on (no span reached the collector, or no line
 * reached LOG_FILE), never because of timing.
 *
 * Knobs: BENCH_CPU_PROF=<dir> (every Vitals process runs with `node --cpu-prof` and writes
 * vitals-<on|off>-<run>.cpuprofile there; summarise one with `tsx bench/overhead-profile.ts <file>`; profiling
 * slows both configurations, so the loss printed then is not the real one), BENCH_MEASURE_S (8), BENCH_WARMUP_S
 * (2), BENCH_ON_ENV (experiments: whitespace-separated NAME=value pairs added to the "on" runs' environment, e.g.
 * `OTEL_METRICS_EXPORTER=none`, or `LOG_LEVEL=error` for traces alone; printed with the results, and the checks
 * that "on" was on still apply).
 */
import { execFile, execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { startEmbeddedDatabase } from '../src/database/embedded';
import type { CollectorMessage, CollectorRequest } from './overhead-collector';
import {
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

function envSeconds(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 600) {
    throw new Error(`${name} must be a whole number of seconds from 1 to 600, got ${text}`);
  }
  return value;
}

const TARGETS = 10_000;
const CONNECTIONS = 32;
const PIPELINING = 1;
const WARMUP_SECONDS = envSeconds('BENCH_WARMUP_S', 2);
const MEASURE_SECONDS = envSeconds('BENCH_MEASURE_S', 8);
const READY_TIMEOUT_MS = 60_000;
const MIGRATE_TIMEOUT_MS = 120_000;
/** Long enough for the SDK to flush its queue on SIGTERM. */
const STOP_GRACE_MS = 15_000;
const COLLECTOR_TIMEOUT_MS = 15_000;
const LOSS_GOAL = 0.15;
const PAGE_PATH = '/api/v1/targets?limit=100';
const ID_ROUTE = 'GET /api/v1/targets/{id}';
const PAGE_ROUTE = `GET ${PAGE_PATH}`;
/** Alternating, so that a drift in the machine's load weighs on both configurations alike. */
const ORDER: readonly Setting[] = ['off', 'on', 'on', 'off'];

type Setting = 'on' | 'off';

/** BENCH_ON_ENV: extra variables for the "on" runs. */
function onEnvExtra(): Record<string, string> {
  const extra: Record<string, string> = {};
  for (const pair of (process.env.BENCH_ON_ENV ?? '').split(/\s+/)) {
    if (pair === '') continue;
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match) throw new Error(`BENCH_ON_ENV: "${pair}" is not NAME=value`);
    extra[match[1]] = match[2];
  }
  return extra;
}

const ON_ENV_EXTRA = onEnvExtra();
const cpuProfileDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

// ---------------------------------------------------------------------------------------------------------------
// The database: the same 10,000 targets as bench/api.ts

/** A PostgreSQL server to create the benchmark database on: DATABASE_URL, or an embedded one. */
async function databaseServer(cleanup: Cleanup): Promise<string> {
  const given = process.env.DATABASE_URL;
  if (given) return given;
  const dir = await mkdtemp(join(tmpdir(), 'vitals-bench-overhead-pg-'));
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

/** Applies Vitals' migrations with its own migrator, so that every measured process starts on the same schema. */
async function migrate(databaseUrl: string): Promise<void> {
  try {
    await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'dist/database/migrate.js')], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
      timeout: MIGRATE_TIMEOUT_MS,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`migrations failed: ${errorText(error)}\n${stdout}${stderr}`);
  }
}

/** Seeds the targets (one statement) and returns their ids. */
async function seed(databaseUrl: string): Promise<string[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(targetsSeed(TARGETS));
    await client.query('ANALYZE targets');
    const { rows } = await client.query<{ id: string }>('SELECT id FROM targets ORDER BY name');
    if (rows.length !== TARGETS) throw new Error(`seeded ${rows.length} targets, expected ${TARGETS}`);
    return rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** Clock ticks per second, the unit of utime and stime in /proc/<pid>/stat. */
const CLK_TCK = clockTicks();

const liveChildren = new Set<ChildProcess>();

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

// Last resort: whatever way this process ends, no child is left behind.
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const graceful = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!graceful) {
    child.kill('SIGKILL');
    await exited;
  }
}

function lastLines(file: string, count: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-count).join('\n');
  } catch {
    return '';
  }
}

interface CollectorCount {
  spans: number;
  byName: Record<string, number>;
  cpuMs: number;
}

/** bench/overhead-collector.ts as a child process, asked for its counts over IPC. */
class CollectorProcess {
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000)));
  }

  static async start(): Promise<CollectorProcess> {
    // tsx's CommonJS hook rather than `--import tsx`: no loader thread beside the collector.
    const child = fork(join(REPO_ROOT, 'bench/overhead-collector.ts'), [], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '' },
      execArgv: ['--require', require.resolve('tsx/cjs')],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    track(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const port = await new Promise<number>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`the collector did not start:\n${stderr}`)), READY_TIMEOUT_MS);
      child.on('message', (message: CollectorMessage) => {
        if (message.type !== 'listening') return;
        clearTimeout(timer);
        done(message.port);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`the collector exited (${code}) while starting:\n${stderr}`));
      });
    });
    return new CollectorProcess(child, port);
  }

  /** Spans received so far, by name, and the collector's CPU time. */
  count(): Promise<CollectorCount> {
    return new Promise((done, fail) => {
      const onMessage = (message: CollectorMessage) => {
        if (message.type !== 'count') return;
        finish();
        done({ spans: message.spans, byName: message.byName, cpuMs: message.cpuMs });
      };
      const onExit = () => {
        finish();
        fail(new Error(`the collector exited:\n${this.stderr}`));
      };
      const timer = setTimeout(() => {
        finish();
        fail(new Error('the collector did not answer'));
      }, COLLECTOR_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      const request: CollectorRequest = { type: 'count' };
      this.child.send(request);
    });
  }

  async stop(): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies CollectorRequest);
    await terminate(this.child, STOP_GRACE_MS);
  }
}

/** One Vitals process (`node dist/main.js`); stdout and stderr go to files, as to a container runtime's log. */
class VitalsProcess {
  readonly baseUrl: string;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
    port: number,
    readonly stdoutFile: string,
    private readonly stderrFile: string,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  static start(label: string, env: Record<string, string>, port: number, dir: string): VitalsProcess {
    const name = label.replace('#', '-');
    const stdoutFile = join(dir, `${name}.stdout`);
    const stderrFile = join(dir, `${name}.stderr`);
    const flags = cpuProfileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`, `--cpu-prof-name=vitals-${name}.cpuprofile`]
      : [];
    const out = openSync(stdoutFile, 'w');
    const err = openSync(stderrFile, 'w');
    try {
      const child = spawn(process.execPath, [...flags, join(REPO_ROOT, 'dist/main.js')], {
        cwd: REPO_ROOT,
        env,
        stdio: ['ignore', out, err],
      });
      track(child);
      return new VitalsProcess(label, child, port, stdoutFile, stderrFile);
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  private get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  output(): string {
    return `stdout:\n${lastLines(this.stdoutFile, 20)}\nstderr:\n${lastLines(this.stderrFile, 20)}`;
  }

  /** Polls /ready until it answers 200; fails if the process exits or the time is up. */
  async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`Vitals ${this.label} exited while starting:\n${this.output()}`);
      try {
        const response = await fetch(`${this.baseUrl}/ready`, { signal: AbortSignal.timeout(2000) });
        if (response.status === 200) return;
        last = `HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`;
      } catch (error) {
        last = errorText(error);
      }
      await sleep(200);
    }
    throw new Error(`Vitals ${this.label}: /ready did not answer 200 in time (last: ${last})\n${this.output()}`);
  }

  /** Fails unless GET `path` answers 200. */
  async expectOk(path: string): Promise<void> {
    const response = await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
    const body = await response.text();
    if (response.status !== 200)
      throw new Error(`Vitals ${this.label}: GET ${path} answered ${response.status}: ${body}`);
  }

  /** User + system CPU time of the process, in seconds, from /proc (undefined where there is none). */
  cpuSeconds(): number | undefined {
    try {
      const text = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      // Fields 14 (utime) and 15 (stime), counted from 1, after the command name in parentheses.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      return undefined;
    }
  }

  peakRssMiB(): number | undefined {
    try {
      const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      return match ? Number(match[1]) / 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  stop(): Promise<void> {
    return terminate(this.child, STOP_GRACE_MS);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Runs

interface Scenario {
  route: string;
  requests: LoadRequest[];
}

interface RouteResult {
  route: string;
  result: LoadResult;
  warmupFailures: number;
  /** Requests answered in the warm-up. */
  warmupAnswered: number;
  /** Vitals' CPU time per answered request in the measured window, in microseconds. */
  cpuUsPerRequest?: number;
}

interface LogCount {
  lines: number;
  accessLines: number;
  /** Access lines that carry a trace_id. */
  tracedAccessLines: number;
}

interface RunResult {
  label: string;
  setting: Setting;
  /** 1-minute load average when the run started. */
  loadAtStart: number;
  routes: RouteResult[];
  /** Requests autocannon had answered in the run, warm-ups included. */
  answered: number;
  spans: number;
  spansByName: Record<string, number>;
  collectorCpuMs: number;
  /** Lines in LOG_FILE (on only). */
  logFile?: LogCount;
  stdout: LogCount;
  peakRssMiB?: number;
}

const failures = (result: LoadResult) => result.errors + result.non2xx;

async function countLines(file: string): Promise<LogCount> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { lines: 0, accessLines: 0, tracedAccessLines: 0 };
  }
  const count: LogCount = { lines: 0, accessLines: 0, tracedAccessLines: 0 };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    count.lines++;
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.message !== 'request') continue;
      count.accessLines++;
      if (typeof entry.trace_id === 'string') count.tracedAccessLines++;
    } catch {
      // Not a JSON line: counted, not an access line.
    }
  }
  return count;
}

interface Context {
  databaseUrl: string;
  dir: string;
  collector: CollectorProcess;
  scenarios: Scenario[];
  /** A seeded target, to check each process answers before it is loaded. */
  sampleId: string;
}

function vitalsEnv(setting: Setting, ctx: Context, port: number, logFile: string): Record<string, string> {
  // Only what is set here: nothing in the caller's shell (LOG_*, OTEL_*, DB_POOL_SIZE, …) can skew a run.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: ctx.databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(port),
    // ROLE=api: the seeded targets must not be checked while the API is measured.
    ROLE: 'api',
  };
  if (setting === 'off') return { ...env, LOG_LEVEL: 'error' };
  return {
    ...env,
    LOG_LEVEL: 'info',
    LOG_FILE: logFile,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ctx.collector.port}`,
    ...ON_ENV_EXTRA,
  };
}

async function measure(vitals: VitalsProcess, scenario: Scenario): Promise<RouteResult> {
  const options = {
    url: vitals.baseUrl,
    connections: CONNECTIONS,
    pipelining: PIPELINING,
    requests: scenario.requests,
  };
  say(`  ${scenario.route}: ${WARMUP_SECONDS}s warm-up, ${MEASURE_SECONDS}s measured`);
  const warmup = await runLoad({ ...options, duration: WARMUP_SECONDS });
  const cpuBefore = vitals.cpuSeconds();
  const result = await runLoad({ ...options, duration: MEASURE_SECONDS });
  const cpuAfter = vitals.cpuSeconds();
  const cpuUsPerRequest =
    cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0
      ? ((cpuAfter - cpuBefore) * 1e6) / result.requests.total
      : undefined;
  return {
    route: scenario.route,
    result,
    warmupFailures: failures(warmup),
    warmupAnswered: warmup.requests.total,
    cpuUsPerRequest,
  };
}

async function run(label: string, setting: Setting, ctx: Context, running: Set<VitalsProcess>): Promise<RunResult> {
  const loadAtStart = loadavg()[0];
  const logFile = join(ctx.dir, `${label.replace('#', '-')}.log`);
  const before = await ctx.collector.count();
  const port = await freePort();
  say(`run ${label}: starting Vitals (load average ${loadAtStart.toFixed(2)})`);
  const vitals = VitalsProcess.start(label, vitalsEnv(setting, ctx, port, logFile), port, ctx.dir);
  running.add(vitals);
  const routes: RouteResult[] = [];
  let peak: number | undefined;
  try {
    await vitals.waitReady();
    await vitals.expectOk(`/api/v1/targets/${ctx.sampleId}`);
    await vitals.expectOk(PAGE_PATH);
    for (const scenario of ctx.scenarios) routes.push(await measure(vitals, scenario));
    peak = vitals.peakRssMiB();
  } finally {
    // Stopped before the counts: on SIGTERM Vitals flushes its span queue and its log file.
    await vitals.stop();
    running.delete(vitals);
  }
  const after = await ctx.collector.count();
  const spansByName: Record<string, number> = {};
  for (const [name, count] of Object.entries(after.byName)) {
    const delta = count - (before.byName[name] ?? 0);
    if (delta > 0) spansByName[name] = delta;
  }
  return {
    label,
    setting,
    loadAtStart,
    routes,
    answered: routes.reduce((sum, r) => sum + r.result.requests.total + r.warmupAnswered, 0),
    spans: after.spans - before.spans,
    spansByName,
    collectorCpuMs: after.cpuMs - before.cpuMs,
    logFile: setting === 'on' ? await countLines(logFile) : undefined,
    stdout: await countLines(vitals.stdoutFile),
    peakRssMiB: peak,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const percent = (fraction: number) => `${(fraction * 100).toFixed(1)} %`;
const optional = (value: number | undefined, digits: number) => (value === undefined ? 'n/a' : value.toFixed(digits));
const loadText = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ');

/** Prints the report; false when a request failed or an "on" run was not on. */
function report(runs: RunResult[], scenarios: Scenario[], loadAtStart: string): boolean {
  const out: string[] = [];
  const cores = cpus();
  out.push(
    '',
    `Observability overhead: node ${process.version}, ${cores.length} cores (${cores[0]?.model ?? 'unknown'}); ` +
      `load average (1/5/15 min) at start ${loadAtStart}, at end ${loadText()}`,
    `${CONNECTIONS} connections, pipelining ${PIPELINING}, per run and route ${WARMUP_SECONDS}s warm-up + ` +
      `${MEASURE_SECONDS}s measured; ${TARGETS} targets; runs in the order ${ORDER.join(', ')}, each a fresh ` +
      `Vitals process (ROLE=api); req/s is the mean of per-second samples; latencies in whole ms (autocannon's ` +
      `resolution); CPU is Vitals' user + system time per answered request`,
    `on:  LOG_LEVEL=info + LOG_FILE + stdout (one access line per request), OTLP/gRPC traces to a collector on ` +
      `127.0.0.1 (a child process on this machine), metrics with exemplars`,
    `off: LOG_LEVEL=error, no LOG_FILE, no OTLP endpoint (the SDK is not started); metrics are still collected — ` +
      `they cannot be switched off, so their cost is in both configurations and not in the loss below`,
  );
  if (Object.keys(ON_ENV_EXTRA).length > 0) {
    const pairs = Object.entries(ON_ENV_EXTRA).map(([name, value]) => `${name}=${value}`);
    out.push(`NOTE: BENCH_ON_ENV changes the "on" runs: ${pairs.join(' ')}`);
  }
  if (cpuProfileDir) {
    out.push(`NOTE: BENCH_CPU_PROF is set: every Vitals ran under --cpu-prof, so the numbers are not the real ones`);
  }

  const perRun: string[][] = [];
  for (const r of runs) {
    for (const { route, result, warmupFailures, cpuUsPerRequest } of r.routes) {
      perRun.push([
        r.label,
        route,
        result.requests.average.toFixed(0),
        String(result.requests.total),
        String(result.latency.p50),
        String(result.latency.p99),
        String(result.non2xx),
        String(result.errors + warmupFailures),
        optional(cpuUsPerRequest, 0),
        r.loadAtStart.toFixed(2),
      ]);
    }
  }
  out.push(
    '',
    'Each run:',
    formatTable(
      ['run', 'route', 'req/s', 'requests', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'CPU µs/req', 'load 1m'],
      perRun,
    ),
  );

  const summary: string[][] = [];
  const verdicts: string[] = [];
  for (const { route } of scenarios) {
    const of = (setting: Setting) =>
      runs.filter((r) => r.setting === setting).flatMap((r) => r.routes.filter((x) => x.route === route));
    const stats = (setting: Setting) => {
      const results = of(setting);
      const cpu = results.map((x) => x.cpuUsPerRequest).filter((x): x is number => x !== undefined);
      return {
        rps: mean(results.map((x) => x.result.requests.average)),
        p50: mean(results.map((x) => x.result.latency.p50)),
        p99: mean(results.map((x) => x.result.latency.p99)),
        non2xx: results.reduce((sum, x) => sum + x.result.non2xx, 0),
        errors: results.reduce((sum, x) => sum + x.result.errors + x.warmupFailures, 0),
        cpu: cpu.length === results.length && cpu.length > 0 ? mean(cpu) : undefined,
      };
    };
    const off = stats('off');
    const on = stats('on');
    const loss = 1 - on.rps / off.rps;
    for (const [setting, s] of [
      ['off', off],
      ['on', on],
    ] as const) {
      summary.push([
        route,
        setting,
        s.rps.toFixed(0),
        s.p50.toFixed(1),
        s.p99.toFixed(1),
        String(s.non2xx),
        String(s.errors),
        optional(s.cpu, 0),
      ]);
    }
    const cpuLoss = on.cpu !== undefined && off.cpu !== undefined ? 1 - off.cpu / on.cpu : undefined;
    verdicts.push(
      `${route}: throughput lost 1 − on/off = ${percent(loss)} ` +
        `(${loss <= LOSS_GOAL ? 'meets' : 'misses'} the goal of ≤ ${percent(LOSS_GOAL)})` +
        (cpuLoss === undefined ? '' : `; from CPU per request, 1 − off/on = ${percent(cpuLoss)}`),
    );
  }
  out.push(
    '',
    `Mean of the ${runs.filter((r) => r.setting === 'off').length} off and ` +
      `${runs.filter((r) => r.setting === 'on').length} on runs (errors include the warm-ups):`,
    formatTable(['route', 'config', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'CPU µs/req'], summary),
    '',
    ...verdicts,
  );

  const sanity: string[][] = runs.map((r) => [
    r.label,
    String(r.answered),
    String(r.spans),
    r.answered > 0 ? (r.spans / r.answered).toFixed(2) : 'n/a',
    r.logFile ? String(r.logFile.lines) : '(no LOG_FILE)',
    r.logFile ? String(r.logFile.accessLines) : '',
    r.logFile ? String(r.logFile.tracedAccessLines) : '',
    String(r.stdout.lines),
    (r.collectorCpuMs / 1000).toFixed(1),
    optional(r.peakRssMiB, 0),
  ]);
  out.push(
    '',
    'What each run emitted ("answered" counts warm-ups; spans and log lines also include start-up and probes):',
    formatTable(
      [
        'run',
        'answered',
        'spans',
        'spans/req',
        'LOG_FILE lines',
        'access lines',
        'with trace_id',
        'stdout lines',
        'collector CPU s',
        'peak RSS MiB',
      ],
      sanity,
    ),
  );
  const names: Record<string, number> = {};
  for (const r of runs.filter((x) => x.setting === 'on')) {
    for (const [name, count] of Object.entries(r.spansByName)) names[name] = (names[name] ?? 0) + count;
  }
  const top = Object.entries(names)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8);
  if (top.length > 0) {
    out.push(`Spans received in the on runs, by name: ${top.map(([name, count]) => `${name} ×${count}`).join(', ')}`);
  }

  let ok = true;
  for (const r of runs) {
    for (const { route, result, warmupFailures } of r.routes) {
      if (failures(result) === 0 && warmupFailures === 0) continue;
      ok = false;
      const codes = Object.entries(result.statusCodeStats)
        .map(([code, { count }]) => `${code}×${count}`)
        .join(', ');
      out.push(
        `FAILED: run ${r.label}, ${route}: ${result.non2xx} non-2xx, ${result.errors} errors ` +
          `(${result.timeouts} timeouts), ${warmupFailures} failed in the warm-up; status codes: ${codes}`,
      );
    }
    if (r.setting === 'on' && (r.spans === 0 || (r.logFile?.lines ?? 0) === 0)) {
      ok = false;
      out.push(
        `FAILED: run ${r.label} was not really on: ${r.spans} spans reached the collector, ` +
          `${r.logFile?.lines ?? 0} lines reached LOG_FILE (both must be > 0)`,
      );
    }
    if (r.setting === 'off' && r.spans > 0) {
      out.push(`WARNING: run ${r.label} was meant to be off, yet ${r.spans} spans reached the collector`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return ok;
}

// ---------------------------------------------------------------------------------------------------------------

async function main(cleanup: Cleanup): Promise<boolean> {
  const loadAtStart = loadText();
  const dir = await mkdtemp(join(tmpdir(), 'vitals-bench-overhead-'));
  cleanup.add('removing the temporary directory', () => rm(dir, { recursive: true, force: true }));

  const database = await createBenchDatabase(await databaseServer(cleanup));
  cleanup.add('dropping the benchmark database', () => database.drop());
  say('applying migrations (node dist/database/migrate.js)');
  await migrate(database.url);
  say(`seeding ${TARGETS} targets`);
  const ids = await seed(database.url);

  say('starting the OTLP/gRPC collector (bench/overhead-collector.ts)');
  const collector = await CollectorProcess.start();
  cleanup.add('stopping the collector', () => collector.stop());

  const running = new Set<VitalsProcess>();
  cleanup.add('stopping Vitals', async () => {
    for (const vitals of running) await vitals.stop();
  });

  const randomId = () => ids[Math.floor(Math.random() * ids.length)];
  const scenarios: Scenario[] = [
    {
      route: ID_ROUTE,
      requests: [
        {
          method: 'GET',
          // A different, random seeded target on every request, so no single row stays hot.
          setupRequest: (request) => ({ ...request, path: `/api/v1/targets/${randomId()}` }),
        },
      ],
    },
    { route: PAGE_ROUTE, requests: [{ method: 'GET', path: PAGE_PATH }] },
  ];
  const ctx: Context = { databaseUrl: database.url, dir, collector, scenarios, sampleId: ids[0] };

  const runs: RunResult[] = [];
  const seen: Record<Setting, number> = { on: 0, off: 0 };
  for (const setting of ORDER) {
    seen[setting]++;
    runs.push(await run(`${setting}#${seen[setting]}`, setting, ctx, running));
  }
  return report(runs, scenarios, loadAtStart);
}

runBench(main);
