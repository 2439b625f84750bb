import { Controller, Inject } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { StoredEvent } from '../events/stored-event.js';
import { EventLogConsumer } from '../infra/transport/event-stream.transport.js';
import { applyCheckpointed } from './checkpointed-projection.js';
import { READ_MODELS } from './read-models.js';

/**
 * Feeds the read models from one durable consumer of the event log: one delivery, one decode and one
 * PostgreSQL transaction per batch for all of them, each with its own checkpoint in that transaction.
 */
@Controller()
export class ReadModelConsumers {
  private readonly projections = READ_MODELS.map((model) => model.projection);

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  @EventLogConsumer('read-models')
  project(events: StoredEvent[]) {
    return applyCheckpointed(this.dataSource, this.projections, events);
  }
}
