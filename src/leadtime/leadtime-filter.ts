import { SqlConditions } from '../database/sql-conditions';
import { ProblemException } from '../problem/problem';

/** The filters every lead time statistic takes. */
export interface LeadtimeFilter {
  team?: string;
  type?: string;
  sprint?: string;
  /** `2026-Q3`: resolved in that calendar quarter (UTC). */
  quarter?: string;
  from?: string;
  to?: string;
}

/** `2026-Q3` → [2026-07-01T00:00Z, 2026-10-01T00:00Z). */
export function quarterRange(quarter: string): [Date, Date] {
  const [year, q] = quarter.split('-Q').map(Number);
  return [new Date(Date.UTC(year, (q - 1) * 3, 1)), new Date(Date.UTC(year, q * 3, 1))];
}

/**
 * SQL conditions on `leadtime_issues` (aliased `i`) for resolved issues matching the filter, with their
 * parameters numbered from `$1`.
 */
export function resolvedWhere(
  filter: LeadtimeFilter,
  parameters: unknown[] = [],
): { where: string; parameters: unknown[] } {
  if (filter.from !== undefined && filter.to !== undefined && Date.parse(filter.from) >= Date.parse(filter.to)) {
    throw ProblemException.of('validation', 'The time range is empty: from must be before to.', [
      { path: 'query.from', message: 'must be before to' },
    ]);
  }
  const where = new SqlConditions(parameters).raw('i.lead_time_seconds IS NOT NULL');
  if (filter.team !== undefined) where.add((p) => `i.team = ${p}`, filter.team);
  if (filter.type !== undefined) where.add((p) => `i.type = ${p}`, filter.type);
  if (filter.sprint !== undefined) where.add((p) => `i.sprints @> ARRAY[${p}::text]`, filter.sprint);
  if (filter.quarter !== undefined) {
    const [start, end] = quarterRange(filter.quarter);
    where.add((p) => `i.resolved_at >= ${p}`, start).add((p) => `i.resolved_at < ${p}`, end);
  }
  if (filter.from !== undefined) where.add((p) => `i.resolved_at >= ${p}`, new Date(filter.from));
  if (filter.to !== undefined) where.add((p) => `i.resolved_at < ${p}`, new Date(filter.to));
  return { where: where.and(), parameters: where.parameters };
}
