import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server standing in for the services Vitals checks. Each path counts its requests; a path's
 * behaviour can be switched while a test runs (up, down, slow).
 */
export class TargetServer {
  private server?: Server;
  readonly hits = new Map<string, number>();
  /** The last 1,000 requests: path and W3C traceparent header. */
  readonly requests: Array<{ path: string; traceparent?: string }> = [];
  readonly mode = new Map<string, 'up' | 'down' | { delayMs: number }>();
  base = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      this.requests.push({ path, traceparent: request.headers.traceparent as string | undefined });
      if (this.requests.length > 1000) this.requests.shift();
      const mode = this.mode.get(path) ?? 'up';
      if (mode === 'down') {
        response.statusCode = 500;
        response.end('broken');
      } else if (typeof mode === 'object') {
        setTimeout(() => response.end('slow but fine'), mode.delayMs);
      } else if (path.startsWith('/metrics')) {
        response.setHeader('content-type', 'text/plain; version=0.0.4');
        response.end(
          `# TYPE requests_total counter\nrequests_total{path="/a"} ${this.hits.get(path)}\nrequests_total{path="/b"} 1\n`,
        );
      } else {
        response.end('ok');
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  total(): number {
    let sum = 0;
    for (const count of this.hits.values()) sum += count;
    return sum;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve) ?? resolve(undefined));
  }
}
