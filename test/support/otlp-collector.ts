import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { resolve } from 'node:path';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  service: string;
  attributes: Record<string, string | number | boolean>;
}

interface RawValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
}
interface RawKeyValue {
  key: string;
  value?: RawValue;
}
interface RawRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: RawKeyValue[] };
    scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>;
  }>;
}

const toHex = (bytes: unknown) => (Buffer.isBuffer(bytes) ? bytes.toString('hex') : '');
const toAttributes = (list: RawKeyValue[] = []) =>
  Object.fromEntries(
    list.map(({ key, value }) => [
      key,
      value?.stringValue ??
        value?.boolValue ??
        (value?.intValue !== undefined ? Number(value.intValue) : value?.doubleValue) ??
        '',
    ]),
  ) as Record<string, string | number | boolean>;

/** An OTLP/gRPC trace collector on 127.0.0.1 that keeps every span it receives. */
export class OtlpCollector {
  readonly spans: ReceivedSpan[] = [];
  private server?: grpc.Server;
  port = 0;

  async start(): Promise<void> {
    const definition = protoLoader.loadSync(resolve(__dirname, '..', 'fixtures', 'otlp', 'trace_service.proto'), {
      keepCase: false,
      longs: String,
      bytes: Buffer,
      defaults: false,
      oneofs: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      opentelemetry: { proto: { collector: { trace: { v1: { TraceService: grpc.ServiceClientConstructor } } } } };
    };
    const service = loaded.opentelemetry.proto.collector.trace.v1.TraceService.service;
    this.server = new grpc.Server();
    this.server.addService(service, {
      Export: (call: grpc.ServerUnaryCall<RawRequest, object>, callback: grpc.sendUnaryData<object>) => {
        for (const resourceSpans of call.request.resourceSpans ?? []) {
          const serviceName = String(toAttributes(resourceSpans.resource?.attributes)['service.name'] ?? '');
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              this.spans.push({
                traceId: toHex(span.traceId),
                spanId: toHex(span.spanId),
                parentSpanId: toHex(span.parentSpanId),
                name: String(span.name ?? ''),
                kind: Number(span.kind ?? 0),
                service: serviceName,
                attributes: toAttributes(span.attributes as RawKeyValue[]),
              });
            }
          }
        }
        callback(null, {});
      },
    });
    this.port = await new Promise<number>((done, fail) =>
      this.server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? fail(error) : done(port),
      ),
    );
  }

  async stop(): Promise<void> {
    await new Promise<void>((done) => this.server?.tryShutdown(() => done()) ?? done());
  }
}
