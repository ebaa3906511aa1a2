import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { DEFAULT_DENY_CIDRS } from '../src/config/config';
import { HttpProbe, USER_AGENT } from '../src/checker/http-probe';
import { checkTarget, type CheckTarget } from '../src/checker/target-check';

/** One local server whose routes misbehave in every way a target can. */
let server: Server;
let base: string;
let probe: HttpProbe;
const seen: IncomingMessage[] = [];

const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => void> = {
  '/ok': (_q, r) => r.end('all good'),
  '/slow': (_q, r) => void setTimeout(() => r.end('late'), 2000),
  '/status': (_q, r) => {
    r.statusCode = 503;
    r.end('unavailable');
  },
  '/body': (_q, r) => r.end('status: degraded'),
  '/big': (_q, r) => r.end('x'.repeat(64 * 1024)),
  '/redirect-denied': (_q, r) => {
    r.statusCode = 302;
    r.setHeader('location', 'http://169.254.169.254/latest/meta-data');
    r.end();
  },
  '/redirect-ok': (_q, r) => {
    r.statusCode = 301;
    r.setHeader('location', '/ok');
    r.end();
  },
  '/metrics': (_q, r) => {
    r.setHeader('content-type', 'text/plain; version=0.0.4');
    r.end(
      '# TYPE requests_total counter\nrequests_total{path="/a",job="scraped"} 5\nrequests_total{path="/b"} 7\nheap_bytes 1.5e6\n',
    );
  },
  '/metrics-gzip': (_q, r) => {
    r.setHeader('content-type', 'text/plain; version=0.0.4');
    r.setHeader('content-encoding', 'gzip');
    r.end(gzipSync('up_since 12345\n'));
  },
  '/garbage': (_q, r) => r.end('requests_total{path="/a" 5\nthis is not { exposition\n'),
  '/many': (_q, r) => r.end(Array.from({ length: 50 }, (_, i) => `m{i="${i}"} ${i}`).join('\n') + '\n'),
};

beforeAll(async () => {
  server = createHttpServer((request, response) => {
    seen.push(request);
    (routes[request.url ?? ''] ?? ((_q, r) => ((r.statusCode = 404), r.end())))(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  probe = new HttpProbe(DEFAULT_DENY_CIDRS.split(','));
});

afterAll(async () => {
  await probe.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function target(path: string, extra: Partial<CheckTarget> = {}): CheckTarget {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'probe-test',
    kind: 'http',
    url: `${base}${path}`,
    intervalMs: 5000,
    timeoutMs: 1000,
    labels: {},
    method: 'GET',
    expectedStatus: null,
    bodyMatch: null,
    headers: {},
    sampleLimit: 0,
    version: 'v1',
    ...extra,
  };
}

const run = (t: CheckTarget, maxBodyBytes = 16 * 1024) => checkTarget(probe, t, { maxBodyBytes });

describe('HTTP checks', () => {
  it('is up on a 2xx, records status and latency, and names itself in User-Agent', async () => {
    const { result, samples } = await run(target('/ok'));
    expect(result).toMatchObject({ up: true, httpStatus: 200 });
    expect(result.errorKind).toBeUndefined();
    expect(result.durationMs).toBeGreaterThan(0);
    expect(samples).toEqual([]);
    expect(seen[seen.length - 1].headers['user-agent']).toBe(USER_AGENT);
  });

  it.each([
    ['timeout', '/slow', {}],
    ['status', '/status', {}],
    ['body', '/body', { bodyMatch: { contains: 'status: ok' } }],
    ['body', '/body', { bodyMatch: { regex: '^status: (ok|fine)$' } }],
    ['too_large', '/big', { bodyMatch: { contains: 'x' } }],
    ['connect', '/redirect-denied', {}],
  ] as const)('reports %s for %s', async (kind, path, extra) => {
    const { result } = await run(target(path, extra as Partial<CheckTarget>));
    expect(result.up).toBe(false);
    expect(result.errorKind).toBe(kind);
    expect(result.error).toBeTruthy();
  });

  it('reports connect when nothing listens', async () => {
    const closed = createHttpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { result } = await run({ ...target('/'), url: `http://127.0.0.1:${port}/` });
    expect(result).toMatchObject({ up: false, errorKind: 'connect' });
  });

  it('reports dns for a name that does not resolve', async () => {
    const { result } = await run({ ...target('/'), url: 'http://does-not-exist.invalid/' });
    expect(result).toMatchObject({ up: false, errorKind: 'dns' });
  });

  it('reports tls when https meets a plain HTTP server', async () => {
    const { result } = await run({ ...target('/'), url: base.replace('http:', 'https:') + '/ok' });
    expect(result).toMatchObject({ up: false, errorKind: 'tls' });
  });

  it('follows allowed redirects and honours expected status codes', async () => {
    expect((await run(target('/redirect-ok'))).result).toMatchObject({ up: true, httpStatus: 200 });
    expect((await run(target('/status', { expectedStatus: [503] }))).result.up).toBe(true);
    expect((await run(target('/ok', { expectedStatus: [204] }))).result).toMatchObject({
      up: false,
      errorKind: 'status',
    });
  });

  it('refuses a literal address in the deny list before connecting', async () => {
    const { result } = await run({ ...target('/'), url: 'http://169.254.169.254/' });
    expect(result).toMatchObject({ up: false, errorKind: 'connect' });
    expect(result.error).toMatch(/169\.254\.0\.0\/16/);
  });
});

describe('Prometheus scrapes', () => {
  const prom = (path: string, extra: Partial<CheckTarget> = {}) =>
    target(path, { kind: 'prometheus', labels: { team: 'core' }, ...extra });

  it('scrapes with Prometheus headers, attaches target labels and writes the synthetic series', async () => {
    const { result, samples } = await run(prom('/metrics'));
    expect(result).toMatchObject({ up: true, httpStatus: 200 });
    const request = seen[seen.length - 1];
    expect(request.headers.accept).toMatch(/text\/plain;version=0\.0\.4/);
    expect(request.headers.accept).toMatch(/application\/openmetrics-text/);
    expect(request.headers['x-prometheus-scrape-timeout-seconds']).toBe('1');
    const instance = new URL(base).host;
    expect(samples.find((s) => s.name === 'requests_total' && s.labels.path === '/a')).toMatchObject({
      value: 5,
      labels: { path: '/a', exported_job: 'scraped', job: 'probe-test', instance, team: 'core' },
    });
    const byName = Object.fromEntries(samples.filter((s) => !s.labels.path).map((s) => [s.name, s.value]));
    expect(byName).toMatchObject({ heap_bytes: 1.5e6, up: 1, scrape_samples_scraped: 3 });
    expect(byName.scrape_duration_seconds).toBeGreaterThan(0);
  });

  it('reads gzip-encoded bodies', async () => {
    const { result, samples } = await run(prom('/metrics-gzip'));
    expect(result.up).toBe(true);
    expect(samples.find((s) => s.name === 'up_since')?.value).toBe(12345);
  });

  it.each([
    ['parse', '/garbage', {}, /line 1/],
    ['too_large', '/many', { sampleLimit: 10 }, /sample limit 10/],
    ['too_large', '/big', {}, /larger than/],
    ['status', '/status', {}, /503/],
    ['timeout', '/slow', {}, /1000ms/],
  ] as const)('fails with %s for %s and still writes up=0', async (kind, path, extra, message) => {
    const { result, samples } = await run(prom(path, extra as Partial<CheckTarget>));
    expect(result).toMatchObject({ up: false, errorKind: kind });
    expect(result.error).toMatch(message);
    expect(samples.map((s) => [s.name, s.value])).toEqual([
      ['up', 0],
      ['scrape_duration_seconds', expect.any(Number)],
      ['scrape_samples_scraped', 0],
    ]);
  });
});
