import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TargetsFileService } from '../src/targets/targets-file.service';
import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { AUTH, eventually, startTestApp, type TestApp } from './support/app';

let db: TestDatabase;
let vitals: TestApp;
let file: string;
let api: ReturnType<typeof apiClient>;

const names = async () =>
  ((await api.get('/api/v1/targets?limit=1000')).body.items as Array<{ name: string; origin: string }>)
    .filter((item) => item.origin === 'file')
    .map((item) => item.name);

/** Writes the file the way editors do: a new file renamed over the old one. */
async function writeTargets(text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

const initial = `
targets:
  - name: web
    kind: http
    url: http://127.0.0.1:9/health
    interval: 15s
    labels: { team: core }
  - name: node-exporter
    kind: prometheus
    url: http://127.0.0.1:9100/metrics
    sampleLimit: 5000
`;

beforeAll(async () => {
  db = await createTestDatabase('targets_file');
  file = join(await mkdtemp(join(tmpdir(), 'vitals-targets-')), 'targets.yaml');
  await writeFile(file, initial);
  vitals = await startTestApp(db.url, { TARGETS_FILE: file });
  api = apiClient(vitals.app, AUTH);
});

afterAll(async () => {
  await vitals?.close();
  await db?.drop();
});

describe('TARGETS_FILE', () => {
  it('is loaded at start', async () => {
    await eventually(async () => (await names()).length === 2, 10000, 'the file targets');
    expect((await names()).sort()).toEqual(['node-exporter', 'web']);
    const web = (await api.get('/api/v1/targets?label=team:core')).body.items[0];
    expect(web).toMatchObject({ name: 'web', interval: '15s', timeout: '10s', origin: 'file' });
  });

  it('refuses API changes to file targets with a 409 that says why', async () => {
    const web = (await api.get('/api/v1/targets?label=team:core')).body.items[0];
    const patch = await api.patch(`/api/v1/targets/${web.id}`, { enabled: false });
    expect(patch.status).toBe(409);
    expect(patch.body.detail).toMatch(/declared in TARGETS_FILE/);
    expect((await api.delete(`/api/v1/targets/${web.id}`)).status).toBe(409);
    expect((await api.post('/api/v1/targets', { name: 'web', kind: 'http', url: 'http://127.0.0.1:9/' })).status).toBe(
      409,
    );
  });

  it('applies edits when the file changes: upserts by name and removes what left the file', async () => {
    const before = (await api.get('/api/v1/targets?label=team:core')).body.items[0];
    await writeTargets(`
targets:
  - name: web
    kind: http
    url: http://127.0.0.1:9/health
    interval: 1m
    labels: { team: core }
  - name: api
    kind: http
    url: http://127.0.0.1:9/api
`);
    await eventually(async () => (await names()).sort().join() === 'api,web', 10000, 'the reload');
    const after = (await api.get(`/api/v1/targets/${before.id}`)).body;
    expect(after).toMatchObject({ id: before.id, interval: '1m' });
  });

  it('keeps API targets that the file never mentioned', async () => {
    const mine = await api.post('/api/v1/targets', { name: 'from-api', kind: 'http', url: 'http://127.0.0.1:9/' });
    expect(mine.status).toBe(201);
    const result = await vitals.app.get(TargetsFileService).reload();
    expect(result).toMatchObject({ ok: true, removed: 0, unchanged: 2 });
    expect((await api.get(`/api/v1/targets/${mine.body.id}`)).status).toBe(200);
  });

  it.each([
    ['broken YAML', 'targets:\n  - name: [unclosed\n', /YAML/],
    ['a schema error', 'targets:\n  - name: x\n    kind: ping\n    url: http://127.0.0.1:9/\n', /targets\[0\]\.kind/],
    [
      'a rule error',
      'targets:\n  - name: x\n    kind: http\n    url: http://127.0.0.1:9/\n    interval: 5s\n    timeout: 9s\n',
      /targets\[0\]\.timeout/,
    ],
    [
      'a denied URL',
      'targets:\n  - name: x\n    kind: http\n    url: http://169.254.169.254/\n',
      /targets\[0\]\.url.*TARGET_DENY_CIDRS/,
    ],
    [
      'a duplicate name',
      'targets:\n  - {name: x, kind: http, url: "http://127.0.0.1:9/"}\n  - {name: x, kind: http, url: "http://127.0.0.1:9/"}\n',
      /more than once/,
    ],
    ['the wrong shape', 'targets: 3\n', /list of targets/],
  ])('reports %s clearly and changes nothing', async (_what, text, reason) => {
    const before = (await api.get('/api/v1/targets?limit=1000')).body.items;
    const logged = vitals.logs.length;
    await writeTargets(text);
    await eventually(
      () => vitals.logs.slice(logged).some((line) => /TARGETS_FILE is invalid/.test(String(line.message))),
      10000,
      'the error log',
    );
    const line = vitals.logs.slice(logged).find((entry) => /TARGETS_FILE is invalid/.test(String(entry.message)))!;
    expect(line.level).toBe('error');
    expect(String(line.message)).toMatch(reason);
    expect((await api.get('/api/v1/targets?limit=1000')).body.items).toEqual(before);
  });

  it('removes every file target when the file lists none', async () => {
    await writeTargets('targets: []\n');
    await eventually(async () => (await names()).length === 0, 10000, 'the file targets to go');
    expect((await api.get('/api/v1/targets?limit=1000')).body.items.map((item: { name: string }) => item.name)).toEqual(
      ['from-api'],
    );
  });
});
