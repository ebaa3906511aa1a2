import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { apiClient } from './support/client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { AUTH, startTestApp, type TestApp } from './support/app';

/*
 * The Lead time dashboard (grafana/dashboards/leadtime.json) against a real PostgreSQL migrated by Vitals and
 * seeded through its API: every SQL of every panel and variable, with Grafana's macros and variables substituted
 * the way the PostgreSQL datasource does, runs and returns rows, for "All" and for chosen values. The figures
 * the panels draw are the API's: percentiles per week, the distribution and throughput against planned scope.
 */

const DASHBOARD_FILE = join(__dirname, '..', 'grafana', 'dashboards', 'leadtime.json');
const DATASOURCE = { type: 'grafana-postgresql-datasource', uid: 'postgres' };
const VARIABLES = ['team', 'type', 'sprint', 'quarter'] as const;

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'));

// ------------------------------------------------------------------------------------------------ Grafana

interface TimeRange {
  from: Date;
  to: Date;
}

interface VariableDefinition {
  name: string;
  type: string;
  datasource?: { type?: string; uid?: string };
  query: unknown;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
}

/** What the user picked: "All", or values. */
type Selection = 'all' | string[];

/** Panels, including those inside rows. */
function panelsOf(json: any): any[] {
  return (json.panels ?? []).flatMap((panel: any) => [panel, ...(panel.panels ?? [])]);
}

function variableSql(variable: VariableDefinition): string {
  const query = variable.query as any;
  return typeof query === 'string' ? query : String(query?.rawSql ?? query?.query ?? '');
}

/** Time as Grafana's PostgreSQL macros write it: RFC 3339 in UTC, no fraction when there is none. */
const rfc3339 = (date: Date): string => date.toISOString().replace('.000Z', 'Z');

/** Grafana's duration syntax, as `$__timeGroup` reads its interval. */
function intervalSeconds(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d|w|M|y)$/.exec(text.trim().replace(/^'|'$/g, ''));
  if (!match) throw new Error(`"${text}" is not a Grafana interval`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, M: 2_592_000, y: 31_536_000 }[match[2]]!;
  return Number(match[1]) * unit;
}

/**
 * The macros of Grafana's PostgreSQL datasource (pkg/tsdb/grafana-postgresql-datasource/macros.go), expanded for
 * `range`. A macro it does not know makes the test fail rather than reach PostgreSQL half-expanded.
 */
function expandMacros(sql: string, range: TimeRange): string {
  const from = rfc3339(range.from);
  const to = rfc3339(range.to);
  const epoch = (date: Date) => String(Math.floor(date.getTime() / 1000));
  return sql.replace(/\$__(\w+)\(([^)]*)\)/g, (whole, name: string, argumentText: string) => {
    const args = argumentText.split(',').map((argument) => argument.trim());
    switch (name) {
      case 'time':
        return `${args[0]} AS "time"`;
      case 'timeEpoch':
        return `extract(epoch from ${args[0]}) as "time"`;
      case 'timeFilter':
        return `${args[0]} BETWEEN '${from}' AND '${to}'`;
      case 'timeFrom':
        return `'${from}'`;
      case 'timeTo':
        return `'${to}'`;
      case 'timeGroup':
      case 'timeGroupAlias': {
        const seconds = intervalSeconds(args[1]);
        const group = `floor(extract(epoch from ${args[0]})/${seconds})*${seconds}`;
        return name === 'timeGroupAlias' ? `${group} AS "time"` : group;
      }
      case 'unixEpochFilter':
        return `${args[0]} >= ${epoch(range.from)} AND ${args[0]} <= ${epoch(range.to)}`;
      case 'unixEpochFrom':
        return epoch(range.from);
      case 'unixEpochTo':
        return epoch(range.to);
      default:
        throw new Error(`unknown Grafana macro ${whole}`);
    }
  });
}

/** Grafana's global variables, for a range and a 1h `$__interval`. */
function builtins(range: TimeRange): Record<string, string> {
  const span = range.to.getTime() - range.from.getTime();
  return {
    __interval: '1h',
    __interval_ms: '3600000',
    __rate_interval: '4h',
    __range: `${Math.round(span / 1000)}s`,
    __range_s: String(Math.round(span / 1000)),
    __range_ms: String(span),
    __from: String(range.from.getTime()),
    __to: String(range.to.getTime()),
  };
}

const quoteLiteral = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/**
 * A variable's value in SQL as Grafana puts it there: a custom "All" value as it is (never formatted); otherwise
 * the values through the format, or through the SQL datasource's own formatting (quoted and comma-separated for
 * multi-value and include-All variables, the bare value with quotes doubled for others).
 */
function formatVariable(
  variable: VariableDefinition,
  selection: Selection,
  options: string[],
  format: string | undefined,
): string {
  if (selection === 'all' && variable.allValue) return format === 'text' ? 'All' : variable.allValue;
  const values = selection === 'all' ? options : selection;
  switch (format) {
    case undefined:
      if (variable.multi || variable.includeAll) return values.map(quoteLiteral).join(',');
      return values.map((value) => value.replace(/'/g, "''")).join(',');
    case 'raw':
    case 'csv':
      return values.join(',');
    case 'sqlstring':
      return values.map(quoteLiteral).join(',');
    case 'singlequote':
      return values.map((value) => `'${value.replace(/'/g, "\\'")}'`).join(',');
    case 'doublequote':
      return values.map((value) => `"${value.replace(/"/g, '\\"')}"`).join(',');
    case 'text':
      return selection === 'all' ? 'All' : values.join(' + ');
    default:
      throw new Error(`format :${format} of $${variable.name} is not emulated here`);
  }
}

interface Scenario {
  name: string;
  range: TimeRange;
  selections: Record<(typeof VARIABLES)[number], Selection>;
}

/** A query as Grafana sends it to PostgreSQL: macros, then built-in and dashboard variables. */
function substitute(sql: string, scenario: Scenario, options: Map<string, string[]>): string {
  const globals = builtins(scenario.range);
  const variables = (dashboard.templating?.list ?? []) as VariableDefinition[];
  return expandMacros(sql, scenario.range).replace(
    /\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]/g,
    (whole, bare?: string, braced?: string, bracedFormat?: string, old?: string, oldFormat?: string) => {
      const name = (bare ?? braced ?? old)!;
      if (name in globals) return globals[name];
      const variable = variables.find((candidate) => candidate.name === name);
      if (!variable) throw new Error(`${whole} is neither a variable of the dashboard nor a Grafana global`);
      const selection = scenario.selections[name as (typeof VARIABLES)[number]] ?? 'all';
      return formatVariable(variable, selection, options.get(name) ?? [], bracedFormat ?? oldFormat);
    },
  );
}

interface PanelQuery {
  panel: string;
  refId: string;
  sql: string;
}

/** Every SQL query of every panel. */
function panelQueries(): PanelQuery[] {
  return panelsOf(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target: any) => ({ panel: panel.title, refId: target.refId, sql: target.rawSql })),
  );
}

// ------------------------------------------------------------------------------------------------ data

const DAY = 86_400_000;
const HOUR = 3_600_000;
const TEAMS = ['core', 'edge', 'data', null];
const TYPES = ['Bug', 'Feature', 'Task', null];
/** Two-week sprints from Monday 2026-01-05; S4 has no sprint history (planned falls back to its members). */
const SPRINTS = [
  { name: 'S1', startAt: Date.UTC(2026, 0, 5) },
  { name: 'S2', startAt: Date.UTC(2026, 0, 19) },
  { name: 'S3', startAt: Date.UTC(2026, 1, 2) },
  { name: 'S4', startAt: Date.UTC(2026, 1, 16) },
  { name: 'S5', startAt: Date.UTC(2026, 2, 30) },
];
const WITHOUT_HISTORY = 'S4';
const ISSUES = 72;
const iso = (ms: number) => new Date(ms).toISOString();

interface SeedIssue {
  key: string;
  summary: string;
  team?: string;
  type?: string;
  sprints: string[];
  createdAt: string;
  startedAt?: string;
  resolvedAt?: string;
  leadTimeSeconds?: number;
}

/**
 * 72 issues in 16-issue blocks, one block per sprint, every team × type combination in each block (null team and
 * type included); some unresolved, some measured from the start of work or a tracker field, one per block in no
 * sprint, one per block also in a sprint without dates. Sprint history: planned before the start, added after
 * it, moved in from the previous sprint, taken out and put back after the start.
 */
function seedData() {
  const issues: SeedIssue[] = [];
  const sprintEvents: Array<{ issueKey: string; sprint: string; added: boolean; at: string }> = [];
  for (let n = 0; n < ISSUES; n++) {
    const block = Math.floor(n / 16);
    const slot = n % 16;
    const sprint = SPRINTS[block];
    const key = `LT-${n}`;
    const created = sprint.startAt - 3 * DAY + slot * HOUR;
    const resolved = n % 9 === 8 ? undefined : sprint.startAt + (1 + ((n * 7) % 13)) * DAY + n * HOUR;
    const team = TEAMS[n % 4];
    const type = TYPES[Math.floor(n / 4) % 4];
    const sprints = slot === 15 ? [] : slot === 14 ? [sprint.name, 'Backlog'] : [sprint.name];
    issues.push({
      key,
      summary: `Issue ${n}`,
      ...(team ? { team } : {}),
      ...(type ? { type } : {}),
      sprints,
      createdAt: iso(created),
      ...(resolved !== undefined ? { resolvedAt: iso(resolved) } : {}),
      ...(n % 5 === 0 && resolved !== undefined ? { startedAt: iso(sprint.startAt + 6 * HOUR) } : {}),
      ...(n % 11 === 0 && resolved !== undefined ? { leadTimeSeconds: 3600 * (n + 1) } : {}),
    });
    if (sprint.name === WITHOUT_HISTORY || sprints.length === 0) continue;
    const event = (name: string, added: boolean, at: number) =>
      sprintEvents.push({ issueKey: key, sprint: name, added, at: iso(at) });
    if (slot === 5) {
      event(sprint.name, true, sprint.startAt + 2 * DAY); // unplanned: came in after the start
    } else if (slot === 6 && block > 0 && SPRINTS[block - 1].name !== WITHOUT_HISTORY) {
      const previous = SPRINTS[block - 1];
      event(previous.name, true, previous.startAt - DAY); // planned in the previous sprint, carried over
      event(previous.name, false, previous.startAt + 5 * DAY);
      event(sprint.name, true, previous.startAt + 5 * DAY + 1000);
    } else if (slot === 7) {
      event(sprint.name, true, created);
      event(sprint.name, false, sprint.startAt - DAY); // taken out before the start, back after it
      event(sprint.name, true, sprint.startAt + DAY);
    } else {
      event(sprint.name, true, created);
    }
  }
  return {
    source: 'dash',
    issues,
    sprints: SPRINTS.map((sprint) => ({
      name: sprint.name,
      startAt: iso(sprint.startAt),
      endAt: iso(sprint.startAt + 14 * DAY),
    })),
    sprintEvents,
  };
}

const WIDE: TimeRange = { from: new Date('2025-12-01T00:00:00Z'), to: new Date('2026-06-30T00:00:00Z') };
const NARROW: TimeRange = { from: new Date('2026-01-15T00:00:00Z'), to: new Date('2026-03-15T12:30:00Z') };
const ALL = { team: 'all', type: 'all', sprint: 'all', quarter: 'all' } as const;

const SCENARIOS: Scenario[] = [
  { name: 'All', range: WIDE, selections: { ...ALL } },
  { name: 'All, narrower time range', range: NARROW, selections: { ...ALL } },
  { name: 'team core', range: WIDE, selections: { ...ALL, team: ['core'] } },
  { name: 'type Bug', range: WIDE, selections: { ...ALL, type: ['Bug'] } },
  { name: 'sprint S2', range: WIDE, selections: { ...ALL, sprint: ['S2'] } },
  { name: 'quarter 2026-Q2', range: WIDE, selections: { ...ALL, quarter: ['2026-Q2'] } },
  {
    name: 'core, Bug, S2, 2026-Q1',
    range: WIDE,
    selections: { team: ['core'], type: ['Bug'], sprint: ['S2'], quarter: ['2026-Q1'] },
  },
  {
    name: 'several of each',
    range: NARROW,
    selections: {
      team: ['core', 'edge'],
      type: ['Bug', 'Task'],
      sprint: ['S1', 'S3'],
      quarter: ['2026-Q1', '2026-Q2'],
    },
  },
  {
    // Issues without a team, type or sprint; the throughput panel shows S1 (no bar stands for "in no sprint").
    name: 'the (none) options',
    range: WIDE,
    selections: { team: ['(none)'], type: ['(none)'], sprint: ['(none)', 'S1'], quarter: 'all' },
  },
];

// ------------------------------------------------------------------------------------------------ setup

let db: TestDatabase;
let vitals: TestApp;
let api: ReturnType<typeof apiClient>;
/** A session like Grafana's, in a time zone far from UTC: the dashboard must not depend on it. */
let grafana: Client;
let options: Map<string, string[]>;

async function run(sql: string): Promise<any[]> {
  try {
    return (await grafana.query(sql)).rows;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- in ---\n${sql}`);
  }
}

beforeAll(async () => {
  db = await createTestDatabase('leadtime_dashboard');
  // Migrations run at start.
  vitals = await startTestApp(db.url, { ROLE: 'api', LEADTIME_SYNC_CRON: 'off' });
  api = apiClient(vitals.app, AUTH);
  const seeded = await api.put('/api/v1/leadtime/issues', seedData());
  expect(seeded.status).toBe(200);

  grafana = new Client({ connectionString: db.url });
  await grafana.connect();
  await grafana.query(`SET TIME ZONE 'Pacific/Chatham'`);
  await grafana.query(`
    INSERT INTO sync_runs (source, status, trigger, incremental, since, started_at, finished_at, fetched, upserted, error)
    VALUES ('youtrack', 'ok', 'schedule', false, NULL, '2026-03-01T23:00:00Z', '2026-03-01T23:02:00Z', 72, 72, NULL),
           ('youtrack', 'nok', 'schedule', true, '2026-03-01T23:00:00Z', '2026-03-02T23:00:00Z', '2026-03-02T23:00:30Z',
            0, 0, 'YouTrack answered 401: the token is wrong'),
           ('youtrack', 'running', 'api', true, '2026-03-01T23:00:00Z', '2026-03-03T09:00:00Z', NULL, 0, 0, NULL)`);

  options = new Map();
  for (const variable of dashboard.templating.list as VariableDefinition[]) {
    const sql = substitute(variableSql(variable), SCENARIOS[0], new Map());
    options.set(
      variable.name,
      (await run(sql)).map((row) => String(Object.values(row)[0])),
    );
  }
}, 120_000);

afterAll(async () => {
  await grafana?.end();
  await vitals?.close();
  await db?.drop();
});

// ------------------------------------------------------------------------------------------------ tests

describe('the Lead time dashboard file', () => {
  it('is a provisioned Grafana dashboard with uid vitals-leadtime', () => {
    expect(dashboard.uid).toBe('vitals-leadtime');
    expect(dashboard.title).toBe('Vitals / Lead time');
    expect(dashboard.id ?? null).toBeNull();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.editable).toBe(false);
  });

  it('has its panels on the PostgreSQL datasource, placed on the grid without overlapping, each with raw SQL', () => {
    const panels = panelsOf(dashboard);
    expect(panels.map((panel) => panel.type).sort()).toEqual(
      ['barchart', 'barchart', 'stat', 'table', 'table', 'timeseries'].sort(),
    );
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    for (const panel of panels) {
      const where = panel.title;
      expect({ where, datasource: panel.datasource }).toEqual({ where, datasource: DATASOURCE });
      expect({ where, gridPos: panel.gridPos }).toEqual({
        where,
        gridPos: { h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) },
      });
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets) {
        expect({ where, datasource: target.datasource ?? panel.datasource }).toEqual({ where, datasource: DATASOURCE });
        expect({ where, rawQuery: target.rawQuery, editorMode: target.editorMode }).toEqual({
          where,
          rawQuery: true,
          editorMode: 'code',
        });
        expect({ where, rawSql: target.rawSql }).toEqual({
          where,
          rawSql: expect.stringMatching(/^\s*(SELECT|WITH)\b/),
        });
        expect(['table', 'time_series']).toContain(target.format);
      }
    }
    for (let i = 0; i < panels.length; i++) {
      for (let j = i + 1; j < panels.length; j++) {
        const [a, b] = [panels[i].gridPos, panels[j].gridPos];
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect({ panels: [panels[i].title, panels[j].title], overlap }).toEqual({
          panels: [panels[i].title, panels[j].title],
          overlap: false,
        });
      }
    }
  });

  it('charts what the lead time issue asks for', () => {
    const byTitle = new Map(panelsOf(dashboard).map((panel) => [panel.title, panel]));
    expect(byTitle.get('Lead time percentiles per week')?.type).toBe('timeseries');
    expect(byTitle.get('Lead time percentiles per week')?.targets[0].format).toBe('time_series');
    expect(byTitle.get('Lead time percentiles per week')?.targets[0].rawSql).toContain('$__timeFilter(i.resolved_at)');
    expect(byTitle.get('Lead time distribution')?.type).toBe('barchart');
    expect(byTitle.get('Throughput per sprint: done vs planned')?.type).toBe('barchart');
    expect(byTitle.get('Slowest issues')?.type).toBe('table');
    expect(byTitle.get('Last sync')?.type).toBe('stat');
    expect(byTitle.get('Last sync')?.targets[0].rawSql).toContain('FROM sync_runs');
  });

  it('has the team, type, sprint and quarter variables: queries on PostgreSQL, several values, All', () => {
    const variables = dashboard.templating.list as VariableDefinition[];
    expect(variables.map((variable) => variable.name)).toEqual([...VARIABLES]);
    for (const variable of variables) {
      expect({ name: variable.name, type: variable.type, datasource: variable.datasource }).toEqual({
        name: variable.name,
        type: 'query',
        datasource: DATASOURCE,
      });
      expect({ name: variable.name, multi: variable.multi, includeAll: variable.includeAll }).toEqual({
        name: variable.name,
        multi: true,
        includeAll: true,
      });
      expect(variableSql(variable)).toMatch(/^\s*SELECT\b/);
    }
  });
});

describe('the Lead time dashboard on PostgreSQL', () => {
  it('has variables whose queries list the seeded teams, types, sprints and quarters', () => {
    expect(options.get('team')).toEqual(['(none)', 'core', 'data', 'edge']);
    expect(options.get('type')).toEqual(['(none)', 'Bug', 'Feature', 'Task']);
    // Newest first; sprints without dates last.
    expect(options.get('sprint')).toEqual(['S5', 'S4', 'S3', 'S2', 'S1', '(none)', 'Backlog']);
    expect(options.get('quarter')).toEqual(expect.arrayContaining(['2026-Q2', '2026-Q1']));
    expect([...(options.get('quarter') ?? [])]).toEqual([...(options.get('quarter') ?? [])].sort().reverse());
  });

  it('finds 6 panel queries and 4 variable queries', () => {
    expect(panelQueries()).toHaveLength(6);
    expect((dashboard.templating.list as VariableDefinition[]).map(variableSql).filter(Boolean)).toHaveLength(4);
  });

  describe.each(SCENARIOS.map((scenario) => [scenario.name, scenario] as const))('%s', (_name, scenario) => {
    it('runs every variable query and gets rows', async () => {
      for (const variable of dashboard.templating.list as VariableDefinition[]) {
        const rows = await run(substitute(variableSql(variable), scenario, options));
        expect({ variable: variable.name, rows: rows.length }).toEqual({
          variable: variable.name,
          rows: expect.any(Number),
        });
        expect(rows.length).toBeGreaterThan(0);
      }
    });

    it.each(panelQueries().map((query) => [query.panel, query] as const))(
      'runs the query of "%s" and gets rows',
      async (_panel, query) => {
        const sql = substitute(query.sql, scenario, options);
        expect(sql).not.toMatch(/\$\w|\$\{|\[\[/);
        const rows = await run(sql);
        expect({ panel: query.panel, rows: rows.length > 0 }).toEqual({ panel: query.panel, rows: true });
      },
    );
  });
});

/** The API's query string for a scenario (only scenarios the API can express: one value or All). */
function apiFilter(scenario: Scenario, range: TimeRange = scenario.range): string {
  const parts = [`from=${range.from.toISOString()}`, `to=${range.to.toISOString()}`];
  for (const name of VARIABLES) {
    const selection = scenario.selections[name];
    if (selection === 'all') continue;
    if (selection.length !== 1 || selection[0] === '(none)') throw new Error(`the API cannot filter ${name} so`);
    parts.push(`${name}=${encodeURIComponent(selection[0])}`);
  }
  return parts.join('&');
}

const COMPARABLE = SCENARIOS.filter((scenario) =>
  VARIABLES.every((name) => {
    const selection = scenario.selections[name];
    return selection === 'all' || (selection.length === 1 && selection[0] !== '(none)');
  }),
);

const panelSql = (title: string): string =>
  panelsOf(dashboard).find((panel) => panel.title === title).targets[0].rawSql;

describe('the Lead time dashboard draws the figures of the API', () => {
  it.each(COMPARABLE.map((scenario) => [scenario.name, scenario] as const))(
    'percentiles per week: %s',
    async (_name, scenario) => {
      const rows = await run(substitute(panelSql('Lead time percentiles per week'), scenario, options));
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        const week = row.time as Date;
        expect(week.getUTCDay()).toBe(1);
        expect(week.getTime() % DAY).toBe(0);
        // The whole week, clipped to the dashboard's range.
        const from = new Date(Math.max(week.getTime(), scenario.range.from.getTime()));
        const to = new Date(Math.min(week.getTime() + 7 * DAY, scenario.range.to.getTime()));
        const response = await api.get(`/api/v1/leadtime/percentiles?p=50,85,90&${apiFilter(scenario, { from, to })}`);
        expect(response.status).toBe(200);
        expect(response.body.count).toBeGreaterThan(0);
        const values = response.body.percentiles.map((entry: { leadTimeSeconds: number }) => entry.leadTimeSeconds);
        expect([row.p50, row.p85, row.p90]).toEqual(values);
      }
    },
  );

  it.each(COMPARABLE.map((scenario) => [scenario.name, scenario] as const))(
    'distribution: %s',
    async (_name, scenario) => {
      const rows = await run(substitute(panelSql('Lead time distribution'), scenario, options));
      const response = await api.get(`/api/v1/leadtime/distribution?bucket=1d&${apiFilter(scenario)}`);
      expect(response.status).toBe(200);
      // Every day from 0 to the longest, the empty ones included.
      expect(rows.map((row) => row['Lead time (days)'])).toEqual(rows.map((_row, day) => `${day}d`));
      const bars = rows.map((row, day) => ({ day, count: Number(row.Issues) })).filter((bar) => bar.count > 0);
      expect(bars).toEqual(
        response.body.buckets.map((bucket: { fromSeconds: number; count: number }) => ({
          day: bucket.fromSeconds / 86_400,
          count: bucket.count,
        })),
      );
      expect(bars.length).toBeGreaterThan(0);
    },
  );

  it.each(COMPARABLE.map((scenario) => [scenario.name, scenario] as const))(
    'throughput per sprint against planned scope: %s',
    async (_name, scenario) => {
      const rows = await run(substitute(panelSql('Throughput per sprint: done vs planned'), scenario, options));
      // The panel's sprint variable picks the sprints shown; the figures are those of the unfiltered sprint.
      const { sprint, ...others } = scenario.selections;
      const response = await api.get(
        `/api/v1/leadtime/throughput?groupBy=sprint&${apiFilter({ ...scenario, selections: { ...others, sprint: 'all' } })}`,
      );
      expect(response.status).toBe(200);
      const overlaps = (period: { start: string | null; end: string | null }) =>
        period.start === null ||
        (Date.parse(period.start) <= scenario.range.to.getTime() &&
          Date.parse(period.end ?? period.start) >= scenario.range.from.getTime());
      const expected = response.body.periods
        .filter((period: { period: string }) => sprint === 'all' || sprint.includes(period.period))
        .filter(overlaps)
        .map((period: { period: string; done: number; planned: number; plannedFrom: string }) => ({
          sprint: period.plannedFrom === 'history' ? period.period : `${period.period} (current members)`,
          done: period.done,
          planned: period.planned,
        }));
      expect(rows.map((row) => ({ sprint: row.Sprint, done: Number(row.Done), planned: Number(row.Planned) }))).toEqual(
        expected,
      );
      expect(expected.length).toBeGreaterThan(0);
    },
  );

  it('throughput replays the sprint history: planned is the scope at the start, not today', async () => {
    const rows = await run(substitute(panelSql('Throughput per sprint: done vs planned'), SCENARIOS[0], options));
    const bySprint = new Map(rows.map((row) => [row.Sprint, { done: Number(row.Done), planned: Number(row.Planned) }]));
    // S1: 15 issues in a sprint (one block slot has none); planned: 15 - 1 (added after the start) - 1 (out and
    // back) = 13, plus LT-22 moved to S2 after the start of S1 = 14.
    expect(bySprint.get('S1')?.planned).toBe(14);
    // S4 has no history: its current members, and the label says so.
    expect(bySprint.get('S4 (current members)')?.planned).toBe(15);
    // Slot 14 of the four full blocks is also in Backlog, a sprint without dates.
    expect(bySprint.get('Backlog (current members)')?.planned).toBe(4);
  });

  it.each(COMPARABLE.map((scenario) => [scenario.name, scenario] as const))(
    'slowest issues: %s',
    async (_name, scenario) => {
      const rows = await run(substitute(panelSql('Slowest issues'), scenario, options));
      const response = await api.get(`/api/v1/leadtime/percentiles?p=100&${apiFilter(scenario)}`);
      expect(rows.length).toBe(Math.min(25, response.body.count));
      expect(rows[0]['Lead time']).toBe(response.body.percentiles[0].leadTimeSeconds);
      const leadTimes = rows.map((row) => row['Lead time'] as number);
      expect(leadTimes).toEqual([...leadTimes].sort((a, b) => b - a));
    },
  );

  it('shows the last finished sync, NOK, and the runs newest first', async () => {
    const [last] = await run(substitute(panelSql('Last sync'), SCENARIOS[0], options));
    expect(Number(last['Last sync'])).toBe(Date.parse('2026-03-02T23:00:30Z'));
    expect(last.Status).toBe(0);
    const runs = await run(substitute(panelSql('Recent sync runs'), SCENARIOS[0], options));
    expect(runs.map((row) => row.Status)).toEqual(['RUNNING', 'NOK', 'OK']);
    expect(runs[1].Error).toContain('token is wrong');
    await grafana.query(
      `UPDATE sync_runs SET status = 'ok', finished_at = '2026-03-03T09:05:00Z' WHERE status = 'running'`,
    );
    const [now] = await run(substitute(panelSql('Last sync'), SCENARIOS[0], options));
    expect({ at: Number(now['Last sync']), status: now.Status }).toEqual({
      at: Date.parse('2026-03-03T09:05:00Z'),
      status: 1,
    });
  });
});
