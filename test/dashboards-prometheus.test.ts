import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { stringify } from 'yaml';
import { freePort } from '../src/common/free-port';
import { createTestDatabase, type TestDatabase } from './support/database';
import { OtlpCollector } from './support/otlp-collector';
import { startVitals, type RunningVitals } from './support/process';
import {
  commandOf,
  dashboardQueries,
  dashboardVariables,
  datasources,
  grafanaLiteral,
  loadCompose,
  metricNames,
  readYaml,
  repoPath,
  traceqlParser,
  type DashboardQuery,
} from './support/stack';
import { TargetServer } from './support/target-server';

/*
 * Every PromQL query of every provisioned dashboard, run by a real Prometheus (the Debian package's binary)
 * scraping a real Vitals with the project's own prometheus/prometheus.yml: each must be accepted and return
 * data. Also what needs a running Vitals to check: exemplars with the trace id label Grafana links to Tempo,
 * log lines the Loki → Tempo link matches, span names the TraceQL panels look for, and the SQL panels on the
 * migrated schema.
 */

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const WAIT_FOR_DATA_MS = 60_000;
const TARGETS = ['web-up', 'web-down', 'node-metrics'];
/** Values of the dashboards' query variables: the targets created below (`route` uses its All value). */
const VALUES = { target: TARGETS };

const queries = dashboardQueries(VALUES);
const promql = queries.filter((query) => query.datasourceType === 'prometheus');
// The lead time dashboard's SQL needs issues and sync runs: test/leadtime-dashboard.test.ts seeds them and runs it.
const sql = queries.filter(
  (query) => query.datasourceType === 'grafana-postgresql-datasource' && !query.dashboard.includes('Lead time'),
);
const describeQuery = (query: DashboardQuery) => `${query.dashboard} / ${query.panel} (${query.refId})`;

const targetServer = new TargetServer();
const collector = new OtlpCollector();
let db: TestDatabase | undefined;
let vitals: RunningVitals | undefined;
let prometheus: { child: ChildProcess; base: string; dir: string; output: () => string } | undefined;
let traffic: NodeJS.Timeout | undefined;
const results = new Map<string, PrometheusResponse>();

interface PrometheusResponse {
  status: 'success' | 'error';
  data?: any;
  error?: string;
  errorType?: string;
}

async function prometheusApi(
  path: string,
  params: Record<string, string | string[]> = {},
): Promise<PrometheusResponse> {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) for (const item of [value].flat()) search.append(key, item);
  const response = await fetch(`${prometheus!.base}${path}?${search}`, { signal: AbortSignal.timeout(10_000) });
  return (await response.json()) as PrometheusResponse;
}

const instantQuery = (expr: string) => prometheusApi('/api/v1/query', { query: expr, time: String(Date.now() / 1000) });

const hasData = (response: PrometheusResponse | undefined) =>
  response?.status === 'success' && Array.isArray(response.data?.result) && response.data.result.length > 0;

/** The project's prometheus.yml, pointed at the local processes: jobs for other services are dropped. */
function localPrometheusConfig(addresses: Record<string, string>): string {
  const config = readYaml('prometheus/prometheus.yml');
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
  config.scrape_configs = config.scrape_configs
    .filter((job: any) =>
      job.static_configs.every((static_: any) => static_.targets.every((target: string) => target in addresses)),
    )
    .map((job: any) => {
      const { scrape_interval: _interval, scrape_timeout: _timeout, ...rest } = job;
      return {
        ...rest,
        static_configs: job.static_configs.map((static_: any) => ({
          ...static_,
          targets: static_.targets.map((target: string) => addresses[target]),
        })),
      };
    });
  const jobs = config.scrape_configs.map((job: any) => job.job_name);
  if (!jobs.includes('vitals'))
    throw new Error(`prometheus.yml has no vitals job scraping vitals:8080 (jobs: ${jobs})`);
  return stringify(config);
}

async function startPrometheus(vitalsAddress: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vitals-prometheus-'));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    localPrometheusConfig({ 'vitals:8080': vitalsAddress, 'localhost:9090': `127.0.0.1:${port}` }),
  );
  // The feature flags compose gives Prometheus (exemplar storage), as compose gives them.
  const features = commandOf(loadCompose().services.prometheus).filter((flag) => flag.startsWith('--enable-feature='));
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...features,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  prometheus = { child, base: `http://127.0.0.1:${port}`, dir, output: () => output };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const ready = await fetch(`${prometheus.base}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`Prometheus did not become ready (exit ${child.exitCode}):\n${output}`);
}

async function createTarget(body: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${vitals!.base}/api/v1/targets`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`creating ${body.name}: ${response.status} ${await response.text()}`);
}

/** Requests of several routes and outcomes: 200s, a 404 of a known route, a 400, and a path no route matches. */
async function driveTraffic(): Promise<void> {
  const base = vitals!.base;
  const list = (await (await fetch(`${base}/api/v1/targets`)).json()) as { items: Array<{ id: string }> };
  const statuses = await Promise.all([
    ...list.items.map((target) => fetch(`${base}/api/v1/targets/${target.id}`).then((r) => r.status)),
    fetch(`${base}/api/v1/targets/00000000-0000-4000-8000-000000000000`).then((r) => r.status),
    fetch(`${base}/api/v1/targets?limit=not-a-number`).then((r) => r.status),
    fetch(`${base}/no/such/path`).then((r) => r.status),
    fetch(`${base}/api/v1/checks?limit=5`).then((r) => r.status),
  ]);
  for (const status of [200, 404, 400]) {
    if (!statuses.includes(status)) throw new Error(`traffic got no ${status} (got ${statuses.join(', ')})`);
  }
}

beforeAll(async () => {
  if (!existsSync(PROMETHEUS)) {
    throw new Error(
      `${PROMETHEUS} is missing: this test runs the dashboards' PromQL on a real Prometheus. Install the ` +
        'Debian/Ubuntu package (`sudo apt-get install prometheus`, as CI does) or point PROMETHEUS_BIN at a binary.',
    );
  }
  await targetServer.start();
  targetServer.mode.set('/down', 'down');
  await collector.start();
  db = await createTestDatabase('dashboards_prometheus');
  vitals = await startVitals({
    DATABASE_URL: db.url,
    LOG_LEVEL: 'info',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}`,
  });
  await createTarget({ name: 'web-up', kind: 'http', url: `${targetServer.base}/up`, interval: '1s' });
  await createTarget({ name: 'web-down', kind: 'http', url: `${targetServer.base}/down`, interval: '1s' });
  await createTarget({ name: 'node-metrics', kind: 'prometheus', url: `${targetServer.base}/metrics`, interval: '1s' });
  await driveTraffic();
  traffic = setInterval(() => void driveTraffic().catch(() => undefined), 500);

  await startPrometheus(new URL(vitals.base).host);
  // Until every query has data (rates need two scrapes in their window), or the time is up: the tests below
  // then say which ones have none.
  const deadline = Date.now() + WAIT_FOR_DATA_MS;
  while (Date.now() < deadline) {
    await Promise.all(
      promql.map(async (query) => {
        if (!hasData(results.get(query.expr))) results.set(query.expr, await instantQuery(query.expr));
      }),
    );
    const scrapes = await instantQuery('count_over_time(up{job="vitals"}[1m])');
    const scraped = Number(scrapes.data?.result?.[0]?.value?.[1] ?? 0);
    if (scraped >= 5 && promql.every((query) => hasData(results.get(query.expr)))) break;
    await new Promise((done) => setTimeout(done, 1000));
  }
}, 150_000);

afterAll(async () => {
  if (traffic) clearInterval(traffic);
  const stopped = async (child: ChildProcess | undefined, ms: number) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    await exited;
    clearTimeout(timer);
  };
  await stopped(prometheus?.child, 10_000);
  if (prometheus) await rm(prometheus.dir, { recursive: true, force: true });
  await stopped(vitals?.child, 15_000);
  await collector.stop();
  await targetServer.stop();
  await db?.drop();
}, 60_000);

describe('the project prometheus.yml', () => {
  it('passes promtool, when it is installed next to prometheus', async () => {
    const promtool = join(dirname(PROMETHEUS), 'promtool');
    if (!existsSync(promtool)) return;
    const { stdout } = await promisify(execFile)(promtool, ['check', 'config', repoPath('prometheus/prometheus.yml')]);
    expect(stdout).toContain('SUCCESS');
  });

  it('scrapes Vitals', async () => {
    const up = await instantQuery('up{job="vitals"}');
    expect(up.data?.result?.[0]?.value?.[1]).toBe('1');
  });
});

describe('PromQL of the dashboards', () => {
  it('is there to run', () => {
    expect(promql.length).toBeGreaterThan(20);
  });

  it.each(promql.map((query) => [describeQuery(query), query] as const))('%s', async (_, query) => {
    const response = hasData(results.get(query.expr)) ? results.get(query.expr)! : await instantQuery(query.expr);
    expect({ query: query.expr, status: response.status, error: response.error }).toEqual({
      query: query.expr,
      status: 'success',
      error: undefined,
    });
    expect({ query: query.expr, series: response.data.result.length > 0 }).toEqual({ query: query.expr, series: true });
  });

  it('selects only metrics Vitals exposes', async () => {
    const metadata = await prometheusApi('/api/v1/targets/metadata', { match_target: '{job="vitals"}' });
    const exposed = new Set<string>((metadata.data as Array<{ metric: string }>).map((entry) => entry.metric));
    const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
    for (const query of promql) {
      for (const name of metricNames(query.expr)) {
        const family = name.replace(/_(bucket|sum|count|total|created)$/, '');
        const known = SYNTHETIC.has(name) || exposed.has(name) || exposed.has(family);
        expect({ query: query.expr, metric: name, known }).toEqual({ query: query.expr, metric: name, known: true });
      }
    }
  });

  it('fills the query variables with values', async () => {
    const variables = dashboardVariables().filter((variable) => variable.datasourceType === 'prometheus');
    expect(variables.map((variable) => variable.name).sort()).toEqual(['route', 'target']);
    for (const variable of variables) {
      const match = /^label_values\((?:(.+),\s*)?(\w+)\)$/.exec(variable.query);
      expect({ variable: variable.name, query: variable.query, parsed: match !== null }).toEqual({
        variable: variable.name,
        query: variable.query,
        parsed: true,
      });
      const [, selector, label] = match!;
      const response = await prometheusApi(`/api/v1/label/${label}/values`, selector ? { 'match[]': selector } : {});
      expect(response.status).toBe('success');
      const values = response.data as string[];
      if (variable.name === 'target') expect(values.sort()).toEqual([...TARGETS].sort());
      if (variable.name === 'route')
        expect(values).toEqual(expect.arrayContaining(['/api/v1/targets', '/api/v1/targets/:id']));
    }
  });
});

describe('links between signals', () => {
  const traceIds = () => new Set(collector.spans.map((span) => span.traceId));

  it('Prometheus keeps exemplars with the trace id label Grafana sends to Tempo, of traces that exist', async () => {
    const label = datasources().find((datasource) => datasource.uid === 'prometheus')!.jsonData!
      .exemplarTraceIdDestinations[0].name as string;
    const now = Date.now() / 1000;
    const response = await prometheusApi('/api/v1/query_exemplars', {
      query: 'http_request_duration_seconds_bucket{job="vitals"}',
      start: String(now - 600),
      end: String(now),
    });
    expect(response.status).toBe('success');
    const ids = (response.data as Array<{ exemplars: Array<{ labels: Record<string, string> }> }>).flatMap((series) =>
      series.exemplars.map((exemplar) => exemplar.labels[label]),
    );
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(ids.some((id) => traceIds().has(id))).toBe(true);
  });

  it("Loki's derived field finds trace ids in Vitals' log lines, and the lines have what Promtail extracts", () => {
    const field = datasources().find((datasource) => datasource.uid === 'loki')!.jsonData!.derivedFields[0];
    const promtail = readYaml('promtail-config.yml');
    const json = promtail.scrape_configs[0].pipeline_stages.find((stage: any) => stage.json).json.expressions;
    const lines = vitals!
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => ({ line, entry: JSON.parse(line) as Record<string, unknown> }));
    const requests = lines.filter(({ entry }) => entry.message === 'request');
    expect(requests.length).toBeGreaterThan(0);
    for (const { entry } of lines) {
      expect(entry).toMatchObject({ service: 'vitals', level: expect.any(String), message: expect.any(String) });
      expect(String(entry.timestamp)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    }
    for (const { entry } of requests) {
      for (const key of Object.values(json) as string[]) expect(Object.keys(entry)).toContain(key);
      expect(entry).toMatchObject({
        route: expect.any(String),
        status_code: expect.any(Number),
        duration_ms: expect.any(Number),
      });
    }
    const regex = new RegExp(grafanaLiteral(field.matcherRegex));
    // Every line with a trace id gives Grafana exactly that id; request lines have one.
    const traced = lines.filter(({ entry }) => entry.trace_id !== undefined);
    expect(traced.length).toBeGreaterThan(0);
    expect(requests.some(({ entry }) => entry.trace_id !== undefined)).toBe(true);
    for (const { line, entry } of traced) {
      expect({ line, found: regex.exec(line)?.[1] }).toEqual({ line, found: entry.trace_id });
    }
    expect(traced.some(({ entry }) => traceIds().has(String(entry.trace_id)))).toBe(true);
  });

  it("Tempo's links to metrics of a span's route return data", async () => {
    const tempo = datasources().find((datasource) => datasource.uid === 'tempo')!.jsonData!;
    const server = collector.spans.find((span) => span.attributes['http.route'] === '/api/v1/targets/:id');
    expect(server).toBeDefined();
    const tags = (tempo.tracesToMetrics.tags as Array<{ key: string; value?: string }>)
      .filter((tag) => server!.attributes[tag.key] !== undefined)
      .map((tag) => `${tag.value ?? tag.key}="${server!.attributes[tag.key]}"`)
      .join(', ');
    expect(tags).not.toBe('');
    for (const { name, query } of tempo.tracesToMetrics.queries as Array<{ name: string; query: string }>) {
      const withTags = await instantQuery(grafanaLiteral(query).replace('$__tags', tags));
      expect({ name, status: withTags.status, error: withTags.error, data: hasData(withTags) }).toEqual({
        name,
        status: 'success',
        error: undefined,
        data: true,
      });
      // A span without those attributes leaves $__tags empty.
      const without = await instantQuery(grafanaLiteral(query).replace('$__tags', ''));
      expect({ name, status: without.status, error: without.error }).toEqual({
        name,
        status: 'success',
        error: undefined,
      });
    }
  });

  it('the TraceQL panels look for span names and attributes Vitals sends', () => {
    const tempoQueries = queries.filter((query) => query.datasourceType === 'tempo');
    expect(tempoQueries.length).toBeGreaterThan(0);
    traceqlParser(); // loads
    for (const query of tempoQueries) {
      for (const [, scope, key, value] of query.expr.matchAll(/\b(resource|span)?\.?([\w.]+)\s*=\s*"([^"]*)"/g)) {
        const matching = collector.spans.filter((span) => {
          if (scope === 'resource' && key === 'service.name') return span.service === value;
          if (!scope && key === 'name') return span.name === value;
          return String(span.attributes[key]) === value;
        });
        expect({ query: query.expr, [`${scope ?? ''}.${key}`]: value, spans: matching.length > 0 }).toEqual({
          query: query.expr,
          [`${scope ?? ''}.${key}`]: value,
          spans: true,
        });
      }
    }
  });
});

describe('SQL of the dashboards', () => {
  it.each(sql.map((query) => [describeQuery(query), query] as const))(
    '%s runs on the migrated schema',
    async (_, query) => {
      const client = new Client({ connectionString: db!.url });
      await client.connect();
      try {
        const { rows } = await client.query(query.expr);
        expect({ query: query.expr, rows: rows.length > 0 }).toEqual({ query: query.expr, rows: true });
      } finally {
        await client.end();
      }
    },
  );
});
