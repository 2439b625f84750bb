import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { subjectToken } from './subject-token.js';

export const EVENTS_STREAM = 'CHRONOS_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'chronos.es';
export const WORK_STREAM = 'CHRONOS_WORK';
export const WORK_SUBJECT = 'chronos.work';
/** One subject per owner, so that the stream can count each owner's queued work (items queued before owners were tracked are on `chronos.work.<jobId>`). */
export const workSubject = (ownerId: string) => `${WORK_SUBJECT}.${subjectToken(ownerId)}`;
/** Fires over their owner's share of the work stream wait here, one subject per owner, until it has room (docs/architecture.md, Fair shares). */
export const WORK_BACKLOG_STREAM = 'CHRONOS_WORK_BACKLOG';
export const WORK_BACKLOG_SUBJECT = 'chronos.backlog';
export const backlogSubject = (ownerId: string) => `${WORK_BACKLOG_SUBJECT}.${subjectToken(ownerId)}`;
/** Execution logs: a side channel, kept a week; the logs projection stores them in PostgreSQL. */
export const LOGS_STREAM = 'CHRONOS_LOGS';
export const LOGS_SUBJECT = 'chronos.logs';
/** Keeps the server's advisories of work items that exhausted their deliveries, for the dead-letter saga. */
export const WORK_ADVISORIES_STREAM = 'CHRONOS_WORK_ADVISORIES';
export const MAX_DELIVERIES_ADVISORY = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${WORK_STREAM}.workers`;
/** Core NATS (not a stream): `<prefix>.<executionId>` asks the worker running that execution to abort it. */
export const CANCEL_SUBJECT_PREFIX = 'chronos.control.cancel';
/** Core NATS (not a stream): a session ended or a user's role changed; every API process forgets what it cached (src/auth/session-cache.ts). */
export const AUTH_CHANGES_SUBJECT = 'chronos.control.auth';

export const eventSubject = (aggregateType: string, aggregateId: string) => `${EVENTS_SUBJECT_PREFIX}.${subjectToken(aggregateType)}.${subjectToken(aggregateId)}`;
export const cancelSubject = (executionId: string) => `${CANCEL_SUBJECT_PREFIX}.${subjectToken(executionId)}`;

const MINUTE_NS = 60 * 1_000_000_000;
/** How long a stream remembers a Nats-Msg-Id: a message published again under it within this is dropped. */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;
const DUPLICATE_WINDOW_NS = DUPLICATE_WINDOW_MS * 1_000_000;

const streams: (Partial<StreamConfig> & { name: string })[] = [
  {
    // The event log: the only source of truth. Nothing is ever removed from it.
    name: EVENTS_STREAM,
    subjects: [`${EVENTS_SUBJECT_PREFIX}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    deny_delete: true,
    deny_purge: true,
    allow_direct: true,
    duplicate_window: DUPLICATE_WINDOW_NS,
    num_replicas: 1,
  },
  {
    // Work for the workers: a message leaves the stream when a worker acknowledges its result.
    name: WORK_STREAM,
    subjects: [`${WORK_SUBJECT}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.Old,
    duplicate_window: DUPLICATE_WINDOW_NS,
    num_replicas: 1,
  },
  {
    // Deferred work: a message is deleted once it has been moved to the work stream. Never expires.
    name: WORK_BACKLOG_STREAM,
    subjects: [`${WORK_BACKLOG_SUBJECT}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    allow_direct: true,
    duplicate_window: DUPLICATE_WINDOW_NS,
    num_replicas: 1,
  },
  {
    // What subscribers consume: CloudEvents of every job's lifecycle (src/lifecycle). Kept 30 days; an
    // admin replay re-publishes older ones from the event log.
    name: 'CHRONOS_LIFECYCLE',
    subjects: ['chronos.lifecycle.>'],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: 30 * 24 * 60 * MINUTE_NS,
    duplicate_window: DUPLICATE_WINDOW_NS,
    num_replicas: 1,
  },
  {
    name: LOGS_STREAM,
    subjects: [`${LOGS_SUBJECT}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: 7 * 24 * 60 * MINUTE_NS,
    duplicate_window: DUPLICATE_WINDOW_NS,
    num_replicas: 1,
  },
  {
    name: WORK_ADVISORIES_STREAM,
    subjects: [MAX_DELIVERIES_ADVISORY],
    storage: StorageType.File,
    retention: RetentionPolicy.Workqueue,
    max_age: 7 * 24 * 60 * MINUTE_NS,
    num_replicas: 1,
  },
];

/** Creates the streams, or brings an existing one's settings up to date. Idempotent. */
export async function ensureStreams(jsm: JetStreamManager): Promise<void> {
  for (const config of streams) {
    try {
      await jsm.streams.info(config.name);
      await jsm.streams.update(config.name, config);
    } catch (error) {
      if ((error as { code?: number }).code !== JetStreamApiCodes.StreamNotFound) throw error;
      await jsm.streams.add(config);
    }
  }
}

/** How many messages each subject under `filter` holds (subjects without any are absent). */
export async function messagesBySubject(jsm: JetStreamManager, stream: string, filter: string): Promise<Record<string, number>> {
  return (await jsm.streams.info(stream, { subjects_filter: filter })).state.subjects ?? {};
}

/** How many messages one subject holds. */
export const messagesOn = async (jsm: JetStreamManager, stream: string, subject: string): Promise<number> => (await messagesBySubject(jsm, stream, subject))[subject] ?? 0;

/**
 * Creates a durable pull consumer (explicit ack), or brings an existing one's delivery settings up to date,
 * so a changed configuration takes effect on the next start. Idempotent.
 */
export async function ensureDurableConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: { durable_name: string; filter_subject?: string; ack_wait: number; max_deliver?: number; max_ack_pending?: number },
): Promise<void> {
  const { durable_name, filter_subject, ...settings } = config;
  try {
    await jsm.consumers.info(stream, durable_name);
    await jsm.consumers.update(stream, durable_name, settings);
  } catch (error) {
    if ((error as { code?: number }).code !== JetStreamApiCodes.ConsumerNotFound) throw error;
    await jsm.consumers.add(stream, { durable_name, ...(filter_subject ? { filter_subject } : {}), ack_policy: AckPolicy.Explicit, ...settings });
  }
}

export { AckPolicy, DeliverPolicy };
