import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.service';
import { SqlConditions } from '../database/sql-conditions';

export interface SeriesRow {
  id: string;
  target_id: string;
  name: string;
  labels: Record<string, string>;
}

export interface SeriesFilter {
  targetId?: string;
  name?: string;
  /** Every label must have exactly this value (jsonb containment). */
  match?: Record<string, string>;
  afterId?: string;
  limit: number;
}

/** Rows of one series' samples as `[series id, time, value]`; values as text so NaN and ±Inf survive. */
export interface SampleRow {
  series_id: string;
  ts: Date;
  value: string;
}

/** The `series` and `samples` tables. */
@Injectable()
export class SeriesRepository {
  constructor(private readonly db: Database) {}

  async list(filter: SeriesFilter): Promise<SeriesRow[]> {
    const where = new SqlConditions();
    if (filter.targetId !== undefined) where.add((p) => `target_id = ${p}`, filter.targetId);
    if (filter.name !== undefined) where.add((p) => `name = ${p}`, filter.name);
    if (filter.match && Object.keys(filter.match).length > 0)
      where.add((p) => `labels @> ${p}::jsonb`, JSON.stringify(filter.match));
    if (filter.afterId !== undefined) where.add((p) => `id > ${p}`, filter.afterId);
    const limit = where.parameter(filter.limit);
    return this.db.query<SeriesRow>(
      `SELECT id::text, target_id, name, labels FROM series ${where.where()} ORDER BY id LIMIT ${limit}`,
      where.parameters,
    );
  }

  async names(targetId: string | undefined, prefix: string | undefined, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ name: string }>(
      `SELECT DISTINCT name FROM series
        WHERE ($1::uuid IS NULL OR target_id = $1) AND ($2::text IS NULL OR starts_with(name, $2))
        ORDER BY name LIMIT $3`,
      [targetId ?? null, prefix ?? null, limit],
    );
    return rows.map((row) => row.name);
  }

  /** Samples of `seriesIds` in [from, to), oldest first, at most `limit` rows. */
  async samples(seriesIds: string[], from: Date, to: Date, limit: number): Promise<SampleRow[]> {
    return this.db.query<SampleRow>(
      `SELECT series_id::text, ts, value::text FROM samples
        WHERE series_id = ANY($1::bigint[]) AND ts >= $2 AND ts < $3
        ORDER BY series_id, ts LIMIT $4`,
      [seriesIds, from, to, limit],
    );
  }
}
