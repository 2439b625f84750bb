import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';
import { ExecutionFailure, type ExecutionContext, type Executor } from './executor.js';
import { chronosHeaders, guardedFetch, loggableUrl, responseOutput, retryableStatus } from './http.executor.js';
import type { TargetGuard } from './target-guard.js';

export interface WebhookPayload {
  url: string;
  /** Any JSON value: sent as the request body. */
  data: unknown;
  /** Signs the request: `X-Chronos-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. */
  secret?: string;
}

/**
 * `webhook` jobs: one `POST` of `data` as JSON, with the idempotency headers of every outgoing request and,
 * when the job has a `secret`, `X-Chronos-Signature` over the exact bytes sent (a fresh timestamp on every
 * attempt, so a receiver's replay window holds for retries too). Through the TargetGuard like `http`.
 * Redirects are not followed: a 3xx is answered as a failure (a 301/302/303 would turn the POST into a GET
 * without its body, and the receiver is the one the job names). 2xx is success; a 4xx other than 408/429 is
 * not retried.
 */
export class WebhookExecutor implements Executor {
  readonly type = 'webhook' as const;

  constructor(
    private readonly guard: TargetGuard,
    private readonly now: () => number = Date.now,
  ) {}

  async run(context: ExecutionContext): Promise<unknown> {
    const payload = context.payload as unknown as WebhookPayload;
    const url = new URL(payload.url);
    const body = JSON.stringify(payload.data ?? null);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'Chronos-Webhook',
      ...chronosHeaders(context),
    };
    if (payload.secret) headers[SIGNATURE_HEADER] = signWebhook(payload.secret, body, Math.floor(this.now() / 1000));
    context.log('info', `POST ${loggableUrl(url)}`, { method: 'POST', url: loggableUrl(url), bytes: Buffer.byteLength(body), signed: Boolean(payload.secret) });
    const started = Date.now();
    const response = await guardedFetch(this.guard, url, { method: 'POST', headers, body, signal: context.signal, redirect: 'manual' });
    const output = await responseOutput(response, context.signal);
    const ms = Date.now() - started;
    context.log('info', `response ${output.status} in ${ms} ms`, { status: output.status, durationMs: ms });
    if (output.status < 200 || output.status > 299) {
      const why = output.status >= 300 && output.status < 400 ? ` (redirects are not followed for webhooks)` : '';
      throw new ExecutionFailure(`unexpected status ${output.status}${why}`, output, retryableStatus(output.status));
    }
    return output;
  }
}
