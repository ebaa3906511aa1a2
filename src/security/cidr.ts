import ipaddr from 'ipaddr.js';

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseCidr(text: string): Cidr | undefined {
  try {
    return ipaddr.parseCIDR(text);
  } catch {
    return undefined;
  }
}

/** The first CIDR of `cidrs` that contains `address` (IPv4-mapped IPv6 counts as IPv4), if any. */
export function findDenyingCidr(address: string, cidrs: readonly string[]): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  const ip = ipaddr.process(address);
  return cidrs.find((text) => {
    const cidr = parseCidr(text);
    return cidr !== undefined && ip.kind() === cidr[0].kind() && ip.match(cidr);
  });
}
