/**
 * Outbound target guard (SSRF protection) for `http` jobs, `webhook` jobs and notification webhooks.
 *
 * A target is refused when its host resolves to a loopback, private, link-local, CGNAT, metadata,
 * multicast/broadcast or otherwise reserved address, unless CHRONOS_TARGET_ALLOWLIST allows it:
 *   - a `host:port` entry allows that exact host (as written in the URL) on that port, whatever it resolves to;
 *   - a CIDR entry allows the addresses inside it.
 *
 * It is checked twice: at submit (`assertAllowed`, 422) and at run time (`fetch`), where the host is
 * resolved once, every address is checked, and the connection is made only to the checked addresses
 * (pinned through the socket's `lookup`, so a DNS answer that changes between check and connect —
 * DNS rebinding — cannot redirect the request). Redirects are followed by hand and every hop is checked
 * and pinned again. TLS still verifies the certificate against the URL's hostname (SNI = hostname).
 *
 * Pinning uses node:http/node:https rather than the global fetch: Node 20's bundled undici does not expose
 * its `Agent`, and the `undici` package is not a dependency. The result is a standard `Response`.
 */
import { Buffer } from 'node:buffer';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, isIPv4 } from 'node:net';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { ValidationError } from '../domain/errors.js';
import { ExecutionFailure } from './executor.js';
import { abortable } from './abortable.js';

// ---------------------------------------------------------------------------------------------------
// Blocked ranges
// ---------------------------------------------------------------------------------------------------

type Family = 'ipv4' | 'ipv6';
type Range = [address: string, prefix: number, family: Family];

/** Checked in order: the first matching category names the reason (metadata before link-local/private). */
const BLOCKED: [reason: string, ranges: Range[]][] = [
  ['metadata', [['169.254.169.254', 32, 'ipv4'], ['fd00:ec2::254', 128, 'ipv6']]],
  ['unspecified', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]],
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  ['private', [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['fc00::', 7, 'ipv6'], ['fec0::', 10, 'ipv6']]],
  ['link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  ['CGNAT', [['100.64.0.0', 10, 'ipv4']]],
  ['multicast', [['224.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']]],
  ['reserved', [
    ['240.0.0.0', 4, 'ipv4'], // includes the broadcast address 255.255.255.255
    ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments (includes Oracle's 192.0.0.192 metadata)
    ['192.0.2.0', 24, 'ipv4'], ['198.51.100.0', 24, 'ipv4'], ['203.0.113.0', 24, 'ipv4'], // documentation
    ['198.18.0.0', 15, 'ipv4'], // benchmarking
    ['::', 96, 'ipv6'], // deprecated IPv4-compatible addresses
    ['100::', 64, 'ipv6'], // discard-only
    ['2001:db8::', 32, 'ipv6'], // documentation
  ]],
];

const BLOCK_LISTS: [string, BlockList][] = BLOCKED.map(([reason, ranges]) => {
  const list = new BlockList();
  for (const [address, prefix, family] of ranges) {
    if (prefix === (family === 'ipv4' ? 32 : 128)) list.addAddress(address, family);
    else list.addSubnet(address, prefix, family);
  }
  return [reason, list];
});

/**
 * The IPv4 address an IPv6 address stands for, if any: IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`
 * and 6to4 `2002:AABB:CCDD::`. Such addresses are checked as the IPv4 address they reach.
 */
function embeddedIPv4(ipv6: string): string | undefined {
  const words = expandIPv6(ipv6);
  if (!words) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zero = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zero(0, 5) && words[5] === 0xffff) return v4(words[6]!, words[7]!); // ::ffff:0:0/96
  if (words[0] === 0x64 && words[1] === 0xff9b && zero(2, 6)) return v4(words[6]!, words[7]!); // 64:ff9b::/96
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!); // 2002::/16
  return undefined;
}

/** The eight 16-bit words of an IPv6 address (accepts an embedded dotted IPv4 tail), or undefined. */
function expandIPv6(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((parts[0]! << 8) | parts[1]!).toString(16)}:${((parts[2]! << 8) | parts[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const words = [...head, ...new Array<number>(Math.max(fill, 0)).fill(0), ...tail];
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : undefined;
}

/** Whether `ip` (an IP literal, IPv6 without brackets) is in a blocked range, and which. Non-IPs are blocked. */
export function isBlockedAddress(ip: string): { blocked: boolean; reason?: string } {
  const version = isIP(ip);
  if (version === 0) return { blocked: true, reason: 'not an IP address' };
  if (version === 6) {
    const v4 = embeddedIPv4(ip);
    if (v4 !== undefined) {
      const inner = isBlockedAddress(v4);
      if (inner.blocked) return { blocked: true, reason: `${inner.reason} (IPv4 ${v4} embedded in IPv6)` };
    }
  }
  const family: Family = version === 4 ? 'ipv4' : 'ipv6';
  for (const [reason, list] of BLOCK_LISTS) {
    if (list.check(ip, family)) return { blocked: true, reason };
  }
  return { blocked: false };
}

// ---------------------------------------------------------------------------------------------------
// Allowlist
// ---------------------------------------------------------------------------------------------------

export interface TargetAllowlist {
  /** `host:port` entries; host normalized like URL.hostname without brackets or trailing dot. */
  readonly hosts: ReadonlySet<string>;
  /** CIDR entries. */
  readonly networks: BlockList;
  /** The entries as given, for logs. */
  readonly entries: readonly string[];
}

/** Lower-case, IDN → punycode, IPv4 shorthand → dotted quad, IPv6 compressed; no brackets, no trailing dot. */
function normalizeHost(hostname: string): string {
  return stripBrackets(hostname).replace(/\.$/, '');
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function hostKey(host: string, port: number): string {
  return `${host}|${port}`;
}

/**
 * Parses CHRONOS_TARGET_ALLOWLIST: comma-separated `host:port` (`api.internal:8080`, `10.0.0.5:443`,
 * `[::1]:8080`) or CIDR (`10.0.0.0/8`, `127.0.0.1/32`, `fd00::/8`). Empty entries are ignored.
 * Throws an Error naming the malformed entry.
 */
export function parseAllowlist(value: string | undefined): TargetAllowlist {
  const hosts = new Set<string>();
  const networks = new BlockList();
  const entries: string[] = [];
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const fail = (why: string): never => {
      throw new Error(`CHRONOS_TARGET_ALLOWLIST: invalid entry "${entry}": ${why} (expected host:port like "api.internal:8080" or "[::1]:8080", or CIDR like "10.0.0.0/8")`);
    };
    const cidr = /^([^/\s]+)\/(\d{1,3})$/.exec(entry);
    if (cidr) {
      const address = stripBrackets(cidr[1]!);
      const version = isIP(address);
      if (version === 0) fail(`"${cidr[1]}" is not an IP address`);
      const prefix = Number(cidr[2]);
      const max = version === 4 ? 32 : 128;
      if (prefix > max) fail(`prefix /${prefix} is longer than /${max}`);
      networks.addSubnet(address, prefix, version === 4 ? 'ipv4' : 'ipv6');
      entries.push(entry);
      continue;
    }
    const hostPort = /^(\[[^\]\s]+\]|[^:/\s[\]@?#]+):(\d{1,5})$/.exec(entry);
    if (!hostPort) {
      if (isIP(entry)) fail(`an address needs a port or a prefix length (e.g. "${isIPv4(entry) ? entry : `[${entry}]`}:443" or "${entry}/${isIPv4(entry) ? 32 : 128}")`);
      fail(entry.includes('/') ? 'not a CIDR' : 'missing or invalid port');
    }
    const port = Number(hostPort![2]);
    if (port < 1 || port > 65535) fail(`port ${port} is out of range 1-65535`);
    let hostname: string;
    try {
      hostname = new URL(`http://${hostPort![1]}/`).hostname;
    } catch {
      return fail(`"${hostPort![1]}" is not a valid host`);
    }
    if (hostPort![1]!.startsWith('[') && isIP(stripBrackets(hostname)) !== 6) fail('brackets are only for IPv6 addresses');
    hosts.add(hostKey(normalizeHost(hostname), port));
    entries.push(entry);
  }
  return { hosts, networks, entries };
}

// ---------------------------------------------------------------------------------------------------
// Guard
// ---------------------------------------------------------------------------------------------------

/** What `TargetGuard.fetch` takes: fetch's init, always with a signal, and an optional bound on the body's bytes on the wire. */
export type GuardedRequestInit = RequestInit & {
  signal: AbortSignal;
  /**
   * Bytes of the response body as received (before Content-Encoding is undone) past which reading stops: the
   * body stream then errors with BodyWireLimitError and the connection is closed. Unbounded when unset.
   */
  maxBodyWireBytes?: number;
};

/** The response body passed `maxBodyWireBytes` on the wire: what was decoded before stays valid, the rest is not read. */
export class BodyWireLimitError extends Error {
  override name = 'BodyWireLimitError';
  constructor(readonly limitBytes: number) {
    super(`the response body passed ${limitBytes} bytes on the wire`);
  }
}

export interface TargetGuardOptions {
  /** Extra trusted CA certificates for HTTPS targets (tests, private CAs). System CAs are used by default. */
  ca?: string | Buffer | (string | Buffer)[];
}

interface Resolved {
  address: string;
  family: 4 | 6;
}

type Verdict = { ok: true; addresses: Resolved[] } | { ok: false; code: 'TARGET_NOT_ALLOWED' | 'TARGET_UNRESOLVABLE'; reason: string };

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const REQUEST_BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location', 'transfer-encoding'];
const CROSS_ORIGIN_DROPPED_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'host'];

export class TargetGuard {
  constructor(
    private readonly allowlist: TargetAllowlist = parseAllowlist(undefined),
    private readonly options: TargetGuardOptions = {},
  ) {}

  /**
   * Submit-time check. Throws ValidationError (HTTP 422):
   *   - TARGET_NOT_ALLOWED: not http(s), or the host is / resolves to (any) blocked address not allowlisted;
   *   - TARGET_UNRESOLVABLE: the hostname does not resolve (NXDOMAIN, or DNS failing). Refusing early
   *     catches typos; it is not what enforces safety (run time re-resolves and re-checks), so a name
   *     that should only resolve inside the workers' network must be allowlisted as `host:port`.
   */
  async assertAllowed(url: string, field = 'payload.url'): Promise<void> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ValidationError('TARGET_NOT_ALLOWED', `target "${url}" is not a valid URL`, [{ field, message: 'must be an absolute http(s) URL' }]);
    }
    const verdict = await this.check(parsed, false);
    if (!verdict.ok) {
      const message = `target ${parsed.host} ${verdict.code === 'TARGET_UNRESOLVABLE' ? 'cannot be resolved' : 'is not allowed'}: ${verdict.reason}`;
      throw new ValidationError(verdict.code, message, [{ field, message }]);
    }
  }

  /**
   * Run-time request: like `fetch(url, init)`, but only to allowed targets, connecting only to the checked
   * addresses, and following redirects by hand (each hop checked and pinned again). `init.redirect`:
   * 'follow' (default) follows up to `maxRedirects` hops; 'manual' returns the 3xx response; 'error' fails
   * on a redirect. A refused target throws ExecutionFailure('target not allowed: …'); network errors throw
   * TypeError('fetch failed', { cause }) like fetch; an abort rejects with the signal's reason.
   */
  async fetch(url: string | URL, init: GuardedRequestInit, maxRedirects = 5): Promise<Response> {
    const { signal } = init;
    let current = new URL(url);
    let method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    let body = toBuffer(init.body);
    if (body && typeof init.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
    if (init.body instanceof URLSearchParams && !headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    const redirectMode = init.redirect ?? 'follow';

    for (let hop = 0; ; hop++) {
      signal.throwIfAborted();
      const verdict = await abortable(this.check(current, true), signal);
      if (!verdict.ok) {
        // A refused target will be refused again; a name that does not resolve may resolve later.
        throw verdict.code === 'TARGET_UNRESOLVABLE'
          ? new ExecutionFailure(`cannot resolve target: ${verdict.reason}`)
          : new ExecutionFailure(`target not allowed: ${verdict.reason}`, undefined, false);
      }
      const response = await this.request(current, method, headers, body, verdict.addresses, signal, init.maxBodyWireBytes);
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || location === null || redirectMode === 'manual') {
        return withUrl(response, current, hop > 0);
      }
      await response.body?.cancel().catch(() => undefined);
      if (redirectMode === 'error') throw new TypeError('fetch failed', { cause: new Error(`redirect (${response.status}) with redirect: "error"`) });
      if (hop >= maxRedirects) throw new ExecutionFailure(`too many redirects (more than ${maxRedirects}) from ${new URL(url).origin}`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new ExecutionFailure(`invalid redirect location "${location}" from ${current.origin}`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new ExecutionFailure(`target not allowed: redirect to ${next.protocol} URL (only http and https)`, undefined, false);
      }
      // Fetch semantics: 303 → GET (except HEAD); 301/302 POST → GET. The body and its headers are dropped.
      if ((response.status === 303 && method !== 'HEAD') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        for (const name of REQUEST_BODY_HEADERS) headers.delete(name);
      }
      if (next.origin !== current.origin) for (const name of CROSS_ORIGIN_DROPPED_HEADERS) headers.delete(name);
      current = next;
    }
  }

  /**
   * Resolves and checks one URL. Never throws. `connect` = run time: the addresses are needed for pinning, so
   * even an allowlisted `host:port` is resolved; at submit an allowlisted `host:port` is not looked up at all.
   */
  private async check(url: URL, connect: boolean): Promise<Verdict> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return { ok: false, code: 'TARGET_NOT_ALLOWED', reason: `scheme ${url.protocol} is not allowed (only http and https)` };
    }
    const host = normalizeHost(url.hostname);
    if (!host) return { ok: false, code: 'TARGET_NOT_ALLOWED', reason: 'the URL has no host' };
    const port = effectivePort(url);
    const hostAllowed = this.allowlist.hosts.has(hostKey(host, port));
    if (hostAllowed && !connect) return { ok: true, addresses: [] };
    let addresses: Resolved[];
    const literal = isIP(host);
    if (literal) {
      addresses = [{ address: host, family: literal as 4 | 6 }];
    } else {
      try {
        addresses = (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'ENOTFOUND' || code === 'ENODATA' ? 'no such host' : code === 'EAI_AGAIN' ? 'DNS lookup failed temporarily (EAI_AGAIN), try again' : `DNS lookup failed (${code ?? (error as Error).message})`;
        return { ok: false, code: 'TARGET_UNRESOLVABLE', reason: `${host}: ${why}` };
      }
      if (addresses.length === 0) return { ok: false, code: 'TARGET_UNRESOLVABLE', reason: `${host}: no addresses` };
    }
    if (hostAllowed) return { ok: true, addresses };
    for (const { address, family } of addresses) {
      const { blocked, reason } = isBlockedAddress(address);
      if (blocked && !this.allowlist.networks.check(address, family === 4 ? 'ipv4' : 'ipv6')) {
        const via = literal ? '' : `${host} resolves to `;
        return { ok: false, code: 'TARGET_NOT_ALLOWED', reason: `${via}${address}, a ${reason} address (allow it with CHRONOS_TARGET_ALLOWLIST)` };
      }
    }
    return { ok: true, addresses };
  }

  /** One HTTP exchange, connecting only to `addresses`. */
  private request(url: URL, method: string, headers: Headers, body: Buffer | undefined, addresses: Resolved[], signal: AbortSignal, maxBodyWireBytes?: number): Promise<Response> {
    const hostname = stripBrackets(url.hostname);
    const secure = url.protocol === 'https:';
    const outgoing: http.OutgoingHttpHeaders = {};
    headers.forEach((value, name) => {
      outgoing[name] = value;
    });
    if (body) outgoing['content-length'] = String(body.length);
    else if (['POST', 'PUT', 'PATCH'].includes(method)) outgoing['content-length'] = '0';

    const pinned = (host: string, opts: dns.LookupOptions, callback: (...args: unknown[]) => void): void => {
      const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : opts.family;
      const candidates = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
      if (host !== hostname || candidates.length === 0) {
        const error: NodeJS.ErrnoException = new Error(`pinned lookup: no checked address for ${host}`);
        error.code = 'ENOTFOUND';
        process.nextTick(callback, error, opts.all ? [] : undefined);
        return;
      }
      if (opts.all) process.nextTick(callback, null, candidates);
      else process.nextTick(callback, null, candidates[0]!.address, candidates[0]!.family);
    };

    const requestOptions: https.RequestOptions = {
      protocol: url.protocol,
      hostname,
      port: effectivePort(url),
      path: `${url.pathname}${url.search}`,
      method,
      headers: outgoing,
      signal,
      agent: false, // no pooled sockets: a socket is never reused for another (unchecked) resolution
      lookup: pinned as unknown as http.RequestOptions['lookup'],
    };
    if (url.username || url.password) requestOptions.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    if (secure) {
      // Certificate checked against the URL's hostname (Node does this for `hostname`); SNI = hostname (not for IP literals).
      if (!isIP(hostname)) requestOptions.servername = hostname;
      if (this.options.ca) requestOptions.ca = this.options.ca;
    }

    return new Promise<Response>((resolve, reject) => {
      const fail = (error: unknown) => reject(signal.aborted ? signal.reason : new TypeError('fetch failed', { cause: error }));
      const req = (secure ? https : http).request(requestOptions, (res) => {
        try {
          resolve(toResponse(res, method, maxBodyWireBytes));
        } catch (error) {
          res.destroy();
          fail(error);
        }
      });
      req.on('error', fail);
      req.end(body);
    });
  }
}

function effectivePort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

function toBuffer(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof URLSearchParams) return Buffer.from(body.toString(), 'utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('TargetGuard.fetch: body must be a string, URLSearchParams, ArrayBuffer or typed array');
}

/**
 * The response with its body as a stream: decoded (gzip, x-gzip, deflate, br; any other Content-Encoding, or
 * several, leaves the bytes as sent) and, with `maxBodyWireBytes`, metered. The stages are one pipeline, so
 * a reader that cancels, a decoding error or the meter tearing down any stage closes the connection: nothing
 * is read past what the reader takes (the decoder honours backpressure), and nothing is left open.
 */
function toResponse(res: http.IncomingMessage, method: string, maxBodyWireBytes?: number): Response {
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 599) throw new Error(`invalid HTTP status ${status}`);
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    try {
      headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
    } catch {
      // a header value fetch would reject (invalid characters): skip it
    }
  }
  if (NULL_BODY_STATUSES.has(status) || method === 'HEAD') {
    res.resume();
    return new Response(null, { status, statusText: res.statusMessage ?? '', headers });
  }
  const encoding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH })
      : encoding === 'deflate'
        ? zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH })
        : encoding === 'br'
          ? zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH })
          : undefined;
  const stages: NodeJS.ReadWriteStream[] = [];
  if (maxBodyWireBytes !== undefined) stages.push(new WireMeter(maxBodyWireBytes));
  if (decoder) stages.push(decoder);
  // pipeline reports its outcome through the last stage (an error ends the body stream with it).
  const stream: Readable = stages.length ? (pipeline([res, ...stages], () => undefined) as unknown as Readable) : res;
  const webStream = Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
  return new Response(webStream, { status, statusText: res.statusMessage ?? '', headers });
}

/** Whether a body stream's error came from undoing its Content-Encoding (zlib's `Z_*` codes, brotli's `ERR__ERROR_*`). */
export function isDecodingError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR__ERROR_') || code.startsWith('ERR_BROTLI'));
}

/** Passes the body through until more than `limit` bytes came, then fails with BodyWireLimitError. */
class WireMeter extends Transform {
  private bytes = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(this.bytes <= this.limit ? null : new BodyWireLimitError(this.limit), chunk);
  }
}

/** Sets `url` and `redirected` as fetch would (a constructed Response has neither). */
function withUrl(response: Response, url: URL, redirected: boolean): Response {
  Object.defineProperty(response, 'url', { value: url.href });
  Object.defineProperty(response, 'redirected', { value: redirected });
  return response;
}
