import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

/** What the sink answers: a status, headers (a value's characters are written as Latin-1 bytes) and the body's bytes. */
export interface SinkAnswer {
  status: number;
  headers?: OutgoingHttpHeaders;
  body?: Buffer;
}

/** What the sink wrote of an answer's body before the client stopped reading (or all of it). */
export interface SinkDelivery {
  path: string;
  /** Body bytes handed to the socket. */
  written: number;
  /** Whether the whole body was written. */
  complete: boolean;
}

/**
 * A local HTTP server that records every request and answers with a configurable status (`{"ok":…}`), or
 * with whatever `answer` returns for a request. Large bodies are written in pieces with backpressure, so
 * `deliveries` tells how much of a body a client actually read.
 */
export class HttpSink {
  readonly requests: SinkRequest[] = [];
  readonly deliveries: SinkDelivery[] = [];
  status = 200;
  answer: ((request: SinkRequest) => SinkAnswer) | undefined;
  private server: Server | undefined;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = { method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString(), receivedAt: Date.now() };
        this.requests.push(request);
        const answer = this.answer?.(request) ?? { status: this.status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ ok: this.status < 400 })) };
        const body = answer.body ?? Buffer.alloc(0);
        res.writeHead(answer.status, answer.headers);
        const delivery: SinkDelivery = { path: request.path, written: 0, complete: false };
        this.deliveries.push(delivery);
        res.on('error', () => undefined); // a client that stops reading closes the socket
        const PIECE = 64 * 1024;
        const writeMore = (): void => {
          while (delivery.written < body.length && !res.destroyed) {
            const piece = body.subarray(delivery.written, delivery.written + PIECE);
            delivery.written += piece.length;
            if (!res.write(piece)) return void res.once('drain', writeMore);
          }
          if (res.destroyed) return;
          delivery.complete = true;
          res.end();
        };
        writeMore();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  to(path: string): SinkRequest[] {
    return this.requests.filter((r) => r.path.split('?')[0] === path);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
