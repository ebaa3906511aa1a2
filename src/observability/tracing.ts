/**
 * OpenTelemetry tracing, started before anything it instruments is loaded: `main.ts` imports this module
 * first. It reads OTEL_EXPORTER_OTLP_ENDPOINT itself (the validated configuration loads later, along with the
 * modules being instrumented); without it the SDK is not started at all and every span is a no-op.
 */
import { trace, type Span, type Tracer } from '@opentelemetry/api';

interface Started {
  shutdown(): Promise<void>;
}

let sdk: Started | undefined;

export function startTracing(env: NodeJS.ProcessEnv = process.env): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (sdk || !endpoint) return sdk !== undefined;
  // Required here, not imported above: with no endpoint none of this is even loaded.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } =
    require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { UndiciInstrumentation } =
    require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  /* eslint-enable @typescript-eslint/no-require-imports */
  // Traces only: Vitals' metrics are prom-client's, and its logs go through winston. Without these, the SDK
  // would also record OpenTelemetry metrics for every request and try to export them.
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  const started = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? 'vitals' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint }), { scheduledDelayMillis: 1000 })],
    instrumentations: [
      new HttpInstrumentation({
        // Vitals' own probes of /health and /metrics would drown the traces that matter.
        ignoreIncomingRequestHook: (request) => request.url === '/health' || request.url === '/metrics',
      }),
      new UndiciInstrumentation(),
      // Queries inside a traced request or check only; pool checkouts would be a third of all spans.
      new PgInstrumentation({ enhancedDatabaseReporting: false, requireParentSpan: true, ignoreConnectSpans: true }),
    ],
  });
  started.start();
  sdk = started;
  return true;
}

export function tracingStarted(): boolean {
  return sdk !== undefined;
}

/** Flushes and stops the SDK (on shutdown). */
export async function stopTracing(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
  sdk = undefined;
}

export const tracer: Tracer = trace.getTracer('vitals');

/** Runs `work` inside a span named `name`; the span records an exception and ends when `work` settles. */
export async function inSpan<T>(name: string, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: 2 });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The ids of the active span, for log lines and exemplars; undefined outside any span or with tracing off. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !trace.isSpanContextValid(context)) return undefined;
  return { trace_id: context.traceId, span_id: context.spanId };
}
