import { Inject, Injectable } from '@nestjs/common';
import type { ValidateFunction } from 'ajv';
import { parse } from 'csv-parse/sync';
import { CONFIG, type Config } from '../config/config';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { parseDuration } from '../common/duration';
import { Database } from '../database/database.service';
import type { components } from '../generated/openapi';
import { anchored, createAjv } from '../openapi/schema-compiler';
import { loadSpec } from '../openapi/spec';
import { ProblemException, type FieldError } from '../problem/problem';
import type { LeadtimeFilter } from './leadtime-filter';
import { LeadtimeRepository, type IssueRecord, type IssueRow, type SyncRunRow } from './leadtime.repository';

type Schemas = components['schemas'];
export type LeadtimeIssue = Schemas['LeadtimeIssue'];
export type LeadtimeIssueInput = Schemas['LeadtimeIssueInput'];
export type LeadtimeUpsert = Schemas['LeadtimeUpsert'];
export type SyncRun = Schemas['SyncRun'];

export const DEFAULT_PERCENTILES = '10,25,50,75,90';
const CSV_LIMIT = 10_000;

export function toSyncRun(row: SyncRunRow): SyncRun {
  return {
    id: row.id,
    source: row.source,
    status: row.status,
    trigger: row.trigger,
    incremental: row.incremental,
    since: row.since?.toISOString() ?? null,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    fetched: row.fetched,
    upserted: row.upserted,
    error: row.error,
  };
}

function toIssue(row: IssueRow): LeadtimeIssue {
  return {
    source: row.source,
    key: row.key,
    summary: row.summary,
    team: row.team,
    type: row.type,
    state: row.state,
    sprints: row.sprints,
    storyPoints: row.story_points,
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    resolvedAt: row.resolved_at?.toISOString() ?? null,
    updatedAt: row.updated_at.toISOString(),
    leadTimeSeconds: row.lead_time_seconds,
    leadTimeRule: row.lead_time_rule,
  };
}

/**
 * Lead time of an issue given by a tracker without a connector: its own figure when it sends one, else
 * started → resolved, else created → resolved; none while unresolved.
 */
export function fromInput(input: LeadtimeIssueInput, now: Date): IssueRecord {
  const createdAt = new Date(input.createdAt);
  const startedAt = input.startedAt ? new Date(input.startedAt) : null;
  const resolvedAt = input.resolvedAt ? new Date(input.resolvedAt) : null;
  let leadTimeSeconds: number | null = null;
  let leadTimeRule: IssueRecord['leadTimeRule'] = null;
  if (input.leadTimeSeconds !== undefined && input.leadTimeSeconds !== null) {
    [leadTimeSeconds, leadTimeRule] = [input.leadTimeSeconds, 'field'];
  } else if (resolvedAt && startedAt && startedAt <= resolvedAt) {
    [leadTimeSeconds, leadTimeRule] = [(resolvedAt.getTime() - startedAt.getTime()) / 1000, 'started'];
  } else if (resolvedAt) {
    [leadTimeSeconds, leadTimeRule] = [Math.max(0, (resolvedAt.getTime() - createdAt.getTime()) / 1000), 'created'];
  }
  return {
    key: input.key,
    summary: input.summary ?? '',
    team: input.team ?? null,
    type: input.type ?? null,
    state: input.state ?? null,
    sprints: input.sprints ?? [],
    storyPoints: input.storyPoints ?? null,
    createdAt,
    startedAt,
    resolvedAt,
    updatedAt: input.updatedAt ? new Date(input.updatedAt) : now,
    leadTimeSeconds,
    leadTimeRule,
  };
}

@Injectable()
export class LeadtimeService {
  private readonly validateIssue: ValidateFunction<LeadtimeIssueInput>;

  constructor(
    private readonly repository: LeadtimeRepository,
    private readonly db: Database,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.validateIssue = createAjv(loadSpec().document, { coerce: false }).compile<LeadtimeIssueInput>(
      anchored({ $ref: '#/components/schemas/LeadtimeIssueInput' }),
    );
  }

  async upsertIssues(body: LeadtimeUpsert | string, csvSource?: string): Promise<Schemas['LeadtimeUpsertResult']> {
    const upsert = typeof body === 'string' ? this.fromCsv(body, csvSource ?? 'csv') : body;
    const source = upsert.source ?? 'api';
    const now = new Date();
    const issues = upsert.issues.map((issue) => fromInput(issue, now));
    const keys = new Set<string>();
    for (const [index, issue] of issues.entries()) {
      if (keys.has(issue.key)) {
        throw ProblemException.of('validation', `Issue ${issue.key} appears more than once.`, [
          { path: `body.issues.${index}.key`, message: 'appears more than once' },
        ]);
      }
      keys.add(issue.key);
    }
    const events = (upsert.sprintEvents ?? []).map((event) => ({ ...event, at: new Date(event.at) }));
    const sprints = (upsert.sprints ?? []).map((sprint) => ({
      name: sprint.name,
      startAt: sprint.startAt ? new Date(sprint.startAt) : null,
      endAt: sprint.endAt ? new Date(sprint.endAt) : null,
    }));
    return this.db.transaction(async (manager) => {
      await this.repository.upsertIssues(source, issues, manager);
      await this.repository.upsertSprints(source, sprints, manager);
      if (events.length > 0) {
        await this.repository.replaceSprintEvents(
          source,
          [...new Set(events.map((event) => event.issueKey))],
          events,
          manager,
        );
      }
      return { source, issues: issues.length, sprints: sprints.length, sprintEvents: events.length };
    });
  }

  /** CSV with a header of LeadtimeIssueInput field names; `sprints` separated by `;`; empty cells are absent. */
  private fromCsv(text: string, source: string): LeadtimeUpsert {
    let rows: Array<Record<string, string>>;
    try {
      rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, to: CSV_LIMIT + 1 });
    } catch (error) {
      throw ProblemException.of('validation', `The CSV is malformed: ${(error as Error).message}`, [
        { path: 'body', message: (error as Error).message },
      ]);
    }
    if (rows.length > CSV_LIMIT) {
      throw ProblemException.of('validation', `At most ${CSV_LIMIT} issues per request.`, [
        { path: 'body', message: 'has too many rows' },
      ]);
    }
    const errors: FieldError[] = [];
    const issues = rows.map((row, index) => {
      const issue: Record<string, unknown> = {};
      for (const [column, value] of Object.entries(row)) {
        if (value === '') continue;
        if (column === 'sprints')
          issue.sprints = value
            .split(';')
            .map((sprint) => sprint.trim())
            .filter(Boolean);
        else if (column === 'storyPoints' || column === 'leadTimeSeconds')
          issue[column] = Number.isFinite(Number(value)) ? Number(value) : value;
        else issue[column] = value;
      }
      if (!this.validateIssue(issue)) {
        for (const error of this.validateIssue.errors ?? []) {
          const params = error.params as { missingProperty?: string; additionalProperty?: string };
          const field = params.missingProperty ?? params.additionalProperty ?? error.instancePath.split('/')[1] ?? '';
          // Line numbers count the header as line 1.
          errors.push({ path: `body.line ${index + 2}.${field}`, message: error.message ?? 'is invalid' });
        }
      }
      return issue as LeadtimeIssueInput;
    });
    if (errors.length > 0)
      throw ProblemException.of('validation', `The CSV has ${errors.length} problem(s).`, errors.slice(0, 100));
    return { source, issues };
  }

  async listIssues(
    filter: LeadtimeFilter & { limit?: number; cursor?: string },
  ): Promise<Schemas['LeadtimeIssuePage']> {
    const limit = filter.limit ?? 100;
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor, ['string', 'string', 'string']);
    const rows = await this.repository.listIssues(
      filter,
      limit + 1,
      after ? { resolvedAt: after[0] as string, source: after[1] as string, key: after[2] as string } : undefined,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toIssue),
      nextCursor:
        rows.length > limit
          ? encodeCursor([last.resolved_at?.toISOString() ?? 'infinity', last.source, last.key])
          : null,
    };
  }

  async percentiles(filter: LeadtimeFilter & { p?: string }): Promise<Schemas['LeadtimePercentiles']> {
    const ps = (filter.p ?? DEFAULT_PERCENTILES).split(',').map(Number);
    if (ps.some((p) => !(p >= 0 && p <= 100))) {
      throw ProblemException.of('validation', 'Percentiles must be between 0 and 100.', [
        { path: 'query.p', message: 'must list numbers between 0 and 100' },
      ]);
    }
    const { count, values } = await this.repository.percentiles(
      filter,
      ps.map((p) => p / 100),
    );
    return { count, percentiles: ps.map((p, index) => ({ p, leadTimeSeconds: values[index] })) };
  }

  async distribution(filter: LeadtimeFilter & { bucket?: string }): Promise<Schemas['LeadtimeDistribution']> {
    const bucketMs = parseDuration(filter.bucket ?? '1d');
    if (bucketMs === undefined || bucketMs < 1000) {
      throw ProblemException.of('validation', 'The bucket must be at least 1s.', [
        { path: 'query.bucket', message: 'must be at least 1s' },
      ]);
    }
    const bucketSeconds = bucketMs / 1000;
    const rows = await this.repository.distribution(filter, bucketSeconds);
    return {
      bucketSeconds,
      count: rows.reduce((sum, row) => sum + row.count, 0),
      buckets: rows.map((row) => ({
        fromSeconds: row.bucket * bucketSeconds,
        toSeconds: (row.bucket + 1) * bucketSeconds,
        count: row.count,
      })),
    };
  }

  async throughput(
    filter: LeadtimeFilter & { groupBy?: 'sprint' | 'quarter' | 'week' },
  ): Promise<Schemas['LeadtimeThroughput']> {
    const groupBy = filter.groupBy ?? 'sprint';
    const rows = await this.repository.throughput(filter, groupBy);
    return {
      groupBy,
      periods: rows.map((row) => ({
        period: row.period,
        start: row.start?.toISOString() ?? null,
        end: row.end?.toISOString() ?? null,
        done: row.done,
        planned: row.planned,
        plannedFrom: row.planned_from,
      })),
    };
  }

  async listRuns(query: { limit?: number; cursor?: string }): Promise<Schemas['SyncRunPage']> {
    const limit = query.limit ?? 100;
    const before = query.cursor === undefined ? undefined : (decodeCursor(query.cursor, ['string'])[0] as string);
    const rows = await this.repository.listRuns(limit + 1, before);
    const page = rows.slice(0, limit);
    return {
      items: page.map(toSyncRun),
      nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1].id]) : null,
    };
  }
}
