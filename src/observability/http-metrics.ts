import { trace } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import type { MetricsRegistry } from '../metrics/registry';
import type { Logger } from './logger';
import { activeTraceIds } from './tracing';

/** Bucket bounds (seconds) for request durations: 1ms to 10s. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Requests that matched no route share one label value, so scanners cannot blow up the series count. */
const UNMATCHED = '<unmatched>';

const started = Symbol('startedAt');

/**
 * RED metrics and one access log line per request, labelled by route template (never the raw path), and the
 * server span named after the route. With tracing on, each observation carries the trace id as an exemplar.
 */
export function instrumentHttp(fastify: FastifyInstance, registry: MetricsRegistry, logger: Logger): void {
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code.',
    labelNames,
    registers: [registry],
    enableExemplars: registry.exemplars,
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by method, route template and status code.',
    labelNames,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [registry],
    enableExemplars: registry.exemplars,
  });

  fastify.addHook('onRequest', async (request) => {
    (request as unknown as Record<symbol, number>)[started] = performance.now();
    const route = request.routeOptions.url;
    if (route !== undefined) {
      const span = trace.getActiveSpan();
      span?.updateName(`${request.method} ${route}`);
      span?.setAttribute('http.route', route);
    }
  });

  fastify.addHook('onResponse', async (request, reply) => {
    const seconds = (performance.now() - (request as unknown as Record<symbol, number>)[started]) / 1000;
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? UNMATCHED,
      status_code: String(reply.statusCode),
    };
    const ids = registry.exemplars ? activeTraceIds() : undefined;
    if (ids) {
      // prom-client types exemplar labels like metric labels; any names are allowed.
      const exemplarLabels = { trace_id: ids.trace_id } as unknown as typeof labels;
      requests.inc({ labels, value: 1, exemplarLabels });
      duration.observe({ labels, value: seconds, exemplarLabels });
    } else {
      requests.inc(labels);
      duration.observe(labels, seconds);
    }
    // Building a line that the level drops would cost as much as writing it.
    if (logger.isInfoEnabled())
      logger.info('request', {
        ...labels,
        status_code: reply.statusCode,
        duration_ms: Math.round(seconds * 1e6) / 1000,
      });
  });
}
