import { DiscardPolicy, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import type { LifecycleType } from './lifecycle-event.js';
import { fromSubjectToken, subjectToken } from './subject-token.js';

/**
 * Where everything travels: every JetStream stream, every subject (each value in a subject goes through
 * subjectToken, so no id can widen a subscription or add a level) and every durable consumer's name. The
 * shapes of what travels are in messages.ts, lifecycle-event.ts and stored-event.ts, beside this file.
 */

// --- The event log: the only source of truth (src/infra/jetstream-event-store.ts). Messages leave only by the retention
// task's purge of a job's subject before its history epoch (src/retention, docs/architecture.md, Retention).
export const EVENTS_STREAM = 'CHRONOS_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'chronos.es';
export const EVENTS_SUBJECTS = `${EVENTS_SUBJECT_PREFIX}.>`;
/** One subject per aggregate. */
export const eventSubject = (aggregateType: string, aggregateId: string) => `${EVENTS_SUBJECT_PREFIX}.${subjectToken(aggregateType)}.${subjectToken(aggregateId)}`;
/** Header of every event-log message: its events' `type@version`, comma-separated. */
export const EVENT_TYPES_HEADER = 'Chronos-Event-Types';

// --- Snapshots of aggregates (Snapshot, messages.ts): a cache of a fold, never the truth (src/infra/kv-snapshot-store.ts).
/** KV bucket of the latest snapshot of each aggregate; deleting every key changes no answer, only how far a load reads. */
export const SNAPSHOTS_BUCKET = 'chronos_snapshots';
/** One key per aggregate (KV keys take `[-/_=.A-Za-z0-9]`; subjectToken's output is within that). */
export const snapshotKey = (aggregateType: string, aggregateId: string) => `${subjectToken(aggregateType)}.${subjectToken(aggregateId)}`;

// --- Work for the workers (WorkItem): a message leaves the stream when a worker acknowledges its result.
export const WORK_STREAM = 'CHRONOS_WORK';
export const WORK_SUBJECT = 'chronos.work';
export const WORK_SUBJECTS = `${WORK_SUBJECT}.>`;
/** One subject per owner, so that the stream can count each owner's queued work (items queued before owners were tracked are on `chronos.work.<jobId>`). */
export const workSubject = (ownerId: string) => `${WORK_SUBJECT}.${subjectToken(ownerId)}`;
/** The owner a work subject is for. */
export const workSubjectOwner = (subject: string) => fromSubjectToken(subject.slice(WORK_SUBJECT.length + 1));

// --- Fires over their owner's share of the work stream (WorkItem) wait here until it has room (docs/architecture.md, Fair shares).
export const WORK_BACKLOG_STREAM = 'CHRONOS_WORK_BACKLOG';
export const WORK_BACKLOG_SUBJECT = 'chronos.backlog';
export const WORK_BACKLOG_SUBJECTS = `${WORK_BACKLOG_SUBJECT}.>`;
export const backlogSubject = (ownerId: string) => `${WORK_BACKLOG_SUBJECT}.${subjectToken(ownerId)}`;
export const backlogSubjectOwner = (subject: string) => fromSubjectToken(subject.slice(WORK_BACKLOG_SUBJECT.length + 1));

// --- What subscribers consume: a CloudEvent (LifecycleCloudEvent) per committed change of a job.
export const LIFECYCLE_STREAM = 'CHRONOS_LIFECYCLE';
export const LIFECYCLE_SUBJECT_PREFIX = 'chronos.lifecycle';
export const LIFECYCLE_SUBJECTS = `${LIFECYCLE_SUBJECT_PREFIX}.>`;
/** The subjects of one owner's lifecycle events, as a filter prefix (`<prefix>.<ownerId>` then `.>`). */
export const ownerLifecycleSubjects = (ownerId: string) => `${LIFECYCLE_SUBJECT_PREFIX}.${subjectToken(ownerId)}`;
/** The type's own levels stay (`job.created`): it is one of a fixed list, never data. */
export const lifecycleSubject = (ownerId: string, jobId: string, type: LifecycleType) => `${ownerLifecycleSubjects(ownerId)}.${subjectToken(jobId)}.${type}`;

// --- Notifications to send (NotificationItem): filled by the notifications reaction, drained by the notifier.
export const NOTIFY_STREAM = 'CHRONOS_NOTIFY';
export const NOTIFY_SUBJECT = 'chronos.notify';
export const NOTIFY_SUBJECTS = `${NOTIFY_SUBJECT}.>`;
export const notifySubject = (jobId: string) => `${NOTIFY_SUBJECT}.${subjectToken(jobId)}`;

// --- Execution logs (LogEntry[] per message): a side channel, kept a week; the logs projection stores them.
export const LOGS_STREAM = 'CHRONOS_LOGS';
export const LOGS_SUBJECT = 'chronos.logs';
export const LOG_ENTRIES_SUBJECT = `${LOGS_SUBJECT}.entries`;

// --- Durable consumers, by name.
/** The read models' consumer of the event log (src/projections/read-model.consumers.ts). */
export const READ_MODELS_CONSUMER = 'read-models';
/** The reactions' consumer of the event log (src/sagas/reactor.consumer.ts). */
export const REACTOR_CONSUMER = 'reactor';
/** The consumers the reactor replaced; on its first start it begins where the slowest of them stood. */
export const REACTOR_PREDECESSORS = ['saga-dispatch-work', 'saga-notifications', 'lifecycle-translator'];
/** Shared by every worker on CHRONOS_WORK (src/worker/worker.service.ts). */
export const WORKERS_CONSUMER = 'workers';
/** Shared by every notifier on CHRONOS_NOTIFY (src/notifications/notifier.service.ts). */
export const NOTIFIER_CONSUMER = 'notifier';
/** The logs projection's consumer of CHRONOS_LOGS. */
export const EXECUTION_LOGS_CONSUMER = 'projection-execution-logs';
/** The undeliverable-work saga's consumer of CHRONOS_WORK_ADVISORIES. */
export const UNDELIVERABLE_WORK_CONSUMER = 'saga-undeliverable-work';

// --- The server's advisories (MaxDeliveriesAdvisory) of work items that exhausted their deliveries.
export const WORK_ADVISORIES_STREAM = 'CHRONOS_WORK_ADVISORIES';
export const MAX_DELIVERIES_ADVISORY = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${WORK_STREAM}.${WORKERS_CONSUMER}`;

// --- Core NATS, not streams: nothing keeps these.
/**
 * `<prefix>.<executionId>`, the body the ExecutionCancelled reason (empty from older versions): the worker holding that
 * execution drops it; the one running it aborts it when it was replaced or its job deleted (a pause or cancellation
 * only stops runs not yet due: one that started at its instant meanwhile finishes and is recorded).
 */
export const CANCEL_SUBJECT_PREFIX = 'chronos.control.cancel';
export const CANCEL_SUBJECTS = `${CANCEL_SUBJECT_PREFIX}.*`;
export const cancelSubject = (executionId: string) => `${CANCEL_SUBJECT_PREFIX}.${subjectToken(executionId)}`;
export const cancelSubjectExecution = (subject: string) => fromSubjectToken(subject.slice(CANCEL_SUBJECT_PREFIX.length + 1));
/** A session ended or a user's role changed (AuthChange); every API process forgets what it cached (src/auth/session-cache.ts). */
export const AUTH_CHANGES_SUBJECT = 'chronos.control.auth';

const MINUTE_NS = 60 * 1_000_000_000;
/** How long a stream remembers a Nats-Msg-Id: a message published again under it within this is dropped. */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;
const DUPLICATE_WINDOW_NS = DUPLICATE_WINDOW_MS * 1_000_000;

// --- Leases (src/infra/lease.ts): a JetStream KV bucket, one key per role with one active instance.
export const LEASE_BUCKET = 'chronos_leases';
/** The stream behind a KV bucket. */
export const bucketStream = (bucket: string) => `KV_${bucket}`;
/** The lease the active scheduler holds (its value: the holder's CHRONOS_INSTANCE_ID). */
export const SCHEDULER_LEASE = 'scheduler';

/**
 * The streams whose writes are conditional (Nats-Expected-Last-Subject-Sequence: the event log's OCC, the leases'
 * create and update): replicated only on a server without the clustered race of that check (src/infra/replication.ts).
 */
export const CONDITIONAL_STREAMS: ReadonlySet<string> = new Set([EVENTS_STREAM, bucketStream(LEASE_BUCKET)]);

/** Every stream, as src/infra/nats.ts creates or updates it at start-up (replicas and placement from the configuration). */
export const STREAMS: readonly (Partial<StreamConfig> & { name: string })[] = [
  {
    name: EVENTS_STREAM,
    subjects: [EVENTS_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    deny_delete: true,
    // Purges of one subject up to a sequence compact a job's history (src/retention). A stream created with deny_purge
    // keeps it (the server cannot lift it): compaction is then off, and says so.
    deny_purge: false,
    allow_direct: true,
    duplicate_window: DUPLICATE_WINDOW_NS,
  },
  {
    name: WORK_STREAM,
    subjects: [WORK_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.Old,
    duplicate_window: DUPLICATE_WINDOW_NS,
  },
  {
    // A message is deleted once it has been moved to the work stream. Never expires.
    name: WORK_BACKLOG_STREAM,
    subjects: [WORK_BACKLOG_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    allow_direct: true,
    duplicate_window: DUPLICATE_WINDOW_NS,
  },
  {
    // Kept 30 days; an admin replay re-publishes older ones from the event log.
    name: LIFECYCLE_STREAM,
    subjects: [LIFECYCLE_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: 30 * 24 * 60 * MINUTE_NS,
    duplicate_window: DUPLICATE_WINDOW_NS,
  },
  {
    // A message leaves the stream when the notifier has recorded how sending it ended; a repeated event
    // (a reactor batch redelivered) enqueues its notifications once.
    name: NOTIFY_STREAM,
    subjects: [NOTIFY_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.Old,
    duplicate_window: DUPLICATE_WINDOW_NS,
  },
  {
    name: LOGS_STREAM,
    subjects: [`${LOGS_SUBJECT}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: 7 * 24 * 60 * MINUTE_NS,
    duplicate_window: DUPLICATE_WINDOW_NS,
  },
  {
    name: WORK_ADVISORIES_STREAM,
    subjects: [MAX_DELIVERIES_ADVISORY],
    storage: StorageType.File,
    retention: RetentionPolicy.Workqueue,
    max_age: 7 * 24 * 60 * MINUTE_NS,
  },
];
