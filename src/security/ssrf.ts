import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { findDenyingCidr } from './cidr';

const LOOKUP_TIMEOUT_MS = 2000;

export type Resolver = (host: string) => Promise<string[]>;

/** Injection token for the DNS resolver the SSRF check uses (tests supply their own). */
export const RESOLVER = Symbol('RESOLVER');

export const systemResolver: Resolver = async (host) => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), LOOKUP_TIMEOUT_MS);
  });
  try {
    const found = lookup(host, { all: true }).then((rows) => rows.map((row) => row.address));
    return await Promise.race([found, timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * Why `url` may not be a target, or undefined when it may. A name that does not resolve (yet) is allowed here:
 * the checker applies the same rule to the addresses it actually connects to.
 */
export async function denyReason(
  url: string,
  denyCidrs: readonly string[],
  resolve: Resolver,
): Promise<string | undefined> {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return 'is not a valid URL';
  }
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  let addresses: string[];
  try {
    addresses = isIP(bare) ? [bare] : await resolve(bare);
  } catch {
    addresses = [];
  }
  for (const address of addresses) {
    const cidr = findDenyingCidr(address, denyCidrs);
    if (cidr) return `points to ${address}, inside the denied range ${cidr} (TARGET_DENY_CIDRS)`;
  }
  return undefined;
}
