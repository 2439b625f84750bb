import type { JobEvent } from '../../src/domain/job/job.events.js';
import type { StoredJobEvent } from '../../src/events/stored-event.js';

/**
 * "Given" of the pure specs of reactions and projections: job events as the log keeps them, in log order from
 * sequence 1, each the only event of its message, occurred at `occurredAt`, with the correlation id a spec names.
 */
export function storedInOrder(events: JobEvent[], occurredAt: string, correlationOf: (event: JobEvent, index: number) => string): StoredJobEvent[] {
  return events.map(
    (event, index) =>
      ({
        ...event,
        sequence: index + 1,
        index: 0,
        id: `event-${index + 1}`,
        aggregateType: 'job',
        aggregateId: (event.data as { jobId: string }).jobId,
        version: index + 1,
        occurredAt,
        actor: 'test',
        correlationId: correlationOf(event, index),
      }) as StoredJobEvent,
  );
}
