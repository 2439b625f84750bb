import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { UsersRepository } from '../auth/users.repository.js';
import { fromWorker } from '../commands/envelopes.js';
import { notificationRecordCommandId } from '../commands/ids.js';
import { JobCommands } from '../commands/job-commands.js';
import { JobRepository } from '../commands/job.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { NotFoundError } from '../domain/errors.js';
import type { RecordNotification } from '../domain/job/job.commands.js';
import type { JobState } from '../domain/job/job.state.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { decodeNotificationItem, type NotificationItem } from '../events/messages.js';
import { NOTIFIER_CONSUMER, NOTIFY_STREAM, NOTIFY_SUBJECTS } from '../events/streams.js';
import { DeliveryFailure, ensureDurableConsumer, runEach, type RunningConsumer } from '../infra/durable-consumer.js';
import { emailContent, webhookBody, webhookSecretOf } from './notification.js';
import { EmailSender, PermanentNotificationError, WebhookSender } from './senders.js';
import { SECRETS_DESTROYED, SecretsService } from '../secrets/secrets.service.js';
import { errorMessage, recordableText } from '../executors/recordable.js';

/** Notifications sent at once by one process. */
const CONCURRENCY = 32;
/** What a notification record holds of an error, an address or a message id, in UTF-8 bytes. */
const MAX_RECORDED_TEXT_BYTES = 1000;

type Outcome = { outcome: 'sent'; to: string; messageId?: string } | { outcome: 'failed'; to: string; error: string; permanent: boolean };

/** A send that failed: retried with backoff, recorded as failed after NOTIFY_MAX_DELIVERIES (or at once when permanent). */
class NotificationNotSent extends DeliveryFailure {
  override name = 'NotificationNotSent';
  constructor(readonly outcome: Extract<Outcome, { outcome: 'failed' }>) {
    super(outcome.error, outcome.permanent);
  }
}

/**
 * Sends the notifications the notifications reaction queued on CHRONOS_NOTIFY (durable pull consumer
 * `notifier`, shared by the processes that run it, run by src/infra/durable-consumer.ts). Sending never blocks
 * executions: it happens here, off the event log's path.
 *
 * Per item: the job is read (gone: dropped quietly; the notification already recorded: dropped), the
 * message is sent, and `RecordNotification` is appended before the item is acknowledged. A failed send is
 * redelivered with exponential backoff; after `maxDeliveries` deliveries, or at once when retrying cannot help
 * (SMTP not configured, target refused), it is recorded as failed (the runner's dead-letter policy). The
 * command id is `notify:<notificationId>`: a crash between append and ack repeats nothing (the item is then
 * dropped as recorded), and a crash before the append loses nothing (the item is redelivered).
 */
@Injectable()
export class NotifierService implements OnApplicationBootstrap, OnApplicationShutdown {
  private consumer: RunningConsumer | undefined;
  /** Sent but not yet recorded (the append failed): a redelivery records without sending again. */
  private readonly sentUnrecorded = new Map<string, Extract<Outcome, { outcome: 'sent' }>>();

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
    private readonly commands: JobCommands,
    private readonly jobs: JobRepository,
    private readonly users: UsersRepository,
    private readonly email: EmailSender,
    private readonly webhooks: WebhookSender,
    private readonly secrets: SecretsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { timeoutMs, backoffMs, maxBackoffMs, maxDeliveries } = this.config.notifications;
    const ackWaitMs = Math.max(30_000, timeoutMs * 3);
    this.consumer = await runEach(this.nats, {
      durable: NOTIFIER_CONSUMER,
      stream: NOTIFY_STREAM,
      ensure: (jsm) =>
        ensureDurableConsumer(jsm, NOTIFY_STREAM, {
          durable_name: NOTIFIER_CONSUMER,
          filter_subject: NOTIFY_SUBJECTS,
          ack_wait: ackWaitMs * 1_000_000,
          // Unlimited: the dead-letter policy counts deliveries and records the failure (JetStream would drop it silently).
          max_deliver: -1,
          max_ack_pending: 10_000,
        }),
      ackWaitMs,
      decode: (message) => decodeNotificationItem(message.json()),
      concurrency: CONCURRENCY,
      handle: (item, { deliveries }) => this.handle(item, deliveries),
      onFailure: {
        retry: { firstMs: backoffMs, maxMs: maxBackoffMs },
        deadLetter: {
          afterDeliveries: maxDeliveries,
          record: (item, failure, deliveries) => this.record(item, { ...(failure as NotificationNotSent).outcome, attempts: deliveries }),
        },
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(item: NotificationItem, attempts: number): Promise<void> {
    const job = await this.jobs.loadAtLeast(item.jobId, item.eventSequence);
    if (!job.exists || job.deleted || !job.spec) return; // the job was deleted: its notifications go with it
    if (job.recentNotifications.includes(item.notificationId)) {
      this.sentUnrecorded.delete(item.notificationId); // recorded before (a redelivery after the append)
      return;
    }
    const result = this.sentUnrecorded.get(item.notificationId) ?? (await this.send(item, job));
    if (result.outcome === 'failed') throw new NotificationNotSent(result);
    this.sentUnrecorded.set(item.notificationId, result);
    await this.record(item, { ...result, attempts });
    this.sentUnrecorded.delete(item.notificationId);
  }

  private async send(item: NotificationItem, job: JobState): Promise<Outcome> {
    let spec = job.spec!;
    const controller = new AbortController();
    const timeoutMs = this.config.notifications.timeoutMs;
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    let to = '';
    try {
      const opened = await this.secrets.openForRun(job.jobId, spec);
      if (!opened) throw new PermanentNotificationError(SECRETS_DESTROYED);
      spec = opened;
      if (item.channel === 'email') {
        to = spec.notifications.email ?? (await this.users.findById(job.ownerId))?.email ?? '';
        if (!to) throw new PermanentNotificationError('no recipient: notifications.email is not set and the owner has no email');
        const { subject, text } = emailContent(item, spec.name);
        const messageId = await this.email.send({ to, subject, text, messageId: `<${item.notificationId}@chronos>` }, controller.signal);
        return { outcome: 'sent', to, messageId };
      }
      to = spec.notifications.webhookUrl ?? '';
      if (!to) throw new PermanentNotificationError('notifications.webhookUrl was removed before the notification was sent');
      const secret = webhookSecretOf(spec.notifications);
      const body = JSON.stringify(webhookBody(item, spec.name));
      await this.webhooks.send({ url: to, body, notificationId: item.notificationId, ...(secret ? { secret } : {}) }, controller.signal);
      return { outcome: 'sent', to };
    } catch (error) {
      // What an SMTP server or a webhook target answered: text of theirs, made recordable (and masked) before it enters an event.
      const message = recordableText(this.secrets.maskText(errorMessage(error), this.secrets.secretsOf(spec)), MAX_RECORDED_TEXT_BYTES);
      return { outcome: 'failed', to, error: message, permanent: error instanceof PermanentNotificationError };
    } finally {
      clearTimeout(timer);
    }
  }

  private async record(item: NotificationItem, result: Outcome & { attempts: number }): Promise<void> {
    const command: RecordNotification = {
      type: 'RecordNotification',
      now: new Date(),
      data: {
        notificationId: item.notificationId,
        channel: item.channel,
        trigger: item.trigger,
        executionId: item.executionId,
        // A webhook URL's credentials are secrets: never in the log.
        to: recordableText(this.secrets.maskUrl(result.to), MAX_RECORDED_TEXT_BYTES),
        attempts: result.attempts,
        outcome: result.outcome,
        ...(result.outcome === 'sent' && result.messageId ? { messageId: recordableText(String(result.messageId), MAX_RECORDED_TEXT_BYTES) } : {}),
        ...(result.outcome === 'failed' ? { error: result.error } : {}),
      },
    };
    try {
      const chain = { correlationId: item.correlationId ?? item.executionId, causationId: item.causationId };
      await this.commands.send(item.jobId, command, fromWorker(this.config.instanceId, notificationRecordCommandId(item.notificationId), chain, 'notifier'));
    } catch (error) {
      // Deleted meanwhile: nothing to record on.
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
}
