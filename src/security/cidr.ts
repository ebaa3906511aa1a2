import ipaddr from 'ipaddr.js';

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseCidr(text: string): Cidr | undefined {
  try {
    return ipaddr.parseCIDR(text);
  } catch {
    return undefined;
  }
}

/** A matcher over `cidrs`, parsed once: the first CIDR that contains an address (IPv4-mapped IPv6 counts as IPv4). */
export function cidrMatcher(cidrs: readonly string[]): (address: string) => string | undefined {
  const parsed = cidrs.flatMap((text) => {
    const cidr = parseCidr(text);
    return cidr ? [{ text, cidr }] : [];
  });
  return (address) => {
    if (!ipaddr.isValid(address)) return undefined;
    const ip = ipaddr.process(address);
    return parsed.find(({ cidr }) => ip.kind() === cidr[0].kind() && ip.match(cidr))?.text;
  };
}

/** The first CIDR of `cidrs` that contains `address`, if any. */
export function findDenyingCidr(address: string, cidrs: readonly string[]): string | undefined {
  return cidrMatcher(cidrs)(address);
}
