import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { hostname } from 'node:os';
import { CONFIG, type Config } from '../config/config';
import { Database } from '../database/database.service';
import { LOGGER, type Logger } from '../observability/logger';
import type { TargetRow } from '../targets/target';
import { TargetsRepository } from '../targets/targets.repository';
import { CheckerMetrics } from './checker-metrics';
import { HttpProbe } from './http-probe';
import { Leases } from './leases';
import { ResultWriter } from './result-writer';
import { Scheduler } from './scheduler';
import { checkTarget, type CheckOutcome, type CheckTarget } from './target-check';

/** How often ownership and target changes are looked at: changes take effect within about this long. */
const LOOP_MS = 1000;
/** In-flight checks get this long to finish on shutdown before their results are given up. */
const SHUTDOWN_GRACE_MS = 10_000;
/** Ownership is trusted until this long before the lease would expire in the database. */
const LEASE_MARGIN_MS = 1000;

export function toCheckTarget(row: TargetRow): CheckTarget {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    url: row.url,
    intervalMs: row.interval_ms,
    timeoutMs: row.timeout_ms,
    labels: row.labels,
    method: row.method,
    expectedStatus: row.expected_status,
    bodyMatch: row.body_match,
    headers: row.headers,
    sampleLimit: row.sample_limit,
    version: row.updated_at.toISOString(),
  };
}

/**
 * Runs the checks: probes and the result writer in every role (the API's "check now" uses them too), and, in
 * the `all` and `checker` roles, the scheduler over the targets this process owns.
 */
@Injectable()
export class CheckerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly probe: HttpProbe;
  readonly writer: ResultWriter;
  private readonly scheduler: Scheduler<CheckTarget>;
  private readonly leases: Leases;
  private loop?: NodeJS.Timeout;
  private stopping = false;
  private seenVersion = '';
  private leaseValidUntil = 0;
  private lastLoopError = '';
  private ticks = 0;
  private readonly rebalanceEvery: number;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly db: Database,
    private readonly targets: TargetsRepository,
    private readonly metrics: CheckerMetrics,
  ) {
    this.probe = new HttpProbe(config.targetDenyCidrs);
    this.writer = new ResultWriter((sql, parameters) => db.query(sql, parameters), metrics, logger, {
      maxChecks: config.checkerBufferChecks,
      maxSamples: config.checkerBufferSamples,
      batchSamples: 20_000,
      flushIntervalMs: 1000,
    });
    this.scheduler = new Scheduler<CheckTarget>(config.checkerConcurrency, {
      run: (target) => this.runScheduled(target),
      skipped: () => this.metrics.skipped.inc(),
      lag: (ms) => this.metrics.lag.observe(ms / 1000),
    });
    const id = config.checkerId ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.leases = new Leases(db, id, config.checkerLeaseTtlMs);
    this.rebalanceEvery = Math.min(5, Math.max(1, Math.floor(config.checkerLeaseTtlMs / 2 / LOOP_MS)));
  }

  get checkerId(): string {
    return this.leases.checkerId;
  }

  onApplicationBootstrap(): void {
    this.writer.start();
    if (this.config.role === 'api') return;
    this.scheduler.start();
    this.db.onConnected(() => void this.tick());
  }

  /** Runs one check now and writes its result; used by `POST /api/v1/targets/{id}/check`. */
  async checkNow(row: TargetRow): Promise<CheckOutcome> {
    const outcome = await this.check(toCheckTarget(row));
    await this.writer.flush();
    return outcome;
  }

  private async check(target: CheckTarget): Promise<CheckOutcome> {
    const outcome = await checkTarget(this.probe, target, { maxBodyBytes: this.config.scrapeBodyLimit });
    const { result } = outcome;
    this.metrics.checks.inc({ target: target.name, result: result.up ? 'up' : 'down' });
    this.metrics.targetUp.set({ target: target.name }, result.up ? 1 : 0);
    this.metrics.checkDuration.observe({ kind: target.kind }, result.durationMs / 1000);
    this.writer.add(outcome);
    return outcome;
  }

  private async runScheduled(target: CheckTarget): Promise<void> {
    // Without a fresh lease another process may already own this target: do not risk a duplicate check.
    if (performance.now() > this.leaseValidUntil) return;
    await this.check(target);
  }

  /** One round of the ownership loop: heartbeat, rebalance, pick up target changes. */
  private async tick(): Promise<void> {
    if (this.stopping) return;
    try {
      const before = performance.now();
      await this.leases.heartbeat();
      this.leaseValidUntil = before + this.config.checkerLeaseTtlMs - LEASE_MARGIN_MS;
      // Rebalancing counts every target: every few seconds is enough, and within half a lease TTL.
      const rebalance = this.ticks++ % this.rebalanceEvery === 0;
      const { taken, released } = rebalance
        ? await this.leases.rebalance((ids) => this.scheduler.remove(ids))
        : { taken: 0, released: 0 };
      const version = await this.leases.targetsVersion();
      if (taken > 0 || released > 0 || version !== this.seenVersion) {
        const owned = await this.targets.listOwnedBy(this.leases.checkerId);
        this.scheduler.sync(owned.map(toCheckTarget));
        this.metrics.ownedTargets.set(owned.length);
        this.seenVersion = version;
        if (taken > 0 || released > 0)
          this.logger.info('checker targets changed', { taken, released, owned: owned.length });
      }
      this.lastLoopError = '';
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastLoopError)
        this.logger.warn('checker could not reach the database; checks go on while the lease lasts', {
          error: message,
        });
      this.lastLoopError = message;
    } finally {
      if (!this.stopping) this.loop = setTimeout(() => void this.tick(), LOOP_MS);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.loop);
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    await Promise.race([
      this.scheduler.stop(),
      new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref()),
    ]);
    await this.writer.stop(deadline + 5000);
    if (this.config.role !== 'api') await this.leases.release().catch(() => undefined);
    await this.probe.close();
  }
}
