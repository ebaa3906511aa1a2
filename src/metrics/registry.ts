import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * Vitals' own metrics registry, one per application instance (several instances in one process, as in tests,
 * must not collide), with prom-client's default process metrics.
 */
export class MetricsRegistry extends Registry {
  constructor() {
    super();
    collectDefaultMetrics({ register: this });
  }
}
