import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Database } from '../database/database.service';
import { SqlConditions } from '../database/sql-conditions';
import { resolvedWhere, type LeadtimeFilter } from './leadtime-filter';

export type LeadTimeRule = 'field' | 'started' | 'created';

/** One issue as stored. */
export interface IssueRecord {
  key: string;
  summary: string;
  team: string | null;
  type: string | null;
  state: string | null;
  sprints: string[];
  storyPoints: number | null;
  createdAt: Date;
  startedAt: Date | null;
  resolvedAt: Date | null;
  updatedAt: Date;
  leadTimeSeconds: number | null;
  leadTimeRule: LeadTimeRule | null;
}

export interface IssueRow {
  source: string;
  key: string;
  summary: string;
  team: string | null;
  type: string | null;
  state: string | null;
  sprints: string[];
  story_points: number | null;
  created_at: Date;
  started_at: Date | null;
  resolved_at: Date | null;
  updated_at: Date;
  lead_time_seconds: number | null;
  lead_time_rule: LeadTimeRule | null;
}

export interface SprintRecord {
  name: string;
  startAt: Date | null;
  endAt: Date | null;
}

export interface SprintEventRecord {
  issueKey: string;
  sprint: string;
  added: boolean;
  at: Date;
}

export interface SyncRunRow {
  id: string;
  source: string;
  status: 'running' | 'ok' | 'nok';
  trigger: 'api' | 'schedule';
  incremental: boolean;
  since: Date | null;
  started_at: Date;
  finished_at: Date | null;
  fetched: number;
  upserted: number;
  error: string | null;
}

export interface ThroughputRow {
  period: string;
  start: Date | null;
  end: Date | null;
  done: number;
  planned: number;
  planned_from: 'history' | 'current' | 'none';
}

const CHUNK = 2000;
const RUN_COLUMNS =
  'id::text AS id, source, status, trigger, incremental, since, started_at, finished_at, fetched, upserted, error';

/** `leadtime_issues`, `sprints`, `sprint_events` and `sync_runs`. */
@Injectable()
export class LeadtimeRepository {
  constructor(private readonly db: Database) {}

  /** Inserts or updates issues by (source, key), a few thousand per statement. */
  async upsertIssues(source: string, issues: IssueRecord[], manager?: EntityManager): Promise<number> {
    for (let start = 0; start < issues.length; start += CHUNK) {
      const chunk = issues.slice(start, start + CHUNK);
      await this.db.query(
        `INSERT INTO leadtime_issues (source, key, summary, team, type, state, sprints, story_points, created_at, started_at,
           resolved_at, updated_at, lead_time_seconds, lead_time_rule)
         SELECT $1, k, s, t, ty, st, coalesce(array(SELECT jsonb_array_elements_text(sp)), '{}'), p, c, sa, r, u, l, ru
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::float8[], $9::timestamptz[],
                       $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::float8[], $14::text[])
             AS x(k, s, t, ty, st, sp, p, c, sa, r, u, l, ru)
         ON CONFLICT (source, key) DO UPDATE SET
           summary = EXCLUDED.summary, team = EXCLUDED.team, type = EXCLUDED.type, state = EXCLUDED.state,
           sprints = EXCLUDED.sprints, story_points = EXCLUDED.story_points, created_at = EXCLUDED.created_at,
           started_at = EXCLUDED.started_at, resolved_at = EXCLUDED.resolved_at, updated_at = EXCLUDED.updated_at,
           lead_time_seconds = EXCLUDED.lead_time_seconds, lead_time_rule = EXCLUDED.lead_time_rule`,
        [
          source,
          chunk.map((i) => i.key),
          chunk.map((i) => i.summary),
          chunk.map((i) => i.team),
          chunk.map((i) => i.type),
          chunk.map((i) => i.state),
          chunk.map((i) => JSON.stringify(i.sprints)),
          chunk.map((i) => i.storyPoints),
          chunk.map((i) => i.createdAt),
          chunk.map((i) => i.startedAt),
          chunk.map((i) => i.resolvedAt),
          chunk.map((i) => i.updatedAt),
          chunk.map((i) => i.leadTimeSeconds),
          chunk.map((i) => i.leadTimeRule),
        ],
        manager,
      );
    }
    return issues.length;
  }

  async upsertSprints(source: string, sprints: SprintRecord[], manager?: EntityManager): Promise<number> {
    if (sprints.length === 0) return 0;
    await this.db.query(
      `INSERT INTO sprints (source, name, start_at, end_at)
       SELECT $1, n, s, e FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS x(n, s, e)
       ON CONFLICT (source, name) DO UPDATE SET start_at = coalesce(EXCLUDED.start_at, sprints.start_at),
         end_at = coalesce(EXCLUDED.end_at, sprints.end_at)`,
      [source, sprints.map((s) => s.name), sprints.map((s) => s.startAt), sprints.map((s) => s.endAt)],
      manager,
    );
    return sprints.length;
  }

  /** Replaces the sprint history of the given issues with `events` (an import brings the whole history). */
  async replaceSprintEvents(
    source: string,
    issueKeys: string[],
    events: SprintEventRecord[],
    manager?: EntityManager,
  ): Promise<number> {
    await this.db.query(
      `DELETE FROM sprint_events WHERE source = $1 AND issue_key = ANY($2::text[])`,
      [source, issueKeys],
      manager,
    );
    for (let start = 0; start < events.length; start += CHUNK) {
      const chunk = events.slice(start, start + CHUNK);
      await this.db.query(
        `INSERT INTO sprint_events (source, issue_key, sprint, added, at)
         SELECT $1, k, s, a, t FROM unnest($2::text[], $3::text[], $4::bool[], $5::timestamptz[]) AS x(k, s, a, t)
         ON CONFLICT DO NOTHING`,
        [
          source,
          chunk.map((e) => e.issueKey),
          chunk.map((e) => e.sprint),
          chunk.map((e) => e.added),
          chunk.map((e) => e.at),
        ],
        manager,
      );
    }
    return events.length;
  }

  async listIssues(
    filter: LeadtimeFilter,
    limit: number,
    after?: { resolvedAt: string; source: string; key: string },
  ): Promise<IssueRow[]> {
    const { where, parameters } = resolvedWhere(filter);
    const conditions = [where.replace('i.lead_time_seconds IS NOT NULL', 'TRUE')];
    if (after) {
      parameters.push(after.resolvedAt, after.source, after.key);
      const n = parameters.length;
      conditions.push(
        `(coalesce(i.resolved_at, 'infinity'), i.source, i.key) < ($${n - 2}::timestamptz, $${n - 1}, $${n})`,
      );
    }
    parameters.push(limit);
    return this.db.query<IssueRow>(
      `SELECT * FROM leadtime_issues i WHERE ${conditions.join(' AND ')}
        ORDER BY coalesce(i.resolved_at, 'infinity') DESC, i.source DESC, i.key DESC LIMIT $${parameters.length}`,
      parameters,
    );
  }

  /** Exact percentiles (fractions 0..1) of lead time, as percentile_cont computes them. */
  async percentiles(
    filter: LeadtimeFilter,
    fractions: number[],
  ): Promise<{ count: number; values: Array<number | null> }> {
    const { where, parameters } = resolvedWhere(filter, [fractions]);
    const [row] = await this.db.query<{ count: number; values: Array<number | null> | null }>(
      `SELECT count(*)::int AS count,
              percentile_cont($1::float8[]) WITHIN GROUP (ORDER BY i.lead_time_seconds) AS values
         FROM leadtime_issues i WHERE ${where}`,
      parameters,
    );
    return { count: row.count, values: row.values ?? fractions.map(() => null) };
  }

  /** Resolved issues per lead-time bucket of `bucketSeconds`, non-empty buckets only. */
  async distribution(filter: LeadtimeFilter, bucketSeconds: number): Promise<Array<{ bucket: number; count: number }>> {
    const { where, parameters } = resolvedWhere(filter, [bucketSeconds]);
    return this.db.query(
      `SELECT floor(i.lead_time_seconds / $1)::bigint::float8 AS bucket, count(*)::int AS count
         FROM leadtime_issues i WHERE ${where} GROUP BY 1 ORDER BY 1`,
      parameters,
    );
  }

  /**
   * Done (resolved) against planned per period. A sprint's planned scope is replayed from sprint_events up to
   * its start; sprints with no events, or no start, count their current members instead.
   */
  async throughput(filter: LeadtimeFilter, groupBy: 'sprint' | 'quarter' | 'week'): Promise<ThroughputRow[]> {
    // Done: resolved issues matching every filter.
    const { where, parameters } = resolvedWhere(filter);
    // Planned: issues of the team and type asked for, resolved or not; the sprint filter picks sprints, not issues
    // (an issue planned in a sprint and moved out later still counts in that sprint's plan).
    const members = new SqlConditions(parameters);
    if (filter.team !== undefined) members.add((p) => `i.team = ${p}`, filter.team);
    if (filter.type !== undefined) members.add((p) => `i.type = ${p}`, filter.type);
    const issueFilter = members.and();
    const sprintFilter = filter.sprint === undefined ? 'TRUE' : `m.sprint = ${members.parameter(filter.sprint)}`;
    const sprintScope = `
      sprint_list AS (
        SELECT DISTINCT ON (m.sprint) m.sprint, s.start_at, s.end_at
          FROM (SELECT DISTINCT unnest(i.sprints) AS sprint FROM leadtime_issues i WHERE ${issueFilter}
                UNION SELECT DISTINCT sprint FROM sprint_events) m
          LEFT JOIN sprints s ON s.name = m.sprint
         WHERE ${sprintFilter}
         ORDER BY m.sprint, s.start_at NULLS LAST
      ),
      with_history AS (SELECT DISTINCT sprint FROM sprint_events),
      replayed AS (
        SELECT DISTINCT ON (e.sprint, e.source, e.issue_key) e.sprint, e.source, e.issue_key, e.added
          FROM sprint_events e JOIN sprint_list l ON l.sprint = e.sprint AND l.start_at IS NOT NULL AND e.at <= l.start_at
         ORDER BY e.sprint, e.source, e.issue_key, e.at DESC
      ),
      planned_history AS (
        SELECT r.sprint, count(*)::int AS planned
          FROM replayed r JOIN leadtime_issues i ON i.source = r.source AND i.key = r.issue_key
         WHERE r.added AND ${issueFilter} GROUP BY r.sprint
      ),
      planned_current AS (
        SELECT unnest(i.sprints) AS sprint, count(*)::int AS planned FROM leadtime_issues i WHERE ${issueFilter} GROUP BY 1
      ),
      planned AS (
        SELECT l.sprint, l.start_at, l.end_at,
               CASE WHEN l.start_at IS NOT NULL AND h.sprint IS NOT NULL THEN 'history' ELSE 'current' END AS planned_from,
               CASE WHEN l.start_at IS NOT NULL AND h.sprint IS NOT NULL THEN coalesce(ph.planned, 0)
                    ELSE coalesce(pc.planned, 0) END AS planned
          FROM sprint_list l
          LEFT JOIN with_history h ON h.sprint = l.sprint
          LEFT JOIN planned_history ph ON ph.sprint = l.sprint
          LEFT JOIN planned_current pc ON pc.sprint = l.sprint
      )`;
    const sql =
      groupBy === 'sprint'
        ? `WITH ${sprintScope},
           done AS (
             SELECT unnest(i.sprints) AS sprint, count(*)::int AS done FROM leadtime_issues i WHERE ${where} GROUP BY 1
           )
           SELECT p.sprint AS period, p.start_at AS start, p.end_at AS "end", coalesce(d.done, 0) AS done, p.planned,
                  p.planned_from
             FROM planned p LEFT JOIN done d ON d.sprint = p.sprint
            ORDER BY p.start_at NULLS LAST, p.sprint`
        : this.periodSql(sprintScope, where, groupBy);
    // The row estimates of unnest() push these statements past the JIT thresholds; compiling costs more than
    // it saves here (measured: ~450 ms of a ~900 ms statement over 100,000 issues).
    return this.db.transaction(async (manager) => {
      await this.db.query('SET LOCAL jit = off', [], manager);
      return this.db.query<ThroughputRow>(sql, parameters, manager);
    });
  }

  private periodSql(sprintScope: string, where: string, groupBy: 'quarter' | 'week'): string {
    const [unit, length, label] =
      groupBy === 'week' ? ['week', '7 days', `'IYYY-"W"IW'`] : ['quarter', '3 months', `'YYYY-"Q"Q'`];
    return `WITH ${sprintScope},
       done AS (
         SELECT date_trunc('${unit}', i.resolved_at, 'UTC') AS b, count(*)::int AS done FROM leadtime_issues i WHERE ${where} GROUP BY 1
       ),
       planned_by AS (
         SELECT date_trunc('${unit}', start_at, 'UTC') AS b, sum(planned)::int AS planned,
                CASE WHEN bool_and(planned_from = 'history') THEN 'history' ELSE 'current' END AS planned_from
           FROM planned WHERE start_at IS NOT NULL GROUP BY 1
       )
       SELECT to_char(coalesce(d.b, p.b) AT TIME ZONE 'UTC', ${label}) AS period, coalesce(d.b, p.b) AS start,
              coalesce(d.b, p.b) + interval '${length}' AS "end",
              coalesce(d.done, 0) AS done, coalesce(p.planned, 0) AS planned, coalesce(p.planned_from, 'none') AS planned_from
         FROM done d FULL JOIN planned_by p ON p.b = d.b
        ORDER BY 2`;
  }

  /** Starts a run; undefined when one is already running for `source`. */
  async startRun(source: string, trigger: 'api' | 'schedule', since: Date | null): Promise<SyncRunRow | undefined> {
    try {
      const [row] = await this.db.query<SyncRunRow>(
        `INSERT INTO sync_runs (source, status, trigger, incremental, since) VALUES ($1, 'running', $2, $3, $4) RETURNING ${RUN_COLUMNS}`,
        [source, trigger, since !== null, since],
      );
      return row;
    } catch (error) {
      if ((error as { code?: string }).code === '23505') return undefined;
      throw error;
    }
  }

  async finishRun(
    id: string,
    outcome: { status: 'ok' | 'nok'; fetched: number; upserted: number; error?: string },
  ): Promise<SyncRunRow> {
    const [row] = await this.db.query<SyncRunRow>(
      `UPDATE sync_runs SET status = $2, finished_at = now(), fetched = $3, upserted = $4, error = $5 WHERE id = $1 RETURNING ${RUN_COLUMNS}`,
      [id, outcome.status, outcome.fetched, outcome.upserted, outcome.error ?? null],
    );
    return row;
  }

  /** Runs left `running` by a process that died are closed as failed. */
  async abandonRunning(source: string): Promise<void> {
    await this.db.query(
      `UPDATE sync_runs SET status = 'nok', finished_at = now(), error = 'the process running the import stopped' WHERE source = $1 AND status = 'running'`,
      [source],
    );
  }

  async lastRun(source: string, status?: 'ok'): Promise<SyncRunRow | undefined> {
    const rows = await this.db.query<SyncRunRow>(
      `SELECT ${RUN_COLUMNS} FROM sync_runs WHERE source = $1 AND ($2::text IS NULL OR status = $2) ORDER BY started_at DESC LIMIT 1`,
      [source, status ?? null],
    );
    return rows[0];
  }

  async listRuns(limit: number, beforeId?: string): Promise<SyncRunRow[]> {
    return this.db.query<SyncRunRow>(
      `SELECT ${RUN_COLUMNS} FROM sync_runs WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2`,
      [beforeId ?? null, limit],
    );
  }
}
