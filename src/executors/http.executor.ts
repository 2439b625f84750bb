import { ExecutionFailure, type ExecutionContext, type Executor } from './executor.js';
import { bytesForm, errorMessage, recordableText, wellFormedText } from './recordable.js';
import { BodyWireLimitError, isDecodingError, type GuardedRequestInit, type TargetGuard } from './target-guard.js';

export interface HttpPayload {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  expectStatus?: number | number[];
}

/** The bytes of a response body kept in the output. */
export const BODY_KEPT_BYTES = 4096;
/** Reading a response body stops past this many bytes once decoded, or past BODY_WIRE_BYTES as received: the rest is not read. */
export const BODY_READ_BYTES = 1024 * 1024;
export const BODY_WIRE_BYTES = 1024 * 1024;
/** One header value kept in the output, in UTF-8 bytes. */
const HEADER_VALUE_BYTES = 1024;

/** The `output` of an HTTP exchange (http and webhook jobs): status, headers and the start of the body, in a recordable form. */
export interface HttpOutput {
  status: number;
  /** Lower-case names; a value as UTF-8 text when its bytes are UTF-8, else as Latin-1 (each byte one character). */
  headers: Record<string, string>;
  /** The body's first 4 KiB (after Content-Encoding is undone): its text, or its base64 when it is not UTF-8 text without NUL. */
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  /** Bytes of the body read (decoded): its size, unless `bodyIncomplete` says reading stopped early. */
  bodyBytes: number;
  /** `body` holds less than the whole body. */
  bodyTruncated: boolean;
  /** Why reading stopped before the body's end: a read cap, a decoding error, the connection closing. */
  bodyIncomplete?: string;
}

interface BodyRead {
  /** The first BODY_KEPT_BYTES bytes (fewer when the body is shorter). */
  head: Buffer;
  /** Bytes read, decoded. */
  bytes: number;
  /** Set when reading stopped before the end of the body: why. */
  incomplete?: string;
}

/**
 * Reads a response body as a stream, keeping its first BODY_KEPT_BYTES and counting the rest, up to
 * BODY_READ_BYTES decoded (the guard stops the wire at `maxBodyWireBytes`); then the rest is cancelled, never
 * buffered. A body that fails midway (a decoding error, a connection closed) is what was read, with the reason;
 * an abort (timeout, cancellation) rejects with the signal's reason.
 */
async function readBody(response: Response, signal: AbortSignal): Promise<BodyRead> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let bytes = 0;
  let incomplete: string | undefined;
  const reader = response.body?.getReader();
  try {
    while (reader) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (kept < BODY_KEPT_BYTES) {
        const piece = Buffer.from(value.buffer, value.byteOffset, Math.min(value.byteLength, BODY_KEPT_BYTES - kept));
        chunks.push(Buffer.from(piece)); // a copy: the rest of the chunk is not kept alive
        kept += piece.length;
      }
      if (bytes > BODY_READ_BYTES) {
        incomplete = `not read past ${BODY_READ_BYTES} bytes`;
        break;
      }
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    incomplete = error instanceof BodyWireLimitError ? `not read past ${error.limitBytes} bytes on the wire` : bodyFailure(error, response);
  } finally {
    await reader?.cancel().catch(() => undefined);
  }
  return { head: Buffer.concat(chunks), bytes, ...(incomplete !== undefined ? { incomplete } : {}) };
}

function bodyFailure(error: unknown, response: Response): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const why = isDecodingError(error)
    ? `decoding Content-Encoding ${response.headers.get('content-encoding')} failed: ${errorMessage(error)}`
    : `reading failed: ${errorMessage(error)}${cause ? ` (${errorMessage(cause)})` : ''}`;
  return recordableText(why, 300);
}

/** A header value as text: the bytes (Latin-1 in a fetch Headers) read as UTF-8 when they are, else left as Latin-1. */
function headerText(value: string): string {
  const bytes = Buffer.from(value, 'latin1');
  const form = bytesForm(bytes, bytes.length);
  return recordableText(form.encoding === 'utf8' ? form.data : wellFormedText(value), HEADER_VALUE_BYTES);
}

/** Reads the response into the execution's output: bounded, and recordable whatever the target sent. */
export async function responseOutput(response: Response, signal: AbortSignal): Promise<HttpOutput> {
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) {
    const text = headerText(value);
    headers[name] = Object.hasOwn(headers, name) ? `${headers[name]}, ${text}` : text; // several Set-Cookie
  }
  const read = await readBody(response, signal);
  const form = bytesForm(read.head, BODY_KEPT_BYTES, read.bytes > read.head.length || read.incomplete !== undefined);
  return {
    status: response.status,
    headers,
    body: form.data,
    bodyEncoding: form.encoding,
    bodyBytes: read.bytes,
    bodyTruncated: form.truncated,
    ...(read.incomplete !== undefined ? { bodyIncomplete: read.incomplete } : {}),
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

/** The request headers every outgoing http/webhook request carries (README.md). */
export function chronosHeaders(context: ExecutionContext): Record<string, string> {
  return {
    'Idempotency-Key': `${context.jobId}:${context.scheduledAt}`,
    'X-Chronos-Execution-Id': context.executionId,
    'X-Chronos-Attempt': String(context.attempt),
  };
}

/** Sends one request through the guard, mapping network errors to a retryable ExecutionFailure and an abort to the signal's reason. */
export async function guardedFetch(guard: TargetGuard, url: URL, init: GuardedRequestInit): Promise<Response> {
  try {
    return await guard.fetch(url.href, { maxBodyWireBytes: BODY_WIRE_BYTES, ...init });
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
    const output = await responseOutput(response, context.signal);
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
