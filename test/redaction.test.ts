import { LOGGER, type Logger } from '../src/observability/logger';
import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { AUTH, startTestApp, TEST_TOKEN, type TestApp } from './support/app';

let db: TestDatabase;
let vitals: TestApp;

beforeAll(async () => {
  db = await createTestDatabase('redaction');
  vitals = await startTestApp(db.url, { LOG_LEVEL: 'debug' });
});

afterAll(async () => {
  await vitals?.close();
  await db?.drop();
});

describe('secrets in logs', () => {
  it('leaves no token, password or credential header in any log line', async () => {
    const api = apiClient(vitals.app, AUTH);
    const created = await api.post('/api/v1/targets', {
      name: 'secretive',
      kind: 'http',
      // Nothing listens on port 1: the check fails and its error is logged and stored.
      url: 'http://monitor:s3cr3t-pass@127.0.0.1:1/health',
      headers: { Authorization: 'Bearer hdr-secret-123', 'X-Api-Key': 'key-secret-456' },
      interval: '1h',
    });
    expect(created.status).toBe(201);
    expect((await api.post(`/api/v1/targets/${created.body.id}/check`)).body.up).toBe(false);
    expect((await api.post('/api/v1/targets', { name: 'x' }, { authorization: 'Bearer wrong-token-789' })).status).toBe(
      401,
    );
    // Code that logs carelessly is covered too: the logger itself redacts.
    vitals.app.get<symbol, Logger>(LOGGER).warn('careless', {
      url: 'https://admin:p4ssw0rd-999@example.com',
      authorization: `Bearer ${TEST_TOKEN}`,
      detail: `sent Bearer ${TEST_TOKEN}`,
    });
    const logged = JSON.stringify(vitals.logs);
    expect(vitals.logs.some((line) => line.message === 'request')).toBe(true);
    for (const secret of [
      TEST_TOKEN,
      's3cr3t-pass',
      'hdr-secret-123',
      'key-secret-456',
      'wrong-token-789',
      'p4ssw0rd-999',
    ]) {
      expect(logged).not.toContain(secret);
    }
  });
});
