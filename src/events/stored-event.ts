/** An event as it is stored and read back: the public `StoredEvent` of API.md. */
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

export function toStoredEvents(sequence: number, message: EventMessage): StoredEvent[] {
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
