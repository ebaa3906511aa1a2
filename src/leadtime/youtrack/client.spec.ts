import { request } from 'undici';
import { FakeYouTrack, makeIssue, type FakeActivity, type FakeIssue } from '../../../test/support/fake-youtrack';
import { fetchIssues, ISSUE_FIELDS, type YouTrackOptions } from './client';
import { DEFAULT_FIELD_MAPPING, parseFieldMapping, YouTrackError, type ImportedIssue } from './types';

const T0 = Date.UTC(2025, 0, 6, 9, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('fetchIssues against a fake YouTrack', () => {
  const fake = new FakeYouTrack();

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.reset();
    fake.issues = [];
    fake.timeZoneOffsetMinutes = 0;
    fake.forbiddenTokens.clear();
  });

  const options = (extra: Partial<YouTrackOptions> = {}): YouTrackOptions => ({
    baseUrl: fake.base,
    token: fake.token,
    query: 'project: VIT',
    mapping: { ...DEFAULT_FIELD_MAPPING, leadTime: 'Lead time' },
    retryBaseMs: 1,
    ...extra,
  });

  async function pages(extra: Partial<YouTrackOptions> = {}): Promise<ImportedIssue[][]> {
    const result: ImportedIssue[][] = [];
    for await (const page of fetchIssues(options(extra))) result.push(page);
    return result;
  }

  async function all(extra: Partial<YouTrackOptions> = {}): Promise<Map<string, ImportedIssue>> {
    return new Map((await pages(extra)).flat().map((issue) => [issue.key, issue]));
  }

  async function failure(extra: Partial<YouTrackOptions> = {}): Promise<YouTrackError> {
    try {
      await pages(extra);
    } catch (error) {
      expect(error).toBeInstanceOf(YouTrackError);
      return error as YouTrackError;
    }
    throw new Error('the import succeeded');
  }

  function generate(count: number, prefix = 'VIT'): FakeIssue[] {
    return Array.from({ length: count }, (_, i) =>
      makeIssue({
        key: `${prefix}-${i + 1}`,
        created: T0 + i * MINUTE,
        resolved: i % 3 === 0 ? null : T0 + i * MINUTE + 5 * HOUR,
        team: i % 2 === 0 ? 'Core' : 'Edge',
        type: 'Task',
        sprints: [`Sprint ${1 + (i % 4)}`],
        storyPoints: i % 5,
        states: [{ state: 'In Progress', at: T0 + i * MINUTE + HOUR }],
      }),
    );
  }

  describe('paging', () => {
    it('the fake, like YouTrack, returns only 42 issues without $top', async () => {
      fake.issues = generate(50);
      const response = await request(`${fake.base}/api/issues?fields=idReadable`, {
        headers: { authorization: `Bearer ${fake.token}` },
      });
      const body = (await response.body.json()) as any[];
      expect(body).toHaveLength(42);
      expect(body[0]).toEqual({ idReadable: 'VIT-1', $type: 'Issue' });
    });

    it('reads 250 issues in 3 pages of 100, always sending $top and paging with $skip', async () => {
      fake.issues = generate(250);
      const result = await pages({ pageSize: 100 });
      expect(result.map((page) => page.length)).toEqual([100, 100, 50]);
      expect(result.flat().map((issue) => issue.key)).toEqual(fake.issues.map((issue) => issue.idReadable));

      const listRequests = fake.issueListRequests();
      expect(listRequests.map((r) => [r.params.get('$top'), r.params.get('$skip')])).toEqual([
        ['100', '0'],
        ['100', '100'],
        ['100', '200'],
      ]);
      for (const r of listRequests) {
        expect(r.params.get('fields')).toBe(ISSUE_FIELDS);
        expect(r.params.get('query')).toBe('project: VIT sort by: created asc');
        expect(r.authorization).toBe(`Bearer ${fake.token}`);
      }
      // Every issue's activities, each request paged and filtered by category.
      expect(fake.count('/api/issues/')).toBe(250);
      const activityRequests = fake.requests.filter((r) => r.path.endsWith('/activities'));
      expect(activityRequests).toHaveLength(250);
      for (const r of activityRequests) {
        expect(r.params.get('$top')).toBe('100');
        expect(r.params.get('$skip')).toBe('0');
        expect(r.params.get('categories')).toBe('CustomFieldCategory,SprintCategory');
      }
    });

    it('asks for one more page when the last one was full, and yields no empty page', async () => {
      fake.issues = generate(200);
      const result = await pages({ pageSize: 100 });
      expect(result.map((page) => page.length)).toEqual([100, 100]);
      expect(fake.issueListRequests().map((r) => r.params.get('$skip'))).toEqual(['0', '100', '200']);
    });

    it('imports nothing, without error, when nothing matches', async () => {
      fake.issues = generate(5, 'OTHER');
      expect(await pages()).toEqual([]);
      expect(fake.count('/api/issues')).toBe(1);
    });

    it('pages through long activity streams', async () => {
      fake.issues = [
        makeIssue({
          key: 'VIT-1',
          created: T0,
          resolved: T0 + 10 * HOUR,
          states: [
            { state: 'Open', at: T0 + HOUR },
            { state: 'In Review', at: T0 + 2 * HOUR },
            { state: 'In Progress', at: T0 + 3 * HOUR },
            { state: 'Open', at: T0 + 4 * HOUR },
            { state: 'In Progress', at: T0 + 5 * HOUR },
          ],
        }),
      ];
      const [issue] = (await pages({ pageSize: 2 })).flat();
      expect(
        fake.requests.filter((r) => r.path === '/api/issues/VIT-1/activities').map((r) => r.params.get('$skip')),
      ).toEqual(['0', '2', '4']);
      expect(issue.startedAt).toEqual(new Date(T0 + 3 * HOUR));
    });

    it('drops an issue seen twice when the result set shifts between pages', async () => {
      fake.issues = generate(4);
      const keys: string[] = [];
      for await (const page of fetchIssues(options({ pageSize: 2 }))) {
        keys.push(...page.map((issue) => issue.key));
        // An issue created "earlier" appears at the front: page 2 now starts with VIT-2 again.
        if (keys.length === 2) fake.issues.unshift(makeIssue({ key: 'VIT-0', created: T0 - HOUR }));
      }
      expect(keys).toEqual(['VIT-1', 'VIT-2', 'VIT-3', 'VIT-4']);
    });

    it('stops asking once the consumer stops reading', async () => {
      fake.issues = generate(10);
      for await (const page of fetchIssues(options({ pageSize: 3 }))) {
        expect(page).toHaveLength(3);
        break;
      }
      expect(fake.count('/api/issues')).toBe(1 + 3);
    });
  });

  describe('custom field values', () => {
    it('reads enum, state, state-machine, user, period, number and multi-value fields, and their nulls', async () => {
      const full = makeIssue({
        key: 'VIT-1',
        summary: 'Everything set',
        created: T0,
        resolved: T0 + DAY,
        team: 'Core',
        type: 'Bug',
        sprints: ['Sprint 1', 'Sprint 2'],
        storyPoints: 5,
        assignee: { login: 'jane', fullName: 'Jane Doe' },
        stateField: 'state-machine',
        states: [
          { state: 'In Progress', at: T0 + HOUR },
          { state: 'Fixed', at: T0 + DAY },
        ],
        leadTimeMinutes: 600,
      });
      const empty = makeIssue({
        key: 'VIT-2',
        created: T0 + MINUTE,
        team: null,
        type: null,
        storyPoints: null,
        leadTimeMinutes: null,
      });
      const stringPoints = makeIssue({ key: 'VIT-3', created: T0 + 2 * MINUTE, storyPoints: '3' });
      const odd = makeIssue({ key: 'VIT-4', created: T0 + 3 * MINUTE, storyPoints: 'a lot' });
      // Shapes YouTrack also sends: the team as a one-element multi-enum, the type as an owned field, story points
      // as an enum, the sprint as a single version, and values this import cannot read.
      const field = (issue: FakeIssue, name: string) => issue.customFields.find((f) => f.name === name);
      const shapes = makeIssue({ key: 'VIT-5', created: T0 + 4 * MINUTE });
      field(shapes, 'Team').$type = 'MultiEnumIssueCustomField';
      field(shapes, 'Team').value = [{ $type: 'EnumBundleElement', name: 'Edge' }];
      field(shapes, 'Type').$type = 'SingleOwnedIssueCustomField';
      field(shapes, 'Type').value = { $type: 'OwnedBundleElement', name: 'Feature', owner: null };
      field(shapes, 'Story points').$type = 'SingleEnumIssueCustomField';
      field(shapes, 'Story points').value = { $type: 'EnumBundleElement', name: '8' };
      field(shapes, 'Sprint').$type = 'SingleVersionIssueCustomField';
      field(shapes, 'Sprint').value = { $type: 'VersionBundleElement', name: '2025.1' };
      shapes.customFields.push({ $type: 'PeriodIssueCustomField', name: 'Lead time', value: { $type: 'Odd' } });
      const broken = makeIssue({ key: 'VIT-6', created: T0 + 5 * MINUTE });
      field(broken, 'Team').value = { $type: 'Mystery', colour: 'red' };
      field(broken, 'Type').value = true;
      field(broken, 'State').value = [];
      field(broken, 'Sprint').value = 'Sprint 9';
      field(broken, 'Story points').value = [1, 2];
      const noFields = makeIssue({ key: 'VIT-7', created: T0 + 6 * MINUTE });
      noFields.customFields = [];
      fake.issues = [full, empty, stringPoints, odd, shapes, broken, noFields];

      const issues = await all();
      expect(issues.get('VIT-1')).toEqual({
        key: 'VIT-1',
        summary: 'Everything set',
        team: 'Core',
        type: 'Bug',
        sprints: ['Sprint 1', 'Sprint 2'],
        storyPoints: 5,
        state: 'Fixed',
        createdAt: new Date(T0),
        resolvedAt: new Date(T0 + DAY),
        updatedAt: new Date(T0 + DAY),
        startedAt: new Date(T0 + HOUR),
        leadTimeSeconds: 600 * 60,
        leadTimeRule: 'field',
        sprintHistory: [
          { sprint: 'Sprint 1', added: true, at: new Date(T0) },
          { sprint: 'Sprint 2', added: true, at: new Date(T0) },
        ],
      });
      expect(issues.get('VIT-2')).toMatchObject({
        team: null,
        type: null,
        sprints: [],
        storyPoints: null,
        state: 'Open',
        resolvedAt: null,
        startedAt: null,
        leadTimeSeconds: null,
        leadTimeRule: 'created',
        sprintHistory: [],
      });
      expect(issues.get('VIT-3')!.storyPoints).toBe(3);
      expect(issues.get('VIT-4')!.storyPoints).toBeNull();
      expect(issues.get('VIT-5')).toMatchObject({
        team: 'Edge',
        type: 'Feature',
        storyPoints: 8,
        sprints: ['2025.1'],
        leadTimeRule: 'created',
      });
      expect(issues.get('VIT-6')).toMatchObject({
        team: null,
        type: null,
        state: null,
        sprints: ['Sprint 9'],
        storyPoints: null,
      });
      expect(issues.get('VIT-7')).toMatchObject({
        team: null,
        type: null,
        state: null,
        sprints: [],
        storyPoints: null,
      });
    });

    it('follows a mapping read from YAML', async () => {
      fake.issues = [
        makeIssue({
          key: 'VIT-1',
          created: T0,
          resolved: T0 + 6 * HOUR,
          team: 'Payments',
          type: 'Story',
          sprints: ['Iteration 4'],
          storyPoints: 2,
          names: { team: 'Squad', type: 'Kind', sprint: 'Iteration', storyPoints: 'Estimate', state: 'Stage' },
          states: [
            { state: 'Doing', at: T0 + HOUR },
            { state: 'Done', at: T0 + 6 * HOUR },
          ],
        }),
      ];
      const mapping = parseFieldMapping(
        'team: Squad\ntype: Kind\nsprint: Iteration\nstoryPoints: Estimate\nstate: Stage\ninProgressStates: [Doing]\n',
      );
      const [issue] = (await pages({ mapping })).flat();
      expect(issue).toMatchObject({
        team: 'Payments',
        type: 'Story',
        sprints: ['Iteration 4'],
        storyPoints: 2,
        state: 'Done',
        startedAt: new Date(T0 + HOUR),
        leadTimeSeconds: 5 * 3600,
        leadTimeRule: 'activities',
      });
    });
  });

  describe('lead time rules', () => {
    beforeEach(() => {
      fake.issues = [
        // 1. The precomputed field wins, even with transitions.
        makeIssue({
          key: 'VIT-1',
          created: T0,
          resolved: T0 + 3 * DAY,
          leadTimeMinutes: 1440,
          states: [{ state: 'In Progress', at: T0 + DAY }],
        }),
        // 2. Empty precomputed field: first transition into an in-progress state → resolution.
        makeIssue({
          key: 'VIT-2',
          created: T0,
          resolved: T0 + 3 * DAY,
          leadTimeMinutes: null,
          states: [
            { state: 'To be discussed', at: T0 + HOUR },
            { state: 'In Progress', at: T0 + 2 * HOUR },
            { state: 'Open', at: T0 + 3 * HOUR },
            { state: 'In Progress', at: T0 + DAY },
            { state: 'Fixed', at: T0 + 3 * DAY },
          ],
        }),
        // 3. No field, no in-progress transition: created → resolved.
        makeIssue({
          key: 'VIT-3',
          created: T0,
          resolved: T0 + 2 * DAY,
          states: [{ state: 'Fixed', at: T0 + 2 * DAY }],
        }),
        // Unresolved: no lead time, but the rule that applies so far.
        makeIssue({ key: 'VIT-4', created: T0, states: [{ state: 'In Progress', at: T0 + HOUR }] }),
        makeIssue({ key: 'VIT-5', created: T0, leadTimeMinutes: 30 }),
        makeIssue({ key: 'VIT-6', created: T0 }),
        // A state-machine State field reports its transitions the same way.
        makeIssue({
          key: 'VIT-7',
          created: T0,
          resolved: T0 + 10 * HOUR,
          stateField: 'state-machine',
          states: [
            { state: 'In Progress', at: T0 + 4 * HOUR },
            { state: 'Done', at: T0 + 10 * HOUR },
          ],
        }),
      ];
    });

    it('uses the field, then the activities, then created → resolved', async () => {
      const issues = await all();
      const summary = (key: string) => {
        const issue = issues.get(key)!;
        return [issue.leadTimeRule, issue.leadTimeSeconds, issue.startedAt?.getTime() ?? null];
      };
      expect(summary('VIT-1')).toEqual(['field', 1440 * 60, T0 + DAY]);
      expect(summary('VIT-2')).toEqual(['activities', 3 * 86400 - 2 * 3600, T0 + 2 * HOUR]);
      expect(summary('VIT-3')).toEqual(['created', 2 * 86400, null]);
      expect(summary('VIT-4')).toEqual(['activities', null, T0 + HOUR]);
      expect(summary('VIT-5')).toEqual(['field', null, null]);
      expect(summary('VIT-6')).toEqual(['created', null, null]);
      expect(summary('VIT-7')).toEqual(['activities', 6 * 3600, T0 + 4 * HOUR]);
    });

    it('ignores a lead time field the mapping does not name', async () => {
      const issues = await all({ mapping: DEFAULT_FIELD_MAPPING });
      expect(issues.get('VIT-1')).toMatchObject({ leadTimeRule: 'activities', leadTimeSeconds: 2 * 86400 });
    });

    it('counts every configured in-progress state', async () => {
      const issues = await all({
        mapping: { ...DEFAULT_FIELD_MAPPING, inProgressStates: ['In Progress', 'To be discussed'] },
      });
      expect(issues.get('VIT-2')).toMatchObject({ startedAt: new Date(T0 + HOUR), leadTimeSeconds: 3 * 86400 - 3600 });
    });
  });

  describe('sprint history', () => {
    it('lists SprintCategory activities in time order, and the current sprints from the field', async () => {
      fake.issues = [
        makeIssue({
          key: 'VIT-1',
          created: T0,
          sprintHistory: [
            { sprint: 'Sprint 2', added: true, at: T0 + 14 * DAY },
            { sprint: 'Sprint 1', added: true, at: T0 },
            { sprint: 'Sprint 1', added: false, at: T0 + 14 * DAY },
          ],
          states: [{ state: 'In Progress', at: T0 + DAY }],
        }),
      ];
      const [issue] = (await pages()).flat();
      expect(issue.sprints).toEqual(['Sprint 2']);
      // Changes at the same instant keep YouTrack's order.
      expect(issue.sprintHistory).toEqual([
        { sprint: 'Sprint 1', added: true, at: new Date(T0) },
        { sprint: 'Sprint 2', added: true, at: new Date(T0 + 14 * DAY) },
        { sprint: 'Sprint 1', added: false, at: new Date(T0 + 14 * DAY) },
      ]);
    });

    it('also reads changes of the sprint custom field, without counting a move twice', async () => {
      const issue = makeIssue({
        key: 'VIT-1',
        created: T0,
        sprintHistory: [{ sprint: 'S1', added: true, at: T0 + HOUR }],
      });
      const sprintField = (at: number, added: string[], removed: string[]): FakeActivity => ({
        $type: 'CustomFieldActivityItem',
        id: `x-${at}`,
        timestamp: at,
        category: { $type: 'ActivityCategory', id: 'CustomFieldCategory' },
        field: { $type: 'CustomFilterField', id: 'sprint', name: 'Sprint' },
        added: added.map((name) => ({ $type: 'EnumBundleElement', name })),
        removed: removed.map((name) => ({ $type: 'EnumBundleElement', name })),
        author: { $type: 'User', login: 'jane', fullName: 'Jane Doe' },
        targetMember: null,
      });
      issue.activities.push(sprintField(T0 + HOUR, ['S1'], []), sprintField(T0 + 2 * HOUR, ['S2'], ['S1']));
      fake.issues = [issue];
      const [imported] = (await pages()).flat();
      expect(imported.sprintHistory).toEqual([
        { sprint: 'S1', added: true, at: new Date(T0 + HOUR) },
        { sprint: 'S1', added: false, at: new Date(T0 + 2 * HOUR) },
        { sprint: 'S2', added: true, at: new Date(T0 + 2 * HOUR) },
      ]);
    });
  });

  describe('incremental sync', () => {
    beforeEach(() => {
      // One issue updated every 6 hours over a week.
      fake.issues = Array.from({ length: 28 }, (_, i) =>
        makeIssue({ key: `VIT-${i + 1}`, created: T0 - 30 * DAY + i, updated: T0 + i * 6 * HOUR }),
      );
    });

    it('fetches only issues updated since the given instant, to the millisecond', async () => {
      const since = new Date(T0 + 14 * 6 * HOUR + 1); // VIT-15 is 1 ms too old
      const issues = await all({ updatedSince: since });
      expect([...issues.keys()]).toEqual(fake.issues.slice(15).map((issue) => issue.idReadable));
      const [listRequest] = fake.issueListRequests();
      expect(listRequest.params.get('query')).toBe(
        `project: VIT updated: ${new Date(since.getTime() - DAY).toISOString().slice(0, 16)} .. * sort by: created asc`,
      );
      // The server-side condition keeps the transfer small; activities only for the issues kept.
      expect(fake.count('/api/issues/')).toBe(13);
    });

    it('stays exact when the token owner is in a time zone behind UTC', async () => {
      fake.timeZoneOffsetMinutes = -12 * 60;
      const since = new Date(T0 + 10 * 6 * HOUR);
      const issues = await all({ updatedSince: since });
      expect([...issues.keys()]).toEqual(fake.issues.slice(10).map((issue) => issue.idReadable));
    });

    it('includes an issue updated exactly at the instant', async () => {
      const issues = await all({ updatedSince: new Date(T0 + 27 * 6 * HOUR) });
      expect([...issues.keys()]).toEqual(['VIT-28']);
    });
  });

  describe('failures', () => {
    beforeEach(() => {
      fake.issues = generate(5);
    });

    it('401: an auth error at once, saying the token is wrong, without the token', async () => {
      const token = 'perm:d3Jvbmc=.c2VjcmV0LXZhbHVl.bm9wZQ';
      const error = await failure({ token });
      expect(error.kind).toBe('auth');
      expect(error.status).toBe(401);
      expect(error.message).toMatch(/YOUTRACK_TOKEN/);
      expect(error.message).toMatch(/wrong/);
      expect(error.message).toContain('/api/issues');
      expect(error.message).not.toContain(token);
      expect(error.message).not.toContain('c2VjcmV0');
      expect(fake.count('/api/')).toBe(1);
    });

    it('403: an auth error too (a token without permission)', async () => {
      fake.forbiddenTokens.add('perm:read-nothing');
      const error = await failure({ token: 'perm:read-nothing' });
      expect([error.kind, error.status]).toEqual(['auth', 403]);
      expect(error.message).toMatch(/lacks permission/);
      expect(error.message).not.toContain('perm:read-nothing');
      expect(fake.count('/api/')).toBe(1);
    });

    it('429 with Retry-After: waits as told, then carries on', async () => {
      fake.failNext(1, { kind: 'status', status: 429, retryAfter: 1 }, '/api/issues');
      const started = Date.now();
      const issues = await all({ retryBaseMs: 1 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(issues.size).toBe(5);
      expect(fake.count('/api/issues')).toBe(2 + 5);
    });

    it('429 with Retry-After: 0 on activities, then success', async () => {
      fake.failNext(3, { kind: 'status', status: 429, retryAfter: 0 }, '/api/issues/VIT-2/');
      const issues = await all();
      expect(issues.get('VIT-2')!.startedAt).toEqual(new Date(T0 + MINUTE + HOUR));
      expect(fake.count('/api/issues/VIT-2/activities')).toBe(4);
    });

    it('500, then success', async () => {
      fake.failNext(2, { kind: 'status', status: 500 });
      const issues = await all();
      expect(issues.size).toBe(5);
      expect(fake.issueListRequests()).toHaveLength(3);
    });

    it('500 for good: an http error after maxRetries retries', async () => {
      fake.failNext(100, { kind: 'status', status: 503 }, '/api/issues');
      const error = await failure({ maxRetries: 3 });
      expect([error.kind, error.status]).toEqual(['http', 503]);
      expect(error.message).toMatch(/GET \/api\/issues \(page 1, \$skip=0\): HTTP 503 .*gave up after 4 attempts/);
      expect(fake.count('/api/issues')).toBe(4);
    });

    it('other 4xx: an http error without retry', async () => {
      const error = await failure({ query: 'project: VIT #mine' });
      expect([error.kind, error.status]).toEqual(['http', 400]);
      expect(error.message).toMatch(/does not understand "#mine"/);
      expect(fake.count('/api/')).toBe(1);
    });

    it('a truncated JSON body: a malformed error naming the path and page', async () => {
      fake.failNext(1, { kind: 'truncated' }, '/api/issues');
      const error = await failure({ pageSize: 2 });
      expect(error.kind).toBe('malformed');
      expect(error.message).toMatch(/GET \/api\/issues \(page 1, \$skip=0\): the response is not valid JSON/);
      expect(error.message).not.toContain(fake.token);
    });

    it('a truncated activities body: malformed, naming the issue', async () => {
      fake.failNext(1, { kind: 'truncated' }, '/api/issues/VIT-3/activities');
      const error = await failure();
      expect(error.kind).toBe('malformed');
      expect(error.message).toContain('/api/issues/VIT-3/activities');
    });

    it('JSON that is not a list of issues: malformed', async () => {
      fake.failNext(1, { kind: 'json', body: { issues: [] } }, '/api/issues');
      expect(await failure()).toMatchObject({
        kind: 'malformed',
        message: expect.stringMatching(/expected a JSON array/),
      });
      fake.failNext(1, { kind: 'json', body: [{ summary: 'no id' }] }, '/api/issues');
      expect(await failure()).toMatchObject({
        kind: 'malformed',
        message: expect.stringMatching(/without idReadable/),
      });
      fake.failNext(1, { kind: 'json', body: [{ idReadable: 'VIT-1', created: 'then' }] }, '/api/issues');
      expect(await failure()).toMatchObject({
        kind: 'malformed',
        message: expect.stringMatching(/page 1.*VIT-1 has no valid "created"/),
      });
    });

    it('a dropped connection, then success', async () => {
      fake.failNext(2, { kind: 'reset' }, '/api/issues');
      expect((await all()).size).toBe(5);
    });

    it('a slow answer times out and is retried; for good, a network error', async () => {
      fake.failNext(1, { kind: 'delay', ms: 1000 }, '/api/issues');
      expect((await all({ timeoutMs: 100 })).size).toBe(5);
      fake.failNext(3, { kind: 'delay', ms: 1000 }, '/api/issues');
      const error = await failure({ timeoutMs: 100, maxRetries: 2 });
      expect(error.kind).toBe('network');
      expect(error.message).toMatch(/no complete answer within 100 ms .*gave up after 3 attempts/);
    });

    it('nobody listening: a network error after the retries', async () => {
      const error = await failure({ baseUrl: 'http://127.0.0.1:1', maxRetries: 1 });
      expect(error.kind).toBe('network');
      expect(error.message).toMatch(/ECONNREFUSED/);
    });

    it('an empty token never reaches the server', async () => {
      expect(await failure({ token: '' })).toMatchObject({ kind: 'auth' });
      expect(fake.count('/')).toBe(0);
    });
  });
});
