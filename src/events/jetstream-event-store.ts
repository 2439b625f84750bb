import { randomUUID } from 'node:crypto';
import { headers } from '@nats-io/transport-node';
import { JetStreamApiCodes, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { WrongExpectedSequenceError, type AppendResult, type EventStore, type NewEvent } from './event-store.js';
import { toStoredEvents, type CommandMetadata, type EventMessage, type StoredEvent } from './stored-event.js';
import { EVENTS_STREAM, eventSubject } from './streams.js';

export const EVENT_TYPES_HEADER = 'Chronos-Event-Types';

/**
 * The event store on JetStream: one subject per aggregate, one message per command, optimistic
 * concurrency with Nats-Expected-Last-Subject-Sequence and idempotency with Nats-Msg-Id = command id.
 */
export class JetStreamEventStore implements EventStore {
  constructor(
    private readonly js: JetStreamClient,
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
      events.push(...toStoredEvents(message.seq, message.json<EventMessage>()));
    }
    return { events, lastSequence };
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
      occurredAt: new Date().toISOString(),
      events: events.map((event) => ({ id: randomUUID(), type: event.type, version: event.version, data: event.data })),
    };
    const h = headers();
    h.set(EVENT_TYPES_HEADER, events.map((event) => `${event.type}@${event.version}`).join(','));
    try {
      const ack = await this.js.publish(eventSubject(aggregateType, aggregateId), JSON.stringify(message), {
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

function isWrongLastSequence(error: unknown): boolean {
  return (error as { code?: number })?.code === JetStreamApiCodes.StreamWrongLastSequence;
}
