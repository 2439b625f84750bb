import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { applyDecorators, Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { REDIS } from '../../infra/redis.js';
import { RateLimitedError } from './rate-limited.error.js';
import { RateLimiter, type RateLimitResult, type RateLimitRule } from './rate-limiter.js';

/** Limits, from the configuration. A limit of 0 switches that limit off. */
export interface RateLimitOptions {
  /** Per authenticated caller, across the API (RATE_LIMIT_PER_HOUR). */
  perUserPerHour: number;
  /** Per client IP on the auth routes (AUTH_RATE_LIMIT_PER_IP). */
  authPerIpPer15Min: number;
  /** Per e-mail address on the auth routes (AUTH_RATE_LIMIT_PER_EMAIL). */
  authPerEmailPer15Min: number;
  /** Overrides the one-hour window of `perUserPerHour` (tests). */
  userWindowMs?: number;
  /** Overrides the 15-minute window of the auth limits (tests). */
  authWindowMs?: number;
  /** A Redis answer slower than this counts as Redis being down (fail open). Default 250 ms. */
  redisTimeoutMs?: number;
}

export const RATE_LIMIT_OPTIONS = Symbol('RateLimitOptions');

export type RateLimitKind = 'api' | 'auth';
const RATE_LIMIT_KIND = 'chronos:rate-limit';
const HOUR_MS = 3_600_000;
const FIFTEEN_MINUTES_MS = 900_000;
export const RATE_LIMIT_KEY_PREFIX = 'chronos:rl:';
/** Tells the OpenAPI document which limits a route has (src/http/openapi.ts documents their headers and 429). */
export const RATE_LIMIT_EXTENSION = 'x-chronos-rate-limit';

/**
 * Chooses the limits of a route or controller. `api` (the default, no decorator needed): per authenticated caller.
 * `auth` (login, register, refresh): per client IP and per e-mail in the body, both must admit the request.
 */
export const RateLimit = (kind: RateLimitKind) => applyDecorators(SetMetadata(RATE_LIMIT_KIND, kind), ApiExtension(RATE_LIMIT_EXTENSION, kind));
/** No rate limit on this route or controller (health, docs). A method's decorator overrides its controller's. */
export const SkipRateLimit = () => applyDecorators(SetMetadata(RATE_LIMIT_KIND, 'skip'), ApiExtension(RATE_LIMIT_EXTENSION, 'none'));

type LimitedRequest = Request & { caller?: { id: string } };

/**
 * Applies the rate limits (see RateLimiter for the algorithm and why it fails open). Sets `RateLimit-Limit`,
 * `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the quota is whole again) on every limited response,
 * reporting the tightest rule when several apply; on refusal also `Retry-After` (seconds), then throws
 * RateLimitedError (429 RATE_LIMITED). When Redis cannot answer, the request passes and no RateLimit-* header
 * is sent (nothing reliable to report).
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly limiter: RateLimiter;

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(REDIS) redis: Redis,
    @Inject(RATE_LIMIT_OPTIONS) private readonly options: RateLimitOptions,
  ) {
    for (const name of ['perUserPerHour', 'authPerIpPer15Min', 'authPerEmailPer15Min'] as const) {
      const value = options[name];
      if (!Number.isInteger(value) || value < 0) throw new RangeError(`rate limit option ${name} must be an integer ≥ 0, got ${value}`);
    }
    this.limiter = new RateLimiter(redis, { timeoutMs: options.redisTimeoutMs });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const kind = this.reflector.getAllAndOverride<RateLimitKind | 'skip' | undefined>(RATE_LIMIT_KIND, [context.getHandler(), context.getClass()]) ?? 'api';
    if (kind === 'skip') return true;
    const request = context.switchToHttp().getRequest<LimitedRequest>();
    const rules = kind === 'auth' ? this.authRules(request) : this.apiRules(request);
    if (rules.length === 0) return true;

    const results = await this.limiter.consumeAll(rules);
    if (!results) return true; // Redis unavailable: fail open (RateLimiter logged it)

    const response = context.switchToHttp().getResponse<Response>();
    const refused = results.filter((r) => !r.allowed);
    const reported = refused.length
      ? refused.reduce((a, b) => (b.retryAfterSeconds > a.retryAfterSeconds ? b : a))
      : results.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetSeconds > a.resetSeconds) ? b : a));
    setRateLimitHeaders(response, reported);
    if (refused.length) {
      response.setHeader('Retry-After', String(reported.retryAfterSeconds));
      throw new RateLimitedError(reported.retryAfterSeconds);
    }
    return true;
  }

  private apiRules(request: LimitedRequest): RateLimitRule[] {
    const id = request.caller?.id;
    if (!id || this.options.perUserPerHour === 0) return [];
    return [{ key: `${RATE_LIMIT_KEY_PREFIX}user:${id}`, limit: this.options.perUserPerHour, windowMs: this.options.userWindowMs ?? HOUR_MS }];
  }

  private authRules(request: LimitedRequest): RateLimitRule[] {
    const windowMs = this.options.authWindowMs ?? FIFTEEN_MINUTES_MS;
    const rules: RateLimitRule[] = [];
    if (this.options.authPerIpPer15Min > 0) {
      rules.push({ key: `${RATE_LIMIT_KEY_PREFIX}ip:${clientIpKey(request.ip ?? request.socket?.remoteAddress)}`, limit: this.options.authPerIpPer15Min, windowMs });
    }
    const email = (request.body as { email?: unknown } | undefined)?.email;
    if (this.options.authPerEmailPer15Min > 0 && typeof email === 'string' && email.trim()) {
      rules.push({ key: `${RATE_LIMIT_KEY_PREFIX}email:${emailHash(email)}`, limit: this.options.authPerEmailPer15Min, windowMs });
    }
    return rules;
  }
}

function setRateLimitHeaders(response: Response, result: RateLimitResult): void {
  response.setHeader('RateLimit-Limit', String(result.limit));
  response.setHeader('RateLimit-Remaining', String(result.remaining));
  response.setHeader('RateLimit-Reset', String(result.resetSeconds));
}

/** sha256 of the trimmed, lower-cased address: no raw e-mail addresses in Redis. */
export function emailHash(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}

/**
 * The IP part of a rate-limit key: IPv4 as is (also when IPv4-mapped), IPv6 by its /64 prefix, since one client
 * usually holds a whole /64 and could otherwise rotate addresses to escape the per-IP limit.
 */
export function clientIpKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip)) return ip;
  const address = ip.split('%')[0]!.toLowerCase();
  if (!isIPv6(address)) return ip;
  const groups = (part: string) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const [head = '', tail] = address.split('::');
  const first = groups(head);
  const last = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? first : [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last];
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
