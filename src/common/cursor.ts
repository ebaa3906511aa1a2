import { ProblemException } from '../problem/problem';

/** An opaque cursor for keyset pagination: the sort key of the last item of a page. */
export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The key inside a cursor; a 400 naming `query.cursor` when it is not one this server issued in this shape. */
export function decodeCursor(cursor: string, shape: Array<'string' | 'number'>): unknown[] {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === shape.length && key.every((part, index) => typeof part === shape[index])) {
      return key;
    }
  } catch {
    // falls through to the problem below
  }
  throw ProblemException.of('validation', 'The cursor is not one this server issued.', [
    { path: 'query.cursor', message: 'is not a valid cursor; pass nextCursor from the previous page' },
  ]);
}
