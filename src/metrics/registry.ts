import { collectDefaultMetrics, Registry, type RegistryContentType } from 'prom-client';

/**
 * Vitals' own metrics registry, one per application instance (several instances in one process, as in tests,
 * must not collide), with prom-client's default process metrics. With tracing on it speaks OpenMetrics, the
 * format that carries exemplars (trace ids on observations).
 */
export class MetricsRegistry extends Registry<RegistryContentType> {
  constructor(readonly exemplars = false) {
    super();
    if (exemplars) this.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    collectDefaultMetrics({ register: this });
  }
}
