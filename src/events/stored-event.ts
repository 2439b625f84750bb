import { JOB_EVENT_VERSIONS, type JobEvent } from '../domain/job/job.events.js';
import { MalformedMessageError } from './messages.js';

/** An event as it is stored and read back: the public `StoredEvent` of the API (GET /jobs/:id/events). */
export interface StoredEvent<Data = unknown> {
  /** Stream sequence of the message that carried the event (one message per command). */
  sequence: number;
  /** Position of the event inside its message. */
  index: number;
  id: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  /** Schema version of `data`, after upcasting. */
  version: number;
  occurredAt: string;
  actor: string;
  /** What the command that produced it reacted to (an event, a work item), or that command itself. */
  causationId: string;
  correlationId: string;
  data: Data;
}

/** Who caused a command and under which request: carried into every event it produces. */
export interface CommandMetadata {
  commandId: string;
  actor: string;
  correlationId: string;
  /** The event or message the command reacts to; none for a command that starts a chain (a request, a fire). */
  causationId?: string;
}

/** The body of one event-store message: every event one command produced. */
export interface EventMessage {
  aggregateType: string;
  aggregateId: string;
  commandId: string;
  actor: string;
  correlationId: string;
  causationId?: string;
  occurredAt: string;
  events: { id: string; type: string; version: number; data: unknown }[];
}

/**
 * Old event versions are upcast here when read, never rewritten in the log. Every event type is at its
 * first version today; a change of shape adds a step `(data) => newData` keyed by `${type}@${version}`.
 */
const upcasters: Record<string, { to: number; upcast: (data: unknown) => unknown }> = {};

export function upcast(type: string, version: number, data: unknown): { version: number; data: unknown } {
  let current = { version, data };
  for (let step = upcasters[`${type}@${current.version}`]; step; step = upcasters[`${type}@${current.version}`]) {
    current = { version: step.to, data: step.upcast(current.data) };
  }
  return current;
}

/** What is on an event-log subject is not an event message (only the event store writes there, but anyone allowed to publish on NATS could). */
export class NotAnEventMessageError extends MalformedMessageError {
  override name = 'NotAnEventMessageError';
}

/**
 * The events of one event-log message (`body`: its parsed JSON), upcast, each addressed by the message's
 * stream sequence and its index in it. Throws NotAnEventMessageError for anything that is not an EventMessage.
 */
export function decodeEventMessage(sequence: number, body: unknown): StoredEvent[] {
  const message = body as EventMessage | null;
  if (typeof message?.aggregateId !== 'string' || typeof message.aggregateType !== 'string' || !Array.isArray(message.events)) {
    throw new NotAnEventMessageError(`message ${sequence} is not an event message`);
  }
  return message.events.map((event, index) => {
    const { version, data } = upcast(event.type, event.version, event.data);
    return {
      sequence,
      index,
      id: event.id,
      type: event.type,
      aggregateType: message.aggregateType,
      aggregateId: message.aggregateId,
      version,
      occurredAt: message.occurredAt,
      actor: message.actor,
      causationId: message.causationId ?? message.commandId,
      correlationId: message.correlationId,
      data,
    };
  });
}

/** A stored event of the job aggregate, typed by its `type` like the domain's JobEvent. */
export type StoredJobEvent<E extends JobEvent = JobEvent> = E extends JobEvent ? Omit<StoredEvent, 'type' | 'data'> & E : never;

/**
 * The one way from a stored event to a job event: the stored event itself, typed, when it is an event of
 * the job aggregate of a type and version this code knows (after upcasting) with its data an object naming
 * a job; otherwise undefined, and every consumer passes it by (another aggregate, or an event a newer
 * version of Chronos wrote).
 */
export function asJobEvent(stored: StoredEvent): StoredJobEvent | undefined {
  if (stored.aggregateType !== JOB_AGGREGATE) return undefined;
  if (!Object.hasOwn(JOB_EVENT_VERSIONS, stored.type) || JOB_EVENT_VERSIONS[stored.type as JobEvent['type']] !== stored.version) return undefined;
  const data = stored.data as { jobId?: unknown } | null;
  if (typeof data !== 'object' || data === null || Array.isArray(data) || typeof data.jobId !== 'string') return undefined;
  return stored as StoredJobEvent;
}

/** The job events among `events`, in order (see asJobEvent). */
export const jobEventsOf = (events: StoredEvent[]): StoredJobEvent[] => events.flatMap((event) => asJobEvent(event) ?? []);

/** The aggregate type of jobs: `chronos.es.job.<jobId>`. */
export const JOB_AGGREGATE = 'job';
