/**
 * Data for `npm run bench:leadtime`: the issues the fake YouTrack serves for the import, and the one SQL statement
 * that seeds the 100,000 issues the statistics are measured on.
 */
import { makeIssue, type FakeIssue } from '../test/support/fake-youtrack';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const TEAMS = ['core', 'payments', 'search', 'growth', 'infra', 'data', 'mobile', 'web'];
const TYPES = ['Bug', 'Feature', 'Task', 'Chore'];

/** A small deterministic generator (mulberry32), so that every run imports the same issues. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface YouTrackData {
  issues: FakeIssue[];
  sprints: Array<{ name: string; start: number; finish: number }>;
  /** Activities of all issues: what the import reads besides the issue pages. */
  activities: number;
}

/**
 * `count` issues over two-week sprints ending today, the way a YouTrack project looks: teams, types, story
 * points; 85% resolved, most of them moved to In Progress first (lead time from the start of work), the rest
 * measured from creation; sprint history with issues planned before the start, some added after it and some
 * carried over from the previous sprint.
 */
export function youTrackIssues(count: number, sprintCount: number, now = Date.now()): YouTrackData {
  const next = random(0x5eed);
  const firstStart = Math.floor(now / DAY) * DAY - sprintCount * 14 * DAY;
  const sprints = Array.from({ length: sprintCount }, (_, index) => ({
    name: `Sprint ${String(index + 1).padStart(2, '0')}`,
    start: firstStart + index * 14 * DAY,
    finish: firstStart + (index + 1) * 14 * DAY,
  }));
  const issues: FakeIssue[] = [];
  for (let n = 0; n < count; n++) {
    const index = Math.floor((n / count) * sprintCount);
    const sprint = sprints[index];
    const created = sprint.start - Math.floor(next() * 10 * DAY);
    const started = sprint.start + Math.floor(next() * 3 * DAY);
    const resolved = started + 2 * HOUR + Math.floor(next() ** 3 * 40 * DAY);
    const done = n % 7 !== 3 && resolved < now;
    const inProgress = n % 5 !== 0;
    const states: Array<{ state: string; at: number }> = [];
    if (inProgress) states.push({ state: 'In Progress', at: Math.min(started, now - HOUR) });
    if (done) states.push({ state: 'Fixed', at: resolved });
    const history: Array<{ sprint: string; added: boolean; at: number }> = [];
    if (n % 10 === 1 && index > 0) {
      const previous = sprints[index - 1];
      history.push({ sprint: previous.name, added: true, at: previous.start - DAY });
      history.push({ sprint: previous.name, added: false, at: previous.start + 5 * DAY });
    }
    history.push({ sprint: sprint.name, added: true, at: n % 10 === 2 ? sprint.start + 2 * DAY : created });
    issues.push(
      makeIssue({
        key: `BEN-${n + 1}`,
        summary: `Benchmark issue ${n + 1}`,
        created,
        resolved: done ? resolved : null,
        team: n % 50 === 0 ? null : TEAMS[n % TEAMS.length],
        type: TYPES[Math.floor(n / TEAMS.length) % TYPES.length],
        storyPoints: [1, 2, 3, 5, 8][n % 5],
        states,
        stateField: n % 2 === 0 ? 'state' : 'state-machine',
        sprintHistory: history,
      }),
    );
  }
  return { issues, sprints, activities: issues.reduce((sum, issue) => sum + issue.activities.length, 0) };
}

/** `Sprint 01` … */
export const sprintName = (number: number): string => `Sprint ${String(number).padStart(2, '0')}`;

/**
 * One statement: `sprintCount` two-week sprints ending today; `count` issues, one sprint each (5% in none), eight
 * teams (2% without), four types; 90% resolved, lead time skewed towards hours and days with a tail of weeks,
 * measured from the start of work (80%) or creation. Sprint history for all but the last five sprints (those
 * fall back to their current members): planned before the start, 10% added after it, 10% carried over from the
 * previous sprint. Run `SELECT setseed(…)` first on the same connection for the same data each time.
 */
export function seedStatement(count: number, sprintCount: number): string {
  const teams = `ARRAY[${TEAMS.map((team) => `'${team}'`).join(', ')}]`;
  const types = `ARRAY[${TYPES.map((type) => `'${type}'`).join(', ')}]`;
  const historyUpTo = sprintName(sprintCount - 5);
  return `
    WITH sprint_rows AS (
      INSERT INTO sprints (source, name, start_at, end_at)
      SELECT 'bench', format('Sprint %s', lpad(s::text, 2, '0')),
             date_trunc('day', now()) - (${sprintCount} - s + 1) * interval '14 days',
             date_trunc('day', now()) - (${sprintCount} - s) * interval '14 days'
        FROM generate_series(1, ${sprintCount}) AS s
      RETURNING name, start_at
    ),
    issue_rows AS (
      INSERT INTO leadtime_issues (source, key, summary, team, type, state, sprints, story_points, created_at,
                                   started_at, resolved_at, updated_at, lead_time_seconds, lead_time_rule)
      SELECT 'bench', 'B-' || g, 'Benchmark issue ' || g,
             CASE WHEN g % 50 <> 0 THEN (${teams})[1 + g % 8] END,
             (${types})[1 + (g / 8) % 4],
             CASE WHEN x.resolved IS NULL THEN 'In Progress' ELSE 'Fixed' END,
             CASE WHEN g % 20 = 0 THEN '{}'::text[] ELSE ARRAY[format('Sprint %s', lpad(r.k::text, 2, '0'))] END,
             (ARRAY[1, 2, 3, 5, 8])[1 + g % 5],
             c.created, c.started, x.resolved, coalesce(x.resolved, c.created),
             extract(epoch FROM x.resolved - coalesce(c.started, c.created)),
             CASE WHEN x.resolved IS NULL THEN NULL WHEN c.started IS NULL THEN 'created' ELSE 'started' END
        FROM generate_series(1, ${count}) AS g
       CROSS JOIN LATERAL (SELECT 1 + g % ${sprintCount} AS k, random() AS r1, random() AS r2, random() AS r3) r
       CROSS JOIN LATERAL (SELECT date_trunc('day', now()) - (${sprintCount} - r.k + 1) * interval '14 days' AS sprint_start) s
       CROSS JOIN LATERAL (SELECT s.sprint_start - r.r1 * interval '10 days' AS created,
                                  CASE WHEN g % 5 <> 0 THEN s.sprint_start + r.r2 * interval '3 days' END AS started) c
       CROSS JOIN LATERAL (SELECT coalesce(c.started, c.created) + (7200 + 3456000 * r.r3 ^ 3) * interval '1 second' AS at) d
       CROSS JOIN LATERAL (SELECT CASE WHEN g % 10 <> 3 AND d.at < now() THEN d.at END AS resolved) x
      RETURNING key, sprints, created_at
    )
    INSERT INTO sprint_events (source, issue_key, sprint, added, at)
    SELECT 'bench', i.key, e.sprint, e.added, e.at
      FROM issue_rows i
      JOIN sprint_rows s ON s.name = i.sprints[1]
     CROSS JOIN LATERAL (SELECT abs(hashtext(i.key)) % 10 AS h,
                                format('Sprint %s', lpad((substr(s.name, 8)::int - 1)::text, 2, '0')) AS previous) p
     CROSS JOIN LATERAL (VALUES
              (s.name, true, CASE WHEN p.h = 0 THEN s.start_at + interval '2 days' ELSE i.created_at END),
              (CASE WHEN p.h = 1 THEN p.previous END, true, s.start_at - interval '15 days'),
              (CASE WHEN p.h = 1 THEN p.previous END, false, s.start_at - interval '9 days')
            ) AS e(sprint, added, at)
     WHERE s.name <= '${historyUpTo}' AND e.sprint IS NOT NULL AND e.sprint <> 'Sprint 00'`;
}
