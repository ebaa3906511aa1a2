import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config';
import { ProblemException } from '../problem/problem';
import { RESOLVER, type Resolver } from '../security/ssrf';
import { decodeCursor, encodeCursor } from '../common/cursor';
import {
  toTarget,
  type Target,
  type TargetCreate,
  type TargetKind,
  type TargetPage,
  type TargetPatch,
  type TargetRow,
} from './target';
import { resolveTarget, type RuleContext } from './target-rules';
import { TargetsRepository } from './targets.repository';

export interface ListTargetsQuery {
  kind?: TargetKind;
  enabled?: boolean;
  label?: string[];
  limit?: number;
  cursor?: string;
}

export function isUniqueViolation(error: unknown): boolean {
  const { code, driverError } = (error ?? {}) as { code?: string; driverError?: { code?: string } };
  return code === '23505' || driverError?.code === '23505';
}

export function duplicateName(name: string, location: string): ProblemException {
  return ProblemException.of('conflict', `A target named "${name}" already exists.`, [
    { path: `${location}.name`, message: 'is already taken by another target' },
  ]);
}

@Injectable()
export class TargetsService {
  constructor(
    private readonly targets: TargetsRepository,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(RESOLVER) private readonly resolver: Resolver,
  ) {}

  ruleContext(location: string): RuleContext {
    return { denyCidrs: this.config.targetDenyCidrs, resolve: this.resolver, location };
  }

  async listTargets(query: ListTargetsQuery): Promise<TargetPage> {
    const limit = query.limit ?? 100;
    const rows = await this.targets.list({
      kind: query.kind,
      enabled: query.enabled,
      labels: parseLabelFilters(query.label ?? []),
      afterName: query.cursor === undefined ? undefined : (decodeCursor(query.cursor, ['string'])[0] as string),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return {
      items: page.map(toTarget),
      nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1].name]) : null,
    };
  }

  async getTarget(id: string): Promise<Target> {
    return toTarget(await this.existing(id));
  }

  async createTarget(body: TargetCreate): Promise<Target> {
    const resolved = await resolveTarget(body, undefined, this.ruleContext('body'));
    if (resolved.errors) throw invalid(resolved.errors);
    try {
      return toTarget(await this.targets.create(resolved.values, 'api'));
    } catch (error) {
      throw isUniqueViolation(error) ? duplicateName(body.name, 'body') : error;
    }
  }

  async updateTarget(id: string, patch: TargetPatch): Promise<Target> {
    const stored = fileGuard(await this.existing(id), 'changed');
    const resolved = await resolveTarget(patch, stored, this.ruleContext('body'));
    if (resolved.errors) throw invalid(resolved.errors);
    try {
      const updated = await this.targets.update(id, resolved.values, 'api');
      if (!updated) throw notFound(id);
      return toTarget(updated);
    } catch (error) {
      throw isUniqueViolation(error) ? duplicateName(resolved.values.name, 'body') : error;
    }
  }

  async deleteTarget(id: string): Promise<void> {
    fileGuard(await this.existing(id), 'deleted');
    if (!(await this.targets.delete(id))) throw notFound(id);
  }

  private async existing(id: string): Promise<TargetRow> {
    const row = await this.targets.getById(id);
    if (!row) throw notFound(id);
    return row;
  }
}

export function invalid(errors: Array<{ path: string; message: string }>): ProblemException {
  return ProblemException.of(
    'validation',
    `The target is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
    errors,
  );
}

function notFound(id: string): ProblemException {
  return ProblemException.of('not-found', `No target has id ${id}.`, [{ path: 'path.id', message: 'names no target' }]);
}

function fileGuard(row: TargetRow, verb: 'changed' | 'deleted'): TargetRow {
  if (row.origin === 'file') {
    throw ProblemException.of(
      'conflict',
      `Target "${row.name}" is declared in TARGETS_FILE and can only be ${verb} there; the file is the source of truth for it.`,
      [{ path: 'path.id', message: 'names a target owned by TARGETS_FILE' }],
    );
  }
  return row;
}

/** `["team:core", "env:prod"]` → `[["team", "core"], ["env", "prod"]]`; the value may itself contain colons. */
function parseLabelFilters(filters: string[]): Array<[string, string]> {
  return filters.map((filter) => {
    const colon = filter.indexOf(':');
    return [filter.slice(0, colon), filter.slice(colon + 1)];
  });
}
