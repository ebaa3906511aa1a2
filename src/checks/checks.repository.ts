import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.service';
import { SqlConditions } from '../database/sql-conditions';
import type { ErrorKind } from '../checker/check-result';

export interface CheckRow {
  target_id: string;
  started_at: Date;
  duration_ms: number;
  up: boolean;
  http_status: number | null;
  error_kind: ErrorKind | null;
  error: string | null;
}

export interface CheckFilter {
  targetId?: string;
  up?: boolean;
  from: Date;
  to: Date;
  /** Keyset pagination, newest first: checks strictly before (startedAt, targetId). */
  before?: { startedAt: Date; targetId: string };
  limit: number;
}

export interface CheckStats {
  checks: number;
  failures: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface IncidentRow {
  start: Date;
  last_down: Date;
  end: Date | null;
  first_error: string | null;
  error_kind: ErrorKind | null;
}

const COLUMNS = 'target_id, started_at, duration_ms, up, http_status, error_kind, error';

/** The `checks` table (partitioned by day on started_at). */
@Injectable()
export class ChecksRepository {
  constructor(private readonly db: Database) {}

  async list(filter: CheckFilter): Promise<CheckRow[]> {
    const where = new SqlConditions()
      .add((p) => `started_at >= ${p}`, filter.from)
      .add((p) => `started_at < ${p}`, filter.to);
    if (filter.targetId !== undefined) where.add((p) => `target_id = ${p}`, filter.targetId);
    if (filter.up !== undefined) where.add((p) => `up = ${p}`, filter.up);
    if (filter.before) {
      const startedAt = where.parameter(filter.before.startedAt);
      where.add((p) => `(started_at, target_id) < (${startedAt}, ${p})`, filter.before.targetId);
    }
    const limit = where.parameter(filter.limit);
    return this.db.query<CheckRow>(
      `SELECT ${COLUMNS} FROM checks ${where.where()} ORDER BY started_at DESC, target_id DESC LIMIT ${limit}`,
      where.parameters,
    );
  }

  /** Counts and latency percentiles (of successful checks, exact: percentile_cont) over a range. */
  async stats(targetId: string, from: Date, to: Date): Promise<CheckStats> {
    const [row] = await this.db.query<{ checks: number; failures: number; latency: number[] | null }>(
      `SELECT count(*)::int AS checks,
              count(*) FILTER (WHERE NOT up)::int AS failures,
              percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE up) AS latency
         FROM checks WHERE target_id = $1 AND started_at >= $2 AND started_at < $3`,
      [targetId, from, to],
    );
    const [p50, p95, p99] = row.latency ?? [null, null, null];
    return { checks: row.checks, failures: row.failures, p50, p95, p99 };
  }

  /**
   * Down periods: runs of consecutive failed checks (checks grouped by how many successes came before them),
   * each with its first error and the first successful check after it, if any.
   */
  async incidents(targetId: string, from: Date, to: Date): Promise<IncidentRow[]> {
    return this.db.query<IncidentRow>(
      `WITH ordered AS (
         SELECT started_at, up, error, error_kind,
                count(*) FILTER (WHERE up) OVER (ORDER BY started_at) AS ups_before
           FROM checks WHERE target_id = $1 AND started_at >= $2 AND started_at < $3
       ), runs AS (
         SELECT min(started_at) AS start, max(started_at) AS last_down,
                (array_agg(error ORDER BY started_at))[1] AS first_error,
                (array_agg(error_kind ORDER BY started_at))[1] AS error_kind
           FROM ordered WHERE NOT up GROUP BY ups_before
       )
       SELECT r.start, r.last_down, r.first_error, r.error_kind,
              (SELECT min(o.started_at) FROM ordered o WHERE o.up AND o.started_at > r.last_down) AS "end"
         FROM runs r ORDER BY r.start`,
      [targetId, from, to],
    );
  }

  async last(targetId: string): Promise<CheckRow | undefined> {
    const rows = await this.db.query<CheckRow>(
      `SELECT ${COLUMNS} FROM checks WHERE target_id = $1 ORDER BY started_at DESC LIMIT 1`,
      [targetId],
    );
    return rows[0];
  }
}
