/**
 * Child process of bench/overhead.ts: the OTLP/gRPC trace collector of the tests (test/support/otlp-collector.ts)
 * on 127.0.0.1, in a process of its own so that decoding spans does not hold up autocannon's event loop in the
 * benchmark process. It keeps only counts (spans by name), not the spans, so memory stays flat however many
 * arrive, and answers the parent over the IPC channel. It stops when told to or when the parent goes away.
 */
import { OtlpCollector } from '../test/support/otlp-collector';

/** From the parent. */
export type CollectorRequest = { type: 'count' } | { type: 'stop' };

/** To the parent. */
export type CollectorMessage =
  | { type: 'listening'; port: number }
  | {
      type: 'count';
      /** Every span received since the start. */
      spans: number;
      byName: Record<string, number>;
      /** CPU time this process has used, user + system, in milliseconds. */
      cpuMs: number;
    };

const DRAIN_EVERY_MS = 250;

const send = (message: CollectorMessage) => process.send?.(message);

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench/overhead-collector.ts runs as a child of bench/overhead.ts (IPC)');
  const collector = new OtlpCollector();
  await collector.start();

  let total = 0;
  const byName = new Map<string, number>();
  const drain = () => {
    for (const span of collector.spans) byName.set(span.name, (byName.get(span.name) ?? 0) + 1);
    total += collector.spans.length;
    collector.spans.length = 0;
  };
  const timer = setInterval(drain, DRAIN_EVERY_MS);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    void collector.stop().finally(() => process.exit(0));
  };
  process.on('message', (request: CollectorRequest) => {
    if (request.type === 'stop') return stop();
    drain();
    const cpu = process.cpuUsage();
    send({ type: 'count', spans: total, byName: Object.fromEntries(byName), cpuMs: (cpu.user + cpu.system) / 1000 });
  });
  // The parent went away (however it ended): nothing is left listening.
  process.on('disconnect', stop);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  send({ type: 'listening', port: collector.port });
}

main().catch((error: unknown) => {
  process.stderr.write(`overhead-collector: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  process.exit(1);
});
