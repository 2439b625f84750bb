import { Controller, Inject } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { StoredEvent } from '../events/stored-event.js';
import { EventLogConsumer } from '../infra/transport/event-stream.transport.js';
import { applyCheckpointed } from './checkpointed-projection.js';
import { ExecutionsProjection } from './executions/executions.projection.js';
import { JobsProjection } from './jobs/jobs.projection.js';
import { TimersProjection } from './timers/timers.projection.js';

/** Feeds each read model from its own durable consumer of the event log. */
@Controller()
export class ReadModelConsumers {
  private readonly jobs = new JobsProjection();
  private readonly executions = new ExecutionsProjection();
  private readonly timers = new TimersProjection();

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  @EventLogConsumer('projection-jobs')
  projectJobs(events: StoredEvent[]) {
    return applyCheckpointed(this.dataSource, this.jobs, events);
  }

  @EventLogConsumer('projection-executions')
  projectExecutions(events: StoredEvent[]) {
    return applyCheckpointed(this.dataSource, this.executions, events);
  }

  @EventLogConsumer('projection-timers')
  projectTimers(events: StoredEvent[]) {
    return applyCheckpointed(this.dataSource, this.timers, events);
  }
}
