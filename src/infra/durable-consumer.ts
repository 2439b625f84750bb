import { Logger } from '@nestjs/common';
import { AckPolicy, JetStreamApiCodes, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { MalformedMessageError } from '../events/messages.js';
import { Lease } from './lease.js';
import type { NatsClients } from './nats.js';

/**
 * The one runner of Chronos's durable consumers (every consumer loop but the worker's intake, which pulls only
 * what it has room for: src/worker/worker.service.ts). It ensures the consumer, pulls, heartbeats every message
 * in hand, acknowledges only after the handler resolves, and applies the consumer's declared failure policy.
 *
 * When NATS goes away, or the consumer does, this is the one place that notices and starts again: nats.js
 * reconnects the connection and re-issues pulls by itself (also after missed heartbeats); a consumer that is
 * deleted or not found, a start that fails, or a consume that ends for any reason but a stop is started afresh,
 * the consumer ensured again, after a delay that doubles from RESTART_FIRST_MS to RESTART_MAX_MS while starts
 * keep failing. Messages in hand meanwhile are not lost: unacknowledged, they come back after `ack_wait`.
 */

/** A delay that doubles with each try, from `firstMs` up to `maxMs`. */
export interface Backoff {
  firstMs: number;
  maxMs: number;
}

/** The delay after the `tries`-th failed try (1 = the first). */
export const backoffDelay = (tries: number, { firstMs, maxMs }: Backoff): number => Math.min(maxMs, firstMs * 2 ** Math.min(Math.max(tries - 1, 0), 30));

/**
 * What a message's handler throws when what the message asks for failed, as opposed to the infrastructure
 * under it (a lost connection, a database restart), which is always retried: with a `deadLetter` policy it
 * counts toward `afterDeliveries`, or ends the message at once when `permanent` (trying again cannot help).
 */
export class DeliveryFailure extends Error {
  override name = 'DeliveryFailure';
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
  }
}

/**
 * What becomes of a message whose handler throws. Every policy parks what is not what its subject says (any
 * error of `decode`, a MalformedMessageError of the handler): it is logged and never delivered again (`term`;
 * in an ack-all batch, skipped and acknowledged with it), since it would fail the same way each time.
 */
export type FailurePolicy<M> =
  /** Handled again after `backoff` (by its deliveries so far), until it succeeds. */
  | { retry: Backoff }
  /**
   * As `retry`, but a DeliveryFailure on the `afterDeliveries`-th delivery (or a permanent one on any) hands the
   * message to `deadLetter`, which records it as failed for good; it is acknowledged once that is done.
   */
  | { retry: Backoff; deadLetter: { afterDeliveries: number; record(message: M, failure: DeliveryFailure, deliveries: number): Promise<void> } };

interface ConsumerSpec<D> {
  /** The durable consumer's name (src/events/streams.ts), also its name in logs. */
  durable: string;
  stream: string;
  /** Creates the durable consumer, or brings it up to date; at every start. */
  ensure(jsm: JetStreamManager): Promise<void>;
  /** The consumer's ack_wait: messages in hand are heartbeated every third of it. */
  ackWaitMs: number;
  /** What the handler takes from a message; throws (MalformedMessageError) for what is not one. */
  decode(message: JsMsg): D;
  /** One process at a time (a KV lease by this key): consumers whose order matters. */
  exclusive?: { key: string; holderId: string; ttlMs: number };
}

/** Messages handled one by one, up to `concurrency` at once, each acknowledged on its own (ack policy explicit). */
export interface EachConsumerSpec<M> extends ConsumerSpec<M> {
  concurrency: number;
  /** Messages pulled ahead of the handlers (default `concurrency`); they wait without heartbeats, so keep it well within ack_wait's worth. */
  prefetch?: number;
  onFailure: FailurePolicy<M>;
  handle(message: M, delivery: { deliveries: number }): Promise<void>;
}

/**
 * Messages handled in batches, in order: whatever has arrived, up to `maxBatch`, each batch acknowledged by its
 * last message once the handler resolves (ack policy all), and handled again in place while it fails.
 */
export interface BatchConsumerSpec<M> extends ConsumerSpec<M[]> {
  maxBatch: number;
  onFailure: { retry: Backoff };
  handle(batch: M[]): Promise<void>;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Stops pulling, lets the handlers in progress finish, and hands the lease on. */
  stop(): Promise<void>;
}

const RESTART_FIRST_MS = 1000;
const RESTART_MAX_MS = 30_000;
/** What the client says when the consumer is gone from under it: it would keep pulling from nothing. */
const CONSUMER_GONE = new Set(['consumer_deleted', 'consumer_not_found']);

/** Tells JetStream every third of `ackWaitMs` that `messages` are still in hand; returns the way to stop. */
export function keepInHand(messages: readonly JsMsg[], ackWaitMs: number): () => void {
  const heartbeat = setInterval(() => messages.forEach((message) => message.working()), Math.max(1, Math.floor(ackWaitMs / 3)));
  return () => clearInterval(heartbeat);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs a consumer whose messages are handled one by one. */
export function runEach<M>(nats: NatsClients, spec: EachConsumerSpec<M>): Promise<RunningConsumer> {
  const inFlight = new Set<Promise<void>>();
  const log = new Logger(`consumer ${spec.durable}`);
  return run(nats, spec, log, {
    maxMessages: spec.prefetch ?? spec.concurrency,
    async drain(arrived, stopped) {
      while (!stopped()) {
        const message = await arrived.next(() => inFlight.size < spec.concurrency);
        if (!message || stopped()) break;
        const handling: Promise<void> = handleOne(spec, log, message).finally(() => {
          inFlight.delete(handling);
          arrived.wake();
        });
        inFlight.add(handling);
      }
    },
    settle: () => Promise.allSettled([...inFlight]).then(() => undefined),
  });
}

/** Runs a consumer whose messages are handled in ordered batches. */
export function runBatches<M>(nats: NatsClients, spec: BatchConsumerSpec<M>): Promise<RunningConsumer> {
  const log = new Logger(`consumer ${spec.durable}`);
  return run(nats, spec, log, {
    maxMessages: spec.maxBatch,
    async drain(arrived, stopped) {
      while (!stopped()) {
        const batch = await arrived.take(spec.maxBatch);
        if (batch.length === 0 || stopped()) break;
        const decoded = batch.flatMap((message) => decodeOrPark(spec, log, message) ?? []);
        const released = keepInHand(batch, spec.ackWaitMs);
        try {
          for (let tries = 1; !stopped(); tries++) {
            try {
              await spec.handle(decoded);
              batch.at(-1)!.ack();
              break;
            } catch (error) {
              log.error(`batch ending at ${batch.at(-1)!.seq} failed, retrying: ${(error as Error).message}`);
              await sleep(backoffDelay(tries, spec.onFailure.retry));
            }
          }
        } finally {
          released();
        }
      }
    },
    settle: async () => undefined,
  });
}

/** One message: decoded, handled with heartbeats, acknowledged; or parked, retried or dead-lettered. */
async function handleOne<M>(spec: EachConsumerSpec<M>, log: Logger, message: JsMsg): Promise<void> {
  const deliveries = message.info.deliveryCount;
  const released = keepInHand([message], spec.ackWaitMs);
  const decoded = decodeOrPark(spec, log, message);
  if (decoded === undefined) {
    released();
    message.term();
    return;
  }
  try {
    await spec.handle(decoded, { deliveries });
    message.ack();
  } catch (error) {
    if (error instanceof MalformedMessageError) {
      park(log, message, error);
      message.term();
      return;
    }
    const policy = spec.onFailure;
    if ('deadLetter' in policy && error instanceof DeliveryFailure && (error.permanent || deliveries >= policy.deadLetter.afterDeliveries)) {
      try {
        await policy.deadLetter.record(decoded, error, deliveries);
        message.ack();
        return;
      } catch (recordError) {
        error = recordError;
      }
    }
    const delayMs = backoffDelay(deliveries, policy.retry);
    log.warn(`message ${message.seq} (delivery ${deliveries}) not handled, again in ${delayMs} ms: ${(error as Error).message}`);
    message.nak(delayMs);
  } finally {
    released();
  }
}

/** The message decoded, or undefined (logged) when it is not what its subject carries. */
function decodeOrPark<D>(spec: ConsumerSpec<D>, log: Logger, message: JsMsg): D | undefined {
  try {
    return spec.decode(message);
  } catch (error) {
    park(log, message, error);
    return undefined;
  }
}

function park(log: Logger, message: JsMsg, error: unknown): void {
  log.error(`message ${message.seq} on ${message.subject} parked (not delivered again): ${(error as Error).message}`);
}

/** What has arrived from the server and is not taken yet: whether more has come is known exactly. */
class Arrivals {
  private readonly queue: JsMsg[] = [];
  private waiting: (() => void) | undefined;
  ended = false;

  push(message: JsMsg): void {
    this.queue.push(message);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  /** Up to `max` of what has arrived, waiting for one if none has; empty once the stream of messages ended. */
  async take(max: number): Promise<JsMsg[]> {
    while (this.queue.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.waiting = resolve));
    return this.queue.splice(0, max);
  }

  /** The next message once `ready()` holds (woken by `wake`), or undefined once the stream of messages ended and all are taken. */
  async next(ready: () => boolean): Promise<JsMsg | undefined> {
    while (!(this.queue.length > 0 && ready()) && !(this.ended && this.queue.length === 0)) await new Promise<void>((resolve) => (this.waiting = resolve));
    return this.queue.shift();
  }
}

interface Drain {
  maxMessages: number;
  /** Takes what arrives until the stream of messages ends or the consumer stops. */
  drain(arrived: Arrivals, stopped: () => boolean): Promise<void>;
  /** Waits for the handlers still running. */
  settle(): Promise<void>;
}

async function run<D>(nats: NatsClients, spec: ConsumerSpec<D>, log: Logger, drain: Drain): Promise<RunningConsumer> {
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  let lease: Lease | undefined;
  let loop: Promise<void> = Promise.resolve();
  const active = () => !stopped && lease?.isHeld !== false;

  const consumeOnce = async (): Promise<void> => {
    await spec.ensure(nats.jsm);
    const consumer = await nats.js.consumers.get(spec.stream, spec.durable);
    messages = await consumer.consume({ max_messages: drain.maxMessages });
    if (!active()) void messages.close();
    const current = messages;
    void (async () => {
      for await (const status of current.status()) {
        if (!CONSUMER_GONE.has(status.type)) continue;
        log.warn(`${status.type.replace('_', ' ')}: starting it again`);
        void current.close();
        break;
      }
    })().catch(() => undefined);
    // Messages are moved into our own queue as they arrive, so "nothing more has arrived" is known exactly
    // (the iterator's pending count also counts its internal pull callbacks): batches grow with the backlog
    // but never wait for a message that is not there.
    const arrived = new Arrivals();
    const pump = (async () => {
      try {
        for await (const message of current) arrived.push(message);
      } finally {
        arrived.end();
      }
    })();
    await drain.drain(arrived, () => !active());
    await pump;
  };

  const keepConsuming = async (): Promise<void> => {
    for (let failures = 0; active(); ) {
      try {
        await consumeOnce();
        failures = 0;
      } catch (error) {
        failures++;
        log.error(`consuming stopped: ${(error as Error).message}`);
      }
      if (active()) await sleep(backoffDelay(Math.max(1, failures), { firstMs: RESTART_FIRST_MS, maxMs: RESTART_MAX_MS }));
    }
  };

  if (spec.exclusive) {
    const { key, holderId, ttlMs } = spec.exclusive;
    lease = await Lease.start(nats, key, holderId, ttlMs, (held) => {
      if (held) loop = loop.then(keepConsuming);
      else void messages?.close();
    });
  } else {
    loop = keepConsuming();
  }

  return {
    stop: async () => {
      stopped = true;
      await messages?.close();
      await loop.catch(() => undefined);
      await drain.settle();
      await lease?.release();
    },
  };
}

/**
 * Creates a durable pull consumer (explicit ack), or brings an existing one's delivery settings up to date,
 * so a changed configuration takes effect on the next start. Idempotent.
 */
export async function ensureDurableConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: { durable_name: string; filter_subject?: string; ack_wait: number; max_deliver?: number; max_ack_pending?: number },
): Promise<void> {
  const { durable_name, filter_subject, ...settings } = config;
  try {
    await jsm.consumers.info(stream, durable_name);
    await jsm.consumers.update(stream, durable_name, settings);
  } catch (error) {
    if ((error as { code?: number }).code !== JetStreamApiCodes.ConsumerNotFound) throw error;
    await jsm.consumers.add(stream, { durable_name, ...(filter_subject ? { filter_subject } : {}), ack_policy: AckPolicy.Explicit, ...settings });
  }
}
