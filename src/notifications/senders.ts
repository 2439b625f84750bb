import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import nodemailer from 'nodemailer';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { TargetGuard } from '../executors/target-guard.js';
import { SIGNATURE_HEADER, signWebhook } from '../executors/webhook-signature.js';
import { abortable } from '../executors/abortable.js';

/** A failure that trying again cannot fix: recorded as failed at once, not retried. */
export class PermanentNotificationError extends Error {
  override name = 'PermanentNotificationError';
}

export const SMTP_NOT_CONFIGURED = 'SMTP_URL is not configured';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  /** Stable across retries: receivers and relays can drop a repeated message. */
  messageId: string;
}

/** Sends notification emails over SMTP_URL (nodemailer, one pooled transport per process). */
@Injectable()
export class EmailSender implements OnApplicationShutdown {
  private transport: ReturnType<typeof nodemailer.createTransport> | undefined;

  constructor(@Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig) {}

  /** Sends and answers the SMTP message id. Throws PermanentNotificationError when SMTP is not configured. */
  async send(email: OutgoingEmail, signal: AbortSignal): Promise<string> {
    const url = this.config.smtp.url;
    if (!url) throw new PermanentNotificationError(SMTP_NOT_CONFIGURED);
    const timeoutMs = this.config.notifications.timeoutMs;
    this.transport ??= nodemailer.createTransport(url, {}) as ReturnType<typeof nodemailer.createTransport>;
    const sending = this.transport.sendMail({
      from: this.config.smtp.from,
      to: email.to,
      subject: email.subject,
      text: email.text,
      messageId: email.messageId,
      headers: { 'Auto-Submitted': 'auto-generated' },
    }) as Promise<{ messageId?: string }>;
    const info = await abortable(sending, signal).catch((error: unknown) => {
      throw error instanceof Error ? error : new Error(`timed out after ${timeoutMs} ms`);
    });
    return info.messageId ?? email.messageId;
  }

  onApplicationShutdown(): void {
    this.transport?.close();
  }
}

export interface OutgoingWebhook {
  url: string;
  body: string;
  secret?: string;
  notificationId: string;
}

/** POSTs notification webhooks, always through the TargetGuard (SSRF), signed when the job has a secret. */
@Injectable()
export class WebhookSender {
  constructor(private readonly targets: TargetGuard) {}

  /** Resolves on a 2xx answer; throws with the status otherwise. */
  async send(webhook: OutgoingWebhook, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Chronos-Notifier',
      'idempotency-key': webhook.notificationId,
      'x-chronos-notification-id': webhook.notificationId,
    };
    if (webhook.secret) headers[SIGNATURE_HEADER.toLowerCase()] = signWebhook(webhook.secret, webhook.body);
    let response: Response;
    try {
      response = await this.targets.fetch(webhook.url, { method: 'POST', headers, body: webhook.body, signal, redirect: 'error' });
    } catch (error) {
      const message = (error as Error).message;
      // A refused target stays refused: the guard's verdict is not transient (an unresolvable host may be).
      if (/^target not allowed/.test(message)) throw new PermanentNotificationError(message);
      const cause = (error as { cause?: Error }).cause?.message;
      throw new Error(cause ? `${message}: ${cause}` : message);
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status < 200 || response.status > 299) throw new Error(`webhook answered ${response.status}`);
  }
}
