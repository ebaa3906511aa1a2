import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Database } from '../database/database.service';
import { SqlConditions } from '../database/sql-conditions';
import type { Origin, TargetKind, TargetRow, TargetValues } from './target';

export interface TargetFilter {
  kind?: TargetKind;
  enabled?: boolean;
  /** Every pair must be among the target's labels. */
  labels?: Array<[string, string]>;
  /** Keyset pagination: names strictly after this one. */
  afterName?: string;
  limit: number;
}

const COLUMNS = `id, name, kind, url, interval_ms, timeout_ms, labels, method, expected_status, body_match, headers,
  sample_limit, enabled, origin, created_at, updated_at`;
const T_COLUMNS = COLUMNS.split(',')
  .map((column) => `t.${column.trim()}`)
  .join(', ');

/** Column order of INSERT/UPDATE parameters $1..$11. */
function valueParameters(values: TargetValues): unknown[] {
  return [
    values.name,
    values.kind,
    values.url,
    values.interval_ms,
    values.timeout_ms,
    JSON.stringify(values.labels),
    values.method,
    values.expected_status,
    values.body_match === null ? null : JSON.stringify(values.body_match),
    JSON.stringify(values.headers),
    values.sample_limit,
    values.enabled,
  ];
}

const SET_VALUES = `name = $1, kind = $2, url = $3, interval_ms = $4, timeout_ms = $5, labels = $6, method = $7,
  expected_status = $8, body_match = $9, headers = $10, sample_limit = $11, enabled = $12, updated_at = now()`;

/** The `targets` table. */
@Injectable()
export class TargetsRepository {
  constructor(private readonly db: Database) {}

  async getById(id: string): Promise<TargetRow | undefined> {
    const rows = await this.db.query<TargetRow>(`SELECT ${COLUMNS} FROM targets WHERE id = $1`, [id]);
    return rows[0];
  }

  async getByName(name: string, manager?: EntityManager): Promise<TargetRow | undefined> {
    const rows = await this.db.query<TargetRow>(`SELECT ${COLUMNS} FROM targets WHERE name = $1`, [name], manager);
    return rows[0];
  }

  async list(filter: TargetFilter): Promise<TargetRow[]> {
    const where = new SqlConditions();
    if (filter.kind !== undefined) where.add((p) => `kind = ${p}`, filter.kind);
    if (filter.enabled !== undefined) where.add((p) => `enabled = ${p}`, filter.enabled);
    // One containment per pair: `label=a:1&label=a:2` asks for both, which no target has.
    for (const [name, value] of filter.labels ?? [])
      where.add((p) => `labels @> ${p}::jsonb`, JSON.stringify({ [name]: value }));
    if (filter.afterName !== undefined) where.add((p) => `name > ${p}`, filter.afterName);
    const limit = where.parameter(filter.limit);
    return this.db.query<TargetRow>(
      `SELECT ${COLUMNS} FROM targets ${where.where()} ORDER BY name LIMIT ${limit}`,
      where.parameters,
    );
  }

  /** The enabled targets a checker process owns (see checker/leases.ts). */
  async listOwnedBy(checkerId: string): Promise<TargetRow[]> {
    return this.db.query<TargetRow>(
      `SELECT ${T_COLUMNS} FROM targets t JOIN target_owners o ON o.target_id = t.id
        WHERE o.checker_id = $1 AND t.enabled`,
      [checkerId],
    );
  }

  async listByOrigin(origin: Origin, manager?: EntityManager): Promise<TargetRow[]> {
    return this.db.query<TargetRow>(`SELECT ${COLUMNS} FROM targets WHERE origin = $1`, [origin], manager);
  }

  async create(values: TargetValues, origin: Origin, manager?: EntityManager): Promise<TargetRow> {
    const rows = await this.db.query<TargetRow>(
      `INSERT INTO targets (name, kind, url, interval_ms, timeout_ms, labels, method, expected_status, body_match,
         headers, sample_limit, enabled, origin)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       RETURNING ${COLUMNS}`,
      [...valueParameters(values), origin],
      manager,
    );
    return rows[0];
  }

  /** Replaces every value of target `id`; undefined when it no longer exists. */
  async update(
    id: string,
    values: TargetValues,
    origin: Origin,
    manager?: EntityManager,
  ): Promise<TargetRow | undefined> {
    const rows = await this.db.query<TargetRow>(
      `UPDATE targets SET ${SET_VALUES}, origin = $14 WHERE id = $13 RETURNING ${COLUMNS}`,
      [...valueParameters(values), id, origin],
      manager,
    );
    return rows[0];
  }

  async delete(id: string, manager?: EntityManager): Promise<boolean> {
    const rows = await this.db.query(`DELETE FROM targets WHERE id = $1 RETURNING id`, [id], manager);
    return rows.length > 0;
  }
}
