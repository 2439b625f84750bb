import { randomUUID } from 'node:crypto';
import type { CommandMetadata } from '../events/stored-event.js';

/**
 * Who sends a command, and in which chain: one function per origin, so every command of an origin carries
 * the same kind of actor and ids. The ids that must repeat are in ids.ts.
 */

/** The chain a command continues: the request's or fire's correlation, and what it reacts to. */
export interface Chain {
  correlationId: string;
  causationId?: string;
}

/** A caller of the API: a fresh command id each time (a retried request is a new command), the request's correlation. */
export const fromCaller = (caller: { id: string; correlationId: string }): CommandMetadata => ({
  commandId: randomUUID(),
  actor: `user:${caller.id}`,
  correlationId: caller.correlationId,
});

/** The active scheduler: a deterministic command id (ids.ts); a fire starts a chain of its own, a retry goes on with the failed run's. */
export const fromScheduler = (instanceId: string, commandId: string, correlationId: string = commandId): CommandMetadata => ({
  commandId,
  actor: `scheduler:${instanceId}`,
  correlationId,
});

/** A worker-role process reporting on what it was handed (a run; a notification, as `notifier`): that message's chain. */
export const fromWorker = (instanceId: string, commandId: string, chain: Chain, role: 'worker' | 'notifier' = 'worker'): CommandMetadata => ({
  commandId,
  actor: `${role}:${instanceId}`,
  ...chain,
});

/** A saga acting on what happened (by its name): a deterministic command id, the chain of what it reacts to. */
export const fromSaga = (saga: string, commandId: string, chain: Chain): CommandMetadata => ({
  commandId,
  actor: `saga:${saga}`,
  ...chain,
});

/** The retention task closing a job's history (src/retention): a deterministic command id (ids.ts), a chain of its own. */
export const fromRetention = (instanceId: string, commandId: string): CommandMetadata => ({
  commandId,
  actor: `retention:${instanceId}`,
  correlationId: commandId,
});
