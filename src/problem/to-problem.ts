import { HttpException } from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/unavailable';
import { problem, ProblemException, type Problem } from './problem';

/** Fastify's own request errors, by code, as problems a client can act on. */
const FASTIFY_ERRORS: Record<string, (error: Error) => Problem> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => problem('payload-too-large', 'The request body is larger than BODY_LIMIT allows.'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    problem('unsupported-media-type', 'Send the body as application/json.', [{ path: 'body', message: 'must be application/json' }]),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    problem('validation', 'The body is empty but Content-Type says JSON.', [{ path: 'body', message: 'must not be empty' }]),
  FST_ERR_CTP_INVALID_JSON_BODY: (error) =>
    problem('validation', `The body is not valid JSON: ${error.message}`, [{ path: 'body', message: 'is not valid JSON' }]),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    problem('validation', 'Content-Length does not match the body.', [{ path: 'body', message: 'has the wrong length' }]),
};

export interface Mapped {
  problem: Problem;
  /** An unexpected failure: log it with its stack, show the client nothing of it. */
  unexpected: boolean;
}

/** Maps anything thrown while serving a request to the problem document the client receives. */
export function toProblem(error: unknown): Mapped {
  if (error instanceof ProblemException) return { problem: error.problem, unexpected: false };
  if (isDatabaseUnavailable(error)) {
    return { problem: problem('unavailable', 'The database cannot be reached right now; try again shortly.'), unexpected: false };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === 404) return { problem: problem('not-found', 'No such route.'), unexpected: false };
    return { problem: problem('http', error.message, undefined, status), unexpected: status >= 500 };
  }
  const { code, statusCode } = (error ?? {}) as { code?: string; statusCode?: number };
  if (code && FASTIFY_ERRORS[code]) return { problem: FASTIFY_ERRORS[code](error as Error), unexpected: false };
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { problem: problem('http', (error as Error).message, undefined, statusCode), unexpected: false };
  }
  return { problem: problem('internal', 'An unexpected error occurred; it has been logged.'), unexpected: true };
}
