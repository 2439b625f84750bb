import { CLOUDEVENT_CONTENT_TYPE, LIFECYCLE_TYPES, type LifecycleType } from './lifecycle-event.js';
import { LIFECYCLE_STREAM, LIFECYCLE_SUBJECT_PREFIX } from './streams.js';

const str = { type: 'string' };
const dateTime = { type: 'string', format: 'date-time' };
const uuid = { type: 'string', format: 'uuid' };
const int = { type: 'integer' };
/** A time or null (JSON Schema has no `nullable`: that is OpenAPI 3.0's, and validators ignore or refuse it). */
const dateTimeOrNull = { type: ['string', 'null'], format: 'date-time' };

/** The `data` of each lifecycle type: the fields of the domain event it comes from (secrets masked). */
const DATA: Record<LifecycleType, { required: string[]; properties: Record<string, unknown> }> = {
  'job.created': { required: ['jobId', 'ownerId', 'spec', 'createdAt'], properties: { jobId: uuid, ownerId: uuid, spec: { type: 'object', description: 'the job as submitted, secrets masked' }, createdAt: dateTime, nextRunAt: dateTimeOrNull } },
  'job.updated': { required: ['jobId'], properties: { jobId: uuid, spec: { type: 'object' }, schedule: { type: 'object' }, updatedAt: dateTime, rescheduledAt: dateTime, nextRunAt: dateTimeOrNull } },
  'job.paused': { required: ['jobId', 'pausedAt'], properties: { jobId: uuid, note: str, pausedAt: dateTime } },
  'job.resumed': { required: ['jobId', 'resumedAt'], properties: { jobId: uuid, resumedAt: dateTime, nextRunAt: dateTimeOrNull } },
  'job.cancelled': { required: ['jobId', 'cancelledAt'], properties: { jobId: uuid, cancelledAt: dateTime } },
  'job.deleted': { required: ['jobId', 'deletedAt'], properties: { jobId: uuid, deletedAt: dateTime } },
  'job.completed': { required: ['jobId', 'completedAt'], properties: { jobId: uuid, completedAt: dateTime } },
  'job.failed': { required: ['jobId', 'failedAt', 'executionId'], properties: { jobId: uuid, failedAt: dateTime, executionId: uuid } },
  'execution.queued': {
    required: ['jobId', 'executionId', 'scheduledAt', 'firedAt', 'trigger', 'attempt'],
    properties: { jobId: uuid, executionId: uuid, scheduledAt: dateTime, firedAt: dateTime, trigger: { type: 'string', enum: ['schedule', 'manual', 'retry', 'misfire'] }, attempt: int, nextRunAt: dateTimeOrNull, retryOf: uuid },
  },
  'execution.started': { required: ['jobId', 'executionId', 'startedAt', 'workerId', 'attempt'], properties: { jobId: uuid, executionId: uuid, startedAt: dateTime, workerId: str, attempt: int } },
  'execution.succeeded': { required: ['jobId', 'executionId', 'outcome', 'finishedAt', 'durationMs'], properties: { jobId: uuid, executionId: uuid, outcome: { type: 'string', enum: ['succeeded'] }, finishedAt: dateTime, durationMs: int, output: {} } },
  'execution.failed': { required: ['jobId', 'executionId', 'outcome', 'finishedAt', 'durationMs'], properties: { jobId: uuid, executionId: uuid, outcome: { type: 'string', enum: ['failed'] }, finishedAt: dateTime, durationMs: int, output: {}, error: str } },
  'execution.timed_out': { required: ['jobId', 'executionId', 'outcome', 'finishedAt', 'durationMs'], properties: { jobId: uuid, executionId: uuid, outcome: { type: 'string', enum: ['timed_out'] }, finishedAt: dateTime, durationMs: int, error: str } },
  'execution.retry_scheduled': { required: ['jobId', 'executionId', 'scheduledAt', 'nextAttempt', 'retryAt', 'delayMs'], properties: { jobId: uuid, executionId: uuid, scheduledAt: dateTime, nextAttempt: int, retryAt: dateTime, delayMs: int } },
  'execution.dead_lettered': {
    required: ['jobId', 'deadLetterId', 'executionId', 'scheduledAt', 'attempts', 'lastError', 'reason'],
    properties: { jobId: uuid, deadLetterId: uuid, executionId: uuid, scheduledAt: dateTime, attempts: int, lastError: str, reason: { type: 'string', enum: ['attempts_exhausted', 'not_retryable', 'max_deliveries'] }, deadLetteredAt: dateTime },
  },
  'execution.skipped': {
    required: ['jobId', 'executionId', 'scheduledAt', 'reason', 'detail'],
    properties: { jobId: uuid, executionId: uuid, scheduledAt: dateTime, reason: { type: 'string', enum: ['overlap', 'misfire', 'misfire_cap', 'paused'] }, detail: str, skippedAt: dateTime, nextRunAt: dateTimeOrNull },
  },
  'execution.cancelled': { required: ['jobId', 'executionId', 'reason'], properties: { jobId: uuid, executionId: uuid, reason: str, detail: str, cancelledAt: dateTime } },
  'notification.sent': { required: ['jobId', 'notificationId', 'channel', 'trigger', 'executionId', 'to'], properties: { jobId: uuid, notificationId: uuid, channel: { type: 'string', enum: ['email', 'webhook'] }, trigger: { type: 'string', enum: ['failure', 'success'] }, executionId: uuid, to: str, attempts: int, sentAt: dateTime, messageId: str } },
  'notification.failed': { required: ['jobId', 'notificationId', 'channel', 'trigger', 'executionId', 'to', 'error'], properties: { jobId: uuid, notificationId: uuid, channel: { type: 'string', enum: ['email', 'webhook'] }, trigger: { type: 'string', enum: ['failure', 'success'] }, executionId: uuid, to: str, attempts: int, error: str, failedAt: dateTime } },
};

const messageName = (type: LifecycleType) => type.replace(/[._](\w)/g, (_, c: string) => c.toUpperCase());

/** The AsyncAPI 3 document of the lifecycle stream, served at /asyncapi.json. */
export function lifecycleAsyncApi(serverUrl: string): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const type of LIFECYCLE_TYPES) {
    const name = messageName(type);
    messages[name] = {
      name,
      title: `chronos.${type}`,
      contentType: CLOUDEVENT_CONTENT_TYPE,
      payload: {
        type: 'object',
        required: ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'data'],
        properties: {
          specversion: { type: 'string', const: '1.0' },
          id: { type: 'string', description: 'stable: a replay re-sends the same id; dedupe on it' },
          source: { type: 'string', const: '/chronos' },
          type: { type: 'string', const: `chronos.${type}` },
          subject: { type: 'string', description: 'the job id' },
          time: dateTime,
          datacontenttype: { type: 'string', const: 'application/json' },
          chronossequence: { type: 'integer', description: 'position of the domain event in the event log' },
          chronosreplay: { type: 'boolean', description: 'present (true) on events re-published by an admin replay' },
          data: { type: 'object', ...DATA[type] },
        },
      },
    };
    channels[name] = {
      address: `${LIFECYCLE_SUBJECT_PREFIX}.{ownerId}.{jobId}.${type}`,
      description: `chronos.${type} events, on the JetStream stream ${LIFECYCLE_STREAM}`,
      parameters: { ownerId: { description: 'the id of the job owner' }, jobId: { description: 'the job id' } },
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
    };
    operations[`receive${name.charAt(0).toUpperCase()}${name.slice(1)}`] = { action: 'receive', channel: { $ref: `#/channels/${name}` } };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Chronos lifecycle events',
      version: '0.1.0',
      description: `Every committed change of a job, as a CloudEvents 1.0 JSON message on the JetStream stream ${LIFECYCLE_STREAM}. Subscribe with a consumer filtered on chronos.lifecycle.<ownerId>.> (or .<jobId>.>); messages of one job arrive in commit order; dedupe on id.`,
    },
    defaultContentType: CLOUDEVENT_CONTENT_TYPE,
    servers: { nats: { host: serverUrl.replace(/^nats:\/\//, ''), protocol: 'nats', description: 'NATS with JetStream' } },
    channels,
    operations,
    components: { messages },
  };
}
