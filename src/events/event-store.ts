import type { Snapshot } from './messages.js';
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
  /** `limit` events of one aggregate after its first `skip`, in order: reads the log only as far as the page. */
  loadPage(aggregateType: string, aggregateId: string, skip: number, limit: number): Promise<StoredEvent[]>;
  /** Appends one command's events as one message, if the aggregate's last sequence is still `expectedSequence`. */
  append(aggregateType: string, aggregateId: string, expectedSequence: number, events: NewEvent[], metadata: CommandMetadata): Promise<AppendResult>;
}

export const EVENT_STORE = Symbol('EventStore');

/**
 * Where the latest snapshot of each aggregate is kept (src/infra/kv-snapshot-store.ts). Every method may fail or
 * find nothing without changing an answer: a load without a snapshot folds from the first event.
 */
export interface SnapshotStore {
  get(aggregateType: string, aggregateId: string): Promise<Snapshot | null>;
  put(aggregateType: string, aggregateId: string, snapshot: Snapshot): Promise<void>;
  remove(aggregateType: string, aggregateId: string): Promise<void>;
}

/** No snapshots: every load folds the whole log. */
export const NO_SNAPSHOTS: SnapshotStore = {
  get: async () => null,
  put: async () => undefined,
  remove: async () => undefined,
};

export const SNAPSHOT_STORE = Symbol('SnapshotStore');
