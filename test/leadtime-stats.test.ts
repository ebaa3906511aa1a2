import fc from 'fast-check';
import { Database } from '../src/database/database.service';
import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { AUTH, startTestApp, type TestApp } from './support/app';

let db: TestDatabase;
let vitals: TestApp;
let api: ReturnType<typeof apiClient>;
let database: Database;

beforeAll(async () => {
  db = await createTestDatabase('leadtime_stats');
  vitals = await startTestApp(db.url, { ROLE: 'api', LEADTIME_SYNC_CRON: 'off' });
  api = apiClient(vitals.app, AUTH);
  database = vitals.app.get(Database);
});

afterAll(async () => {
  await vitals?.close();
  await db?.drop();
});

jest.setTimeout(180_000);

const DAY = 86_400;
const BASE = Date.UTC(2026, 0, 1);
const TEAMS = ['core', 'edge', null] as const;
const TYPES = ['Bug', 'Task'] as const;
const SPRINTS = ['S1', 'S2', 'S3'];

/** percentile_cont, computed independently: linear interpolation between the closest ranks. */
function percentileCont(values: number[], fraction: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const position = fraction * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

interface GeneratedIssue {
  key: string;
  team: (typeof TEAMS)[number];
  type: (typeof TYPES)[number];
  createdDay: number;
  leadSeconds: number | null;
  sprints: string[];
  /** Sprint membership changes, in days since BASE. */
  events: Array<{ sprint: string; added: boolean; day: number }>;
}

const issueArbitrary = (index: number) =>
  fc.record({
    key: fc.constant(`G-${index}`),
    team: fc.constantFrom(...TEAMS),
    type: fc.constantFrom(...TYPES),
    createdDay: fc.integer({ min: 0, max: 300 }),
    leadSeconds: fc.option(
      fc.oneof(fc.integer({ min: 0, max: 60 * DAY }), fc.double({ min: 0, max: 60 * DAY, noNaN: true })),
      { nil: null },
    ),
    sprints: fc.subarray(SPRINTS),
    events: fc.array(
      fc.record({ sprint: fc.constantFrom(...SPRINTS), added: fc.boolean(), day: fc.integer({ min: 0, max: 120 }) }),
      { maxLength: 4 },
    ),
  });

const issuesArbitrary = fc
  .integer({ min: 0, max: 60 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => issueArbitrary(i))));
const sprintStarts: Record<string, number> = { S1: 30, S2: 60, S3: 90 };

const iso = (seconds: number) => new Date(BASE + seconds * 1000).toISOString();

async function store(issues: GeneratedIssue[]): Promise<void> {
  await database.query('TRUNCATE leadtime_issues, sprints, sprint_events');
  const response = await api.put('/api/v1/leadtime/issues', {
    source: 'gen',
    issues: issues.map((issue) => ({
      key: issue.key,
      team: issue.team,
      type: issue.type,
      sprints: issue.sprints,
      createdAt: iso(issue.createdDay * DAY),
      resolvedAt: issue.leadSeconds === null ? null : iso(issue.createdDay * DAY + issue.leadSeconds),
      // A tracker-given figure would win; here the lead time is created → resolved.
    })),
    sprints: SPRINTS.map((name) => ({ name, startAt: iso(sprintStarts[name] * DAY) })),
    sprintEvents: issues.flatMap((issue) =>
      issue.events.map((event, index) => ({
        issueKey: issue.key,
        sprint: event.sprint,
        added: event.added,
        at: iso(event.day * DAY + index),
      })),
    ),
  });
  expect(response.status).toBe(200);
}

const resolved = (issues: GeneratedIssue[]) => issues.filter((issue) => issue.leadSeconds !== null);
const leadOf = (issue: GeneratedIssue) => {
  // Lead time as stored: created → resolved, through millisecond timestamps.
  const created = BASE + issue.createdDay * DAY * 1000;
  return (new Date(iso(issue.createdDay * DAY + issue.leadSeconds!)).getTime() - created) / 1000;
};

describe('lead time statistics on generated data', () => {
  it('percentiles equal an independent percentile_cont, with and without filters', async () => {
    await fc.assert(
      fc.asyncProperty(issuesArbitrary, fc.constantFrom(undefined, 'core', 'edge'), async (issues, team) => {
        await store(issues);
        const ps = [10, 25, 50, 75, 85, 90, 95];
        const response = await api.get(`/api/v1/leadtime/percentiles?p=${ps.join(',')}${team ? `&team=${team}` : ''}`);
        expect(response.status).toBe(200);
        const values = resolved(issues)
          .filter((issue) => !team || issue.team === team)
          .map(leadOf);
        expect(response.body.count).toBe(values.length);
        response.body.percentiles.forEach((entry: { p: number; leadTimeSeconds: number | null }, index: number) => {
          expect(entry.p).toBe(ps[index]);
          const expected = percentileCont(values, ps[index] / 100);
          if (expected === null) expect(entry.leadTimeSeconds).toBeNull();
          else expect(entry.leadTimeSeconds).toBeCloseTo(expected, 6);
        });
        // And PostgreSQL's own percentile_cont over the same values agrees exactly.
        const [own] = await database.query<{ v: number[] | null }>(
          `SELECT percentile_cont($2::float8[]) WITHIN GROUP (ORDER BY x) AS v FROM unnest($1::float8[]) AS x`,
          [values, ps.map((p) => p / 100)],
        );
        expect(
          response.body.percentiles.map((entry: { leadTimeSeconds: number | null }) => entry.leadTimeSeconds),
        ).toEqual(own.v ?? ps.map(() => null));
      }),
      { numRuns: 25 },
    );
  });

  it('the distribution counts every resolved issue in its bucket', async () => {
    await fc.assert(
      fc.asyncProperty(
        issuesArbitrary,
        fc.constantFrom('1d', '12h', '7d'),
        fc.constantFrom(undefined, 'Bug'),
        async (issues, bucket, type) => {
          await store(issues);
          const size = { '1d': DAY, '12h': DAY / 2, '7d': 7 * DAY }[bucket];
          const response = await api.get(
            `/api/v1/leadtime/distribution?bucket=${bucket}${type ? `&type=${type}` : ''}`,
          );
          expect(response.status).toBe(200);
          const expected = new Map<number, number>();
          for (const issue of resolved(issues).filter((item) => !type || item.type === type)) {
            const index = Math.floor(leadOf(issue) / size);
            expected.set(index, (expected.get(index) ?? 0) + 1);
          }
          const buckets = [...expected]
            .sort(([a], [b]) => a - b)
            .map(([index, count]) => ({ fromSeconds: index * size, toSeconds: (index + 1) * size, count }));
          expect(response.body).toEqual({
            bucketSeconds: size,
            count: resolved(issues).filter((item) => !type || item.type === type).length,
            buckets,
          });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('throughput counts done against the scope each sprint had when it started', async () => {
    await fc.assert(
      fc.asyncProperty(issuesArbitrary, async (issues) => {
        await store(issues);
        const response = await api.get('/api/v1/leadtime/throughput?groupBy=sprint');
        expect(response.status).toBe(200);
        const withHistory = new Set(issues.flatMap((issue) => issue.events.map((event) => event.sprint)));
        const expected = SPRINTS.filter(
          (sprint) => withHistory.has(sprint) || issues.some((issue) => issue.sprints.includes(sprint)),
        ).map((sprint) => {
          const start = sprintStarts[sprint];
          let planned: number;
          if (withHistory.has(sprint)) {
            // Replay each issue's changes to this sprint up to its start; the last one says whether it was in.
            planned = issues.filter((issue) => {
              const before = issue.events
                .map((event, index) => ({ ...event, index }))
                .filter((event) => event.sprint === sprint && event.day * DAY + event.index <= start * DAY);
              before.sort((a, b) => a.day * DAY + a.index - (b.day * DAY + b.index));
              return before.length > 0 && before[before.length - 1].added;
            }).length;
          } else {
            planned = issues.filter((issue) => issue.sprints.includes(sprint)).length;
          }
          return {
            period: sprint,
            done: resolved(issues).filter((issue) => issue.sprints.includes(sprint)).length,
            planned,
            plannedFrom: withHistory.has(sprint) ? 'history' : 'current',
          };
        });
        expect(
          response.body.periods.map(({ period, done, planned, plannedFrom }: any) => ({
            period,
            done,
            planned,
            plannedFrom,
          })),
        ).toEqual(expected);
      }),
      { numRuns: 25 },
    );
  });
  it('groups by week and quarter, and a sprint filter picks the sprint without shrinking its plan', async () => {
    await fc.assert(
      fc.asyncProperty(
        issuesArbitrary,
        fc.constantFrom('week', 'quarter') as fc.Arbitrary<'week' | 'quarter'>,
        async (issues, groupBy) => {
          await store(issues);
          const response = await api.get(`/api/v1/leadtime/throughput?groupBy=${groupBy}`);
          expect(response.status).toBe(200);
          const periods = response.body.periods as Array<{ period: string; done: number; planned: number }>;
          expect(periods.reduce((sum, period) => sum + period.done, 0)).toBe(resolved(issues).length);
          for (const period of periods)
            expect(period.period).toMatch(groupBy === 'week' ? /^\d{4}-W\d{2}$/ : /^\d{4}-Q[1-4]$/);
          const all = (await api.get('/api/v1/leadtime/throughput?groupBy=sprint')).body.periods as Array<{
            period: string;
            planned: number;
          }>;
          for (const sprint of all) {
            const only = (await api.get(`/api/v1/leadtime/throughput?groupBy=sprint&sprint=${sprint.period}`)).body
              .periods;
            expect(only).toEqual([expect.objectContaining({ period: sprint.period, planned: sprint.planned })]);
          }
        },
      ),
      { numRuns: 10 },
    );
  });
});

describe('bulk upsert for trackers without a connector', () => {
  it('accepts CSV, computes lead times, and updates on a second upload', async () => {
    await database.query('TRUNCATE leadtime_issues, sprints, sprint_events');
    const csv = [
      'key,summary,team,type,sprints,createdAt,startedAt,resolvedAt,leadTimeSeconds',
      'JIRA-1,First,core,Bug,S1;S2,2026-03-01T00:00:00Z,2026-03-02T00:00:00Z,2026-03-04T00:00:00Z,',
      'JIRA-2,Second,edge,Task,,2026-03-01T00:00:00Z,,2026-03-03T00:00:00Z,',
      'JIRA-3,"Quoted, with comma",core,Bug,S1,2026-03-01T00:00:00Z,,,',
      'JIRA-4,Given,core,Bug,,2026-03-01T00:00:00Z,,2026-03-09T00:00:00Z,3600',
    ].join('\n');
    const response = await api.put('/api/v1/leadtime/issues?source=jira', csv, { 'content-type': 'text/csv' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ source: 'jira', issues: 4, sprints: 0, sprintEvents: 0 });
    const items = (await api.get('/api/v1/leadtime/issues')).body.items;
    const byKey = Object.fromEntries(items.map((item: any) => [item.key, item]));
    expect(byKey['JIRA-1']).toMatchObject({
      source: 'jira',
      sprints: ['S1', 'S2'],
      leadTimeSeconds: 2 * DAY,
      leadTimeRule: 'started',
    });
    expect(byKey['JIRA-2']).toMatchObject({ leadTimeSeconds: 2 * DAY, leadTimeRule: 'created', sprints: [] });
    expect(byKey['JIRA-3']).toMatchObject({ summary: 'Quoted, with comma', resolvedAt: null, leadTimeSeconds: null });
    expect(byKey['JIRA-4']).toMatchObject({ leadTimeSeconds: 3600, leadTimeRule: 'field' });

    const again = await api.put(
      '/api/v1/leadtime/issues?source=jira',
      csv.replace(
        'JIRA-3,"Quoted, with comma",core,Bug,S1,2026-03-01T00:00:00Z,,,',
        'JIRA-3,Done now,core,Bug,S1,2026-03-01T00:00:00Z,,2026-03-02T00:00:00Z,',
      ),
      {
        'content-type': 'text/csv',
      },
    );
    expect(again.status).toBe(200);
    const updated = (await api.get('/api/v1/leadtime/issues')).body.items;
    expect(updated).toHaveLength(4);
    expect(updated.find((item: any) => item.key === 'JIRA-3')).toMatchObject({
      summary: 'Done now',
      leadTimeSeconds: DAY,
    });
  });

  it('names the line and field of a bad CSV row, and stores nothing', async () => {
    await database.query('TRUNCATE leadtime_issues');
    const csv = 'key,createdAt,resolvedAt\nOK-1,2026-03-01T00:00:00Z,\nBAD-1,yesterday,\n';
    const response = await api.put('/api/v1/leadtime/issues', csv, { 'content-type': 'text/csv' });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      { path: 'body.line 3.createdAt', message: expect.stringContaining('date-time') },
    ]);
    expect((await api.get('/api/v1/leadtime/issues')).body.items).toEqual([]);
    const unknown = await api.put('/api/v1/leadtime/issues', 'key,createdAt,colour\nA,2026-03-01T00:00:00Z,red\n', {
      'content-type': 'text/csv',
    });
    expect(unknown.body.errors[0].path).toBe('body.line 2.colour');
  });

  it('refuses JSON that does not match the schema, naming the field', async () => {
    const response = await api.put('/api/v1/leadtime/issues', { issues: [{ key: 'X-1', createdAt: 'soon' }] });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].path).toBe('body.issues.0.createdAt');
    const duplicate = await api.put('/api/v1/leadtime/issues', {
      issues: [
        { key: 'X-1', createdAt: '2026-01-01T00:00:00Z' },
        { key: 'X-1', createdAt: '2026-01-01T00:00:00Z' },
      ],
    });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.errors[0].path).toBe('body.issues.1.key');
  });

  it('validates stats parameters', async () => {
    expect((await api.get('/api/v1/leadtime/percentiles?p=50,101')).status).toBe(400);
    expect((await api.get('/api/v1/leadtime/percentiles?p=abc')).body.errors[0].path).toBe('query.p');
    expect((await api.get('/api/v1/leadtime/distribution?bucket=0s')).body.errors[0].path).toBe('query.bucket');
    expect((await api.get('/api/v1/leadtime/throughput?groupBy=month')).body.errors[0].path).toBe('query.groupBy');
    expect((await api.get('/api/v1/leadtime/percentiles?quarter=2026-Q5')).body.errors[0].path).toBe('query.quarter');
    expect((await api.post('/api/v1/leadtime/sync', {})).status).toBe(409);
  });
});
