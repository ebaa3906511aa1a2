import { createHash, timingSafeEqual } from 'node:crypto';
import { ProblemException } from '../problem/problem';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const digest = (text: string) => createHash('sha256').update(text).digest();

export interface WriteAccessOptions {
  apiTokens: readonly string[];
  host: string;
  hostIsLoopback: boolean;
}

/**
 * Decides whether a request may write. With API_TOKENS set, a write needs `Authorization: Bearer <token>`;
 * without tokens, writes are accepted only while Vitals listens on loopback, where only this machine reaches it.
 */
export function createWriteAccess(options: WriteAccessOptions): (method: string, authorization?: string) => void {
  // Hashing first gives equal-length buffers, so the comparison time says nothing about the token.
  const tokens = options.apiTokens.map(digest);
  return (method, authorization) => {
    if (!WRITE_METHODS.has(method)) return;
    if (tokens.length === 0) {
      if (options.hostIsLoopback) return;
      throw ProblemException.of(
        'forbidden',
        `Writes are refused: API_TOKENS is not set and Vitals listens on ${options.host}, which is not loopback. ` +
          'Set API_TOKENS to accept writes from the network.',
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) {
      throw ProblemException.of(
        'unauthorized',
        'Writes need an "Authorization: Bearer <token>" header with one of API_TOKENS.',
      );
    }
    const presented = digest(match[1]);
    let accepted = false;
    for (const token of tokens) accepted = timingSafeEqual(presented, token) || accepted;
    if (!accepted) throw ProblemException.of('unauthorized', 'The bearer token is not one of API_TOKENS.');
  };
}
