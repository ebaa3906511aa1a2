import { formatDuration, parseDuration } from '../common/duration';
import type { FieldError } from '../problem/problem';
import { denyReason, type Resolver } from '../security/ssrf';
import { REDACTED, type TargetCreate, type TargetPatch, type TargetValues } from './target';

export const MIN_INTERVAL_MS = 1000;
export const MAX_INTERVAL_MS = 86_400_000;
export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface RuleContext {
  denyCidrs: readonly string[];
  resolve: Resolver;
  /** Prefix of every error path: `body` for the API, `targets[2]` for TARGETS_FILE. */
  location: string;
}

export type Resolved = { values: TargetValues; errors?: undefined } | { values?: undefined; errors: FieldError[] };

/**
 * Applies `input` on top of `stored` (nothing for a new target) and checks the rules JSON Schema cannot express:
 * duration bounds, timeout ≤ interval, reserved label names, a compilable regex, the SSRF deny list.
 */
export async function resolveTarget(
  input: TargetCreate | TargetPatch,
  stored: TargetValues | undefined,
  context: RuleContext,
): Promise<Resolved> {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ path: `${context.location}.${field}`, message });

  const intervalMs =
    input.interval !== undefined ? parseDuration(input.interval) : (stored?.interval_ms ?? DEFAULT_INTERVAL_MS);
  if (intervalMs === undefined || intervalMs < MIN_INTERVAL_MS || intervalMs > MAX_INTERVAL_MS) {
    fail('interval', `must be between ${formatDuration(MIN_INTERVAL_MS)} and ${formatDuration(MAX_INTERVAL_MS)}`);
  }
  const timeoutMs =
    input.timeout !== undefined
      ? parseDuration(input.timeout)
      : (stored?.timeout_ms ?? Math.min(DEFAULT_TIMEOUT_MS, intervalMs ?? DEFAULT_TIMEOUT_MS));
  if (timeoutMs === undefined || timeoutMs < 1) {
    fail('timeout', 'must be at least 1ms');
  } else if (intervalMs !== undefined && timeoutMs > intervalMs) {
    const field = input.timeout !== undefined || input.interval === undefined ? 'timeout' : 'interval';
    fail(
      field,
      `the timeout (${formatDuration(timeoutMs)}) must not exceed the interval (${formatDuration(intervalMs)})`,
    );
  }

  for (const name of Object.keys(input.labels ?? {})) {
    if (name.startsWith('__')) fail(`labels.${name}`, 'names starting with "__" are reserved');
  }
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    if (/[\r\n\0]/.test(value)) fail(`headers.${name}`, 'must not contain line breaks or NUL');
  }
  if (input.bodyMatch && 'regex' in input.bodyMatch) {
    try {
      new RegExp(input.bodyMatch.regex);
    } catch (error) {
      fail('bodyMatch.regex', `is not a valid regular expression: ${(error as Error).message}`);
    }
  }

  const url = input.url !== undefined ? keepStoredPassword(input.url, stored?.url) : stored?.url;
  if (input.url !== undefined && url !== undefined) {
    const why = urlProblem(url) ?? (await denyReason(url, context.denyCidrs, context.resolve));
    if (why) fail('url', why);
  }

  if (errors.length > 0 || url === undefined || intervalMs === undefined || timeoutMs === undefined) {
    return { errors };
  }
  return {
    values: {
      name: input.name ?? stored?.name ?? '',
      kind: input.kind ?? stored?.kind ?? 'http',
      url,
      interval_ms: intervalMs,
      timeout_ms: timeoutMs,
      labels: input.labels ?? stored?.labels ?? {},
      method: input.method ?? stored?.method ?? 'GET',
      expected_status: input.expectedStatus === undefined ? (stored?.expected_status ?? null) : input.expectedStatus,
      body_match: input.bodyMatch === undefined ? (stored?.body_match ?? null) : input.bodyMatch,
      headers: input.headers ? keepStoredHeaders(input.headers, stored?.headers) : (stored?.headers ?? {}),
      sample_limit: input.sampleLimit ?? stored?.sample_limit ?? 0,
      enabled: input.enabled ?? stored?.enabled ?? true,
    },
  };
}

function urlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http or https URL';
  if (!parsed.hostname) return 'must name a host';
  return undefined;
}

/** A URL echoed back with its password redacted keeps the stored password. */
function keepStoredPassword(url: string, storedUrl: string | undefined): string {
  if (!storedUrl) return url;
  try {
    const incoming = new URL(url);
    if (decodeURIComponent(incoming.password) !== REDACTED) return url;
    incoming.password = new URL(storedUrl).password;
    return incoming.toString();
  } catch {
    return url;
  }
}

/** Header values echoed back redacted keep their stored value. */
function keepStoredHeaders(
  headers: Record<string, string>,
  stored: Record<string, string> | undefined,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name,
      value === REDACTED && stored?.[name] !== undefined ? stored[name] : value,
    ]),
  );
}
