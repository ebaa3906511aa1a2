/** Why a check failed; the same words are stored in `checks.error_kind`. */
export type ErrorKind = 'timeout' | 'dns' | 'connect' | 'tls' | 'status' | 'body' | 'parse' | 'too_large' | 'internal';

/** The outcome of one check of one target. */
export interface CheckResult {
  targetId: string;
  startedAt: number;
  durationMs: number;
  up: boolean;
  httpStatus?: number;
  errorKind?: ErrorKind;
  error?: string;
}

/** A probe failure that already knows its kind. */
export class ProbeError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}
