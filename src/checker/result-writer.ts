import { createHash } from 'node:crypto';
import { dayOf, ensurePartitions } from '../database/partitions';
import { isDatabaseUnavailable } from '../database/unavailable';
import type { Logger } from '../observability/logger';
import { inSpan } from '../observability/tracing';
import type { CheckResult } from './check-result';
import type { CheckerMetrics } from './checker-metrics';
import type { CheckOutcome, ScrapedSample } from './target-check';

type Query = (sql: string, parameters?: unknown[]) => Promise<unknown[]>;

export interface WriterLimits {
  /** Checks that may wait in memory while the database is away. */
  maxChecks: number;
  /** Samples that may wait in memory while the database is away. */
  maxSamples: number;
  /** A flush starts at this many waiting samples, or every `flushIntervalMs`. */
  batchSamples: number;
  flushIntervalMs: number;
}

interface PendingSample {
  targetId: string;
  sample: ScrapedSample;
}

/** Identity of a series within its target: the name and the labels sorted by name. */
export function seriesKey(name: string, labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  let key = name;
  for (const label of names) key += `\u0000${label}\u0001${labels[label]}`;
  return key;
}

const PARTITION_MISSING = '23514';
const MAX_BACKOFF_MS = 5000;
const DROP_LOG_EVERY_MS = 10_000;

/**
 * Writes check results and samples in batches (one `unnest` INSERT per table per flush), with series ids
 * cached in memory. While the database is unreachable everything waits in a bounded buffer and is written when
 * it returns; what does not fit is dropped, counted in `vitals_checker_dropped_results_total` and logged.
 */
export class ResultWriter {
  private checks: CheckResult[] = [];
  private samples: PendingSample[] = [];
  private readonly seriesIds = new Map<string, number>();
  private flushing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private backoffMs = 0;
  private droppedSinceLog = { checks: 0, samples: 0 };
  private lastDropLog = 0;
  private readonly knownDays = new Set<number>();

  constructor(
    private readonly query: Query,
    private readonly metrics: CheckerMetrics,
    private readonly logger: Logger,
    private readonly limits: WriterLimits,
  ) {}

  get pending(): { checks: number; samples: number } {
    return { checks: this.checks.length, samples: this.samples.length };
  }

  start(): void {
    this.schedule(this.limits.flushIntervalMs);
  }

  /** Stops the timer and writes what is waiting, trying until `deadlineMs` passes. */
  async stop(deadlineMs: number): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.checks.length + this.samples.length > 0 && Date.now() < deadlineMs) {
      await this.flush();
      if (this.checks.length + this.samples.length > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await this.flushing;
    const left = this.pending;
    if (left.checks + left.samples > 0) {
      this.drop('checks', left.checks);
      this.drop('samples', left.samples);
      this.logger.error('results not written before shutdown', left);
    }
  }

  add(outcome: CheckOutcome): void {
    if (this.checks.length >= this.limits.maxChecks) this.drop('checks', 1);
    else this.checks.push(outcome.result);
    const room = this.limits.maxSamples - this.samples.length;
    const count = outcome.samples.length;
    for (let i = 0; i < Math.min(room, count); i++)
      this.samples.push({ targetId: outcome.result.targetId, sample: outcome.samples[i] });
    if (count > room) this.drop('samples', count - Math.max(room, 0));
    this.metrics.bufferDepth.set({ kind: 'checks' }, this.checks.length);
    this.metrics.bufferDepth.set({ kind: 'samples' }, this.samples.length);
    if (this.samples.length >= this.limits.batchSamples && !this.flushing && this.backoffMs === 0) void this.flush();
  }

  /** Writes everything waiting now; resolves when done or when the database refused (it is retried later). */
  flush(): Promise<void> {
    if (!this.flushing && this.checks.length + this.samples.length === 0) return Promise.resolve();
    if (!this.flushing) {
      this.flushing = inSpan('results.write', () => this.writeAll()).finally(() => {
        this.flushing = undefined;
      });
    }
    return this.flushing;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.flush().finally(() => this.schedule(this.backoffMs || this.limits.flushIntervalMs));
    }, ms);
    this.timer.unref();
  }

  private async writeAll(): Promise<void> {
    const checks = this.checks;
    const samples = this.samples;
    if (checks.length === 0 && samples.length === 0) return;
    this.checks = [];
    this.samples = [];
    try {
      await this.withPartitions(checks, samples, async () => {
        if (checks.length > 0) await this.writeChecks(checks);
        if (samples.length > 0) await this.writeSamples(samples);
      });
      this.backoffMs = 0;
      this.metrics.written.inc({ kind: 'checks' }, checks.length);
      this.metrics.written.inc({ kind: 'samples' }, samples.length);
    } catch (error) {
      if (isDatabaseUnavailable(error) || (error as { problem?: { status?: number } }).problem?.status === 503) {
        // Put the batch back in front of what arrived meanwhile, within the bounds.
        this.checks = this.requeue(checks, this.checks, this.limits.maxChecks, 'checks');
        this.samples = this.requeue(samples, this.samples, this.limits.maxSamples, 'samples');
        this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(250, this.backoffMs * 2));
      } else {
        this.drop('checks', checks.length);
        this.drop('samples', samples.length);
        this.logger.error('a batch of results could not be stored and was dropped', {
          error: error instanceof Error ? error.message : String(error),
          checks: checks.length,
          samples: samples.length,
        });
      }
    } finally {
      this.metrics.bufferDepth.set({ kind: 'checks' }, this.checks.length);
      this.metrics.bufferDepth.set({ kind: 'samples' }, this.samples.length);
    }
  }

  private requeue<T>(batch: T[], arrived: T[], max: number, kind: 'checks' | 'samples'): T[] {
    const merged = batch.concat(arrived);
    if (merged.length <= max) return merged;
    // The oldest results go first: what is kept is the most recent window.
    this.drop(kind, merged.length - max);
    return merged.slice(merged.length - max);
  }

  /** Runs `write`; if a day partition is missing, creates the ones the batch needs and runs it again. */
  private async withPartitions(
    checks: CheckResult[],
    samples: PendingSample[],
    write: () => Promise<void>,
  ): Promise<void> {
    const days = new Set<number>();
    for (const check of checks) days.add(dayOf(check.startedAt));
    for (const { sample } of samples) days.add(dayOf(sample.timestampMs));
    const missing = [...days].filter((day) => !this.knownDays.has(day));
    if (missing.length > 0) {
      for (const day of missing) await ensurePartitions(this.query, day, day);
      for (const day of missing) this.knownDays.add(day);
    }
    try {
      await write();
    } catch (error) {
      if ((error as { code?: string }).code !== PARTITION_MISSING) throw error;
      // A partition dropped under us (retention elsewhere): forget what we knew and create them again.
      this.knownDays.clear();
      for (const day of days) await ensurePartitions(this.query, day, day);
      await write();
    }
  }

  private async writeChecks(checks: CheckResult[]): Promise<void> {
    await this.query(
      `INSERT INTO checks (target_id, started_at, duration_ms, up, http_status, error_kind, error)
       SELECT t, to_timestamp(s / 1000.0), d, u, h, k, e
         FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::bool[], $5::int2[], $6::text[], $7::text[]) AS x(t, s, d, u, h, k, e)`,
      [
        checks.map((check) => check.targetId),
        checks.map((check) => check.startedAt),
        checks.map((check) => check.durationMs),
        checks.map((check) => check.up),
        checks.map((check) => check.httpStatus ?? null),
        checks.map((check) => check.errorKind ?? null),
        checks.map((check) => check.error ?? null),
      ],
    );
  }

  private async writeSamples(samples: PendingSample[]): Promise<void> {
    const keys = samples.map(({ targetId, sample }) => `${targetId}\u0000${seriesKey(sample.name, sample.labels)}`);
    await this.resolveSeries(samples, keys);
    const ids = keys.map((key) => this.seriesIds.get(key) as number);
    await this.query(
      `INSERT INTO samples (series_id, ts, value)
       SELECT s, to_timestamp(t / 1000.0), v FROM unnest($1::int8[], $2::float8[], $3::float8[]) AS x(s, t, v)`,
      [ids, samples.map(({ sample }) => sample.timestampMs), samples.map(({ sample }) => sample.value)],
    );
  }

  /** Finds or creates the series of every key not yet cached, in one statement per thousand. */
  private async resolveSeries(samples: PendingSample[], keys: string[]): Promise<void> {
    const missing = new Map<string, PendingSample>();
    keys.forEach((key, index) => {
      if (!this.seriesIds.has(key) && !missing.has(key)) missing.set(key, samples[index]);
    });
    const entries = [...missing.entries()];
    for (let start = 0; start < entries.length; start += 1000) {
      const chunk = entries.slice(start, start + 1000);
      const hashes = chunk.map(([key]) =>
        createHash('sha1')
          .update(key.slice(key.indexOf('\u0000') + 1))
          .digest('hex'),
      );
      const rows = (await this.query(
        `INSERT INTO series (target_id, name, labels, hash)
         SELECT t, n, l, decode(h, 'hex') FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[]) AS x(t, n, l, h)
         ON CONFLICT (target_id, hash) DO UPDATE SET name = EXCLUDED.name
         RETURNING id, target_id, encode(hash, 'hex') AS hash`,
        [
          chunk.map(([, pending]) => pending.targetId),
          chunk.map(([, pending]) => pending.sample.name),
          chunk.map(([, pending]) => JSON.stringify(pending.sample.labels)),
          hashes,
        ],
      )) as Array<{ id: string; target_id: string; hash: string }>;
      const byHash = new Map(rows.map((row) => [`${row.target_id}/${row.hash}`, Number(row.id)]));
      chunk.forEach(([key, pending], index) => {
        const id = byHash.get(`${pending.targetId}/${hashes[index]}`);
        if (id !== undefined) this.seriesIds.set(key, id);
      });
    }
  }

  private drop(kind: 'checks' | 'samples', count: number): void {
    if (count <= 0) return;
    this.metrics.dropped.inc({ kind }, count);
    this.droppedSinceLog[kind] += count;
    const now = Date.now();
    if (now - this.lastDropLog >= DROP_LOG_EVERY_MS) {
      this.logger.warn('results dropped: the write buffer is full or a batch failed', { ...this.droppedSinceLog });
      this.droppedSinceLog = { checks: 0, samples: 0 };
      this.lastDropLog = now;
    }
  }
}
