import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

// ---------------------------------------------------------------------------------------------------------------
// autocannon: the package ships no type declarations (and @types/autocannon is not installed), so it is loaded
// through `createRequire` and given the few types this benchmark uses.

export interface LoadRequest {
  method?: string;
  path?: string;
  /** Called before every request; returns the request to send. */
  setupRequest?: (request: LoadRequest, context: Record<string, unknown>) => LoadRequest;
}

export interface LoadOptions {
  url: string;
  connections: number;
  pipelining: number;
  /** Seconds. */
  duration: number;
  /** Seconds without an answer before a request counts as a timeout (an error). */
  timeout?: number;
  requests?: LoadRequest[];
}

interface Histogram {
  average: number;
  total: number;
  p50: number;
  p99: number;
}

export interface LoadResult {
  /** Requests per second, sampled every second; `total` is every completed request. */
  requests: Histogram;
  /** Milliseconds. */
  latency: Histogram;
  duration: number;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}

type Autocannon = (options: LoadOptions, done: (error: Error | null, result: LoadResult) => void) => unknown;

const autocannon = createRequire(__filename)('autocannon') as Autocannon;

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Processes and ports

/** The repository: the servers run from here, whatever directory the benchmark was started in. */
export const REPO_ROOT = resolve(__dirname, '..');

/** A port nobody listens on right now (there is a small window before the child binds it; fine on a bench box). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const OUTPUT_LINES_KEPT = 40;
const STOP_GRACE_MS = 5000;

/** A server running as a child process; its output is kept (last lines only) to explain a failure. */
export class ChildServer {
  private readonly output: string[] = [];
  private exited = false;

  private constructor(
    readonly name: string,
    readonly baseUrl: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        this.output.push(line);
        if (this.output.length > OUTPUT_LINES_KEPT) this.output.shift();
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => (this.exited = true));
  }

  static start(name: string, args: string[], env: NodeJS.ProcessEnv, port: number): ChildServer {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    return new ChildServer(name, `http://127.0.0.1:${port}`, child);
  }

  /** The child's last lines of output, for an error message. */
  recentOutput(): string {
    return this.output.length === 0 ? '(no output)' : this.output.join('\n');
  }

  /** Polls `path` until it answers `status`; fails if the child exits or `timeoutMs` passes. */
  async waitFor(path: string, status: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.name} exited while starting:\n${this.recentOutput()}`);
      try {
        const response = await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(2000) });
        if (response.status === status) return;
        last = `HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await sleep(200);
    }
    throw new Error(
      `${this.name}: GET ${path} did not answer ${status} within ${timeoutMs} ms (last: ${last})\n${this.recentOutput()}`,
    );
  }

  /** Peak resident set size in MiB (VmHWM), or undefined where /proc is unavailable. */
  peakRssMiB(): number | undefined {
    try {
      const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      return match ? Number(match[1]) / 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited after a grace period. */
  async stop(): Promise<void> {
    if (this.exited || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const graceful = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
    if (!graceful) {
      this.child.kill('SIGKILL');
      await exited;
    }
  }
}

const liveChildren = new Set<ChildProcess>();

// Last resort: whatever way this process ends, no server is left behind.
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

// ---------------------------------------------------------------------------------------------------------------
// The benchmark database

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function asAdmin<T>(serverUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database on the server at `serverUrl`, dropped by `drop()`. */
export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `vitals_bench_${randomBytes(4).toString('hex')}`;
  await asAdmin(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await asAdmin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Output

/** A plain-text table; columns after the first two are right-aligned (they hold numbers). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Clean-up

/** Steps to undo what was started, run newest first, each once, however the benchmark ends. */
export class Cleanup {
  private readonly steps: Array<{ what: string; undo: () => Promise<void> }> = [];
  private running?: Promise<void>;

  add(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (let step = this.steps.pop(); step; step = this.steps.pop()) {
        try {
          await step.undo();
        } catch (error) {
          process.stderr.write(`clean-up: ${step.what} failed: ${error instanceof Error ? error.message : error}\n`);
        }
      }
    })();
    return this.running;
  }
}

/**
 * Seed of the API benchmarks (bench:api, bench:overhead): varied rows so the JSON mapping does real work — both
 * kinds, 2–3 labels, credentials in some URLs and headers (redacted on the way out), optional expectedStatus and
 * bodyMatch, several interval/timeout spellings.
 */
export const targetsSeed = (count: number): string => `
  INSERT INTO targets (name, kind, url, interval_ms, timeout_ms, labels, method, expected_status, body_match,
    headers, sample_limit, enabled, created_at, updated_at)
  SELECT
    format('bench-%s', lpad(i::text, 5, '0')),
    CASE WHEN i % 3 = 0 THEN 'prometheus' ELSE 'http' END,
    CASE
      WHEN i % 3 = 0 THEN format('http://10.1.%s.%s:9100/metrics', (i / 250) % 250, i % 250)
      WHEN i % 7 = 0 THEN format('https://probe:s3cret-%s@svc-%s.example.com/health', i, i)
      ELSE format('https://svc-%s.example.com/healthz', i)
    END,
    (ARRAY[15000, 30000, 60000, 90000, 300000])[1 + i % 5],
    (ARRAY[1000, 2500, 5000, 10000])[1 + i % 4],
    jsonb_build_object('team', (ARRAY['core', 'payments', 'search', 'growth', 'infra', 'data'])[1 + i % 6],
                       'env', (ARRAY['prod', 'staging', 'dev'])[1 + (i / 7) % 3])
      || CASE WHEN i % 4 = 0 THEN jsonb_build_object('region', (ARRAY['eu-west', 'us-east'])[1 + i % 2])
              ELSE '{}'::jsonb END,
    CASE WHEN i % 3 = 0 THEN 'GET' ELSE (ARRAY['GET', 'GET', 'HEAD', 'POST'])[1 + i % 4] END,
    CASE WHEN i % 3 <> 0 AND i % 5 = 0 THEN ARRAY[200, 204] END,
    CASE WHEN i % 3 <> 0 AND i % 6 = 1 THEN jsonb_build_object('contains', 'ok')
         WHEN i % 3 <> 0 AND i % 6 = 2 THEN jsonb_build_object('regex', '^up( |$)') END,
    CASE WHEN i % 8 = 0 THEN jsonb_build_object('Authorization', format('Bearer token-%s', i), 'X-Source', 'vitals')
         WHEN i % 8 = 4 THEN jsonb_build_object('Accept', 'application/json')
         ELSE '{}'::jsonb END,
    CASE WHEN i % 3 = 0 THEN (ARRAY[0, 5000, 10000])[1 + (i / 3) % 3] ELSE 0 END,
    i % 10 <> 0,
    now() - make_interval(mins => i),
    now() - make_interval(mins => i) + make_interval(secs => i % 60)
  FROM generate_series(1, ${count}) AS i`;

/**
 * Runs a benchmark's `main` with one Cleanup that always runs: on success, on failure, and on SIGINT/SIGTERM.
 * `main` returning false (a failed request, not a slow one) sets exit code 1.
 */
export function runBench(main: (cleanup: Cleanup) => Promise<boolean | void>): void {
  const cleanup = new Cleanup();
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // `on`, not `once`: Ctrl-C reaches this process both from the terminal and relayed by tsx, and a second
    // signal must not end the process half-way through the clean-up.
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write(`bench: ${signal}: cleaning up\n`);
      void cleanup.run().finally(() => process.exit(130));
    });
  }
  const run = async (): Promise<number> => {
    try {
      return (await main(cleanup)) === false ? 1 : 0;
    } catch (error) {
      process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      return 1;
    } finally {
      await cleanup.run();
    }
  };
  void run().then((code) => (process.exitCode = code));
}
