import { createInbox, headers as newHeaders, type MsgHdrs, type NatsConnection, type Msg, type Subscription } from '@nats-io/transport-node';

/** What JetStream answers when it has stored a message (or recognised it as a duplicate). */
export interface PublishAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

/** The subset of nats.js's publish options Chronos uses; `JetStreamClient` accepts the same. */
export interface PublishOptions {
  /** Nats-Msg-Id: the stream drops a second message with the same id within its duplicate window. */
  msgID?: string;
  expect?: { lastSubjectSequence?: number };
  headers?: MsgHdrs;
}

/** Anything that publishes to a stream and resolves with its acknowledgement (this class, or nats.js's JetStreamClient). */
export interface StreamPublisher {
  publish(subject: string, payload: string | Uint8Array, options?: PublishOptions): Promise<PublishAck>;
}

/** A refusal by JetStream, with the server's error code (e.g. 10071, wrong last sequence) as `code`. */
export class JetStreamPublishError extends Error {
  override name = 'JetStreamPublishError';
  constructor(
    message: string,
    readonly code: number,
    readonly status: number,
  ) {
    super(message);
  }
}

/** No reply within the timeout: the message may or may not be stored (publish again with the same Nats-Msg-Id). */
export class JetStreamPublishTimeoutError extends Error {
  override name = 'JetStreamPublishTimeoutError';
  readonly code = 'TIMEOUT';
}

interface Pending {
  resolve(ack: PublishAck): void;
  reject(error: Error): void;
  deadline: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const NO_RESPONDERS = 503;

/**
 * JetStream publishes with acknowledgements, minus nats.js's per-request machinery: there, every publish
 * is a request with its own timer, deferred and (even with async traces off) an `Error` built when it
 * completes, which together cost more CPU than the publish itself. Here every reply comes back on one
 * inbox subscription, keyed by a counter, and one coarse timer expires what was not answered in time.
 * Publishes on one connection keep their order, as with nats.js.
 */
export class JetStreamPublisher implements StreamPublisher {
  private readonly inbox = createInbox();
  private readonly pending = new Map<number, Pending>();
  private readonly subscription: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private next = 0;

  constructor(
    private readonly connection: NatsConnection,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.subscription = connection.subscribe(`${this.inbox}.*`, { callback: (_error, msg) => this.settle(msg) });
    this.sweeper = setInterval(() => this.expire(), Math.min(1000, timeoutMs)).unref();
  }

  publish(subject: string, payload: string | Uint8Array, options: PublishOptions = {}): Promise<PublishAck> {
    let h = options.headers;
    if (options.msgID !== undefined) (h ??= newHeaders()).set('Nats-Msg-Id', options.msgID);
    if (options.expect?.lastSubjectSequence !== undefined) (h ??= newHeaders()).set('Nats-Expected-Last-Subject-Sequence', `${options.expect.lastSubjectSequence}`);
    const id = ++this.next;
    return new Promise<PublishAck>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: Date.now() + this.timeoutMs });
      try {
        this.connection.publish(subject, payload, { reply: `${this.inbox}.${id}`, ...(h ? { headers: h } : {}) });
      } catch (error) {
        this.pending.delete(id);
        reject(error as Error);
      }
    });
  }

  /** Rejects what is still waiting (the connection is closing). */
  close(): void {
    clearInterval(this.sweeper);
    this.subscription.unsubscribe();
    for (const pending of this.pending.values()) pending.reject(new Error('publisher closed'));
    this.pending.clear();
  }

  private settle(msg: Msg): void {
    const id = Number(msg.subject.slice(this.inbox.length + 1));
    const pending = this.pending.get(id);
    if (!pending) return; // expired meanwhile
    this.pending.delete(id);
    if (msg.data.length === 0) {
      const status = msg.headers?.code ?? 0;
      pending.reject(new JetStreamPublishError(status === NO_RESPONDERS ? 'no stream answers on this subject (JetStream not enabled, or no stream)' : `empty reply (status ${status})`, 0, status));
      return;
    }
    try {
      const reply = msg.json<{ stream?: string; seq?: number; duplicate?: boolean; error?: { code: number; err_code: number; description: string } }>();
      if (reply.error) pending.reject(new JetStreamPublishError(reply.error.description, reply.error.err_code, reply.error.code));
      else pending.resolve({ stream: reply.stream ?? '', seq: reply.seq ?? 0, duplicate: reply.duplicate === true });
    } catch (error) {
      pending.reject(error as Error);
    }
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, pending] of this.pending) {
      // Insertion order is publish order, and every publish gets the same timeout: stop at the first not yet due.
      if (pending.deadline > now) break;
      this.pending.delete(id);
      pending.reject(new JetStreamPublishTimeoutError(`no acknowledgement within ${this.timeoutMs} ms`));
    }
  }
}
