import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';

/** One limit to apply: at most `limit` requests per `windowMs` for `key`. */
export interface RateLimitRule {
  key: string;
  limit: number;
  windowMs: number;
}

export interface RateLimitResult {
  /** Whether this rule admits the request. */
  allowed: boolean;
  limit: number;
  /** Requests still admitted right now after this one (0 when refused). */
  remaining: number;
  /** Seconds until the quota is whole again (nothing outstanding): `RateLimit-Reset`. */
  resetSeconds: number;
  /** Seconds until a request would be admitted again: `Retry-After`; 0 when allowed. */
  retryAfterSeconds: number;
}

/** EVAL's arguments after the script: the number of keys, the keys, then limit and window of each. */
type ScriptArgs = [number, ...(string | number)[]];

export interface RateLimiterOptions {
  /** A Redis answer slower than this counts as Redis being unavailable (fail open). Default 250 ms. */
  timeoutMs?: number;
  /** Where the "Redis unavailable" warning goes (default: a Nest Logger, context "RateLimit"). */
  logger?: { warn(message: unknown): void };
}

/**
 * GCRA (generic cell rate algorithm, i.e. a token bucket expressed as one timestamp) over Redis.
 *
 * Why GCRA rather than a sliding-window counter:
 * - exact: one "theoretical arrival time" (TAT) per key gives an exact `Retry-After` (when the next request is
 *   admitted) and an exact `RateLimit-Remaining`, where a weighted two-window counter only estimates them;
 * - small: one string key per caller, with a TTL equal to the time until the bucket is full again, so idle keys
 *   disappear on their own;
 * - smooth: a caller may burst `limit` requests, then earns one request back every `windowMs / limit`
 *   (100/hour: one every 36 s; for brute force on login: one try every 90 s at 10/15 min) instead of a fresh
 *   full burst at each window boundary. The long-run rate is exactly `limit / windowMs`. (Like a sliding-window
 *   counter it is not a hard cap per arbitrary hour: a full burst plus what trickles back within the hour.)
 *
 * Atomic and multi-instance safe: read-decide-write happens in ONE Lua script, and "now" is the Redis server's
 * clock (`TIME`), so API instances with skewed clocks still agree. Several rules (per IP + per email) are decided
 * all-or-nothing in one script: a request refused by one rule consumes nothing from the others, so an attacker
 * already blocked by IP cannot keep draining (and thereby lock out) a victim's per-email quota. Multi-key calls
 * need a standalone Redis (Chronos's); under Redis Cluster, give the keys a common hash tag.
 *
 * Redis unreachable, erroring or slower than `timeoutMs`: `consume` returns `null` and the caller FAILS OPEN
 * (admits the request). Availability of the scheduler API matters more than an hour's quota, and a Redis outage
 * must not turn every request into a 500 or a 429. The auth brute-force limits failing open is acceptable because
 * each login attempt still costs a slow password hash. A warning is logged at most once per 10 s.
 */
export class RateLimiter {
  private static readonly SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local out = {1}
local tats = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local interval = window / limit
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local new_tat = tat + interval
  if new_tat - now <= window + 0.01 then
    tats[i] = new_tat
    table.insert(out, 1)
    table.insert(out, math.max(0, math.floor((window - (new_tat - now)) / interval + 0.000001)))
    table.insert(out, 0)
    table.insert(out, math.ceil(new_tat - now))
  else
    out[1] = 0
    table.insert(out, 0)
    table.insert(out, 0)
    table.insert(out, math.ceil(new_tat - window - now))
    table.insert(out, math.ceil(tat - now))
  end
end
if out[1] == 1 then
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', math.max(1, math.ceil(tats[i] - now)))
  end
end
return out
`;
  private static readonly SHA = createHash('sha1').update(RateLimiter.SCRIPT).digest('hex');
  private static readonly WARN_EVERY_MS = 10_000;

  private readonly timeoutMs: number;
  private readonly logger: { warn(message: unknown): void };
  private lastWarningAt = Number.NEGATIVE_INFINITY;
  /** The calls of this turn of the event loop, sent together (run). */
  private pending: { args: ScriptArgs; resolve(reply: unknown): void; reject(error: unknown): void }[] | undefined;

  constructor(
    private readonly redis: Redis,
    options: RateLimiterOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 250;
    this.logger = options.logger ?? new Logger('RateLimit');
  }

  /** Counts one request against `key`; `null` when Redis cannot answer (the caller fails open). */
  async consume(key: string, limit: number, windowMs: number): Promise<RateLimitResult | null> {
    const results = await this.consumeAll([{ key, limit, windowMs }]);
    return results ? results[0]! : null;
  }

  /**
   * Counts one request against every rule, all-or-nothing: it is admitted (and counted) only if every rule admits
   * it. Results are in the order of `rules`; `null` when Redis cannot answer.
   */
  async consumeAll(rules: readonly RateLimitRule[]): Promise<RateLimitResult[] | null> {
    if (rules.length === 0) return [];
    for (const rule of rules) {
      if (!Number.isInteger(rule.limit) || rule.limit < 1) throw new RangeError(`rate limit for ${rule.key} must be an integer ≥ 1, got ${rule.limit}`);
      if (!Number.isFinite(rule.windowMs) || rule.windowMs <= 0) throw new RangeError(`rate limit window for ${rule.key} must be > 0 ms, got ${rule.windowMs}`);
    }
    const args: ScriptArgs = [rules.length, ...rules.map((r) => r.key), ...rules.flatMap((r) => [r.limit, r.windowMs])];
    let reply: unknown;
    try {
      reply = await this.withTimeout(this.run(args));
    } catch (error) {
      this.warn(error);
      return null;
    }
    if (!Array.isArray(reply) || reply.length !== 1 + 4 * rules.length) {
      this.warn(new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`));
      return null;
    }
    const all = Number(reply[0]) === 1;
    return rules.map((rule, i) => {
      const [allowed, remaining, retryMs, resetMs] = (reply as unknown[]).slice(1 + 4 * i, 5 + 4 * i).map(Number) as [number, number, number, number];
      return {
        allowed: all && allowed === 1,
        limit: rule.limit,
        remaining: all ? remaining : 0,
        resetSeconds: Math.max(0, Math.ceil(resetMs / 1000)),
        retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(retryMs / 1000)),
      };
    });
  }

  /**
   * EVALSHA, sent with the others of the same turn of the event loop in one pipeline: one socket write for
   * them all (under load, the write of each command was most of the limiter's cost). Each script still runs
   * atomically on its own, in order. A call Redis answers NOSCRIPT (it has not seen the script yet, or was
   * restarted) is sent again with EVAL, which loads it.
   */
  private run(args: ScriptArgs): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (!this.pending) {
        this.pending = [];
        setImmediate(() => void this.flush());
      }
      this.pending.push({ args, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const calls = this.pending!;
    this.pending = undefined;
    const pipeline = this.redis.pipeline();
    for (const call of calls) pipeline.evalsha(RateLimiter.SHA, ...call.args);
    let replies: [Error | null, unknown][];
    try {
      replies = (await pipeline.exec()) ?? [];
    } catch (error) {
      for (const call of calls) call.reject(error);
      return;
    }
    await Promise.all(
      calls.map(async (call, i) => {
        const [error, reply] = replies[i] ?? [new Error('no reply in the pipeline'), undefined];
        if (!error) return call.resolve(reply);
        if (!String(error.message).startsWith('NOSCRIPT')) return call.reject(error);
        try {
          call.resolve(await this.redis.eval(RateLimiter.SCRIPT, ...call.args));
        } catch (retryError) {
          call.reject(retryError);
        }
      }),
    );
  }

  private withTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
    });
    work.catch(() => undefined); // a late failure after the timeout must not become an unhandled rejection
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private warn(error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarningAt < RateLimiter.WARN_EVERY_MS) return;
    this.lastWarningAt = now;
    this.logger.warn({ msg: 'rate limiting unavailable, admitting requests (fail open)', error: (error as Error)?.message ?? String(error) });
  }
}
