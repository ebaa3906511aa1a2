import { formatDuration } from './duration';
import { ProblemException } from '../problem/problem';

export interface TimeRange {
  from: Date;
  to: Date;
}

const DEFAULT_SPAN_MS = 3_600_000;

/**
 * `from`/`to` query parameters as a range: `to` defaults to now, `from` to an hour before `to`. A range that is
 * empty, reversed or longer than `maxSpanMs` is a 400 naming `query.from`, so no query scans without bound.
 */
export function resolveRange(
  from: string | undefined,
  to: string | undefined,
  maxSpanMs: number,
  now = Date.now(),
): TimeRange {
  const end = to === undefined ? new Date(now) : new Date(to);
  const start = from === undefined ? new Date(end.getTime() - Math.min(DEFAULT_SPAN_MS, maxSpanMs)) : new Date(from);
  if (start.getTime() >= end.getTime()) {
    throw ProblemException.of('validation', 'The time range is empty: from must be before to.', [
      { path: 'query.from', message: 'must be before to' },
    ]);
  }
  if (end.getTime() - start.getTime() > maxSpanMs) {
    throw ProblemException.of(
      'validation',
      `The time range is longer than MAX_QUERY_SPAN (${formatDuration(maxSpanMs)}).`,
      [{ path: 'query.from', message: `must be at most ${formatDuration(maxSpanMs)} before to` }],
    );
  }
  return { from: start, to: end };
}
