import { Controller, Inject } from '@nestjs/common';
import type { ExecutionCancelled, JobFired } from '../domain/job/job.events.js';
import type { StoredEvent } from '../events/stored-event.js';
import { CANCEL_SUBJECT_PREFIX, WORK_SUBJECT } from '../events/streams.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { EventLogConsumer } from '../infra/transport/event-stream.transport.js';

/** What a worker receives: which execution of which job to run. The worker reads the job's spec itself. */
export interface WorkItem {
  jobId: string;
  /** Stream sequence of the fire: the worker reads the job at least as recent as this. */
  firedSequence: number;
  executionId: string;
  scheduledAt: string;
  attempt: number;
}

/**
 * Starts and stops runs. Every fire becomes one work item on CHRONOS_WORK. The publish carries Nats-Msg-Id = work:<executionId>,
 * and the batch is acknowledged only after every publish is confirmed: a crash repeats publishes that the
 * stream then drops as duplicates, and loses none (guarantee 6). A cancelled execution (replaced by a newer fire) is announced on
 * chronos.control.cancel.<executionId>, and the worker running it aborts it; a worker that misses the
 * announcement finishes the run, and its result is ignored because the execution is no longer open.
 */
@Controller()
export class DispatchWorkSaga {
  constructor(@Inject(NATS_CLIENTS) private readonly nats: NatsClients) {}

  @EventLogConsumer('saga-dispatch-work')
  async dispatch(events: StoredEvent[]): Promise<void> {
    const fires = events.filter((e): e is StoredEvent<JobFired['data']> => e.type === 'JobFired');
    for (const cancelled of events.filter((e): e is StoredEvent<ExecutionCancelled['data']> => e.type === 'ExecutionCancelled')) {
      this.nats.connection.publish(`${CANCEL_SUBJECT_PREFIX}.${cancelled.data.executionId}`);
    }
    await Promise.all(
      fires.map(({ data, sequence }) => {
        const item: WorkItem = { jobId: data.jobId, firedSequence: sequence, executionId: data.executionId, scheduledAt: data.scheduledAt, attempt: data.attempt };
        return this.nats.publisher.publish(`${WORK_SUBJECT}.${data.jobId}`, JSON.stringify(item), { msgID: `work:${data.executionId}` });
      }),
    );
  }
}
