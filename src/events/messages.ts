import { randomUUID } from 'node:crypto';
import type { NotificationChannel, NotificationTrigger } from '../domain/job/job.events.js';

/**
 * The shapes of what travels on NATS besides the event log's own messages (stored-event.ts) and the
 * lifecycle CloudEvents (lifecycle-event.ts), each with the subject it travels on (streams.ts) and, for
 * what a consumer reads, the one function that decodes it: a message that is not what its subject says
 * throws MalformedMessageError, and the consumer runner parks it (src/infra/durable-consumer.ts).
 */

/** A message that is not what its subject carries: never retried (it would fail again), logged and set aside. */
export class MalformedMessageError extends TypeError {
  override name = 'MalformedMessageError';
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function fields<T>(value: unknown, what: string, strings: string[], numbers: string[] = []): T {
  if (!isObject(value)) throw new MalformedMessageError(`not ${what}: not a JSON object`);
  for (const key of strings) if (typeof value[key] !== 'string') throw new MalformedMessageError(`not ${what}: ${key} is not a string`);
  for (const key of numbers) if (typeof value[key] !== 'number') throw new MalformedMessageError(`not ${what}: ${key} is not a number`);
  return value as T;
}

/**
 * On `chronos.work.<ownerId>` (CHRONOS_WORK) and `chronos.backlog.<ownerId>` (CHRONOS_WORK_BACKLOG), with
 * Nats-Msg-Id `work:<executionId>`: which execution of which job to run. The worker reads the job's spec itself.
 */
export interface WorkItem {
  jobId: string;
  /** The job's owner, whose share of the workers the run takes (absent in items queued before it was carried). */
  ownerId?: string;
  /** Stream sequence of the fire: the worker reads the job at least as recent as this. */
  firedSequence: number;
  executionId: string;
  scheduledAt: string;
  attempt: number;
  /** The fire's correlation id, and its JobFired event: what the worker's result commands carry on. */
  correlationId: string;
  causationId: string;
}

export const decodeWorkItem = (value: unknown): WorkItem => fields<WorkItem>(value, 'a work item', ['jobId', 'executionId', 'scheduledAt'], ['attempt']);

/** Whose share of the workers an item takes: an item queued before items carried their owner counts as its job's own. */
export const workOwner = (item: WorkItem): string => item.ownerId ?? item.jobId;

/** The chain a run continues: its fire's (items queued before they carried ids fall back to the execution id). */
export const workCorrelation = (item: WorkItem): { correlationId: string; causationId: string } => ({
  correlationId: item.correlationId ?? item.executionId,
  causationId: item.causationId,
});

/**
 * On `chronos.notify.<jobId>` (CHRONOS_NOTIFY), with Nats-Msg-Id = `notificationId`: one notification to send
 * on one channel, with the facts of the event it is about. Where it goes (address, URL, secret) is read from
 * the job when it is sent.
 */
export interface NotificationItem {
  notificationId: string;
  jobId: string;
  /** Stream sequence of the event: the notifier reads the job at least as recent as this. */
  eventSequence: number;
  channel: NotificationChannel;
  trigger: NotificationTrigger;
  executionId: string;
  scheduledAt: string;
  /** Failure: the attempts the fire had; success: the attempt that succeeded. */
  attempts?: number;
  error?: string;
  deadLetterId?: string;
  /** When the event happened (dead-lettered / finished). */
  occurredAt: string;
  /** The event's correlation id and the event itself: what RecordNotification carries on (absent on items queued before). */
  correlationId?: string;
  causationId?: string;
}

export const decodeNotificationItem = (value: unknown): NotificationItem =>
  fields<NotificationItem>(value, 'a notification', ['notificationId', 'jobId', 'channel', 'trigger', 'executionId', 'scheduledAt', 'occurredAt'], ['eventSequence']);

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** On `chronos.logs.entries` (CHRONOS_LOGS), an array of these per message: entries of executions' logs. */
export interface LogEntry {
  id: string;
  /** Position in the execution's log: entries written in the same millisecond keep their order. */
  seq: number;
  executionId: string;
  jobId: string;
  level: LogLevel;
  message: string;
  metadata: Record<string, unknown>;
  timestamp: string;
}

export function decodeLogEntries(value: unknown): LogEntry[] {
  if (!Array.isArray(value)) throw new MalformedMessageError('not log entries: not a JSON array');
  return value.map((entry) => fields<LogEntry>(entry, 'a log entry', ['id', 'executionId', 'jobId', 'timestamp'], ['seq']));
}

/**
 * One entry written outside a run (why an execution waits, by the dispatcher or a worker): position 0, before
 * the run's own. A deterministic `id` (src/commands/ids.ts) stores an entry written again (a replayed batch) once.
 */
export function executionLogEntry(
  execution: { jobId: string; executionId: string },
  message: string,
  metadata: Record<string, unknown>,
  id: string = randomUUID(),
): LogEntry {
  return { id, seq: 0, executionId: execution.executionId, jobId: execution.jobId, level: 'info', message, metadata, timestamp: new Date().toISOString() };
}

/** On MAX_DELIVERIES_ADVISORY (CHRONOS_WORK_ADVISORIES), written by nats-server: a work item it gave up delivering. */
export interface MaxDeliveriesAdvisory {
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

export const decodeMaxDeliveriesAdvisory = (value: unknown): MaxDeliveriesAdvisory =>
  fields<MaxDeliveriesAdvisory>(value, 'a max-deliveries advisory', ['stream', 'consumer'], ['stream_seq', 'deliveries']);

/** On AUTH_CHANGES_SUBJECT (core NATS): a session that ended, or a user whose role changed, and the process that says so. */
export type AuthChange = ({ sessionId: string } | { userId: string }) & { origin?: string };

/** The change announced, or null for anything else on the subject. */
export function decodeAuthChange(value: unknown): AuthChange | null {
  if (!isObject(value)) return null;
  const origin = typeof value.origin === 'string' ? { origin: value.origin } : {};
  if (typeof value.sessionId === 'string') return { sessionId: value.sessionId, ...origin };
  if (typeof value.userId === 'string') return { userId: value.userId, ...origin };
  return null;
}

/**
 * In the KV bucket `chronos_snapshots` (streams.ts), by `snapshotKey`: an aggregate's state folded from its
 * events up to `lastSequence`, `eventCount` stored events (the known and the passed-by ones). `shape` names the
 * state's shape (JOB_STATE_SHAPE); a snapshot of another shape is not used, and the next one replaces it.
 */
export interface Snapshot<State = unknown> {
  shape: number;
  lastSequence: number;
  eventCount: number;
  state: State;
}

/** A snapshot as stored, or null for anything else: a snapshot is a cache, so what cannot be used is ignored. */
export function decodeSnapshot(value: unknown): Snapshot | null {
  if (!isObject(value) || !isObject(value.state)) return null;
  const { shape, lastSequence, eventCount } = value;
  if (![shape, lastSequence, eventCount].every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return null;
  return value as unknown as Snapshot;
}
