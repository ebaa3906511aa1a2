import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsRegistry } from '../metrics/registry';

/** Bucket bounds (seconds) for check durations: 1ms to 30s. */
export const CHECK_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Bucket bounds (seconds) for how late a check starts against its slot. */
export const SCHEDULING_LAG_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The checker's own metrics, on Vitals' /metrics. */
@Injectable()
export class CheckerMetrics {
  readonly checks: Counter<'target' | 'result'>;
  readonly checkDuration: Histogram<'kind'>;
  readonly targetUp: Gauge<'target'>;
  readonly lag: Histogram;
  readonly skipped: Counter;
  readonly bufferDepth: Gauge<'kind'>;
  readonly dropped: Counter<'kind'>;
  readonly written: Counter<'kind'>;
  readonly ownedTargets: Gauge;

  constructor(registry: MetricsRegistry) {
    const registers = [registry];
    this.checks = new Counter({
      name: 'vitals_checks_total',
      help: 'Checks run, by target and result (up or down).',
      labelNames: ['target', 'result'],
      registers,
    });
    this.checkDuration = new Histogram({
      name: 'vitals_check_duration_seconds',
      help: 'How long checks take, by target kind.',
      labelNames: ['kind'],
      buckets: CHECK_DURATION_BUCKETS,
      registers,
    });
    this.targetUp = new Gauge({
      name: 'vitals_target_up',
      help: '1 when the last check of the target was up, 0 when it was down.',
      labelNames: ['target'],
      registers,
    });
    this.lag = new Histogram({
      name: 'vitals_checker_scheduling_lag_seconds',
      help: 'How late checks start against their scheduled slot.',
      buckets: SCHEDULING_LAG_BUCKETS,
      registers,
    });
    this.skipped = new Counter({
      name: 'vitals_checker_skipped_runs_total',
      help: 'Runs skipped because the previous check of the same target was still going.',
      registers,
    });
    this.bufferDepth = new Gauge({
      name: 'vitals_checker_buffer_depth',
      help: 'Results waiting to be written, by kind (checks, samples).',
      labelNames: ['kind'],
      registers,
    });
    this.dropped = new Counter({
      name: 'vitals_checker_dropped_results_total',
      help: 'Results dropped because the write buffer was full or a batch could not be stored, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.written = new Counter({
      name: 'vitals_checker_written_total',
      help: 'Results written to the database, by kind (checks, samples).',
      labelNames: ['kind'],
      registers,
    });
    this.ownedTargets = new Gauge({
      name: 'vitals_checker_targets',
      help: 'Targets this process currently checks.',
      registers,
    });
  }
}
