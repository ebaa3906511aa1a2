import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Cron } from 'croner';
import { readFileSync } from 'node:fs';
import { Gauge } from 'prom-client';
import { CONFIG, type Config } from '../config/config';
import { Database } from '../database/database.service';
import { MetricsRegistry } from '../metrics/registry';
import { LOGGER, type Logger } from '../observability/logger';
import { inSpan } from '../observability/tracing';
import { ProblemException } from '../problem/problem';
import {
  DEFAULT_FIELD_MAPPING,
  fetchIssues,
  parseFieldMapping,
  YouTrackError,
  type FieldMapping,
  type ImportedIssue,
} from './youtrack';
import { fetchYouTrackSprints } from './youtrack-sprints';
import { LeadtimeRepository, type IssueRecord, type SprintEventRecord, type SyncRunRow } from './leadtime.repository';

export const YOUTRACK_SOURCE = 'youtrack';

export function toIssueRecord(issue: ImportedIssue): IssueRecord {
  return {
    key: issue.key,
    summary: issue.summary,
    team: issue.team,
    type: issue.type,
    state: issue.state,
    sprints: issue.sprints,
    storyPoints: issue.storyPoints,
    createdAt: issue.createdAt,
    startedAt: issue.startedAt,
    resolvedAt: issue.resolvedAt,
    updatedAt: issue.updatedAt,
    leadTimeSeconds: issue.leadTimeSeconds,
    leadTimeRule:
      issue.leadTimeSeconds === null ? null : issue.leadTimeRule === 'activities' ? 'started' : issue.leadTimeRule,
  };
}

/**
 * Imports issues from YouTrack: on `POST /api/v1/leadtime/sync` and on LEADTIME_SYNC_CRON. A run fetches
 * everything first and stores it in one transaction, so a failed or malformed import leaves the previous data
 * as it was and is recorded NOK with its reason. Incremental runs fetch only issues updated since the start of
 * the last OK run.
 */
@Injectable()
export class LeadtimeSyncService implements OnApplicationBootstrap, OnApplicationShutdown {
  private cron?: Cron;
  private readonly mapping: FieldMapping;
  private readonly lastRunTime: Gauge<'source'>;
  private readonly lastRunSuccess: Gauge<'source'>;
  private running?: Promise<SyncRunRow>;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly db: Database,
    private readonly repository: LeadtimeRepository,
    registry: MetricsRegistry,
  ) {
    this.mapping = config.youtrackFieldsFile
      ? parseFieldMapping(readFileSync(config.youtrackFieldsFile, 'utf8'))
      : DEFAULT_FIELD_MAPPING;
    this.lastRunTime = new Gauge({
      name: 'vitals_sync_last_run_timestamp_seconds',
      help: 'When the last import run of a source finished (Unix seconds).',
      labelNames: ['source'],
      registers: [registry],
    });
    this.lastRunSuccess = new Gauge({
      name: 'vitals_sync_last_run_success',
      help: '1 when the last import run of a source was OK, 0 when it was NOK.',
      labelNames: ['source'],
      registers: [registry],
    });
  }

  get configured(): boolean {
    return this.config.youtrackUrl !== undefined && this.config.youtrackToken !== undefined;
  }

  onApplicationBootstrap(): void {
    this.db.onConnected(() => void this.restoreGauges());
    if (!this.configured || this.config.role === 'checker' || this.config.leadtimeSyncCron === 'off') return;
    this.cron = new Cron(this.config.leadtimeSyncCron, { protect: true, timezone: 'UTC' }, () => {
      this.start('schedule').catch((error: unknown) =>
        this.logger.warn('scheduled lead time sync not started', { error: String(error) }),
      );
    });
  }

  onApplicationShutdown(): void {
    this.cron?.stop();
  }

  /** Waits for the run in progress in this process, if any (tests, shutdown). */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** Starts a run and returns it at once; the import goes on in the background. */
  async start(trigger: 'api' | 'schedule', full = false): Promise<SyncRunRow> {
    if (!this.configured) {
      throw ProblemException.of(
        'conflict',
        'YouTrack is not configured: set YOUTRACK_URL and YOUTRACK_TOKEN to import issues.',
      );
    }
    const lastOk = full ? undefined : await this.repository.lastRun(YOUTRACK_SOURCE, 'ok');
    const since = lastOk?.started_at ?? null;
    const run = await this.repository.startRun(YOUTRACK_SOURCE, trigger, since);
    if (!run) {
      if (this.running)
        throw ProblemException.of('conflict', 'An import from YouTrack is already running; wait for it to finish.');
      // Left running by a process that stopped mid-import: close it and start afresh.
      await this.repository.abandonRunning(YOUTRACK_SOURCE);
      return this.start(trigger, full);
    }
    this.running = this.importRun(run).finally(() => (this.running = undefined));
    return run;
  }

  private async importRun(run: SyncRunRow): Promise<SyncRunRow> {
    let fetched = 0;
    try {
      const issues: ImportedIssue[] = [];
      const settings = {
        baseUrl: this.config.youtrackUrl!,
        token: this.config.youtrackToken!,
        timeoutMs: 30_000,
        maxRetries: this.config.youtrackMaxRetries,
        retryBaseMs: this.config.youtrackRetryBaseMs,
      };
      for await (const page of fetchIssues({
        ...settings,
        query: this.config.youtrackQuery,
        mapping: this.mapping,
        updatedSince: run.since ?? undefined,
      })) {
        await inSpan('import.page', async (span) => {
          span.setAttribute('vitals.import.issues', page.length);
          issues.push(...page);
        });
        fetched += page.length;
      }
      const sprints = await fetchYouTrackSprints(settings);
      const events: SprintEventRecord[] = issues.flatMap((issue) =>
        issue.sprintHistory.map((event) => ({
          issueKey: issue.key,
          sprint: event.sprint,
          added: event.added,
          at: event.at,
        })),
      );
      const upserted = await this.db.transaction(async (manager) => {
        const count = await this.repository.upsertIssues(YOUTRACK_SOURCE, issues.map(toIssueRecord), manager);
        await this.repository.upsertSprints(YOUTRACK_SOURCE, sprints, manager);
        await this.repository.replaceSprintEvents(
          YOUTRACK_SOURCE,
          issues.map((issue) => issue.key),
          events,
          manager,
        );
        return count;
      });
      const finished = await this.repository.finishRun(run.id, { status: 'ok', fetched, upserted });
      this.logger.info('lead time sync OK', {
        source: YOUTRACK_SOURCE,
        fetched,
        upserted,
        incremental: run.since !== null,
      });
      this.record(finished);
      return finished;
    } catch (error) {
      const reason = error instanceof YouTrackError || error instanceof Error ? error.message : String(error);
      this.logger.error('lead time sync NOK; the previous data is unchanged', {
        source: YOUTRACK_SOURCE,
        error: reason,
      });
      const finished = await this.repository.finishRun(run.id, {
        status: 'nok',
        fetched,
        upserted: 0,
        error: reason.slice(0, 2000),
      });
      this.record(finished);
      return finished;
    }
  }

  private record(run: SyncRunRow): void {
    if (!run.finished_at) return;
    this.lastRunTime.set({ source: run.source }, run.finished_at.getTime() / 1000);
    this.lastRunSuccess.set({ source: run.source }, run.status === 'ok' ? 1 : 0);
  }

  private async restoreGauges(): Promise<void> {
    const last = await this.repository.lastRun(YOUTRACK_SOURCE).catch(() => undefined);
    if (last) this.record(last);
  }
}
