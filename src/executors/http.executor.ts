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

/** The `output` of an HTTP exchange (http and webhook jobs): status, headers and the body, truncated. */
export interface HttpOutput {
  status: number;
  headers: Record<string, string>;
  body: string;
  bodyTruncated: boolean;
}

/** Reads the response into the execution's output (the body is cut at 4096 characters). */
export async function responseOutput(response: Response): Promise<HttpOutput> {
  const text = await response.text();
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}…` : text,
    bodyTruncated: text.length > MAX_BODY_CHARS,
  };
}

/** Whether another attempt can help after an unexpected status: a 4xx says the request itself is wrong, and will be again; 408 and 429 say "later". */
export function retryableStatus(status: number): boolean {
  return status < 400 || status >= 500 || status === 408 || status === 429;
}

/** What the execution log shows of a URL: origin and path, never the query (it may carry tokens) nor credentials. */
export function loggableUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** The request headers every outgoing http/webhook request carries (API.md). */
export function chronosHeaders(context: ExecutionContext): Record<string, string> {
  return {
    'Idempotency-Key': `${context.jobId}:${context.scheduledAt}`,
    'X-Chronos-Execution-Id': context.executionId,
    'X-Chronos-Attempt': String(context.attempt),
  };
}

/** Sends one request through the guard, mapping network errors to a retryable ExecutionFailure and an abort to the signal's reason. */
export async function guardedFetch(guard: TargetGuard, url: URL, init: RequestInit & { signal: AbortSignal }): Promise<Response> {
  try {
    return await guard.fetch(url.href, init);
  } catch (error) {
    if (init.signal.aborted) throw init.signal.reason;
    if (error instanceof ExecutionFailure) throw error;
    throw new ExecutionFailure(`request to ${url.origin} failed: ${(error as Error).cause ?? (error as Error).message}`);
  }
}

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
    const headers: Record<string, string> = { ...payload.headers, ...chronosHeaders(context) };
    let body: string | undefined;
    if (payload.body !== undefined && method !== 'GET' && method !== 'HEAD') {
      body = typeof payload.body === 'string' ? payload.body : JSON.stringify(payload.body);
      if (typeof payload.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = 'application/json';
      }
    }
    // Method, origin and path only: no query, no header values, no body (they may carry secrets).
    context.log('info', `${method} ${loggableUrl(url)}`, { method, url: loggableUrl(url) });
    const started = Date.now();
    const response = await guardedFetch(this.guard, url, { method, headers, body, signal: context.signal });
    const output = await responseOutput(response);
    const ms = Date.now() - started;
    context.log('info', `response ${output.status} in ${ms} ms`, { status: output.status, durationMs: ms });
    if (!statusExpected(response.status, payload.expectStatus)) {
      throw new ExecutionFailure(`unexpected status ${response.status}`, output, retryableStatus(response.status));
    }
    return output;
  }
}

function statusExpected(status: number, expected: number | number[] | undefined): boolean {
  if (expected === undefined) return status >= 200 && status < 300;
  return Array.isArray(expected) ? expected.includes(status) : status === expected;
}
