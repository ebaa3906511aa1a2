/**
 * Helpers for bench/checker.ts: child processes of any executable with their CPU time and peak RSS from /proc,
 * PostgreSQL's CPU time per backend, a throw-away database, and reading Prometheus text from Vitals' /metrics.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { REPO_ROOT } from './support';

// ---------------------------------------------------------------------------------------------------------------
// /proc

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** Clock ticks per second, the unit of utime and stime in /proc/<pid>/stat. */
export const CLK_TCK = clockTicks();

interface ProcStat {
  /** utime + stime of every thread, in seconds. */
  cpuSeconds: number;
  /** When the process started, in seconds after boot. */
  startedAfterBoot: number;
}

/** /proc/<pid>/stat, or undefined once the process is gone (or where there is no /proc). */
export function procStat(pid: number | undefined): ProcStat | undefined {
  if (pid === undefined) return undefined;
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields that follow start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // Fields 14 (utime), 15 (stime) and 22 (starttime), counted from 1; `fields[0]` is field 3.
    return {
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLK_TCK,
      startedAfterBoot: Number(fields[19]) / CLK_TCK,
    };
  } catch {
    return undefined;
  }
}

export function cpuSeconds(pid: number | undefined): number | undefined {
  return procStat(pid)?.cpuSeconds;
}

/** Seconds since boot, the clock of `startedAfterBoot`. */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

function statusMiB(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Peak resident set size (VmHWM) in MiB. */
export function peakRssMiB(pid: number | undefined): number | undefined {
  return statusMiB(pid, 'VmHWM');
}

/** Resident set size now (VmRSS) in MiB. */
export function rssMiB(pid: number | undefined): number | undefined {
  return statusMiB(pid, 'VmRSS');
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes

const OUTPUT_LINES_KEPT = 60;
const liveChildren = new Set<ChildProcess>();

// Last resort: whatever way this process ends, no child is left behind.
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** A child process of any executable; its last lines of output are kept to explain a failure. */
export class Proc {
  private readonly output: string[] = [];
  private readonly stdoutLines: string[] = [];
  readonly exited: Promise<number | null>;
  private hasExited = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    let partial = '';
    const keep = (chunk: Buffer, stdout: boolean) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        if (stdout) this.stdoutLines.push(line);
        this.output.push(line);
        if (this.output.length > OUTPUT_LINES_KEPT) this.output.shift();
        if (this.stdoutLines.length > OUTPUT_LINES_KEPT) this.stdoutLines.shift();
      }
    };
    child.stdout?.on('data', (chunk: Buffer) => keep(chunk, true));
    child.stderr?.on('data', (chunk: Buffer) => keep(chunk, false));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.hasExited = true;
        resolve(code);
      }),
    );
  }

  /** Starts `command` (an executable) with `args`, from the repository's root. */
  static start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    child.once('error', () => undefined);
    return new Proc(name, child);
  }

  /** A Node.js script run by this very Node binary; TypeScript through tsx's CommonJS hook. */
  static node(name: string, args: string[], env: NodeJS.ProcessEnv): Proc {
    return Proc.start(name, process.execPath, args, env);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.hasExited;
  }

  recentOutput(): string {
    return this.output.length === 0 ? '(no output)' : this.output.join('\n');
  }

  /** Lines the child wrote to stdout (the last ones only). */
  stdout(): string[] {
    return [...this.stdoutLines];
  }

  cpuSeconds(): number | undefined {
    return cpuSeconds(this.child.pid);
  }

  peakRssMiB(): number | undefined {
    return peakRssMiB(this.child.pid);
  }

  rssMiB(): number | undefined {
    return rssMiB(this.child.pid);
  }

  /** Polls `url` until it answers `status`; fails if the child exits or `timeoutMs` passes. */
  async waitFor(url: string, status: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.hasExited) throw new Error(`${this.name} exited while starting:\n${this.recentOutput()}`);
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
        const body = await response.text();
        if (response.status === status) return;
        last = `HTTP ${response.status}: ${body.slice(0, 300)}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await sleep(200);
    }
    throw new Error(
      `${this.name}: GET ${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})\n${this.recentOutput()}`,
    );
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.hasExited || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const graceful = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!graceful) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL

/** A client whose connection errors (e.g. the database dropped at clean-up) fail its queries, not the process. */
function newClient(url: string): Client {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  return client;
}

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = newClient(url);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface NamedDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database `<prefix>_<random>` on the server at `serverUrl`, dropped by `drop()`. */
export async function createNamedDatabase(serverUrl: string, prefix: string): Promise<NamedDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

export interface PgCpu {
  /** CPU seconds of the backends connected to the benchmark database (autovacuum workers on it included). */
  database: number;
  /** CPU seconds of the server's background processes (WAL writer, checkpointer, …), shared by all databases. */
  background: number;
  /** False when the server's processes could not be read from /proc (another machine or container). */
  visible: boolean;
}

interface Tracked {
  kind: 'database' | 'background';
  base: number;
  last: number;
}

/**
 * CPU time of PostgreSQL's processes from /proc while a window is open. The processes are found in
 * pg_stat_activity (once a second, so that short-lived autovacuum workers are caught too); one that started
 * during the window counts from zero, one that ended counts up to its last reading.
 */
export class PgCpuMeter {
  private readonly tracked = new Map<number, Tracked>();
  private client?: Client;
  private timer?: NodeJS.Timeout;
  private windowStartAfterBoot = 0;
  private sampling?: Promise<void>;
  private visible = true;

  constructor(
    private readonly databaseUrl: string,
    private readonly database: string,
  ) {}

  async begin(): Promise<void> {
    this.client = newClient(this.databaseUrl);
    await this.client.connect();
    this.windowStartAfterBoot = uptimeSeconds();
    await this.sample(true);
    this.timer = setInterval(() => {
      this.sampling ??= this.sample(false)
        .catch(() => undefined)
        .finally(() => (this.sampling = undefined));
    }, 1000);
  }

  async end(): Promise<PgCpu> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample(false);
    await this.client?.end();
    this.client = undefined;
    const total = { database: 0, background: 0, visible: this.visible };
    for (const entry of this.tracked.values()) total[entry.kind] += entry.last - entry.base;
    return total;
  }

  private async sample(first: boolean): Promise<void> {
    if (!this.client) return;
    const { rows } = await this.client.query<{ pid: number; datname: string | null; backend_type: string }>(
      `SELECT pid, datname, backend_type FROM pg_stat_activity WHERE pid <> pg_backend_pid()`,
    );
    for (const row of rows) {
      const kind =
        row.datname === this.database
          ? 'database'
          : row.datname === null && row.backend_type !== 'client backend'
            ? 'background'
            : undefined;
      if (!kind) continue;
      const stat = procStat(row.pid);
      if (!stat) {
        if (first) this.visible = false;
        continue;
      }
      const known = this.tracked.get(row.pid);
      if (known) {
        known.last = stat.cpuSeconds;
      } else {
        const startedInWindow = !first && stat.startedAfterBoot >= this.windowStartAfterBoot;
        this.tracked.set(row.pid, { kind, base: startedInWindow ? 0 : stat.cpuSeconds, last: stat.cpuSeconds });
      }
    }
    // Processes gone since the last reading keep their last value.
    for (const [pid, entry] of this.tracked) {
      const stat = procStat(pid);
      if (stat) entry.last = Math.max(entry.last, stat.cpuSeconds);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Prometheus text

export interface MetricLine {
  /** The text between the braces, or '' without labels. */
  labels: string;
  value: number;
}

/** Every sample of the metric `name` in a Prometheus text exposition. */
export function metricLines(text: string, name: string): MetricLine[] {
  const found: MetricLine[] = [];
  let at = 0;
  for (;;) {
    at = text.indexOf(`\n${name}`, at);
    if (at < 0) break;
    const end = text.indexOf('\n', at + 1);
    const line = text.slice(at + 1, end < 0 ? undefined : end);
    at = end < 0 ? text.length : end;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const close = rest[0] === '{' ? rest.lastIndexOf('}') : -1;
    const labels = close > 0 ? rest.slice(1, close) : '';
    const value = Number(
      rest
        .slice(close + 1)
        .trim()
        .split(' ')[0],
    );
    found.push({ labels, value });
  }
  return found;
}

/** The sum over all label sets of metric `name`; 0 when it is absent (a labelled counter never incremented). */
export function metricSum(text: string, name: string): number {
  return metricLines(`\n${text}`, name).reduce((sum, line) => sum + line.value, 0);
}

/** Cumulative bucket counts of a histogram without labels other than `le`, by upper bound. */
export function histogramBuckets(text: string, name: string): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const line of metricLines(`\n${text}`, `${name}_bucket`)) {
    const match = /le="([^"]+)"/.exec(line.labels);
    if (!match) continue;
    const bound = match[1] === '+Inf' ? Infinity : Number(match[1]);
    buckets.set(bound, (buckets.get(bound) ?? 0) + line.value);
  }
  return buckets;
}

export interface Quantile {
  /** Seconds, interpolated within the bucket as Prometheus's histogram_quantile does; Infinity: above the last bound. */
  value: number;
  /** The largest finite bucket bound, for "more than" when the quantile is in the +Inf bucket. */
  lastBound: number;
}

/** The q-quantile of the observations made between two readings of the same histogram. */
export function quantileBetween(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): Quantile | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((bound) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0));
  const total = counts[counts.length - 1];
  const lastBound = bounds.filter((bound) => Number.isFinite(bound)).pop() ?? 0;
  if (!total || total <= 0) return undefined;
  const rank = q * total;
  for (let index = 0; index < bounds.length; index++) {
    if (counts[index] < rank) continue;
    if (!Number.isFinite(bounds[index])) return { value: Infinity, lastBound };
    const lower = index === 0 ? 0 : bounds[index - 1];
    const below = index === 0 ? 0 : counts[index - 1];
    const inBucket = counts[index] - below;
    const fraction = inBucket > 0 ? (rank - below) / inBucket : 1;
    return { value: lower + (bounds[index] - lower) * fraction, lastBound };
  }
  return { value: Infinity, lastBound };
}

/** Fetches a URL's body as text, failing on a non-200 answer. */
export async function getText(url: string, timeoutMs = 30_000): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${body.slice(0, 300)}`);
  return body;
}
