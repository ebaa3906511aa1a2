import { STATUS_CODES } from 'node:http';

export interface FieldError {
  /** Where the problem is: `body.interval`, `query.limit`, `path.id`. */
  path: string;
  message: string;
}

/** RFC 9457 problem details, the body of every error response. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Problem codes, one per kind of failure a client can act on. */
export type ProblemCode =
  | 'validation'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'unavailable'
  | 'internal'
  | 'http';

const STATUS_BY_CODE: Record<ProblemCode, number> = {
  validation: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  unavailable: 503,
  internal: 500,
  http: 400,
};

export function problem(code: ProblemCode, detail: string, errors?: FieldError[], status?: number): Problem {
  const resolved = status ?? STATUS_BY_CODE[code];
  return {
    type: `urn:vitals:problem:${code}`,
    title: STATUS_CODES[resolved] ?? 'Error',
    status: resolved,
    detail,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** Thrown anywhere below a controller; the problem filter writes it as is. */
export class ProblemException extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }

  static of(code: ProblemCode, detail: string, errors?: FieldError[]): ProblemException {
    return new ProblemException(problem(code, detail, errors));
  }
}
