import type { NotificationChannel, NotificationTrigger } from '../domain/job/job.events.js';
import { derivedUuid } from '../events/derived-id.js';

/**
 * Every deterministic id Chronos makes, in one place. Whatever is derived again from the same fire, event or
 * execution (a redelivered batch, a repeated step, a second scheduler) gets the same id, so the event store
 * (Nats-Msg-Id = command id), the streams (Nats-Msg-Id) and the read models (primary keys) keep it once
 * (docs/guarantees.md#g2, #g6). Ids of what a caller asks for are random (src/commands/envelopes.ts). The
 * decider derives the ids of the executions it fires itself (`executionIdFor`, src/domain/job/job.decide.ts),
 * from the job and the instant: the domain imports nothing from here.
 */

// --- Command ids (the event store's Nats-Msg-Id: a command appended twice is applied once).

/** A scheduled fire: the fire key of docs/guarantees.md#g2, `fire:<jobId>:<scheduledAt>`; also the chain it starts. */
export const fireCommandId = (jobId: string, scheduledAt: string) => `fire:${jobId}:${scheduledAt}`;
/** The retry that follows a failed attempt. */
export const retryCommandId = (failedExecutionId: string) => `retry:${failedExecutionId}`;
/** A worker's report on one execution: `StartExecution:<executionId>`, `FinishExecution:<executionId>`. */
export const reportCommandId = (kind: 'StartExecution' | 'FinishExecution', executionId: string) => `${kind}:${executionId}`;
/** Recording how a notification ended: a repeated report is dropped by the event store. */
export const notificationRecordCommandId = (notificationId: string) => `notify:${notificationId}`;
/** The dead letter of a work item JetStream gave up delivering. */
export const undeliverableCommandId = (executionId: string) => `undeliverable:${executionId}`;

/** Closing a job's history at a version: a pass repeated after a crash appends the same epoch once. */
export const epochCommandId = (jobId: string, version: number) => `epoch:${jobId}:${version}`;

// --- Message ids on the streams (Nats-Msg-Id: a message published twice within the duplicate window is kept once).

/** The work item of an execution, on the work stream and in the backlog alike. */
export const workItemMessageId = (executionId: string) => `work:${executionId}`;
/** A lifecycle CloudEvent: its event's id; a replay's copies get ids of their own, so the stream lets them through. */
export const lifecycleMessageId = (eventId: string, replayId?: string) => (replayId ? `replay:${replayId}:${eventId}` : eventId);
/** The batch of "waiting in the backlog" log entries a reactor batch writes. */
export const deferredEntriesMessageId = (firstExecutionId: string, entries: number) => `deferred:${firstExecutionId}:${entries}`;

// --- Ids of records.

/** The log entry that says why an execution's fire waits in its owner's backlog. */
export const deferredEntryId = (executionId: string) => derivedUuid(`deferred:${executionId}`);

/**
 * A notification, UUID-shaped: the same event and channel always name the same notification, so a repeated
 * event enqueues once (Nats-Msg-Id) and records once (the job's recentNotifications, the command id).
 * `subjectId` is the dead letter's id for a failure, the execution's id for a success.
 */
export const notificationIdFor = (jobId: string, subjectId: string, channel: NotificationChannel, trigger: NotificationTrigger) =>
  derivedUuid(`notification|${jobId}|${subjectId}|${channel}|${trigger}`);
