import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { AUTH, eventually, startTestApp, type TestApp } from './support/app';
import { TcpProxy } from './support/tcp-proxy';

let db: TestDatabase;
let proxy: TcpProxy;
let vitals: TestApp | undefined;

beforeAll(async () => {
  db = await createTestDatabase('outage');
  const url = new URL(db.url);
  proxy = new TcpProxy(url.hostname, Number(url.port || 5432));
  await proxy.start();
});

afterEach(async () => {
  await vitals?.close();
  vitals = undefined;
});

afterAll(async () => {
  await proxy?.stop();
  await db?.drop();
});

const isProblem503 = (response: { status: number; headers: Record<string, string>; body: { status?: number } }) =>
  response.status === 503 &&
  /^application\/problem\+json/.test(response.headers['content-type']) &&
  response.body.status === 503;

describe('the database going away and coming back', () => {
  it('answers 503 problems while it is gone, stays alive, and recovers by itself', async () => {
    proxy.restore();
    vitals = await startTestApp(proxy.proxied(db.url));
    const api = apiClient(vitals.app, AUTH);
    await eventually(async () => (await api.get('/ready')).status === 200, 15000, 'ready');
    const created = await api.post('/api/v1/targets', { name: 'survivor', kind: 'http', url: 'http://127.0.0.1:9/' });
    expect(created.status).toBe(201);

    proxy.cut();
    const ready = await api.get('/ready');
    expect(isProblem503(ready)).toBe(true);
    expect(ready.body.detail).toMatch(/database/);
    expect((await api.get('/health')).status).toBe(200);
    for (const response of [
      await api.get('/api/v1/targets'),
      await api.get(`/api/v1/targets/${created.body.id}`),
      await api.post('/api/v1/targets', { name: 'during-outage', kind: 'http', url: 'http://127.0.0.1:9/' }),
      await api.patch(`/api/v1/targets/${created.body.id}`, { enabled: false }),
      await api.delete(`/api/v1/targets/${created.body.id}`),
    ]) {
      expect(isProblem503(response)).toBe(true);
      expect(JSON.stringify(response.body)).not.toMatch(/ECONN|at .*\.js|SELECT/);
    }

    proxy.restore();
    await eventually(async () => (await api.get('/api/v1/targets')).status === 200, 15000, 'the API to recover');
    expect((await api.get('/ready')).status).toBe(200);
    const after = await api.get(`/api/v1/targets/${created.body.id}`);
    expect(after.body).toMatchObject({ name: 'survivor', enabled: true });
  });

  it('starts while the database is unreachable, reports not ready, then migrates and serves once it appears', async () => {
    proxy.cut();
    vitals = await startTestApp(proxy.proxied(db.url));
    const api = apiClient(vitals.app, AUTH);
    const ready = await api.get('/ready');
    expect(isProblem503(ready)).toBe(true);
    expect(ready.body.detail).toMatch(/not connected/);
    expect(isProblem503(await api.get('/api/v1/targets'))).toBe(true);
    expect((await api.get('/health')).status).toBe(200);

    proxy.restore();
    await eventually(async () => (await api.get('/ready')).status === 200, 20000, 'ready after the database appears');
    expect((await api.get('/api/v1/targets')).status).toBe(200);
  });
});
