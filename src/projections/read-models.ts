import type { Projection } from './checkpointed-projection.js';
import { DeadLettersProjection } from './dead-letters/dead-letters.projection.js';
import { ExecutionsProjection } from './executions/executions.projection.js';
import { JobsProjection } from './jobs/jobs.projection.js';
import { TimersProjection } from './timers/timers.projection.js';

/** A read model fed from the event log: its projection and the tables it alone writes. */
export interface ReadModel {
  readonly projection: Projection;
  readonly tables: readonly string[];
}

/**
 * The read models rebuilt from the event log, by name (the projection's checkpoint name). The execution
 * logs are not among them: they come from the bounded CHRONOS_LOGS stream, which cannot replay them all.
 */
export const READ_MODELS: readonly ReadModel[] = [
  { projection: new JobsProjection(), tables: ['jobs'] },
  { projection: new ExecutionsProjection(), tables: ['executions', 'execution_history_limits'] },
  { projection: new TimersProjection(), tables: ['timers', 'retry_timers'] },
  { projection: new DeadLettersProjection(), tables: ['dead_letters'] },
];

export const READ_MODEL_NAMES = READ_MODELS.map((model) => model.projection.name);
