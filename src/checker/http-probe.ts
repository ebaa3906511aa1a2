import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { createGunzip } from 'node:zlib';
import { Agent, request } from 'undici';
import { cidrMatcher } from '../security/cidr';
import { VERSION } from '../version';
import { ProbeError, type ErrorKind } from './check-result';

export const USER_AGENT = `Vitals/${VERSION}`;
const MAX_REDIRECTS = 5;

export interface ProbeRequest {
  url: string;
  method: 'GET' | 'HEAD' | 'POST';
  headers: Record<string, string>;
  timeoutMs: number;
  /** Read the body (up to `maxBodyBytes`) and return it; otherwise it is discarded. */
  readBody: boolean;
  maxBodyBytes: number;
}

export interface ProbeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body?: string;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * Outgoing HTTP for checks and scrapes: keep-alive pools (one undici Agent for all targets), a deadline per
 * check, redirects followed by hand so that every hop is checked against TARGET_DENY_CIDRS, and name lookups
 * that refuse denied addresses before a connection is made.
 */
export class HttpProbe {
  private readonly agent: Agent;
  private readonly denied: (address: string) => string | undefined;
  /** Verdicts on literal hosts, so the deny list is not evaluated again for every check. */
  private readonly hostVerdicts = new Map<string, string | null>();

  constructor(denyCidrs: readonly string[]) {
    this.denied = cidrMatcher(denyCidrs);
    const lookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error) return callback(error, []);
        const denied = addresses.map((entry) => ({ entry, cidr: this.denied(entry.address) }));
        const blocked = denied.find((item) => item.cidr);
        if (blocked) {
          return callback(
            new ProbeError(
              'connect',
              `${hostname} resolves to ${blocked.entry.address}, inside the denied range ${blocked.cidr}`,
            ),
            [],
          );
        }
        if (options.all) return callback(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      });
    };
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      connections: 64,
      pipelining: 1,
      connect: { lookup } as object,
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Sends the request and reads what was asked for; throws ProbeError with the failure's kind. */
  async fetch(probe: ProbeRequest, signal: AbortSignal): Promise<ProbeResponse> {
    let url = probe.url;
    for (let hop = 0; ; hop++) {
      this.checkAddress(url);
      const response = await this.send(url, probe, signal);
      const location = response.headers.location;
      if (
        response.statusCode >= 300 &&
        response.statusCode < 400 &&
        typeof location === 'string' &&
        hop < MAX_REDIRECTS
      ) {
        await response.body.dump().catch(() => undefined);
        url = new URL(location, url).toString();
        continue;
      }
      const result: ProbeResponse = { status: response.statusCode, headers: response.headers };
      if (probe.readBody && probe.method !== 'HEAD') {
        result.body = await readLimited(response, probe.maxBodyBytes);
      } else {
        await response.body.dump({ limit: probe.maxBodyBytes }).catch(() => undefined);
      }
      return result;
    }
  }

  private checkAddress(url: string): void {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new ProbeError('connect', `refusing to follow ${parsed.protocol} URL`);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    let verdict = this.hostVerdicts.get(host);
    if (verdict === undefined) {
      verdict = isIP(host) ? (this.denied(host) ?? null) : null;
      if (this.hostVerdicts.size > 100_000) this.hostVerdicts.clear();
      this.hostVerdicts.set(host, verdict);
    }
    if (verdict !== null) throw new ProbeError('connect', `${host} is inside the denied range ${verdict}`);
  }

  private async send(url: string, probe: ProbeRequest, signal: AbortSignal) {
    try {
      return await request(url, {
        dispatcher: this.agent,
        method: probe.method,
        headers: { 'user-agent': USER_AGENT, ...probe.headers },
        signal,
        headersTimeout: probe.timeoutMs,
        bodyTimeout: probe.timeoutMs,
      });
    } catch (error) {
      throw classify(error, signal);
    }
  }
}

async function readLimited(response: Awaited<ReturnType<typeof request>>, limit: number): Promise<string> {
  const gzip = String(response.headers['content-encoding'] ?? '').toLowerCase() === 'gzip';
  const source: AsyncIterable<Buffer> = gzip ? response.body.pipe(createGunzip()) : response.body;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > limit) {
        response.body.destroy();
        throw new ProbeError('too_large', `the body is larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof ProbeError) throw error;
    throw classify(error, undefined, gzip ? 'body' : undefined);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|HOSTNAME_MISMATCH)/;

/** The kind of a failed request, from the error undici or Node raised. */
export function classify(error: unknown, signal?: AbortSignal, fallback?: ErrorKind): ProbeError {
  if (error instanceof ProbeError) return error;
  const { code, name, message, cause } = (error ?? {}) as {
    code?: string;
    name?: string;
    message?: string;
    cause?: unknown;
  };
  if (cause instanceof ProbeError) return cause;
  const text = message ?? String(error);
  if (
    signal?.aborted ||
    name === 'AbortError' ||
    name === 'TimeoutError' ||
    /Timeout/.test(code ?? '') ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new ProbeError('timeout', 'timed out');
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return new ProbeError('dns', text);
  if (code && TLS_CODE.test(code)) return new ProbeError('tls', text);
  if (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'EPIPE' ||
    code === 'UND_ERR_SOCKET' ||
    code === 'UND_ERR_CLOSED'
  ) {
    return new ProbeError('connect', text);
  }
  if (cause) return classify(cause, signal, fallback);
  return new ProbeError(fallback ?? 'internal', text);
}
