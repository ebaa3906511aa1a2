import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { startTestApp, TEST_TOKEN, type TestApp } from './support/app';

let db: TestDatabase;
const apps: TestApp[] = [];

beforeAll(async () => {
  db = await createTestDatabase('security');
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await db?.drop();
});

async function start(env: Record<string, string>) {
  const app = await startTestApp(db.url, env);
  apps.push(app);
  return { app, api: apiClient(app.app) };
}

const target = (name: string) => ({ name, kind: 'http', url: 'http://127.0.0.1:9/' });

describe('write access with API_TOKENS', () => {
  const second = 'second-token-abcdefghijklmnop';

  it('accepts any configured token, refuses missing and wrong ones with 401, and lets reads through', async () => {
    const { app, api } = await start({ API_TOKENS: `${TEST_TOKEN}, ${second}` });
    const none = await api.post('/api/v1/targets', target('auth-none'));
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(none.body.detail).toMatch(/Authorization: Bearer/);
    const wrong = await api.post('/api/v1/targets', target('auth-wrong'), { authorization: `Bearer ${TEST_TOKEN}x` });
    expect(wrong.status).toBe(401);
    const basic = await api.post('/api/v1/targets', target('auth-basic'), { authorization: `Basic ${TEST_TOKEN}` });
    expect(basic.status).toBe(401);
    expect(
      (await api.post('/api/v1/targets', target('auth-first'), { authorization: `Bearer ${TEST_TOKEN}` })).status,
    ).toBe(201);
    const created = await api.post('/api/v1/targets', target('auth-second'), { authorization: `bearer ${second}` });
    expect(created.status).toBe(201);
    expect((await api.delete(`/api/v1/targets/${created.body.id}`)).status).toBe(401);
    expect((await api.patch(`/api/v1/targets/${created.body.id}`, { enabled: false })).status).toBe(401);
    expect((await api.get('/api/v1/targets')).status).toBe(200);
    // No token, nor any part of one, in any log line.
    const logged = JSON.stringify(app.logs);
    expect(logged).not.toContain(TEST_TOKEN);
    expect(logged).not.toContain(second);
  });
});

describe('write access without tokens', () => {
  it('accepts writes while bound to loopback', async () => {
    const { api } = await start({ API_TOKENS: '', HOST: '127.0.0.1' });
    expect((await api.post('/api/v1/targets', target('loopback-write'))).status).toBe(201);
  });

  it('refuses writes with 403 and the reason when bound to a non-loopback address', async () => {
    const { api } = await start({ API_TOKENS: '', HOST: '0.0.0.0' });
    const response = await api.post('/api/v1/targets', target('open-write'));
    expect(response.status).toBe(403);
    expect(response.body.detail).toMatch(/API_TOKENS is not set.*0\.0\.0\.0.*not loopback/);
    expect((await api.get('/api/v1/targets')).status).toBe(200);
  });
});

describe('request body limit', () => {
  it('answers 413 with a problem for a body over BODY_LIMIT and accepts one under it', async () => {
    const { api } = await start({ BODY_LIMIT: '4kb' });
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    const big = await api.post('/api/v1/targets', { ...target('big'), labels: { note: 'x'.repeat(5000) } }, auth);
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ status: 413, errors: [{ path: 'body' }] });
    const small = await api.post('/api/v1/targets', { ...target('small'), labels: { note: 'x'.repeat(1000) } }, auth);
    expect(small.status).toBe(201);
  });

  it('answers malformed JSON and other media types with 400 and 415 problems', async () => {
    const { app } = await start({});
    const fastify = app.app.getHttpAdapter().getInstance();
    const headers = { authorization: `Bearer ${TEST_TOKEN}` };
    const malformed = await fastify.inject({
      method: 'POST',
      url: '/api/v1/targets',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().errors[0].path).toBe('body');
    const xml = await fastify.inject({
      method: 'POST',
      url: '/api/v1/targets',
      headers: { ...headers, 'content-type': 'application/xml' },
      payload: '<target/>',
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
