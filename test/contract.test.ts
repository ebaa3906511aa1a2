import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { recordedRoutes } from '../src/openapi/route-table';
import { listOperations, loadSpec, toRouterPath } from '../src/openapi/spec';
import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { startTestApp, type TestApp } from './support/app';

let db: TestDatabase;
let vitals: TestApp;

beforeAll(async () => {
  db = await createTestDatabase('contract');
  vitals = await startTestApp(db.url);
});

afterAll(async () => {
  await vitals?.close();
  await db?.drop();
});

// Swagger UI serves its own assets under /ui/ (scripts, styles, its copy of the document); only /ui is ours.
const isSwaggerAsset = (url: string) => url.startsWith('/ui/') || url === '/ui/';

describe('openapi.yaml and the routes', () => {
  const { document } = loadSpec();
  const declared = listOperations(document).map(({ method, path }) => `${method.toUpperCase()} ${toRouterPath(path)}`);

  it('has a route for every operation', () => {
    const fastify = vitals.app.getHttpAdapter().getInstance();
    const missing = declared.filter((key) => {
      const [method, url] = key.split(' ');
      return !fastify.hasRoute({ method: method as 'GET', url });
    });
    expect(missing).toEqual([]);
  });

  it('declares every route the server has', () => {
    const routes = recordedRoutes(vitals.app.getHttpAdapter().getInstance())
      .filter((route) => route.method !== 'HEAD' && !isSwaggerAsset(route.url))
      .map((route) => `${route.method} ${route.url}`);
    expect(routes.length).toBeGreaterThanOrEqual(declared.length);
    expect(routes.filter((route) => !declared.includes(route))).toEqual([]);
  });

  it('is valid OpenAPI 3.1 whose operations all have ids and declare their errors', () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    const ids = listOperations(document).map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, operation } of listOperations(document)) {
      if (path.startsWith('/api/'))
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['400', '503']));
    }
  });

  it('serves itself as YAML and JSON, and Swagger UI at /ui', async () => {
    const api = apiClient(vitals.app);
    const yaml = await api.get('/openapi.yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.body).toBe(readFileSync(resolve(__dirname, '..', 'openapi.yaml'), 'utf8'));
    const json = await api.get('/openapi.json');
    expect(json.body).toEqual(document);
    const ui = await api.get('/ui');
    expect(ui.status).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    expect(ui.body).toMatch(/swagger/i);
  });

  it('answers unknown routes with a 404 problem', async () => {
    const fastify = vitals.app.getHttpAdapter().getInstance();
    const response = await fastify.inject({ method: 'GET', url: '/api/v1/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 404, title: 'Not Found' });
  });
});

describe('generated types', () => {
  it('src/generated/openapi.ts is what openapi-typescript makes of openapi.yaml today', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vitals-types-')), 'openapi.ts');
    const root = resolve(__dirname, '..');
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/openapi-typescript/bin/cli.js'), 'openapi.yaml', '-o', out],
      { cwd: root, stdio: 'pipe' },
    );
    const fresh = readFileSync(out, 'utf8');
    const committed = readFileSync(join(root, 'src/generated/openapi.ts'), 'utf8');
    if (fresh !== committed)
      throw new Error('src/generated/openapi.ts is stale: run `npm run generate:types` and commit the result');
  });
});
