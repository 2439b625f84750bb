import { Logger } from '@nestjs/common';
import { EventPattern, Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes } from '@nats-io/jetstream';
import { lastValueFrom } from 'rxjs';
import { decodeEventMessage, type StoredEvent } from '../../events/stored-event.js';
import { EVENTS_STREAM, EVENTS_SUBJECTS } from '../../events/streams.js';
import { runBatches, type Backoff, type RunningConsumer } from '../durable-consumer.js';
import type { NatsClients } from '../nats.js';

const MAX_BATCH = 1000;
/** A batch that fails (PostgreSQL away, a stream refusing messages) is handled again after this. */
const RETRY: Backoff = { firstMs: 1000, maxMs: 5000 };
/** A batch a dead process held comes back after this; a live one keeps it with heartbeats. */
const ACK_WAIT_MS = 10_000;

export interface EventLogConsumerOptions {
  /**
   * Durable consumers this one replaces (an upgrade that merges consumers): when it does not exist yet, it
   * starts after the lowest of their acknowledged positions instead of at the start of the log, so it
   * repeats only what some of them had not yet acknowledged (deduplicated publishes, checkpoints).
   */
  takesOverFrom?: string[];
  /**
   * The checkpoints its handler commits with what it applies (projection names): the handler's own record, not
   * the consumer's acknowledgements, says what is applied. At every start it resumes after the lowest of them
   * when that is before its acknowledged position (an acknowledgement whose transaction was lost, a database
   * restored from a backup), so nothing the read models lack is left behind; what is replayed is skipped by them.
   */
  checkpoints?: readonly string[];
}

/** The lowest stored checkpoint of the names (0 for one never written). */
export type CheckpointReader = (names: readonly string[]) => Promise<number>;

/**
 * Marks a method as the handler of one durable consumer of the event log. It receives the events of
 * every message delivered, in log order, in batches; the batch is acknowledged only when the returned
 * promise resolves, and redelivered (after a pause) when it rejects.
 */
export const EventLogConsumer = (durableName: string, options: EventLogConsumerOptions = {}): MethodDecorator =>
  EventPattern(durableName, { ...options }) as MethodDecorator;

/**
 * A Nest microservice transport on JetStream: each @EventLogConsumer handler gets a durable pull consumer
 * on CHRONOS_EVENTS (ack policy all), run by the consumer runner (src/infra/durable-consumer.ts). One
 * instance per consumer is active at a time (a lease), so events are handled in order even when several
 * processes run the same role. A message that is not an event message is parked (skipped with an error line).
 */
export class EventLogTransport extends Server implements CustomTransportStrategy {
  private readonly log = new Logger(EventLogTransport.name);
  private readonly running: RunningConsumer[] = [];
  private readonly options = new Map<string, EventLogConsumerOptions>();

  constructor(
    private readonly nats: NatsClients,
    private readonly instanceId: string,
    private readonly leaseTtlMs: number,
    private readonly lowestCheckpoint: CheckpointReader,
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
   * acknowledged message instead, or earlier, right after its handler's lowest checkpoint (`checkpoints`). What
   * it sees again is folded once (checkpoints, deduplicated publishes).
   */
  private async startAtAckFloor(name: string): Promise<void> {
    const options = this.options.get(name) ?? {};
    let start = await this.nextAfterAckFloor(name);
    const applied = options.checkpoints ? (await this.lowestCheckpoint(options.checkpoints)) + 1 : undefined;
    if (applied !== undefined && start !== undefined && applied < start) {
      this.log.warn(`${name}: acknowledged up to stream sequence ${start - 1}, but its checkpoints say ${applied - 1}: replaying from ${applied}`);
      start = applied;
    }
    if (start !== undefined) {
      await this.nats.jsm.consumers.delete(EVENTS_STREAM, name);
    } else {
      const predecessors = (await Promise.all((options.takesOverFrom ?? []).map((predecessor) => this.nextAfterAckFloor(predecessor)))).filter(
        (next): next is number => next !== undefined,
      );
      start = Math.min(predecessors.length > 0 ? Math.min(...predecessors) : 1, applied ?? Infinity);
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

  private run(name: string, handle: (events: StoredEvent[]) => Promise<unknown>): Promise<RunningConsumer> {
    return runBatches<StoredEvent>(this.nats, {
      durable: name,
      stream: EVENTS_STREAM,
      ensure: () => this.startAtAckFloor(name),
      ackWaitMs: ACK_WAIT_MS,
      // Only the event store writes these subjects, but anyone allowed to publish on NATS could.
      decode: (message) => decodeEventMessage(message.seq, message.json()),
      maxBatch: MAX_BATCH,
      handle: async (events) => void (await handle(events)),
      onFailure: { retry: RETRY },
      exclusive: { key: `consumer.${name}`, holderId: this.instanceId, ttlMs: this.leaseTtlMs },
    });
  }
}
