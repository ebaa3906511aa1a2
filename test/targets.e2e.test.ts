import { Database } from '../src/database/database.service';
import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { AUTH, startTestApp, type TestApp } from './support/app';

let db: TestDatabase;
let vitals: TestApp;
let api: ReturnType<typeof apiClient>;

const metadataHost = 'metadata.internal.test';

beforeAll(async () => {
  db = await createTestDatabase('targets_e2e');
  vitals = await startTestApp(
    db.url,
    {},
    {
      resolver: async (host) =>
        host === metadataHost ? ['169.254.169.254'] : host === 'localhost' ? ['127.0.0.1'] : [],
    },
  );
  api = apiClient(vitals.app, AUTH);
});

afterAll(async () => {
  await vitals?.close();
  await db?.drop();
});

const http = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'http',
  url: `http://127.0.0.1:9/${name}`,
  ...extra,
});

describe('targets API', () => {
  it('creates a target with defaults and reads it back', async () => {
    const created = await api.post('/api/v1/targets', http('create-defaults', { labels: { team: 'core' } }));
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/api/v1/targets/${created.body.id}`);
    expect(created.body).toMatchObject({
      name: 'create-defaults',
      kind: 'http',
      interval: '30s',
      timeout: '10s',
      enabled: true,
      method: 'GET',
      labels: { team: 'core' },
      origin: 'api',
      sampleLimit: 0,
    });
    const read = await api.get(`/api/v1/targets/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
  });

  it('defaults the timeout to the interval when the interval is shorter than 10s', async () => {
    const created = await api.post('/api/v1/targets', http('short-interval', { interval: '2s' }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ interval: '2s', timeout: '2s' });
  });

  it('refuses a duplicate name with 409 naming the field', async () => {
    expect((await api.post('/api/v1/targets', http('dup'))).status).toBe(201);
    const again = await api.post('/api/v1/targets', http('dup'));
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(again.body.errors).toEqual([{ path: 'body.name', message: expect.stringContaining('taken') }]);
  });

  it.each([
    ['a non-http scheme', { url: 'ftp://example.com/x' }, 'body.url'],
    ['a javascript URL', { url: 'javascript:alert(1)' }, 'body.url'],
    ['an interval under 1s', { interval: '500ms', timeout: '100ms' }, 'body.interval'],
    ['a timeout over the interval', { interval: '5s', timeout: '6s' }, 'body.timeout'],
    ['a malformed duration', { interval: 'often' }, 'body.interval'],
    ['a label name that is not Prometheus-style', { labels: { 'bad-name': 'x' } }, 'body.labels.bad-name'],
    ['a reserved label name', { labels: { __name__: 'x' } }, 'body.labels.__name__'],
    ['an unknown field', { colour: 'blue' }, 'body.colour'],
    ['a wrong kind', { kind: 'ping' }, 'body.kind'],
    ['an invalid regex', { bodyMatch: { regex: '(' } }, 'body.bodyMatch.regex'],
    ['a header value with a line break', { headers: { 'X-A': 'a\r\nInjected: 1' } }, 'body.headers.X-A'],
  ])('refuses %s with 400 naming the field', async (_what, extra, path) => {
    const response = await api.post('/api/v1/targets', http(`invalid-${path}`.replace(/[^A-Za-z0-9-]/g, '-'), extra));
    expect(response.status).toBe(400);
    expect(response.body.errors.map((error: { path: string }) => error.path)).toContain(path);
  });

  it('refuses a missing required field', async () => {
    const response = await api.post('/api/v1/targets', { name: 'no-url', kind: 'http' });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ path: 'body.url', message: 'is required' }]);
  });

  it('accepts 32 labels and refuses 33', async () => {
    const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 'v']));
    expect((await api.post('/api/v1/targets', http('labels-32', { labels: labels(32) }))).status).toBe(201);
    const tooMany = await api.post('/api/v1/targets', http('labels-33', { labels: labels(33) }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].path).toBe('body.labels');
  });

  it('refuses URLs that point into the SSRF deny list, by address or by name', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      `http://${metadataHost}/`,
      'http://[fe80::1]/',
      'http://[::ffff:169.254.169.254]/',
    ]) {
      const response = await api.post('/api/v1/targets', http('ssrf', { url }));
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([
        { path: 'body.url', message: expect.stringContaining('TARGET_DENY_CIDRS') },
      ]);
    }
    expect(
      (await api.post('/api/v1/targets', http('loopback-allowed', { url: 'http://localhost:8080/health' }))).status,
    ).toBe(201);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    const missing = await api.get('/api/v1/targets/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0].path).toBe('path.id');
    const malformed = await api.get('/api/v1/targets/not-a-uuid');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].path).toBe('path.id');
    expect((await api.patch('/api/v1/targets/00000000-0000-4000-8000-000000000000', { enabled: false })).status).toBe(
      404,
    );
    expect((await api.delete('/api/v1/targets/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('PATCH changes only the fields sent and can clear optional ones', async () => {
    const created = await api.post(
      '/api/v1/targets',
      http('patch-me', {
        interval: '1m',
        timeout: '20s',
        labels: { a: '1' },
        bodyMatch: { contains: 'ok' },
        expectedStatus: [200, 204],
      }),
    );
    const patched = await api.patch(`/api/v1/targets/${created.body.id}`, { enabled: false, bodyMatch: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      enabled: false,
      interval: '1m',
      timeout: '20s',
      labels: { a: '1' },
      expectedStatus: [200, 204],
    });
    expect(patched.body.bodyMatch).toBeUndefined();
    expect(Date.parse(patched.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.body.updatedAt));
    const shorter = await api.patch(`/api/v1/targets/${created.body.id}`, { interval: '10s' });
    expect(shorter.status).toBe(400);
    expect(shorter.body.errors[0].path).toBe('body.interval');
    expect((await api.patch(`/api/v1/targets/${created.body.id}`, {})).status).toBe(400);
  });

  it('PATCH to a name already taken is a 409', async () => {
    await api.post('/api/v1/targets', http('taken'));
    const other = await api.post('/api/v1/targets', http('renamer'));
    const response = await api.patch(`/api/v1/targets/${other.body.id}`, { name: 'taken' });
    expect(response.status).toBe(409);
  });

  it('DELETE removes the target', async () => {
    const created = await api.post('/api/v1/targets', http('delete-me'));
    expect((await api.delete(`/api/v1/targets/${created.body.id}`)).status).toBe(204);
    expect((await api.get(`/api/v1/targets/${created.body.id}`)).status).toBe(404);
  });

  it('never shows a URL password or a credential header back, and keeps them when echoed', async () => {
    const created = await api.post(
      '/api/v1/targets',
      http('secret', {
        url: 'https://user:hunter2@example.com/metrics',
        headers: { Authorization: 'Bearer s3cr3t', 'X-Team': 'core' },
      }),
    );
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toMatch(/hunter2|s3cr3t/);
    expect(created.body.headers).toEqual({ Authorization: '<redacted>', 'X-Team': 'core' });
    const echoed = await api.patch(`/api/v1/targets/${created.body.id}`, {
      url: created.body.url,
      headers: created.body.headers,
    });
    expect(echoed.status).toBe(200);
    const stored = await vitals.app
      .get(Database)
      .query<{ url: string; headers: Record<string, string> }>(`SELECT url, headers FROM targets WHERE id = $1`, [
        created.body.id,
      ]);
    expect(stored[0].url).toBe('https://user:hunter2@example.com/metrics');
    expect(stored[0].headers.Authorization).toBe('Bearer s3cr3t');
  });
});

describe('listing targets', () => {
  beforeAll(async () => {
    for (let i = 0; i < 25; i++) {
      const response = await api.post('/api/v1/targets', {
        name: `list-${String(i).padStart(2, '0')}`,
        kind: i % 2 === 0 ? 'http' : 'prometheus',
        url: `http://127.0.0.1:9/${i}`,
        enabled: i % 5 !== 0,
        labels: { team: i < 10 ? 'core' : 'edge', env: 'prod', note: 'a:b' },
      });
      expect(response.status).toBe(201);
    }
  });

  it('pages through every target exactly once, in name order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: Array<{ name: string }>; nextCursor: string | null } } =
        await api.get(`/api/v1/targets?label=env:prod&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(7);
      seen.push(...page.body.items.map((item) => item.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    const expected = Array.from({ length: 25 }, (_, i) => `list-${String(i).padStart(2, '0')}`);
    expect(seen).toEqual(expected);
  });

  it('filters by kind, enabled and several labels together', async () => {
    const response = await api.get('/api/v1/targets?kind=http&enabled=true&label=team:core&label=env:prod');
    expect(response.status).toBe(200);
    // Even i below 10, not a multiple of 5: 2, 4, 6, 8.
    expect(response.body.items.map((item: { name: string }) => item.name)).toEqual([
      'list-02',
      'list-04',
      'list-06',
      'list-08',
    ]);
    const colon = await api.get('/api/v1/targets?label=note:a:b&limit=1000');
    expect(colon.body.items).toHaveLength(25);
  });

  it('refuses a bad limit, a forged cursor and unknown parameters', async () => {
    for (const [query, path] of [
      ['limit=0', 'query.limit'],
      ['limit=1001', 'query.limit'],
      ['limit=ten', 'query.limit'],
      ['cursor=bm90LWpzb24', 'query.cursor'],
      ['kind=ping', 'query.kind'],
      ['enabled=maybe', 'query.enabled'],
      ['label=nocolon', 'query.label.0'],
      ['knd=http', 'query.knd'],
    ]) {
      const response = await api.get(`/api/v1/targets?${query}`);
      expect(response.status).toBe(400);
      expect(response.body.errors.map((error: { path: string }) => error.path)).toContain(path);
    }
  });
});

describe('strings PostgreSQL cannot store', () => {
  it.each([
    ['a NUL in a label value', { labels: { team: 'a\u0000b' } }, 'body.labels.team'],
    ['an unpaired surrogate in a body match', { bodyMatch: { contains: '\ud800' } }, 'body.bodyMatch.contains'],
  ])('refuses %s with 400 naming the field', async (_what, extra, path) => {
    const response = await api.post('/api/v1/targets', http('unstorable', extra));
    expect(response.status).toBe(400);
    expect(response.body.errors.map((error: { path: string }) => error.path)).toContain(path);
  });

  it('refuses them in query parameters too', async () => {
    const response = await api.get('/api/v1/targets?label=team:%00');
    expect(response.status).toBe(400);
    expect(response.body.errors[0].path).toBe('query.label.0');
  });
});
