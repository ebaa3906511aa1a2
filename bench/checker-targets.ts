/**
 * What `npm run bench:checker` checks and scrapes: a child process on 127.0.0.1, started by bench/checker.ts.
 *
 *   checker-targets.ts http      GET /t/<n>  → 200 "ok" (keep-alive), for the HTTP health checks
 *   checker-targets.ts exporter  GET /m/<n>  → a Prometheus exposition of SERIES series (n in 1..TARGETS)
 *
 * Both answer GET /count with `{"requests": N}`: how many /t/ or /m/ requests were answered so far.
 *
 * The exporter builds every target's body once per second (not per request): counters that grow, gauges that
 * wander, two histograms with cumulative buckets, all with values that differ per target and per second. Bodies
 * are served uncompressed as text/plain; version=0.0.4, with a Content-Length.
 *
 * Env: PORT; exporter: TARGETS (default 200), SERIES (default 500, at least 380).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const mode = process.argv[2];
const port = Number(process.env.PORT);
if ((mode !== 'http' && mode !== 'exporter') || !Number.isInteger(port)) {
  process.stderr.write('usage: PORT=<port> checker-targets.ts http|exporter\n');
  process.exit(2);
}

let answered = 0;

function sendCount(response: ServerResponse): void {
  const body = JSON.stringify({ requests: answered });
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function notFound(response: ServerResponse): void {
  response.writeHead(404, { 'content-type': 'text/plain', 'content-length': 9 });
  response.end('not found');
}

// ---------------------------------------------------------------------------------------------------------------
// The exporter's bodies

const EXPOSITION_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const HANDLERS = [
  '/',
  '/login',
  '/logout',
  '/api/users',
  '/api/orders',
  '/api/items',
  '/api/cart',
  '/search',
  '/health',
  '/static',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const CODES = ['200', '201', '400', '404', '500'];
const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];

/** One series: the text before the value, and how its value moves from one second to the next. */
interface Series {
  prefix: string;
  kind: 'counter' | 'gauge';
  value: number;
}

/** Lines of a target's body that never change (HELP and TYPE), interleaved with its series, in order. */
type Part = string | Series;

/** The 500 (SERIES) series of one target: counters, gauges and two histograms; same shape for every target. */
function targetParts(target: number, seriesCount: number): { parts: Part[]; histograms: Series[][] } {
  const parts: Part[] = [];
  const histograms: Series[][] = [];
  let made = 0;
  const random = () => Math.random();
  const add = (prefix: string, kind: 'counter' | 'gauge', value: number): Series => {
    const series: Series = { prefix, kind, value };
    parts.push(series);
    made++;
    return series;
  };
  const family = (name: string, type: string, help: string) =>
    parts.push(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`);

  // 200 counters.
  family('http_requests_total', 'counter', 'HTTP requests served, by method, status code and handler.');
  for (const handler of HANDLERS)
    for (const method of METHODS)
      for (const code of CODES)
        add(
          `http_requests_total{method="${method}",code="${code}",handler="${handler}"} `,
          'counter',
          Math.floor(random() * 1e6),
        );

  // Two histograms, 14 series per handler (12 buckets, _sum, _count): 2 × 5 handlers × 14 = 140.
  for (const [name, handlers] of [
    ['http_request_duration_seconds', HANDLERS.slice(0, 5)],
    ['db_query_duration_seconds', HANDLERS.slice(5)],
  ] as const) {
    family(name, 'histogram', 'Latency distribution.');
    for (const handler of handlers) {
      const buckets = LE.map((le) => add(`${name}_bucket{handler="${handler}",le="${le}"} `, 'counter', 0));
      const sum = add(`${name}_sum{handler="${handler}"} `, 'counter', 0);
      const count = add(`${name}_count{handler="${handler}"} `, 'counter', 0);
      histograms.push([...buckets, sum, count]);
    }
  }

  // 32 CPU counters, 8 process gauges.
  family('node_cpu_seconds_total', 'counter', 'Seconds the CPUs spent in each mode.');
  for (let cpu = 0; cpu < 4; cpu++)
    for (const mode of CPU_MODES)
      add(`node_cpu_seconds_total{cpu="${cpu}",mode="${mode}"} `, 'counter', random() * 1e5);
  for (const name of [
    'process_resident_memory_bytes',
    'process_virtual_memory_bytes',
    'process_open_fds',
    'process_max_fds',
    'process_start_time_seconds',
    'go_goroutines',
    'go_threads',
    'go_memstats_heap_alloc_bytes',
  ]) {
    family(name, 'gauge', `${name.replace(/_/g, ' ')}.`);
    add(`${name} `, 'gauge', Math.floor(random() * 1e8) + target);
  }

  // The rest: gauges, one family of queue depths labelled by queue.
  family('app_queue_depth', 'gauge', 'Items waiting, by queue.');
  for (let queue = 0; made < seriesCount; queue++)
    add(`app_queue_depth{queue="q${queue}",shard="${queue % 8}"} `, 'gauge', Math.floor(random() * 1000));
  return { parts, histograms };
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(12);
}

class Exporter {
  private readonly targets: Array<{ parts: Part[]; histograms: Series[][] }> = [];
  private bodies: Buffer[] = [];

  constructor(count: number, seriesCount: number) {
    for (let target = 1; target <= count; target++) this.targets.push(targetParts(target, seriesCount));
    this.regenerate();
  }

  body(target: number): Buffer | undefined {
    return this.bodies[target - 1];
  }

  /** Moves every value one second on and renders every body. */
  regenerate(): void {
    const bodies: Buffer[] = [];
    for (const { parts, histograms } of this.targets) {
      // Histograms: a few observations per second, spread over the buckets (cumulative), with _sum and _count.
      for (const series of histograms) {
        const observations = Math.floor(Math.random() * 50);
        for (let bucket = 0; bucket < LE.length; bucket++)
          series[bucket].value += Math.floor((observations * (bucket + 1)) / LE.length);
        series[LE.length].value += observations * 0.137 * Math.random();
        series[LE.length + 1].value += observations;
      }
      let text = '';
      for (const part of parts) {
        if (typeof part === 'string') {
          text += part;
          continue;
        }
        if (part.kind === 'counter') {
          if (!part.prefix.includes('_bucket') && !part.prefix.includes('_sum') && !part.prefix.includes('_count'))
            part.value += Number.isInteger(part.value) ? Math.floor(Math.random() * 20) : Math.random() * 2;
        } else {
          part.value = Math.max(0, part.value + Math.floor((Math.random() - 0.5) * 10));
        }
        text += part.prefix + formatNumber(part.value) + '\n';
      }
      bodies.push(Buffer.from(text, 'utf8'));
    }
    this.bodies = bodies;
  }
}

// ---------------------------------------------------------------------------------------------------------------

function handleHttp(request: IncomingMessage, response: ServerResponse): void {
  const url = request.url ?? '';
  if (url.startsWith('/t/')) {
    answered++;
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    response.end('ok');
  } else if (url === '/count') {
    sendCount(response);
  } else {
    notFound(response);
  }
}

function exporterHandler(exporter: Exporter) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const url = request.url ?? '';
    if (url.startsWith('/m/')) {
      const body = exporter.body(Number(url.slice(3)));
      if (!body) return notFound(response);
      answered++;
      response.writeHead(200, { 'content-type': EXPOSITION_TYPE, 'content-length': body.length });
      response.end(body);
    } else if (url === '/count') {
      sendCount(response);
    } else {
      notFound(response);
    }
  };
}

let handler = handleHttp;
if (mode === 'exporter') {
  const seriesCount = Math.max(380, Number(process.env.SERIES ?? 500));
  const exporter = new Exporter(Number(process.env.TARGETS ?? 200), seriesCount);
  handler = exporterHandler(exporter);
  setInterval(() => exporter.regenerate(), 1000);
}

const server = createServer({ keepAlive: true, keepAliveTimeout: 65_000 }, handler);
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(port, '127.0.0.1');

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
