import { Database } from '../src/database/database.service';
import { RetentionService } from '../src/database/retention.service';
import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { AUTH, eventually, startTestApp, type TestApp } from './support/app';
import { TargetServer } from './support/target-server';

let db: TestDatabase;
let vitals: TestApp;
let api: ReturnType<typeof apiClient>;
const targets = new TargetServer();

beforeAll(async () => {
  db = await createTestDatabase('checker_e2e');
  await targets.start();
  vitals = await startTestApp(db.url, { MAX_QUERY_SPAN: '2d' });
  api = apiClient(vitals.app, AUTH);
});

afterAll(async () => {
  await vitals?.close();
  await targets.stop();
  await db?.drop();
});

async function create(body: Record<string, unknown>): Promise<string> {
  const response = await api.post('/api/v1/targets', body);
  expect(response.status).toBe(201);
  return response.body.id;
}

const checksOf = async (id: string) =>
  (await api.get(`/api/v1/checks?targetId=${id}&limit=1000`)).body.items as Array<any>;

describe('scheduled checks', () => {
  it('checks a target every interval and records each result', async () => {
    const id = await create({ name: 'every-second', kind: 'http', url: `${targets.base}/every`, interval: '1s' });
    await eventually(async () => (await checksOf(id)).length >= 4, 15000, 'four checks');
    const checks = await checksOf(id);
    expect(checks.every((check) => check.up && check.httpStatus === 200)).toBe(true);
    // Newest first, about one interval apart (allowing scheduling jitter).
    const times = checks.map((check) => Date.parse(check.startedAt));
    for (let i = 1; i < times.length; i++) {
      expect(times[i - 1] - times[i]).toBeGreaterThan(700);
      expect(times[i - 1] - times[i]).toBeLessThan(1300);
    }
    expect(targets.hits.get('/every')).toBeGreaterThanOrEqual(checks.length);
  });

  it('turns failures into incidents with their first error, and uptime into a ratio', async () => {
    const id = await create({ name: 'flaky', kind: 'http', url: `${targets.base}/flaky`, interval: '1s' });
    await eventually(async () => (await checksOf(id)).length >= 2, 15000, 'two good checks');
    targets.mode.set('/flaky', 'down');
    await eventually(
      async () => (await checksOf(id)).filter((check) => !check.up).length >= 2,
      15000,
      'two failed checks',
    );
    targets.mode.set('/flaky', 'up');
    await eventually(async () => (await checksOf(id))[0].up === true, 15000, 'recovery');
    const summary = (await api.get(`/api/v1/targets/${id}/summary`)).body;
    expect(summary.checks).toBe(summary.failures + (await checksOf(id)).filter((check) => check.up).length);
    expect(summary.failures).toBeGreaterThanOrEqual(2);
    expect(summary.uptimeRatio).toBeCloseTo((summary.checks - summary.failures) / summary.checks, 10);
    expect(summary.latencyMs.p50).toBeGreaterThan(0);
    expect(summary.latencyMs.p99).toBeGreaterThanOrEqual(summary.latencyMs.p50);
    expect(summary.incidents).toHaveLength(1);
    const [incident] = summary.incidents;
    expect(incident).toMatchObject({ errorKind: 'status', firstError: expect.stringContaining('500') });
    expect(Date.parse(incident.end)).toBeGreaterThan(Date.parse(incident.start));
    expect(incident.durationSeconds).toBeCloseTo((Date.parse(incident.end) - Date.parse(incident.start)) / 1000, 3);
    expect(summary.lastCheck.up).toBe(true);
  });

  it('takes target changes into account within an interval, without a restart', async () => {
    const id = await create({ name: 'changing', kind: 'http', url: `${targets.base}/changing`, interval: '1s' });
    await eventually(() => (targets.hits.get('/changing') ?? 0) >= 2, 15000, 'first checks');
    expect((await api.patch(`/api/v1/targets/${id}`, { url: `${targets.base}/changed` })).status).toBe(200);
    await eventually(() => (targets.hits.get('/changed') ?? 0) >= 1, 5000, 'the new URL');
    expect((await api.patch(`/api/v1/targets/${id}`, { enabled: false })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const after = targets.hits.get('/changed') ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(targets.hits.get('/changed') ?? 0).toBe(after);
  });

  it('checks a target on demand and stores the result', async () => {
    const id = await create({ name: 'on-demand', kind: 'http', url: `${targets.base}/on-demand`, interval: '1h' });
    const response = await api.post(`/api/v1/targets/${id}/check`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ targetId: id, up: true, httpStatus: 200, samples: 0 });
    const checks = await checksOf(id);
    expect(checks.some((check) => check.startedAt === response.body.startedAt)).toBe(true);
    expect((await api.post('/api/v1/targets/00000000-0000-4000-8000-000000000000/check')).status).toBe(404);
  });

  it('exposes its own metrics', async () => {
    const text = (await api.get('/metrics')).body as string;
    expect(text).toMatch(/^vitals_checks_total\{target="every-second",result="up"\} \d+/m);
    expect(text).toMatch(/^vitals_target_up\{target="every-second"\} 1/m);
    expect(text).toMatch(/^vitals_check_duration_seconds_bucket\{le="0.005",kind="http"\} \d+/m);
    expect(text).toMatch(/^vitals_checker_scheduling_lag_seconds_count \d+/m);
    expect(text).toMatch(/^vitals_checker_buffer_depth\{kind="checks"\} \d+/m);
    expect(text).toMatch(/^vitals_checker_written_total\{kind="checks"\} \d+/m);
    expect(text).toMatch(/^vitals_checker_targets \d+/m);
  });
});

describe('scraped metrics', () => {
  let id: string;

  beforeAll(async () => {
    id = await create({
      name: 'exporter',
      kind: 'prometheus',
      url: `${targets.base}/metrics`,
      interval: '1s',
      labels: { team: 'core' },
    });
    await eventually(
      async () => (await api.get(`/api/v1/metrics/names?targetId=${id}`)).body.items.length >= 4,
      15000,
      'scraped names',
    );
  });

  it('lists metric names and series, with target labels attached', async () => {
    expect((await api.get(`/api/v1/metrics/names?targetId=${id}`)).body.items).toEqual([
      'requests_total',
      'scrape_duration_seconds',
      'scrape_samples_scraped',
      'up',
    ]);
    const series = (await api.get(`/api/v1/metrics/series?targetId=${id}&name=requests_total`)).body.items;
    expect(series.map((s: any) => s.labels.path).sort()).toEqual(['/a', '/b']);
    expect(series[0].labels).toMatchObject({ job: 'exporter', team: 'core', instance: new URL(targets.base).host });
  });

  it('returns samples of the series matching label matchers in a time range', async () => {
    await eventually(
      async () => {
        const result = (await api.get(`/api/v1/metrics?name=requests_total&match[path]=/a&targetId=${id}`)).body;
        return result.series.length === 1 && result.series[0].samples.length >= 2;
      },
      15000,
      'two samples',
    );
    const result = (await api.get(`/api/v1/metrics?name=requests_total&match[path]=/a&targetId=${id}`)).body;
    const values = result.series[0].samples.map(([, value]: [string, string]) => Number(value));
    // The exporter counts its own scrapes: the counter grows by one per scrape.
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]);
    const up = (await api.get(`/api/v1/metrics?name=up&targetId=${id}`)).body;
    expect(up.series[0].samples.every(([, value]: [string, string]) => value === '1')).toBe(true);
    const none = (await api.get(`/api/v1/metrics?name=requests_total&match[path]=/nowhere`)).body;
    expect(none.series).toEqual([]);
  });

  it('validates time ranges', async () => {
    const reversed = await api.get('/api/v1/metrics?name=up&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(reversed.status).toBe(400);
    expect(reversed.body.errors[0].path).toBe('query.from');
    const tooLong = await api.get('/api/v1/checks?from=2026-01-01T00:00:00Z&to=2026-01-05T00:00:00Z');
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.detail).toMatch(/MAX_QUERY_SPAN/);
    expect((await api.get('/api/v1/metrics?name=up&match[bad-name]=x')).status).toBe(400);
    expect((await api.get('/api/v1/metrics?match[job]=x')).status).toBe(400);
  });
});

describe('retention', () => {
  it('drops whole day partitions older than RETENTION and keeps the rest', async () => {
    const database = vitals.app.get(Database);
    const retention = vitals.app.get(RetentionService);
    const day = 86_400_000;
    const now = Date.now();
    // Partitions 40 days back exist once a check from then is stored.
    await database.query(
      `CREATE TABLE IF NOT EXISTS checks_p_old PARTITION OF checks FOR VALUES FROM ('2000-01-01') TO ('2000-01-02')`,
    );
    await database.query(`DROP TABLE checks_p_old`);
    const old = new Date(now - 40 * day);
    const name = `checks_p${old.toISOString().slice(0, 10).replace(/-/g, '')}`;
    const start = new Date(Date.UTC(old.getUTCFullYear(), old.getUTCMonth(), old.getUTCDate()));
    await database.query(
      `CREATE TABLE ${name} PARTITION OF checks FOR VALUES FROM ('${start.toISOString()}') TO ('${new Date(start.getTime() + day).toISOString()}')`,
    );
    await database.query(
      `INSERT INTO checks (target_id, started_at, duration_ms, up) VALUES (gen_random_uuid(), $1, 1, true)`,
      [old],
    );
    const dropped = await retention.run(now);
    expect(dropped).toContain(name);
    expect(await database.query(`SELECT 1 FROM pg_class WHERE relname = $1`, [name])).toEqual([]);
    const today = `checks_p${new Date(now).toISOString().slice(0, 10).replace(/-/g, '')}`;
    expect(await database.query(`SELECT 1 FROM pg_class WHERE relname = $1`, [today])).toHaveLength(1);
  });
});
