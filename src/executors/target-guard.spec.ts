import { ValidationError } from '../domain/errors.js';
import { ExecutionFailure } from './executor.js';
import { TargetGuard, isBlockedAddress, parseAllowlist } from './target-guard.js';

describe('isBlockedAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:c0a8:0101::1', 'private'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.254', 'CGNAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
  ])('refuses %s (%s)', (ip, reason) => {
    const result = isBlockedAddress(ip);
    expect(result.blocked).toBe(true);
    expect(result.reason).toContain(reason);
  });

  it.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:2800:220:1::1', '2001:4860:4860::8888', '::ffff:8.8.8.8', '2002:0808:0808::1'])(
    'allows public %s',
    (ip) => {
      expect(isBlockedAddress(ip)).toEqual({ blocked: false });
    },
  );

  it('treats a non-IP as blocked', () => {
    expect(isBlockedAddress('example.com').blocked).toBe(true);
  });
});

describe('parseAllowlist', () => {
  it('is empty for undefined, empty and blank entries', () => {
    expect(parseAllowlist(undefined).entries).toEqual([]);
    expect(parseAllowlist('').entries).toEqual([]);
    expect(parseAllowlist(' , ,').entries).toEqual([]);
  });

  it('parses host:port, IPv6 host:port and CIDR entries', () => {
    const list = parseAllowlist(' api.internal:8080 , 127.0.0.1:9000,[::1]:8443, 10.0.0.0/8,fd00::/8, 127.0.0.1/32 , LOCALHOST.:80');
    expect(list.entries).toHaveLength(7);
    expect([...list.hosts].sort()).toEqual(['127.0.0.1|9000', '::1|8443', 'api.internal|8080', 'localhost|80']);
    expect(list.networks.check('10.20.30.40', 'ipv4')).toBe(true);
    expect(list.networks.check('127.0.0.1', 'ipv4')).toBe(true);
    expect(list.networks.check('127.0.0.2', 'ipv4')).toBe(false);
    expect(list.networks.check('fd12::1', 'ipv6')).toBe(true);
  });

  it.each([
    ['api.internal', /port/],
    ['api.internal:', /port/],
    ['api.internal:0', /out of range/],
    ['api.internal:65536', /out of range/],
    ['127.0.0.1', /needs a port or a prefix/],
    ['::1', /needs a port or a prefix/],
    ['::1:8080', /needs a port or a prefix|port/],
    ['10.0.0.0/33', /prefix/],
    ['fd00::/129', /prefix/],
    ['example.com/24', /not an IP address/],
    ['[example.com]:80', /not a valid host|brackets/],
    ['http://api.internal:8080', /./],
    ['user@api.internal:80', /./],
  ])('rejects malformed entry %p', (entry, message) => {
    expect(() => parseAllowlist(`ok.internal:80,${entry}`)).toThrow(message);
    expect(() => parseAllowlist(entry)).toThrow(/CHRONOS_TARGET_ALLOWLIST: invalid entry/);
  });
});

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a refusal');
}

describe('TargetGuard.assertAllowed', () => {
  const guard = new TargetGuard(parseAllowlist(undefined));

  it.each([
    'http://127.0.0.1/',
    'http://[::1]:8080/x',
    'http://[::ffff:127.0.0.1]/',
    'http://10.1.2.3/',
    'http://172.16.0.1/',
    'https://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://[fe80::1]/',
    'http://[fc00::1]/',
    'http://0.0.0.0/',
    'http://2130706433/', // 127.0.0.1 in decimal: URL normalizes it
    'http://0x7f.1/',
    'http://localhost:3000/', // resolves to loopback (no network needed)
  ])('refuses %s with 422 TARGET_NOT_ALLOWED', async (url) => {
    const error = await refusal(guard.assertAllowed(url));
    expect(error.code).toBe('TARGET_NOT_ALLOWED');
    expect(error.errors).toEqual([{ field: 'payload.url', message: error.message }]);
  });

  it('names the field and the reason', async () => {
    const error = await refusal(guard.assertAllowed('http://localhost/', 'notifications.webhook.url'));
    expect(error.errors?.[0]?.field).toBe('notifications.webhook.url');
    expect(error.message).toMatch(/localhost resolves to .*loopback/);
  });

  it.each(['ftp://93.184.216.34/', 'file:///etc/passwd', 'gopher://93.184.216.34/', 'not a url'])('refuses %s', async (url) => {
    expect((await refusal(guard.assertAllowed(url))).code).toBe('TARGET_NOT_ALLOWED');
  });

  it.each(['http://93.184.216.34/', 'https://[2606:2800:220:1::1]/', 'https://8.8.8.8:8443/path?q=1'])('allows public IP literal %s', async (url) => {
    await expect(guard.assertAllowed(url)).resolves.toBeUndefined();
  });

  it('refuses a hostname that does not resolve with TARGET_UNRESOLVABLE', async () => {
    const error = await refusal(guard.assertAllowed('https://no-such-host.invalid/'));
    expect(error.code).toBe('TARGET_UNRESOLVABLE');
    expect(error.message).toContain('no-such-host.invalid');
  });

  it('allows a host:port entry for that host and effective port only', async () => {
    const allowing = new TargetGuard(parseAllowlist('127.0.0.1:8080,localhost:80,[::1]:443'));
    await expect(allowing.assertAllowed('http://127.0.0.1:8080/hook')).resolves.toBeUndefined();
    await expect(allowing.assertAllowed('http://localhost/')).resolves.toBeUndefined();
    await expect(allowing.assertAllowed('http://LOCALHOST:80/')).resolves.toBeUndefined();
    await expect(allowing.assertAllowed('https://[::1]/')).resolves.toBeUndefined();
    expect((await refusal(allowing.assertAllowed('http://127.0.0.1:8081/'))).code).toBe('TARGET_NOT_ALLOWED');
    expect((await refusal(allowing.assertAllowed('https://localhost/'))).code).toBe('TARGET_NOT_ALLOWED'); // port 443
    expect((await refusal(allowing.assertAllowed('http://[::1]/'))).code).toBe('TARGET_NOT_ALLOWED'); // port 80
  });

  it('does not look up a host allowed by host:port (it may resolve only inside the workers network)', async () => {
    const allowing = new TargetGuard(parseAllowlist('no-such-host.invalid:8080'));
    await expect(allowing.assertAllowed('http://no-such-host.invalid:8080/')).resolves.toBeUndefined();
  });

  it('allows addresses inside a CIDR entry on any port', async () => {
    const allowing = new TargetGuard(parseAllowlist('10.0.0.0/8,127.0.0.1/32,fd00::/8'));
    await expect(allowing.assertAllowed('http://10.9.8.7:1234/')).resolves.toBeUndefined();
    await expect(allowing.assertAllowed('http://127.0.0.1:9/')).resolves.toBeUndefined();
    await expect(allowing.assertAllowed('http://[fd00::1]/')).resolves.toBeUndefined();
    expect((await refusal(allowing.assertAllowed('http://127.0.0.2/'))).code).toBe('TARGET_NOT_ALLOWED');
    expect((await refusal(allowing.assertAllowed('http://192.168.0.1/'))).code).toBe('TARGET_NOT_ALLOWED');
    expect((await refusal(allowing.assertAllowed('http://[fc00::1]/'))).code).toBe('TARGET_NOT_ALLOWED');
  });
});

describe('TargetGuard.fetch (no network)', () => {
  const guard = new TargetGuard(parseAllowlist(undefined));
  const signal = () => AbortSignal.timeout(5000);

  it.each(['http://127.0.0.1:1/', 'http://[::1]:1/', 'http://169.254.169.254/', 'http://localhost:1/'])('refuses %s with ExecutionFailure', async (url) => {
    const error = await guard.fetch(url, { signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionFailure);
    expect((error as Error).message).toMatch(/^target not allowed: /);
  });

  it('refuses a non-http scheme', async () => {
    await expect(guard.fetch('file:///etc/passwd', { signal: signal() })).rejects.toThrow(/target not allowed: scheme file:/);
  });

  it('fails an unresolvable host with ExecutionFailure', async () => {
    const error = await guard.fetch('http://no-such-host.invalid/', { signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionFailure);
    expect((error as Error).message).toMatch(/^cannot resolve target: no-such-host.invalid/);
  });

  it('rejects with the abort reason when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('timed out'));
    await expect(guard.fetch('http://93.184.216.34/', { signal: controller.signal })).rejects.toThrow('timed out');
  });
});
