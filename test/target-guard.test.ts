/**
 * TargetGuard against real loopback servers (node:http / node:https): allowlisting, redirects checked hop by
 * hop, pinning of the resolved address, 303 method/body handling and TLS verification against the hostname.
 * No NATS/PostgreSQL/Redis.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { ExecutionFailure } from '../src/executors/executor.js';
import { TargetGuard, parseAllowlist } from '../src/executors/target-guard.js';

interface Seen {
  method: string;
  url: string;
  host: string | undefined;
  body: string;
  headers: http.IncomingHttpHeaders;
}

interface TestServer {
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const servers: TestServer[] = [];

async function listen(server: http.Server | https.Server, handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  const seen: Seen[] = [];
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host, body, headers: req.headers });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const started: TestServer = {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
  servers.push(started);
  return started;
}

function startServer(handler: Handler, host?: string): Promise<TestServer> {
  return listen(http.createServer(), handler, host);
}

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const signal = () => AbortSignal.timeout(10_000);
const ok: Handler = (_req, res) => res.end('ok');

/** Replaces dns.promises.lookup (which the guard calls) for the duration of `body`; records the calls. */
async function withLookup(answer: () => { address: string; family: number }[], body: (calls: unknown[][]) => Promise<void>): Promise<void> {
  const original = dns.promises.lookup;
  const calls: unknown[][] = [];
  (dns.promises as { lookup: unknown }).lookup = async (...args: unknown[]) => {
    calls.push(args);
    return answer();
  };
  try {
    await body(calls);
  } finally {
    (dns.promises as { lookup: unknown }).lookup = original;
  }
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error('expected the request to fail');
  return error;
}

describe('TargetGuard.fetch against loopback servers', () => {
  it('(a) refuses 127.0.0.1 without an allowlist and reaches it once allowlisted', async () => {
    const server = await startServer((req, res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.end(`hello ${req.method}`);
    });
    const url = `http://127.0.0.1:${server.port}/`;

    const error = await failure(new TargetGuard(parseAllowlist(undefined)).fetch(url, { signal: signal() }));
    expect(error).toBeInstanceOf(ExecutionFailure);
    expect(error.message).toMatch(/^target not allowed: 127\.0\.0\.1, a loopback address/);
    expect(server.seen).toHaveLength(0);

    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${server.port}`));
    const response = await guard.fetch(url, { method: 'GET', headers: { 'X-Test': '1' }, signal: signal() });
    expect(response.status).toBe(200);
    expect(response.url).toBe(url);
    expect(response.redirected).toBe(false);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await response.text()).toBe('hello GET');
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]!.headers['x-test']).toBe('1');
    expect(server.seen[0]!.host).toBe(`127.0.0.1:${server.port}`);

    // A CIDR entry allows it too, on any port.
    const byCidr = await new TargetGuard(parseAllowlist('127.0.0.0/8')).fetch(url, { signal: signal() });
    expect(await byCidr.text()).toBe('hello GET');
  });

  it('(a) sends a POST body with its headers and returns non-2xx responses as they are', async () => {
    const server = await startServer((req, res, body) => {
      res.statusCode = 418;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'], length: req.headers['content-length'] }));
    });
    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${server.port}`));
    const response = await guard.fetch(`http://127.0.0.1:${server.port}/p?q=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"x":1}',
      signal: signal(),
    });
    expect(response.status).toBe(418);
    expect(await response.json()).toEqual({ method: 'POST', body: '{"x":1}', type: 'application/json', length: '7' });
    expect(server.seen[0]!.url).toBe('/p?q=1');
  });

  it('(b) refuses a redirect from an allowlisted server to a non-allowlisted one, which never gets a request', async () => {
    const b = await startServer(ok);
    const a = await startServer((_req, res) => {
      res.writeHead(302, { Location: `http://127.0.0.1:${b.port}/` });
      res.end();
    });
    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${a.port}`));
    const error = await failure(guard.fetch(`http://127.0.0.1:${a.port}/start`, { signal: signal() }));
    expect(error).toBeInstanceOf(ExecutionFailure);
    expect(error.message).toMatch(/^target not allowed: 127\.0\.0\.1, a loopback address/);
    expect(a.seen).toHaveLength(1);
    expect(b.seen).toHaveLength(0);
  });

  it('(b) refuses a redirect to a metadata address and to a non-http scheme', async () => {
    const a = await startServer((req, res) => {
      res.writeHead(307, { Location: req.url === '/meta' ? 'http://169.254.169.254/latest/meta-data/' : 'file:///etc/passwd' });
      res.end();
    });
    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${a.port}`));
    await expect(guard.fetch(`http://127.0.0.1:${a.port}/meta`, { signal: signal() })).rejects.toThrow(/target not allowed: 169\.254\.169\.254, a metadata address/);
    await expect(guard.fetch(`http://127.0.0.1:${a.port}/file`, { signal: signal() })).rejects.toThrow(/target not allowed: redirect to file: URL/);
  });

  it('(c) follows a redirect to another path on the same allowlisted server', async () => {
    const a = await startServer((req, res) => {
      if (req.url === '/old') {
        res.writeHead(301, { Location: '/new?x=1' });
        res.end('moved');
      } else {
        res.end(`at ${req.url}`);
      }
    });
    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${a.port}`));
    const response = await guard.fetch(`http://127.0.0.1:${a.port}/old`, { signal: signal() });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('at /new?x=1');
    expect(response.redirected).toBe(true);
    expect(response.url).toBe(`http://127.0.0.1:${a.port}/new?x=1`);
    expect(a.seen.map((s) => s.url)).toEqual(['/old', '/new?x=1']);
  });

  it('(c) stops after maxRedirects, and returns the 3xx with redirect: "manual"', async () => {
    const loop = await startServer((_req, res) => {
      res.writeHead(302, { Location: '/again' });
      res.end();
    });
    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${loop.port}`));
    const url = `http://127.0.0.1:${loop.port}/`;
    await expect(guard.fetch(url, { signal: signal() }, 3)).rejects.toThrow(/too many redirects \(more than 3\)/);
    expect(loop.seen).toHaveLength(4);
    const manual = await guard.fetch(url, { redirect: 'manual', signal: signal() });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe('/again');
  });

  it('(d) pins the resolved address: localhost allowlisted as host:port connects to the loopback server', async () => {
    const server = await startServer((_req, res) => res.end('pinned'));
    const guard = new TargetGuard(parseAllowlist(`localhost:${server.port}`));
    const response = await guard.fetch(`http://localhost:${server.port}/pin`, { signal: signal() });
    expect(await response.text()).toBe('pinned');
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]!.host).toBe(`localhost:${server.port}`); // Host header keeps the name
    // Without the entry, localhost (loopback) is refused after resolution.
    await expect(new TargetGuard(parseAllowlist(undefined)).fetch(`http://localhost:${server.port}/`, { signal: signal() })).rejects.toThrow(
      /target not allowed: localhost resolves to .*loopback/,
    );
    expect(server.seen).toHaveLength(1);
  });

  it('(d) connects only to the address it checked: one lookup per hop, never the system resolver', async () => {
    const server = await startServer((_req, res) => res.end('pinned by lookup'));
    // "rebind.chronos-test.invalid" cannot resolve through the system: the request can only reach the server
    // through the address the guard checked. A second answer (a rebinding attempt) would be public and unused.
    const answers = [[{ address: '127.0.0.1', family: 4 }], [{ address: '93.184.216.34', family: 4 }]];
    await withLookup(
      () => answers.shift() ?? [],
      async (calls) => {
        const guard = new TargetGuard(parseAllowlist('127.0.0.1/32'));
        const response = await guard.fetch(`http://rebind.chronos-test.invalid:${server.port}/`, { signal: signal() });
        expect(await response.text()).toBe('pinned by lookup');
        expect(calls).toEqual([['rebind.chronos-test.invalid', { all: true, verbatim: true }]]);
        expect(server.seen[0]!.host).toBe(`rebind.chronos-test.invalid:${server.port}`);
      },
    );
  });

  it('(d) refuses when any resolved address is blocked, even if another is public', async () => {
    await withLookup(
      () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.1', family: 4 }],
      async () => {
        const guard = new TargetGuard(parseAllowlist(undefined));
        await expect(guard.fetch('http://mixed.chronos-test.invalid/', { signal: signal() })).rejects.toThrow(
          /target not allowed: mixed\.chronos-test\.invalid resolves to 10\.0\.0\.1, a private address/,
        );
        await expect(guard.assertAllowed('http://mixed.chronos-test.invalid/')).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' });
      },
    );
  });

  it('(e) 303 switches POST to GET and drops the body and its headers; 307 keeps them', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/see-other') {
        res.writeHead(303, { Location: '/result' });
        res.end();
      } else if (req.url === '/temporary') {
        res.writeHead(307, { Location: '/result' });
        res.end();
      } else {
        res.end('done');
      }
    });
    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${server.port}`));
    const init = { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Keep': 'yes' }, body: '{"a":1}' };

    const seeOther = await guard.fetch(`http://127.0.0.1:${server.port}/see-other`, { ...init, signal: signal() });
    expect(await seeOther.text()).toBe('done');
    const [post, get] = server.seen.splice(0);
    expect(post).toMatchObject({ method: 'POST', url: '/see-other', body: '{"a":1}' });
    expect(get).toMatchObject({ method: 'GET', url: '/result', body: '' });
    expect(get!.headers['content-type']).toBeUndefined();
    expect(get!.headers['content-length']).toBeUndefined();
    expect(get!.headers['x-keep']).toBe('yes');

    const temporary = await guard.fetch(`http://127.0.0.1:${server.port}/temporary`, { ...init, signal: signal() });
    expect(await temporary.text()).toBe('done');
    const [, again] = server.seen.splice(0);
    expect(again).toMatchObject({ method: 'POST', url: '/result', body: '{"a":1}' });
    expect(again!.headers['content-type']).toBe('application/json');
  });

  it('drops Authorization and Cookie on a cross-origin redirect', async () => {
    const b = await startServer(ok);
    const a = await startServer((_req, res) => {
      res.writeHead(302, { Location: `http://127.0.0.1:${b.port}/` });
      res.end();
    });
    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${a.port},127.0.0.1:${b.port}`));
    const response = await guard.fetch(`http://127.0.0.1:${a.port}/`, { headers: { Authorization: 'Bearer x', Cookie: 'c=1', 'X-Other': 'kept' }, signal: signal() });
    expect(await response.text()).toBe('ok');
    expect(a.seen[0]!.headers.authorization).toBe('Bearer x');
    expect(b.seen[0]!.headers.authorization).toBeUndefined();
    expect(b.seen[0]!.headers.cookie).toBeUndefined();
    expect(b.seen[0]!.headers['x-other']).toBe('kept');
  });

  it('aborts a slow response with the signal reason', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200);
      res.write('partial');
      // never ends
    });
    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${server.port}`));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('timed out')), 200);
    try {
      await expect(guard.fetch(`http://127.0.0.1:${server.port}/`, { signal: controller.signal }).then((r) => r.text())).rejects.toThrow();
      expect(controller.signal.aborted).toBe(true);
    } finally {
      clearTimeout(timer);
    }
    // Abort before the response headers: rejects with the reason itself.
    const hanging = await startServer(() => undefined);
    const guard2 = new TargetGuard(parseAllowlist(`127.0.0.1:${hanging.port}`));
    await expect(guard2.fetch(`http://127.0.0.1:${hanging.port}/`, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('decodes a gzip response body like fetch', async () => {
    const { gzipSync } = await import('node:zlib');
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Type': 'text/plain' });
      res.end(gzipSync('compressed hello'));
    });
    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${server.port}`));
    const response = await guard.fetch(`http://127.0.0.1:${server.port}/`, { headers: { 'Accept-Encoding': 'gzip' }, signal: signal() });
    expect(await response.text()).toBe('compressed hello');
  });
});

// A test CA and a certificate for DNS:localhost signed by it (P-256, valid 2000–2100). Test-only material.
const TEST_CA = `-----BEGIN CERTIFICATE-----
MIIBaDCCAQ6gAwIBAgICEAAwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPQ2hyb25v
cyBUZXN0IENBMCAXDTAwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAaMRgw
FgYDVQQDDA9DaHJvbm9zIFRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AARvOW3ETQX5PUCoOm9Jh0McOKFveHcysmudmrFBU2UgAxU3cgk0s5UfgBAdiReQ
QTvyxXvJciifUo0Y9lXf1pLMo0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB
/wQEAwICBDAdBgNVHQ4EFgQU7Y5XNUzplrAZSCfpO2YU0jstuR4wCgYIKoZIzj0E
AwIDSAAwRQIhAKcPTaoJ8u7Wh8Iw1pDSOkeKE+7VtJnE0BA5szTlqrqhAiBpc+7q
q9K/+E3QExyu1JVr6WrU92WJkNnFZn4atxzYZA==
-----END CERTIFICATE-----`;
const LOCALHOST_CERT = `-----BEGIN CERTIFICATE-----
MIIBlzCCAT6gAwIBAgICEAEwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPQ2hyb25v
cyBUZXN0IENBMCAXDTAwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAUMRIw
EAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARqCeOh
V3RapQxPBUOgrweMGqAnGzDU4o6ETIk1IAOEXtxjrpkYUfvS/L3Gs7xdnxs7muTk
6Gz6wkpwnVb7YjqPo3gwdjAJBgNVHRMEAjAAMBQGA1UdEQQNMAuCCWxvY2FsaG9z
dDATBgNVHSUEDDAKBggrBgEFBQcDATAfBgNVHSMEGDAWgBTtjlc1TOmWsBlIJ+k7
ZhTSOy25HjAdBgNVHQ4EFgQUm148u6TD39QA+O4ZFmyvMEmghlYwCgYIKoZIzj0E
AwIDRwAwRAIgVlrbfBf4kqGLiTs2IHPmYRDlF0qYcLy+nIK5xkOqj1ECIExpCdhV
kwaGEYIr+1ILKvSkP//YEPhhdgTCVDw2TfdK
-----END CERTIFICATE-----`;
const LOCALHOST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOtgfSottJnNBCAow
Zqrqn1sWc7KFfQ1oFA9xJ6zfFm+hRANCAARqCeOhV3RapQxPBUOgrweMGqAnGzDU
4o6ETIk1IAOEXtxjrpkYUfvS/L3Gs7xdnxs7muTk6Gz6wkpwnVb7YjqP
-----END PRIVATE KEY-----`;

describe('TargetGuard.fetch over TLS', () => {
  let server: TestServer;
  let sni: (string | false)[];

  beforeAll(async () => {
    sni = [];
    const tls = https.createServer({ cert: LOCALHOST_CERT, key: LOCALHOST_KEY });
    tls.on('secureConnection', (socket) => sni.push((socket as unknown as { servername: string | false }).servername));
    server = await listen(tls, (_req, res) => res.end('secure'));
  });

  it('pins the address, sends SNI = hostname and verifies the certificate against the hostname', async () => {
    const guard = new TargetGuard(parseAllowlist(`localhost:${server.port}`), { ca: TEST_CA });
    const response = await guard.fetch(`https://localhost:${server.port}/`, { signal: signal() });
    expect(await response.text()).toBe('secure');
    expect(sni).toEqual(['localhost']);
  });

  it('rejects a certificate that does not name the host (127.0.0.1 vs a localhost certificate)', async () => {
    const guard = new TargetGuard(parseAllowlist(`127.0.0.1:${server.port}`), { ca: TEST_CA });
    const error = await failure(guard.fetch(`https://127.0.0.1:${server.port}/`, { signal: signal() }));
    expect(error).toBeInstanceOf(TypeError);
    expect(String((error as Error & { cause?: unknown }).cause)).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list|ERR_TLS_CERT_ALTNAME_INVALID|altnames/);
  });

  it('rejects a certificate from an untrusted CA', async () => {
    const guard = new TargetGuard(parseAllowlist(`localhost:${server.port}`));
    const error = await failure(guard.fetch(`https://localhost:${server.port}/`, { signal: signal() }));
    expect(error).toBeInstanceOf(TypeError);
    expect(String((error as Error & { cause?: unknown }).cause)).toMatch(/certificate/i);
  });
});
