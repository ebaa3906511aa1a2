import type { components } from '../generated/openapi';
import { formatDuration } from '../common/duration';

export type Target = components['schemas']['Target'];
export type TargetCreate = components['schemas']['TargetCreate'];
export type TargetPatch = components['schemas']['TargetPatch'];
export type TargetPage = components['schemas']['TargetPage'];
export type TargetKind = components['schemas']['TargetKind'];
export type BodyMatch = components['schemas']['BodyMatch'];
export type Origin = Target['origin'];

/** A row of the `targets` table. */
export interface TargetRow {
  id: string;
  name: string;
  kind: TargetKind;
  url: string;
  interval_ms: number;
  timeout_ms: number;
  labels: Record<string, string>;
  method: Target['method'];
  expected_status: number[] | null;
  body_match: BodyMatch | null;
  headers: Record<string, string>;
  sample_limit: number;
  enabled: boolean;
  origin: Origin;
  created_at: Date;
  updated_at: Date;
}

/** What the service stores: every field resolved, durations in milliseconds. */
export type TargetValues = Omit<TargetRow, 'id' | 'origin' | 'created_at' | 'updated_at'>;

export const REDACTED = '<redacted>';

// Header names whose values are credentials; shown back as REDACTED.
const SECRET_HEADER =
  /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-token|private-token)$|token|secret|password/i;

/** The URL with any password replaced, as shown in the API and in logs. */
export function redactUrl(url: string): string {
  if (!url.includes('@')) return url;
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = REDACTED;
    return parsed.toString();
  } catch {
    return url;
  }
}

export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  if (Object.keys(headers).length === 0) return headers;
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, SECRET_HEADER.test(name) ? REDACTED : value]),
  );
}

/** A stored row as the API shows it: durations as text, secrets redacted. */
export function toTarget(row: TargetRow): Target {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    url: redactUrl(row.url),
    interval: formatDuration(row.interval_ms),
    timeout: formatDuration(row.timeout_ms),
    labels: row.labels,
    enabled: row.enabled,
    method: row.method,
    ...(row.expected_status ? { expectedStatus: row.expected_status } : {}),
    ...(row.body_match ? { bodyMatch: row.body_match } : {}),
    headers: redactHeaders(row.headers),
    sampleLimit: row.sample_limit,
    origin: row.origin,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
