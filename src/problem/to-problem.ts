import { HttpException } from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/unavailable';
import { problem, ProblemException, type Problem } from './problem';

export interface Mapped {
  problem: Problem;
  /** An unexpected failure: log it with its stack, show the client nothing of it. */
  unexpected: boolean;
}

/**
 * Maps an HTTP error raised before any handler ran. Nest hands Fastify's own errors (invalid JSON, too large,
 * wrong media type) to the filters as HttpExceptions with Fastify's status and message; all concern the body.
 */
function fromHttpException(error: HttpException): Problem {
  const status = error.getStatus();
  switch (status) {
    case 404:
      return problem('not-found', 'No such route.');
    case 413:
      return problem('payload-too-large', 'The request body is larger than BODY_LIMIT allows.', [
        { path: 'body', message: 'is too large' },
      ]);
    case 415:
      return problem('unsupported-media-type', 'Send the body as application/json.', [
        { path: 'body', message: 'must be application/json' },
      ]);
    case 400:
      return problem('validation', error.message, [{ path: 'body', message: error.message }]);
    default:
      return problem('http', status >= 500 ? 'An unexpected error occurred.' : error.message, undefined, status);
  }
}

/** Maps anything thrown while serving a request to the problem document the client receives. */
export function toProblem(error: unknown): Mapped {
  if (error instanceof ProblemException) return { problem: error.problem, unexpected: false };
  if (isDatabaseUnavailable(error)) {
    return {
      problem: problem('unavailable', 'The database cannot be reached right now; try again shortly.'),
      unexpected: false,
    };
  }
  if (error instanceof HttpException)
    return { problem: fromHttpException(error), unexpected: error.getStatus() >= 500 };
  return { problem: problem('internal', 'An unexpected error occurred; it has been logged.'), unexpected: true };
}
