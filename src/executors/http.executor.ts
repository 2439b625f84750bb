import { ExecutionFailure, type ExecutionContext, type Executor } from './executor.js';
import type { TargetGuard } from './target-guard.js';

export interface HttpPayload {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  expectStatus?: number | number[];
}

const MAX_BODY_CHARS = 4096;

/** `http` jobs: one request with the idempotency headers; success is the expected status (2xx by default). */
export class HttpExecutor implements Executor {
  readonly type = 'http' as const;

  /** Every request goes through the guard: resolved addresses checked and pinned, redirects re-checked. */
  constructor(private readonly guard: TargetGuard) {}

  async run(context: ExecutionContext): Promise<unknown> {
    const payload = context.payload as unknown as HttpPayload;
    const url = new URL(payload.url);
    for (const [key, value] of Object.entries(payload.query ?? {})) url.searchParams.append(key, value);
    const method = (payload.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {
      ...payload.headers,
      'Idempotency-Key': `${context.jobId}:${context.scheduledAt}`,
      'X-Chronos-Execution-Id': context.executionId,
      'X-Chronos-Attempt': String(context.attempt),
    };
    let body: string | undefined;
    if (payload.body !== undefined && method !== 'GET' && method !== 'HEAD') {
      body = typeof payload.body === 'string' ? payload.body : JSON.stringify(payload.body);
      if (typeof payload.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = 'application/json';
      }
    }
    let response: Response;
    try {
      response = await this.guard.fetch(url.href, { method, headers, body, signal: context.signal });
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      if (error instanceof ExecutionFailure) throw error;
      throw new ExecutionFailure(`request to ${url.origin} failed: ${(error as Error).cause ?? (error as Error).message}`);
    }
    const text = await response.text();
    const output = {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}…` : text,
      bodyTruncated: text.length > MAX_BODY_CHARS,
    };
    if (!statusExpected(response.status, payload.expectStatus)) {
      // A 4xx says the request itself is wrong, and will be again; 408 and 429 say "later".
      const retryable = response.status < 400 || response.status >= 500 || response.status === 408 || response.status === 429;
      throw new ExecutionFailure(`unexpected status ${response.status}`, output, retryable);
    }
    return output;
  }
}

function statusExpected(status: number, expected: number | number[] | undefined): boolean {
  if (expected === undefined) return status >= 200 && status < 300;
  return Array.isArray(expected) ? expected.includes(status) : status === expected;
}
