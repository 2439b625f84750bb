import { Logger } from '@nestjs/common';
import { EventPattern, Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { lastValueFrom } from 'rxjs';
import { decodeEventMessage, type StoredEvent } from '../../events/stored-event.js';
import { EVENTS_STREAM, EVENTS_SUBJECTS } from '../../events/streams.js';
import { Lease } from '../lease.js';
import type { NatsClients } from '../nats.js';

const MAX_BATCH = 1000;
const RETRY_DELAY_MS = 1000;
/** A batch a dead process held comes back after this; a live one keeps it with heartbeats. */
const ACK_WAIT_MS = 10_000;

export interface EventLogConsumerOptions {
  /**
   * Durable consumers this one replaces (an upgrade that merges consumers): when it does not exist yet, it
   * starts after the lowest of their acknowledged positions instead of at the start of the log, so it
   * repeats only what some of them had not yet acknowledged (deduplicated publishes, checkpoints).
   */
  takesOverFrom?: string[];
}

/**
 * Marks a method as the handler of one durable consumer of the event log. It receives the events of
 * every message delivered, in log order, in batches; the batch is acknowledged only when the returned
 * promise resolves, and redelivered (after a pause) when it rejects.
 */
export const EventLogConsumer = (durableName: string, options: EventLogConsumerOptions = {}): MethodDecorator =>
  EventPattern(durableName, { ...options }) as MethodDecorator;

/**
 * A Nest microservice transport on JetStream: each @EventLogConsumer handler gets a durable pull consumer
 * on CHRONOS_EVENTS. One instance per consumer is active at a time (a lease), so events are handled in
 * order even when several processes run the same role.
 */
export class EventLogTransport extends Server implements CustomTransportStrategy {
  private readonly log = new Logger(EventLogTransport.name);
  private readonly running: { stop(): Promise<void> }[] = [];
  private readonly options = new Map<string, EventLogConsumerOptions>();

  constructor(
    private readonly nats: NatsClients,
    private readonly instanceId: string,
    private readonly leaseTtlMs: number,
  ) {
    super();
  }

  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    try {
      for (const [name, handler] of this.getHandlers()) {
        this.options.set(name, (handler.extras ?? {}) as EventLogConsumerOptions);
        this.running.push(await this.run(name, async (events) => lastValueFrom(this.transformToObservable(await handler(events)), { defaultValue: undefined })));
      }
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.running.splice(0).map((consumer) => consumer.stop()));
  }

  on(): never {
    throw new Error('EventLogTransport has no events to subscribe to');
  }

  unwrap<T>(): T {
    return this.nats as T;
  }

  /**
   * Recreates the durable consumer at its acknowledged position. With ack policy *all*, acknowledging a
   * message acknowledges every earlier one: a new holder of the lease must not receive messages after the
   * ones a dead holder had in hand (they would be acknowledged unseen), so it starts right after the last
   * acknowledged message instead. What it sees again is folded once (checkpoints, deduplicated publishes).
   */
  private async startAtAckFloor(name: string): Promise<void> {
    const options = this.options.get(name) ?? {};
    let start = await this.nextAfterAckFloor(name);
    if (start !== undefined) {
      await this.nats.jsm.consumers.delete(EVENTS_STREAM, name);
    } else {
      const predecessors = (await Promise.all((options.takesOverFrom ?? []).map((predecessor) => this.nextAfterAckFloor(predecessor)))).filter(
        (next): next is number => next !== undefined,
      );
      start = predecessors.length > 0 ? Math.min(...predecessors) : 1;
      if (predecessors.length > 0) this.log.log(`${name}: first start, taking over from ${options.takesOverFrom!.join(', ')} at stream sequence ${start}`);
    }
    await this.nats.jsm.consumers.add(EVENTS_STREAM, {
      durable_name: name,
      filter_subject: EVENTS_SUBJECTS,
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
      ack_wait: ACK_WAIT_MS * 1_000_000,
      max_ack_pending: 20_000,
    });
  }

  /** The stream sequence after a durable consumer's acknowledged position, or undefined when it does not exist. */
  private async nextAfterAckFloor(name: string): Promise<number | undefined> {
    try {
      const { ack_floor, config } = await this.nats.jsm.consumers.info(EVENTS_STREAM, name);
      // A consumer that has acknowledged nothing since it was created reports 0: it still stands where it started
      // (else a holder that died before its first acknowledgement would send its successor to the start of the log).
      return ack_floor.stream_seq > 0 ? ack_floor.stream_seq + 1 : (config.opt_start_seq ?? 1);
    } catch (error) {
      if ((error as { code?: number }).code !== JetStreamApiCodes.ConsumerNotFound) throw error;
      return undefined;
    }
  }

  private async run(name: string, handle: (events: StoredEvent[]) => Promise<unknown>): Promise<{ stop(): Promise<void> }> {
    let messages: ConsumerMessages | undefined;
    let stopped = false;
    let loop: Promise<void> = Promise.resolve();
    let lease: Lease | undefined;
    const holding = () => !stopped && lease?.isHeld !== false;
    // While this instance holds the lease it consumes; a failure to start (or a lost connection) is retried.
    const keepConsuming = async () => {
      while (holding()) {
        try {
          await this.consume(name, handle, (m) => (messages = m), () => !holding());
        } catch (error) {
          this.log.error(`${name}: consuming stopped: ${(error as Error).message}`);
        }
        if (holding()) await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      }
    };
    lease = await Lease.start(this.nats.kvm, `consumer.${name}`, this.instanceId, this.leaseTtlMs, (held) => {
      if (held) loop = loop.then(keepConsuming);
      else void messages?.close();
    });
    return {
      stop: async () => {
        stopped = true;
        await messages?.close();
        await loop.catch(() => undefined);
        await lease.release();
      },
    };
  }

  private async consume(
    name: string,
    handle: (events: StoredEvent[]) => Promise<unknown>,
    setMessages: (messages: ConsumerMessages) => void,
    isStopped: () => boolean,
  ): Promise<void> {
    await this.startAtAckFloor(name);
    const consumer = await this.nats.js.consumers.get(EVENTS_STREAM, name);
    const messages = await consumer.consume({ max_messages: MAX_BATCH });
    setMessages(messages);
    // Messages are moved into our own queue as they arrive, so "nothing more has arrived" is known exactly
    // (the iterator's pending count also counts its internal pull callbacks) and batches grow with the
    // backlog but never wait for a message that is not there.
    const arrived: JsMsg[] = [];
    let ended = false;
    let wake: (() => void) | undefined;
    const pump = (async () => {
      try {
        for await (const message of messages) {
          arrived.push(message);
          wake?.();
        }
      } finally {
        ended = true;
        wake?.();
      }
    })();
    while (!isStopped()) {
      if (arrived.length === 0) {
        if (ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const batch = arrived.splice(0, MAX_BATCH);
      const events = batch.flatMap((message) => this.decode(name, message));
      // A slow batch (or a retried one) is still ours: tell the server, so it does not redeliver it.
      const heartbeat = setInterval(() => batch.forEach((message) => message.working()), ACK_WAIT_MS / 3);
      while (!isStopped()) {
        try {
          await handle(events);
          batch[batch.length - 1]!.ack();
          break;
        } catch (error) {
          this.log.error(`${name}: batch ending at ${batch[batch.length - 1]!.seq} failed, retrying: ${(error as Error).message}`);
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
        }
      }
      clearInterval(heartbeat);
    }
    await pump;
  }

  /**
   * The events of one message. Only the event store writes these subjects, but anyone allowed to publish on
   * NATS could: a message that is not an event message is skipped with an error line, never retried forever.
   */
  private decode(name: string, message: JsMsg): StoredEvent[] {
    try {
      return decodeEventMessage(message.seq, message.json());
    } catch (error) {
      this.log.error(`${name}: message ${message.seq} on ${message.subject} is not an event message, skipped: ${(error as Error).message}`);
      return [];
    }
  }
}
