/**
 * The benchmark's HTTP client: node:http over keep-alive connections, as many as requests in flight, so
 * that what is measured is the server and not connection set-up. (fetch costs the client several times
 * more CPU per request, and the client shares the machine with the servers it measures.)
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { latenessStats, type LatenessStats } from './stats.js';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
}

/** A keep-alive client of one server (`base`: `http://127.0.0.1:<port>`). */
export class HttpClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(base: string, connections: number) {
    const url = new URL(base);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  /**
   * A request on a kept-alive connection the server closed meanwhile (its keep-alive timeout, met when a busy
   * machine leaves a connection idle for seconds) fails before the server reads it: sent again once on a new
   * connection, as Node's documentation advises (`request.reusedSocket`).
   */
  async send(req: HttpRequest): Promise<HttpAnswer> {
    try {
      return await this.sendOnce(req);
    } catch (error) {
      if ((error as { reusedSocket?: boolean }).reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET') return this.sendOnce(req);
      throw error;
    }
  }

  private sendOnce(req: HttpRequest): Promise<HttpAnswer> {
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string | number> = { ...req.headers };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest({ agent: this.agent, host: this.host, port: this.port, method: req.method, path: req.path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      outgoing.on('error', (error) => reject(Object.assign(error, { reusedSocket: outgoing.reusedSocket })));
      outgoing.end(payload);
    });
  }

  async json<T>(req: HttpRequest, expectStatus: number): Promise<T> {
    const answer = await this.send(req);
    if (answer.status !== expectStatus) throw new Error(`${req.method} ${req.path} answered ${answer.status}, not ${expectStatus}: ${answer.body.toString().slice(0, 500)}`);
    return JSON.parse(answer.body.toString()) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface LoadResult {
  requests: number;
  elapsedMs: number;
  requestsPerSecond: number;
  latency: LatenessStats;
  /** Every request's latency, ms, in the order sent. */
  samples: number[];
}

/**
 * Sends `count` requests, `inFlight` at a time (`next(i)` builds the i-th), each answer checked by `check`
 * (throws to abort the run). Latency is from sending a request to reading its whole answer.
 */
export async function load(
  client: HttpClient,
  opts: { count: number; inFlight: number; next: (i: number) => HttpRequest; check: (answer: HttpAnswer, i: number) => void },
): Promise<LoadResult> {
  const samples = new Array<number>(opts.count);
  let issued = 0;
  let failed: unknown;
  const started = performance.now();
  const lane = async () => {
    while (failed === undefined && issued < opts.count) {
      const i = issued++;
      const sent = performance.now();
      try {
        const answer = await client.send(opts.next(i));
        samples[i] = performance.now() - sent;
        opts.check(answer, i);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.inFlight, opts.count) }, lane));
  if (failed !== undefined) throw failed;
  const elapsedMs = performance.now() - started;
  return {
    requests: opts.count,
    elapsedMs: Math.round(elapsedMs),
    requestsPerSecond: Math.round((opts.count / elapsedMs) * 1000),
    latency: latenessStats(samples),
    samples,
  };
}
