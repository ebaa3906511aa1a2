import { DEFAULT_DENY_CIDRS } from '../config/config';
import { findDenyingCidr, parseCidr } from './cidr';
import { denyReason } from './ssrf';

const defaults = DEFAULT_DENY_CIDRS.split(',');

describe('the SSRF deny list', () => {
  it.each([
    ['169.254.169.254', '169.254.0.0/16'],
    ['::ffff:169.254.169.254', '169.254.0.0/16'],
    ['fe80::1', 'fe80::/10'],
    ['fd00:ec2::254', 'fd00:ec2::254/128'],
    ['100.100.100.200', '100.100.100.200/32'],
    ['0.0.0.0', '0.0.0.0/8'],
  ])('denies %s by default (%s)', (address, cidr) => {
    expect(findDenyingCidr(address, defaults)).toBe(cidr);
  });

  it.each(['127.0.0.1', '::1', '10.1.2.3', '192.168.1.1', '8.8.8.8', '2001:db8::1'])(
    'allows %s by default',
    (address) => {
      expect(findDenyingCidr(address, defaults)).toBeUndefined();
    },
  );

  it('parses CIDRs and refuses what is not one', () => {
    expect(parseCidr('10.0.0.0/8')).toBeDefined();
    expect(parseCidr('10.0.0.0')).toBeUndefined();
    expect(parseCidr('nonsense/8')).toBeUndefined();
  });

  it('checks every address a name resolves to', async () => {
    const resolve = async () => ['203.0.113.7', '169.254.1.1'];
    await expect(denyReason('http://two.example/', defaults, resolve)).resolves.toMatch(
      /169\.254\.1\.1.*169\.254\.0\.0\/16/,
    );
    await expect(denyReason('http://ok.example/', defaults, async () => ['203.0.113.7'])).resolves.toBeUndefined();
    await expect(denyReason('http://[fe80::1]:8080/', defaults, resolve)).resolves.toMatch(/fe80::1/);
    await expect(
      denyReason('http://unresolvable.example/', defaults, async () => Promise.reject(new Error('ENOTFOUND'))),
    ).resolves.toBeUndefined();
  });
});
