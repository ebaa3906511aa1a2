import { ProblemException } from '../problem/problem';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);
// SQLSTATE class 08 (connection exception) and 57P0x (server shutting down or starting up).
const SQLSTATE = /^(08...|57P0[1-4])$/;
const MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection is not established',
  'Query read timeout',
  'the database system is',
];

/** Thrown while no connection to PostgreSQL has been established yet. */
export class DatabaseUnavailableError extends Error {}

/** True when `error` says the database cannot be reached, as opposed to a query being wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const { code, driverError } = error as Error & { code?: unknown; driverError?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE.test(code))) return true;
  if (MESSAGES.some((text) => error.message.includes(text))) return true;
  return driverError !== undefined && driverError !== error && isDatabaseUnavailable(driverError);
}

export function unavailableProblem(): ProblemException {
  return ProblemException.of('unavailable', 'The database cannot be reached right now; try again shortly.');
}
