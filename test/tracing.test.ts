import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { tracingStarted } from '../src/observability/tracing';
import { createTestDatabase, type TestDatabase } from './support/database';
import { eventually } from './support/app';
import { OtlpCollector } from './support/otlp-collector';
import { MAIN, startVitals, type RunningVitals } from './support/process';
import { TargetServer } from './support/target-server';

let db: TestDatabase;
const collector = new OtlpCollector();
const targets = new TargetServer();
const running: RunningVitals[] = [];

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: `npm test` builds it first (npm run build)');
  db = await createTestDatabase('tracing');
  await collector.start();
  await targets.start();
});

afterAll(async () => {
  for (const vitals of running) await vitals.stop();
  await collector.stop();
  await targets.stop();
  await db?.drop();
});

const readLog = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('tracing over OTLP/gRPC', () => {
  let vitals: RunningVitals;
  let logFile: string;

  beforeAll(async () => {
    logFile = join(await mkdtemp(join(tmpdir(), 'vitals-log-')), 'vitals.log');
    vitals = await startVitals({
      DATABASE_URL: db.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}`,
      LOG_FILE: logFile,
    });
    running.push(vitals);
  });

  it('continues an incoming trace: a server span named by route, a child pg span, and the access log line', async () => {
    const created = await fetch(`${vitals.base}/api/v1/targets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'traced', kind: 'http', url: `${targets.base}/traced`, interval: '1h' }),
    });
    const { id } = (await created.json()) as { id: string };
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    const read = await fetch(`${vitals.base}/api/v1/targets/${id}`, {
      headers: { traceparent: `00-${traceId}-${parentId}-01` },
    });
    expect(read.status).toBe(200);

    await eventually(
      () => collector.spans.some((span) => span.traceId === traceId && span.kind === 2),
      15000,
      'the server span',
    );
    const server = collector.spans.find((span) => span.traceId === traceId && span.kind === 2)!;
    expect(server).toMatchObject({ name: 'GET /api/v1/targets/:id', parentSpanId: parentId, service: 'vitals' });
    expect(server.attributes['http.route']).toBe('/api/v1/targets/:id');

    await eventually(
      () => collector.spans.some((span) => span.traceId === traceId && /pg|SELECT/i.test(span.name)),
      15000,
      'a pg span',
    );
    const inTrace = collector.spans.filter((span) => span.traceId === traceId);
    const pg = inTrace.find((span) => span.name.startsWith('pg.query') || /SELECT/.test(span.name))!;
    // The pg span descends from the server span.
    const byId = new Map(inTrace.map((span) => [span.spanId, span]));
    let ancestor = byId.get(pg.parentSpanId);
    while (ancestor && ancestor.spanId !== server.spanId) ancestor = byId.get(ancestor.parentSpanId);
    expect(ancestor?.spanId).toBe(server.spanId);

    await eventually(
      () => existsSync(logFile) && readLog(logFile).some((line) => line.trace_id === traceId),
      5000,
      'the log line',
    );
    const access = readLog(logFile).find((line) => line.message === 'request' && line.trace_id === traceId)!;
    expect(access).toMatchObject({
      method: 'GET',
      route: '/api/v1/targets/:id',
      status_code: 200,
      span_id: server.spanId,
    });
  });

  it('traces checks and scrapes, and sends traceparent on outgoing requests', async () => {
    const created = await fetch(`${vitals.base}/api/v1/targets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'scraped', kind: 'prometheus', url: `${targets.base}/metrics`, interval: '1s' }),
    });
    expect(created.status).toBe(201);
    await eventually(
      () =>
        ['checker.check', 'scrape.fetch', 'scrape.parse', 'results.write'].every((name) =>
          collector.spans.some((span) => span.name === name),
        ),
      20000,
      'check, scrape and write spans',
    );
    const fetchSpan = collector.spans.find((span) => span.name === 'scrape.fetch')!;
    const check = collector.spans.find((span) => span.spanId === fetchSpan.parentSpanId);
    expect(check?.name).toBe('checker.check');
    expect(check?.attributes['vitals.target.name']).toBe('scraped');
    const outgoing = targets.requests.find((request) => request.path === '/metrics' && request.traceparent);
    expect(outgoing?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('puts trace ids on metric exemplars', async () => {
    const response = await fetch(`${vitals.base}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/openmetrics/);
    expect(await response.text()).toMatch(
      /^http_request_duration_seconds_bucket\{.*\} \d+ # \{trace_id="[0-9a-f]{32}"\}/m,
    );
  });
});

describe('tracing off', () => {
  it('does not start the SDK without an endpoint', async () => {
    expect(process.env.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(tracingStarted()).toBe(false);
    expect(trace.getTracer('vitals').startSpan('probe').isRecording()).toBe(false);
    const logFile = join(await mkdtemp(join(tmpdir(), 'vitals-log-')), 'vitals.log');
    const vitals = await startVitals({ DATABASE_URL: db.url, LOG_FILE: logFile });
    running.push(vitals);
    const response = await fetch(`${vitals.base}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    await fetch(`${vitals.base}/api/v1/targets`);
    await eventually(
      () => readLog(logFile).some((line) => line.message === 'request' && line.route === '/api/v1/targets'),
      5000,
      'the access line',
    );
    expect(readLog(logFile).some((line) => 'trace_id' in line)).toBe(false);
  });
});
