import type { CommandMetadata, StoredEvent } from './stored-event.js';

export interface NewEvent {
  type: string;
  version: number;
  data: unknown;
}

export interface AppendResult {
  /** Stream sequence of the message now holding the events (or of the earlier one, for a duplicate). */
  sequence: number;
  /** The command id was seen before: its events were appended by that earlier attempt, not by this one. */
  duplicate: boolean;
}

/** The aggregate changed since it was loaded (JetStream error 10071): reload and decide again. */
export class WrongExpectedSequenceError extends Error {
  override name = 'WrongExpectedSequenceError';
  readonly code = 'WRONG_EXPECTED_SEQUENCE';
}

/** The port the domain's repositories use; src/events/jetstream-event-store.ts is its adapter. */
export interface EventStore {
  /** Every event of one aggregate, in order, with the subject sequence of its last message (0 if none). */
  load(aggregateType: string, aggregateId: string, fromSequence?: number): Promise<{ events: StoredEvent[]; lastSequence: number }>;
  /** Appends one command's events as one message, if the aggregate's last sequence is still `expectedSequence`. */
  append(aggregateType: string, aggregateId: string, expectedSequence: number, events: NewEvent[], metadata: CommandMetadata): Promise<AppendResult>;
}

export const EVENT_STORE = Symbol('EventStore');
