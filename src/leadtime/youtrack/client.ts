import { toImportedIssue } from './extract';
import { YouTrackHttp } from './http';
import { YouTrackError, type FieldMapping, type ImportedIssue } from './types';
import { isRecord } from './values';

export interface YouTrackOptions {
  /** YOUTRACK_URL, e.g. https://example.youtrack.cloud or https://host/youtrack (no trailing /api). */
  baseUrl: string;
  /** YOUTRACK_TOKEN, a permanent token sent as Bearer. */
  token: string;
  /** A YouTrack search query, e.g. `project: VIT`. */
  query: string;
  mapping: FieldMapping;
  /** Issues (and activities) per request; default 100. */
  pageSize?: number;
  /** Incremental sync: only issues updated at or after this instant. */
  updatedSince?: Date;
  /** Deadline of each request attempt, headers and body; default 30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt on 429, 5xx, timeouts and network errors; default 5. */
  maxRetries?: number;
  /** First backoff delay, doubled each retry, with jitter; default 500 ms. */
  retryBaseMs?: number;
  /** Issues whose activities are fetched at the same time; default 8. */
  concurrency?: number;
}

/** What `/api/issues` is asked for. Timestamps come as epoch milliseconds; `resolved` is null while open. */
export const ISSUE_FIELDS =
  'idReadable,summary,created,updated,resolved,customFields(name,$type,value(name,$type,minutes,presentation,login,fullName,id,text))';
export const ACTIVITY_CATEGORIES = 'CustomFieldCategory,SprintCategory';
export const ACTIVITY_FIELDS = 'id,timestamp,$type,category(id),field(name),added(name,$type),removed(name,$type)';

/**
 * How far before `updatedSince` the server-side `updated:` condition starts. YouTrack reads dates in a query in
 * the token owner's profile time zone (UTC-12 to UTC+14) and to the minute, so the condition is widened by a day
 * and the exact cut (`updated >= updatedSince`, in milliseconds) is made here.
 */
export const UPDATED_SINCE_MARGIN_MS = 24 * 60 * 60 * 1000;

const DEFAULTS = { pageSize: 100, timeoutMs: 30_000, maxRetries: 5, retryBaseMs: 500, concurrency: 8 };

/**
 * Imports the issues matching the query, one array per page of `/api/issues` (pages left empty by the incremental
 * cut are skipped). Pages are requested with explicit `$top`/`$skip` (YouTrack returns 42 issues without `$top`)
 * until one comes back short; every issue's activities are read too, a few issues at a time. Throws YouTrackError.
 */
export async function* fetchIssues(options: YouTrackOptions): AsyncGenerator<ImportedIssue[]> {
  const settings = settle(options);
  const http = new YouTrackHttp({ ...settings, connections: settings.concurrency + 1 });
  const query = buildQuery(options.query, options.updatedSince);
  const since = options.updatedSince?.getTime();
  const seen = new Set<string>();
  try {
    for (let page = 1, skip = 0; ; page++, skip += settings.pageSize) {
      const what = `page ${page}, $skip=${skip}`;
      const body = await http.getJson(
        '/api/issues',
        { query, fields: ISSUE_FIELDS, $top: String(settings.pageSize), $skip: String(skip) },
        what,
      );
      if (!Array.isArray(body)) {
        throw new YouTrackError(`GET /api/issues (${what}): expected a JSON array of issues`, 'malformed');
      }
      const wanted = body.filter((raw) => {
        const key = issueKey(raw, what);
        // Paging by $skip can show an issue twice when the result set shifts under it: keep the first.
        if (seen.has(key)) return false;
        seen.add(key);
        if (since === undefined) return true;
        const updated = isRecord(raw) && typeof raw.updated === 'number' ? raw.updated : raw.created;
        return typeof updated !== 'number' || updated >= since;
      });
      const issues = await mapLimit(wanted, settings.concurrency, async (raw) => {
        const key = issueKey(raw, what);
        const activities = await fetchActivities(http, key, settings.pageSize);
        try {
          return toImportedIssue(raw, activities, options.mapping);
        } catch (error) {
          if (error instanceof YouTrackError) {
            throw new YouTrackError(`GET /api/issues (${what}): ${error.message}`, error.kind, error.status);
          }
          throw error;
        }
      });
      if (issues.length > 0) yield issues;
      if (body.length < settings.pageSize) return;
    }
  } finally {
    await http.close();
  }
}

/**
 * The query sent to YouTrack: the configured one, the widened `updated:` condition for incremental syncs, and a
 * stable order (`sort by: created asc`, unless the query sorts itself) so that `$skip` paging does not skip or
 * repeat issues that are updated while the import runs.
 */
export function buildQuery(query: string, updatedSince?: Date): string {
  let base = query.trim();
  const parts: string[] = [];
  if (base !== '') {
    // Terms bind tighter than `or`: keep the configured query whole.
    if (/\bor\b/i.test(base)) base = `(${base})`;
    parts.push(base);
  }
  if (updatedSince) parts.push(`updated: ${minute(new Date(updatedSince.getTime() - UPDATED_SINCE_MARGIN_MS))} .. *`);
  if (!/\bsort\s+by\s*:/i.test(query)) parts.push('sort by: created asc');
  return parts.join(' ');
}

/** `YYYY-MM-DDTHH:mm` in UTC, rounded down to the minute. */
function minute(date: Date): string {
  return date.toISOString().slice(0, 16);
}

async function fetchActivities(http: YouTrackHttp, key: string, pageSize: number): Promise<unknown[]> {
  const path = `/api/issues/${encodeURIComponent(key)}/activities`;
  const all: unknown[] = [];
  for (let page = 1, skip = 0; ; page++, skip += pageSize) {
    const what = `page ${page}, $skip=${skip}`;
    const body = await http.getJson(
      path,
      { categories: ACTIVITY_CATEGORIES, fields: ACTIVITY_FIELDS, $top: String(pageSize), $skip: String(skip) },
      what,
    );
    if (!Array.isArray(body)) {
      throw new YouTrackError(`GET ${path} (${what}): expected a JSON array of activities`, 'malformed');
    }
    all.push(...body);
    if (body.length < pageSize) return all;
  }
}

function issueKey(raw: unknown, what: string): string {
  const key = isRecord(raw) ? raw.idReadable : undefined;
  if (typeof key !== 'string' || key === '') {
    throw new YouTrackError(`GET /api/issues (${what}): an issue without idReadable`, 'malformed');
  }
  return key;
}

function settle(options: YouTrackOptions) {
  let url: URL;
  try {
    url = new URL(options.baseUrl);
  } catch {
    throw new Error('YouTrack: YOUTRACK_URL is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('YouTrack: YOUTRACK_URL must be http(s)');
  if (!options.token) throw new YouTrackError('YouTrack: YOUTRACK_TOKEN is empty', 'auth');
  if (options.updatedSince && Number.isNaN(options.updatedSince.getTime())) {
    throw new Error('YouTrack: updatedSince is not a valid date');
  }
  const count = (name: keyof typeof DEFAULTS, min: number): number => {
    const value = options[name] ?? DEFAULTS[name];
    if (!Number.isInteger(value) || value < min) throw new Error(`YouTrack: ${name} must be an integer ≥ ${min}`);
    return value;
  };
  return {
    baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    token: options.token,
    pageSize: count('pageSize', 1),
    timeoutMs: count('timeoutMs', 1),
    maxRetries: count('maxRetries', 0),
    retryBaseMs: count('retryBaseMs', 0),
    concurrency: count('concurrency', 1),
  };
}

/** Runs `task` over `items`, at most `limit` at a time, in order; the first failure is thrown once all settle. */
async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
