import { ProblemException } from '../problem/problem';

/** Pages are ordered by name; the cursor carries the last name seen, opaque to clients. */
export function encodeCursor(lastName: string): string {
  return Buffer.from(JSON.stringify({ after: lastName })).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof value.after === 'string') return value.after;
  } catch {
    // fall through to the problem below
  }
  throw ProblemException.of('validation', 'The cursor is not one this server issued.', [
    { path: 'query.cursor', message: 'is not a valid cursor; pass nextCursor from the previous page' },
  ]);
}
