import { Inject, Injectable } from '@nestjs/common';
import type { components } from '../generated/openapi';
import { CheckerService } from '../checker/checker.service';
import { CONFIG, type Config } from '../config/config';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { resolveRange } from '../common/time-range';
import { ProblemException } from '../problem/problem';
import { TargetsRepository } from '../targets/targets.repository';
import type { CheckResult } from '../checker/check-result';
import { ChecksRepository, type CheckRow } from './checks.repository';

export type Check = components['schemas']['Check'];
export type CheckPage = components['schemas']['CheckPage'];
export type CheckNowResult = components['schemas']['CheckNowResult'];
export type TargetSummary = components['schemas']['TargetSummary'];

export interface ListChecksQuery {
  targetId?: string;
  status?: 'up' | 'down';
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export function toCheck(row: CheckRow): Check {
  return {
    targetId: row.target_id,
    startedAt: row.started_at.toISOString(),
    durationMs: row.duration_ms,
    up: row.up,
    ...(row.http_status !== null ? { httpStatus: row.http_status } : {}),
    ...(row.error_kind !== null ? { errorKind: row.error_kind } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
  };
}

function fromResult(result: CheckResult): Check {
  return {
    targetId: result.targetId,
    startedAt: new Date(result.startedAt).toISOString(),
    durationMs: result.durationMs,
    up: result.up,
    ...(result.httpStatus !== undefined ? { httpStatus: result.httpStatus } : {}),
    ...(result.errorKind !== undefined ? { errorKind: result.errorKind } : {}),
    ...(result.error !== undefined ? { error: result.error } : {}),
  };
}

@Injectable()
export class ChecksService {
  constructor(
    private readonly checks: ChecksRepository,
    private readonly targets: TargetsRepository,
    private readonly checker: CheckerService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async listChecks(query: ListChecksQuery): Promise<CheckPage> {
    const { from, to } = resolveRange(query.from, query.to, this.config.maxQuerySpanMs);
    const limit = query.limit ?? 100;
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor, ['string', 'string']);
    const rows = await this.checks.list({
      targetId: query.targetId,
      up: query.status === undefined ? undefined : query.status === 'up',
      from,
      to,
      before: before ? { startedAt: new Date(before[0] as string), targetId: before[1] as string } : undefined,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toCheck),
      nextCursor: rows.length > limit ? encodeCursor([last.started_at.toISOString(), last.target_id]) : null,
    };
  }

  async getTargetSummary(id: string, query: { from?: string; to?: string }): Promise<TargetSummary> {
    await this.existing(id);
    const { from, to } = resolveRange(query.from, query.to, this.config.maxQuerySpanMs);
    const [stats, incidents, last] = await Promise.all([
      this.checks.stats(id, from, to),
      this.checks.incidents(id, from, to),
      this.checks.last(id),
    ]);
    return {
      targetId: id,
      from: from.toISOString(),
      to: to.toISOString(),
      checks: stats.checks,
      failures: stats.failures,
      uptimeRatio: stats.checks === 0 ? null : (stats.checks - stats.failures) / stats.checks,
      latencyMs: { p50: stats.p50, p95: stats.p95, p99: stats.p99 },
      incidents: incidents.map((incident) => ({
        start: incident.start.toISOString(),
        end: incident.end?.toISOString() ?? null,
        durationSeconds: ((incident.end ?? incident.last_down).getTime() - incident.start.getTime()) / 1000,
        firstError: incident.first_error,
        errorKind: incident.error_kind,
      })),
      lastCheck: last ? toCheck(last) : null,
    };
  }

  async checkTarget(id: string): Promise<CheckNowResult> {
    const outcome = await this.checker.checkNow(await this.existing(id));
    return { ...fromResult(outcome.result), samples: outcome.samples.length };
  }

  private async existing(id: string) {
    const row = await this.targets.getById(id);
    if (!row)
      throw ProblemException.of('not-found', `No target has id ${id}.`, [
        { path: 'path.id', message: 'names no target' },
      ]);
    return row;
  }
}
