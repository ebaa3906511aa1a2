import { createHash } from 'node:crypto';

/**
 * Where in its interval a target runs: a stable offset from a hash of its id, so 10,000 targets with the same
 * interval spread evenly over it instead of firing together, and a restart keeps each one's phase.
 */
export function offsetFor(targetId: string, intervalMs: number): number {
  const digest = createHash('sha256').update(targetId).digest();
  // 48 bits of the digest: uniform enough and exact in a double.
  return digest.readUIntBE(0, 6) % intervalMs;
}

/** The first run time after `nowMs` on the grid `offset + k * interval`. */
export function nextRunAfter(nowMs: number, intervalMs: number, offsetMs: number): number {
  const k = Math.floor((nowMs - offsetMs) / intervalMs) + 1;
  return k * intervalMs + offsetMs;
}
