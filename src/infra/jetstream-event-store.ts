import { randomUUID } from 'node:crypto';
import { headers } from '@nats-io/transport-node';
import { JetStreamApiCodes, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { WrongExpectedSequenceError, type AppendResult, type EventStore, type NewEvent } from '../events/event-store.js';
import { decodeEventMessage, type CommandMetadata, type EventMessage, type StoredEvent } from '../events/stored-event.js';
import { EVENT_TYPES_HEADER, EVENTS_STREAM, EVENTS_SUBJECTS, eventSubject } from '../events/streams.js';
import type { StreamPublisher } from './jetstream-publisher.js';
import { readInOrder } from './ordered-read.js';

/**
 * The event store on JetStream: one subject per aggregate, one message per command, optimistic
 * concurrency with Nats-Expected-Last-Subject-Sequence and idempotency with Nats-Msg-Id = command id.
 */
export class JetStreamEventStore implements EventStore {
  constructor(
    /** `NatsClients.publisher` in the application; nats.js's JetStreamClient works too. */
    private readonly publisher: StreamPublisher,
    private readonly jsm: JetStreamManager,
  ) {}

  async load(aggregateType: string, aggregateId: string, fromSequence = 0): Promise<{ events: StoredEvent[]; lastSequence: number }> {
    const subject = eventSubject(aggregateType, aggregateId);
    const events: StoredEvent[] = [];
    let lastSequence = fromSequence;
    // Direct get of the next message on the subject: no consumer is created per load (works on 2.9).
    for (;;) {
      const message = await this.jsm.direct.getMessage(EVENTS_STREAM, { seq: lastSequence + 1, next_by_subj: subject });
      if (!message) break;
      lastSequence = message.seq;
      events.push(...decodeEventMessage(message.seq, message.json()));
    }
    return { events, lastSequence };
  }

  async loadPage(aggregateType: string, aggregateId: string, skip: number, limit: number): Promise<StoredEvent[]> {
    const subject = eventSubject(aggregateType, aggregateId);
    const page: StoredEvent[] = [];
    let seen = 0;
    for (let sequence = 0; seen < skip + limit; ) {
      const message = await this.jsm.direct.getMessage(EVENTS_STREAM, { seq: sequence + 1, next_by_subj: subject });
      if (!message) break;
      sequence = message.seq;
      for (const event of decodeEventMessage(message.seq, message.json())) {
        if (seen >= skip && seen < skip + limit) page.push(event);
        seen++;
      }
    }
    return page;
  }

  async append(
    aggregateType: string,
    aggregateId: string,
    expectedSequence: number,
    events: NewEvent[],
    metadata: CommandMetadata,
  ): Promise<AppendResult> {
    const message: EventMessage = {
      aggregateType,
      aggregateId,
      commandId: metadata.commandId,
      actor: metadata.actor,
      correlationId: metadata.correlationId,
      ...(metadata.causationId ? { causationId: metadata.causationId } : {}),
      occurredAt: new Date().toISOString(),
      events: events.map((event) => ({ id: randomUUID(), type: event.type, version: event.version, data: event.data })),
    };
    const h = headers();
    h.set(EVENT_TYPES_HEADER, events.map((event) => `${event.type}@${event.version}`).join(','));
    try {
      const ack = await this.publisher.publish(eventSubject(aggregateType, aggregateId), JSON.stringify(message), {
        msgID: metadata.commandId,
        expect: { lastSubjectSequence: expectedSequence },
        headers: h,
      });
      return { sequence: ack.seq, duplicate: ack.duplicate };
    } catch (error) {
      if (isWrongLastSequence(error)) throw new WrongExpectedSequenceError(`${aggregateType} ${aggregateId} moved past ${expectedSequence}`);
      throw error;
    }
  }
}

export interface LogReadOptions {
  /** First stream sequence to read (default 1); or `since`, the first time. */
  fromSequence?: number;
  since?: Date;
  /** Only this aggregate's subject. */
  aggregate?: { type: string; id: string };
  /** Stop after about this many events (whole messages only: a command's events stay together). */
  limit: number;
}

/**
 * Reads the log in order with an ordered (ephemeral) consumer: for admins and replays, never for the
 * rules. Returns the events and the sequence to continue from.
 */
export async function readEventLog(js: JetStreamClient, options: LogReadOptions): Promise<{ events: StoredEvent[]; nextSequence: number | null }> {
  const events: StoredEvent[] = [];
  let nextSequence: number | null = null;
  const filter = options.aggregate ? eventSubject(options.aggregate.type, options.aggregate.id) : EVENTS_SUBJECTS;
  const from = options.since ? { time: options.since } : { sequence: options.fromSequence ?? 1 };
  await readInOrder(js, EVENTS_STREAM, { filter, from, batch: Math.min(500, options.limit + 1) }, (message) => {
    const stored = decodeEventMessage(message.seq, message.json());
    if (events.length > 0 && events.length + stored.length > options.limit) {
      nextSequence = message.seq;
      return false;
    }
    events.push(...stored);
    return true;
  });
  return { events, nextSequence };
}

function isWrongLastSequence(error: unknown): boolean {
  return (error as { code?: number })?.code === JetStreamApiCodes.StreamWrongLastSequence;
}
