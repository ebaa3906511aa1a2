import { Database } from '../src/database/database.service';
import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { AUTH, eventually, startTestApp, type TestApp } from './support/app';
import { TargetServer } from './support/target-server';
import { TcpProxy } from './support/tcp-proxy';

let db: TestDatabase;
let proxy: TcpProxy;
let vitals: TestApp | undefined;
const targets = new TargetServer();

beforeAll(async () => {
  db = await createTestDatabase('checker_outage');
  const url = new URL(db.url);
  proxy = new TcpProxy(url.hostname, Number(url.port || 5432));
  await proxy.start();
  await targets.start();
});

afterEach(async () => {
  await vitals?.close();
  vitals = undefined;
});

afterAll(async () => {
  await proxy?.stop();
  await targets.stop();
  await db?.drop();
});

const metric = (text: string, line: RegExp) => Number(line.exec(text)?.[1] ?? 0);

/** Runs `count` targets at 1s, cuts the database for `cutMs`, and returns hits, stored rows and dropped results. */
async function outage(prefix: string, count: number, cutMs: number, env: Record<string, string>) {
  proxy.restore();
  vitals = await startTestApp(proxy.proxied(db.url), { CHECKER_LEASE_TTL: '60s', ...env });
  const api = apiClient(vitals.app, AUTH);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await api.post('/api/v1/targets', {
      name: `${prefix}-${i}`,
      kind: 'http',
      url: `${targets.base}/${prefix}/${i}`,
      interval: '1s',
    });
    ids.push(response.body.id);
  }
  const database = vitals.app.get(Database);
  const stored = async () =>
    Number(
      (
        await database.query<{ n: string }>(`SELECT count(*) AS n FROM checks WHERE target_id = ANY($1::uuid[])`, [ids])
      )[0].n,
    );
  await eventually(async () => (await stored()) >= count, 15000, 'first checks stored');

  proxy.cut();
  const hitsBefore = targets.total();
  await new Promise((resolve) => setTimeout(resolve, cutMs));
  const during = targets.total() - hitsBefore;
  const buffered = metric((await api.get('/metrics')).body, /^vitals_checker_buffer_depth\{kind="checks"\} (\d+)/m);
  proxy.restore();

  // Stop checking, then wait until every result has been written or counted as dropped.
  await eventually(async () => (await api.get('/ready')).status === 200, 20000, 'the database back');
  for (const id of ids) expect((await api.patch(`/api/v1/targets/${id}`, { enabled: false })).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  await eventually(
    async () => metric((await api.get('/metrics')).body, /^vitals_checker_buffer_depth\{kind="checks"\} (\d+)/m) === 0,
    20000,
    'the buffer to drain',
  );
  const text = (await api.get('/metrics')).body as string;
  const hits = [...targets.hits].filter(([path]) => path.startsWith(`/${prefix}/`)).reduce((sum, [, n]) => sum + n, 0);
  return {
    during,
    buffered,
    hits,
    rows: await stored(),
    dropped: metric(text, /^vitals_checker_dropped_results_total\{kind="checks"\} (\d+)/m),
    logs: vitals.logs,
  };
}

describe('the database cut while checking', () => {
  it('keeps checking, buffers the results and writes every one when the database returns', async () => {
    const result = await outage('kept', 5, 4000, {});
    expect(result.during).toBeGreaterThanOrEqual(10);
    expect(result.buffered).toBeGreaterThanOrEqual(10);
    expect(result.dropped).toBe(0);
    expect(result.rows).toBe(result.hits);
  });

  it('drops what overflows the buffer, counts it and says so, and still loses nothing else', async () => {
    const result = await outage('overflow', 10, 4000, { CHECKER_BUFFER_CHECKS: '10' });
    expect(result.during).toBeGreaterThan(20);
    expect(result.dropped).toBeGreaterThan(0);
    expect(result.rows + result.dropped).toBe(result.hits);
    expect(result.logs.some((line) => line.level === 'warn' && /results dropped/.test(String(line.message)))).toBe(
      true,
    );
  });
});
