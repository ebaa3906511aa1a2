import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeadtimeSyncService } from '../src/leadtime/leadtime-sync.service';
import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { AUTH, startTestApp, type TestApp } from './support/app';
import { FakeYouTrack, makeIssue } from './support/fake-youtrack';

let db: TestDatabase;
let vitals: TestApp;
let api: ReturnType<typeof apiClient>;
const youtrack = new FakeYouTrack();

const DAY = 86_400_000;
const base = Date.UTC(2026, 5, 1);
const at = (days: number) => new Date(base + days * DAY);

beforeAll(async () => {
  db = await createTestDatabase('leadtime_sync');
  await youtrack.start();
  youtrack.sprints = [{ name: 'Sprint 1', start: at(10).getTime(), finish: at(24).getTime() }];
  youtrack.issues = [
    // Lead time from the precomputed field: 90 minutes.
    makeIssue({
      key: 'VIT-1',
      created: at(0),
      resolved: at(20),
      team: 'core',
      type: 'Bug',
      leadTimeMinutes: 90,
      sprints: ['Sprint 1'],
      sprintHistory: [{ sprint: 'Sprint 1', added: true, at: at(9) }],
    }),
    // From the first move to In Progress to resolution: 3 days.
    makeIssue({
      key: 'VIT-2',
      created: at(1),
      resolved: at(15),
      team: 'core',
      type: 'Feature',
      states: [
        { state: 'In Progress', at: at(12) },
        { state: 'Fixed', at: at(15) },
      ],
      stateField: 'state-machine',
      sprints: ['Sprint 1'],
      sprintHistory: [{ sprint: 'Sprint 1', added: true, at: at(8) }],
    }),
    // No progress recorded: created → resolved, 5 days. Added to the sprint after it started: not planned.
    makeIssue({
      key: 'VIT-3',
      created: at(11),
      resolved: at(16),
      team: 'edge',
      type: 'Bug',
      storyPoints: '3',
      sprints: ['Sprint 1'],
      sprintHistory: [{ sprint: 'Sprint 1', added: true, at: at(13) }],
    }),
    // Planned, then moved out before the sprint started: neither planned nor done in it.
    makeIssue({
      key: 'VIT-4',
      created: at(2),
      team: 'edge',
      type: null,
      sprintHistory: [
        { sprint: 'Sprint 1', added: true, at: at(5) },
        { sprint: 'Sprint 1', added: false, at: at(7) },
      ],
      sprints: [],
    }),
    // Unresolved, in the sprint since planning.
    makeIssue({
      key: 'VIT-5',
      created: at(3),
      team: null,
      type: 'Task',
      storyPoints: 5,
      sprints: ['Sprint 1'],
      sprintHistory: [{ sprint: 'Sprint 1', added: true, at: at(9) }],
    }),
    ...Array.from({ length: 240 }, (_, i) =>
      makeIssue({ key: `VIT-${i + 100}`, created: at(30), resolved: at(31 + (i % 7)), team: 'bulk', type: 'Task' }),
    ),
  ];
  // The instance has a precomputed lead time field; the rest of the mapping is the stock default.
  const fieldsFile = join(await mkdtemp(join(tmpdir(), 'vitals-fields-')), 'fields.yaml');
  await writeFile(fieldsFile, 'leadTime: Lead time\ninProgressStates: [In Progress]\n');
  vitals = await startTestApp(db.url, {
    ROLE: 'api',
    YOUTRACK_FIELDS_FILE: fieldsFile,
    YOUTRACK_URL: youtrack.base,
    YOUTRACK_TOKEN: youtrack.token,
    YOUTRACK_QUERY: 'project: VIT',
    YOUTRACK_RETRY_BASE: '5ms',
    YOUTRACK_MAX_RETRIES: '2',
    LEADTIME_SYNC_CRON: 'off',
  });
  api = apiClient(vitals.app, AUTH);
});

afterAll(async () => {
  await vitals?.close();
  await youtrack.stop();
  await db?.drop();
});

async function sync(body: unknown = {}) {
  const started = await api.post('/api/v1/leadtime/sync', body);
  expect(started.status).toBe(202);
  expect(started.body.status).toBe('running');
  await vitals.app.get(LeadtimeSyncService).settled();
  const runs = (await api.get('/api/v1/leadtime/runs?limit=1')).body.items;
  expect(runs[0].id).toBe(started.body.id);
  return runs[0];
}

const issue = async (key: string) =>
  (await api.get('/api/v1/leadtime/issues?limit=1000')).body.items.find((item: any) => item.key === key);
const storedCount = async () => (await api.get('/api/v1/leadtime/issues?limit=1000')).body.items.length;

describe('importing from YouTrack', () => {
  it('imports every issue across pages with its fields and a lead time by each rule', async () => {
    const run = await sync({ full: true });
    expect(run).toMatchObject({
      status: 'ok',
      trigger: 'api',
      incremental: false,
      fetched: 245,
      upserted: 245,
      error: null,
    });
    expect(youtrack.issueListRequests().map((request) => request.params.get('$top'))).toEqual(['100', '100', '100']);
    expect(await storedCount()).toBe(245);
    expect(await issue('VIT-1')).toMatchObject({
      source: 'youtrack',
      team: 'core',
      type: 'Bug',
      leadTimeSeconds: 5400,
      leadTimeRule: 'field',
      sprints: ['Sprint 1'],
    });
    expect(await issue('VIT-2')).toMatchObject({ leadTimeSeconds: 3 * 86400, leadTimeRule: 'started', state: 'Fixed' });
    expect(await issue('VIT-3')).toMatchObject({ leadTimeSeconds: 5 * 86400, leadTimeRule: 'created', storyPoints: 3 });
    expect(await issue('VIT-5')).toMatchObject({ resolvedAt: null, leadTimeSeconds: null, team: null, storyPoints: 5 });
  });

  it('replays sprint history to the sprint start for planned scope', async () => {
    const sprint = (await api.get('/api/v1/leadtime/throughput?groupBy=sprint')).body.periods.find(
      (p: any) => p.period === 'Sprint 1',
    );
    // Planned at day 10: VIT-1, VIT-2, VIT-5 (VIT-4 left at day 7, VIT-3 came at day 13). Done: VIT-1, VIT-2, VIT-3.
    expect(sprint).toMatchObject({ planned: 3, done: 3, plannedFrom: 'history', start: at(10).toISOString() });
  });

  it('is idempotent: syncing again updates in place', async () => {
    const run = await sync({ full: true });
    expect(run.status).toBe('ok');
    expect(await storedCount()).toBe(245);
  });

  it('fetches only issues updated since the last OK run when incremental', async () => {
    const changed = youtrack.issues.find((item) => item.idReadable === 'VIT-5')!;
    youtrack.issues = youtrack.issues.filter((item) => item !== changed);
    youtrack.issues.push(
      makeIssue({
        key: 'VIT-5',
        created: at(3),
        resolved: new Date(),
        team: 'core',
        type: 'Task',
        updated: new Date(),
      }),
    );
    youtrack.issues.push(
      makeIssue({
        key: 'VIT-6',
        created: new Date(Date.now() - 1000),
        team: 'core',
        type: 'Task',
        updated: new Date(),
      }),
    );
    const run = await sync();
    expect(run).toMatchObject({ status: 'ok', incremental: true, fetched: 2, upserted: 2 });
    expect(await storedCount()).toBe(246);
    expect((await issue('VIT-5')).team).toBe('core');
  });

  it.each([
    ['500 beyond the retries', { kind: 'status', status: 500 } as const, /500/],
    ['a truncated JSON body', { kind: 'truncated' } as const, /JSON|malformed|Unexpected/i],
  ])('records %s as NOK and changes nothing', async (_what, failure, reason) => {
    const before = (await api.get('/api/v1/leadtime/issues?limit=1000')).body.items;
    youtrack.failNext(5, failure, '/api/issues');
    const run = await sync({ full: true });
    expect(run.status).toBe('nok');
    expect(run.error).toMatch(reason);
    expect((await api.get('/api/v1/leadtime/issues?limit=1000')).body.items).toEqual(before);
    youtrack.reset();
  });

  it('retries 429 with Retry-After and succeeds', async () => {
    youtrack.failNext(1, { kind: 'status', status: 429, retryAfter: 0 }, '/api/issues');
    expect((await sync({ full: true })).status).toBe('ok');
  });

  it('answers 409 while a run is going', async () => {
    youtrack.failNext(1, { kind: 'delay', ms: 1500 }, '/api/issues');
    const first = await api.post('/api/v1/leadtime/sync', { full: true });
    expect(first.status).toBe(202);
    const second = await api.post('/api/v1/leadtime/sync', {});
    expect(second.status).toBe(409);
    expect(second.body.detail).toMatch(/already running/);
    await vitals.app.get(LeadtimeSyncService).settled();
  });

  it('exposes the last run as gauges', async () => {
    const text = (await api.get('/metrics')).body as string;
    expect(text).toMatch(/^vitals_sync_last_run_success\{source="youtrack"\} 1$/m);
    const seconds = Number(/^vitals_sync_last_run_timestamp_seconds\{source="youtrack"\} (\S+)$/m.exec(text)?.[1]);
    expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(60);
  });
});

describe('a wrong token', () => {
  it('ends the run NOK with a message about the token, and changes nothing', async () => {
    const wrong = await startTestApp(db.url, {
      ROLE: 'api',
      YOUTRACK_URL: youtrack.base,
      YOUTRACK_TOKEN: 'perm:not-the-right-one',
      LEADTIME_SYNC_CRON: 'off',
    });
    try {
      const client = apiClient(wrong.app, AUTH);
      const before = await storedCount();
      expect((await client.post('/api/v1/leadtime/sync', { full: true })).status).toBe(202);
      await wrong.app.get(LeadtimeSyncService).settled();
      const [run] = (await client.get('/api/v1/leadtime/runs?limit=1')).body.items;
      expect(run.status).toBe('nok');
      expect(run.error).toMatch(/YOUTRACK_TOKEN/);
      expect(run.error).not.toContain('not-the-right-one');
      expect(await storedCount()).toBe(before);
      expect(JSON.stringify(wrong.logs)).not.toContain('not-the-right-one');
    } finally {
      await wrong.close();
    }
  });
});
