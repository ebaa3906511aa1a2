import { Agent, request } from 'undici';
import { VERSION } from '../../version';
import { YouTrackError } from './types';
import { isRecord } from './values';

export interface HttpSettings {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  connections: number;
}

/** Longest wait a Retry-After header may ask for; anything longer is cut to this. */
export const MAX_RETRY_AFTER_MS = 120_000;
const MAX_BACKOFF_MS = 30_000;
const ERROR_TEXT_LIMIT = 200;

/**
 * GETs JSON from YouTrack over one keep-alive pool: Bearer token, a deadline per attempt, retries with exponential
 * backoff and jitter on 429 (honouring Retry-After), 5xx, timeouts and network errors. Errors name the request
 * path, never the token.
 */
export class YouTrackHttp {
  private readonly agent: Agent;
  private closed = false;

  constructor(private readonly settings: HttpSettings) {
    this.agent = new Agent({ connections: settings.connections, keepAliveTimeout: 10_000 });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.agent.close().catch(() => undefined);
  }

  /**
   * @param path the API path, e.g. `/api/issues`, appended to the base URL
   * @param what how errors describe the request, e.g. `page 3`
   */
  async getJson(path: string, params: Record<string, string>, what: string): Promise<unknown> {
    const url = `${this.settings.baseUrl}${path}?${new URLSearchParams(params).toString()}`;
    const label = `GET ${path} (${what})`;
    const { maxRetries } = this.settings;
    for (let attempt = 0; ; attempt++) {
      const attempts = attempt + 1;
      if (this.closed) throw new YouTrackError(`${label}: the import was stopped`, 'network');
      let outcome: Outcome;
      try {
        outcome = await this.attempt(url, label);
      } catch (error) {
        if (error instanceof YouTrackError) throw error;
        if (attempt >= maxRetries || this.closed) {
          throw new YouTrackError(
            this.redact(
              `${label}: ${describeNetworkError(error, this.settings.timeoutMs)} (gave up after ${attempts} attempts)`,
            ),
            'network',
          );
        }
        await sleep(this.backoff(attempt));
        continue;
      }
      if (outcome.retryable) {
        if (attempt >= maxRetries) {
          throw new YouTrackError(
            this.redact(`${label}: HTTP ${outcome.status}${outcome.detail} (gave up after ${attempts} attempts)`),
            'http',
            outcome.status,
          );
        }
        await sleep(outcome.retryAfterMs ?? this.backoff(attempt));
        continue;
      }
      return outcome.body;
    }
  }

  private async attempt(url: string, label: string): Promise<Outcome> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.settings.timeoutMs);
    try {
      const response = await request(url, {
        dispatcher: this.agent,
        method: 'GET',
        headers: {
          authorization: `Bearer ${this.settings.token}`,
          accept: 'application/json',
          'user-agent': `Vitals/${VERSION}`,
        },
        signal: controller.signal,
        headersTimeout: this.settings.timeoutMs,
        bodyTimeout: this.settings.timeoutMs,
      });
      const status = response.statusCode;
      const text = await response.body.text();
      if (status >= 200 && status < 300) {
        try {
          return { retryable: false, body: JSON.parse(text) as unknown };
        } catch (error) {
          throw new YouTrackError(
            this.redact(
              `${label}: the response is not valid JSON (${(error as Error).message}; ${text.length} characters, maybe truncated)`,
            ),
            'malformed',
            status,
          );
        }
      }
      const detail = errorDetail(text);
      if (status === 401 || status === 403) {
        throw new YouTrackError(
          this.redact(
            `${label}: YouTrack answered HTTP ${status}${detail}: the token (YOUTRACK_TOKEN) is wrong, expired or lacks permission to read these issues`,
          ),
          'auth',
          status,
        );
      }
      if (status === 429 || status >= 500) {
        return { retryable: true, status, detail, retryAfterMs: retryAfter(response.headers['retry-after']) };
      }
      throw new YouTrackError(this.redact(`${label}: YouTrack answered HTTP ${status}${detail}`), 'http', status);
    } finally {
      clearTimeout(timer);
    }
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(MAX_BACKOFF_MS, this.settings.retryBaseMs * 2 ** attempt);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /** Belt and braces: no message leaves this module with the token in it. */
  private redact(message: string): string {
    const { token } = this.settings;
    return token ? message.split(token).join('***') : message;
  }
}

type Outcome =
  | { retryable: false; body: unknown }
  | { retryable: true; status: number; detail: string; retryAfterMs: number | undefined };

/** Retry-After in seconds or as an HTTP date, capped; undefined when absent or unreadable. */
export function retryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** YouTrack's `{ error, error_description }` as " (description)", or nothing. */
function errorDetail(text: string): string {
  let description: string | undefined;
  try {
    const body = JSON.parse(text) as unknown;
    if (isRecord(body)) {
      const value = body.error_description ?? body.error;
      if (typeof value === 'string' && value.trim() !== '') description = value.trim();
    }
  } catch {
    // Not JSON: an HTML error page from a proxy, say. Not worth quoting.
  }
  if (!description) return '';
  return ` (${description.length > ERROR_TEXT_LIMIT ? `${description.slice(0, ERROR_TEXT_LIMIT)}…` : description})`;
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  const { name, code, message } = (error ?? {}) as { name?: string; code?: string; message?: string };
  if (name === 'AbortError' || code === 'UND_ERR_ABORTED' || /TIMEOUT/i.test(code ?? '')) {
    return `no complete answer within ${timeoutMs} ms`;
  }
  return `network error${code ? ` ${code}` : ''}: ${message ?? String(error)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
