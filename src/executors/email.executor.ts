import nodemailer from 'nodemailer';
import { ExecutionFailure, type ExecutionContext, type Executor } from './executor.js';
import { abortable } from './abortable.js';
import { recordableText } from './recordable.js';

export interface EmailPayload {
  /** One address or a list (at most 50). */
  to: string | string[];
  subject: string;
  text?: string;
  html?: string;
}

export interface OutgoingJobEmail {
  to: string[];
  subject: string;
  text?: string;
  html?: string;
  /** `<jobId.scheduledAtMs@chronos>`: the same on every attempt of one fire, so relays can drop a repeat. */
  messageId: string;
}

export interface MailResult {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

/** Sends one message; rejects with the SMTP error (nodemailer's, with `responseCode` when the server answered). */
export type MailTransport = (email: OutgoingJobEmail) => Promise<MailResult>;

/** Outgoing mail settings: ChronosConfig['smtp'] (SMTP_URL, SMTP_FROM). */
export interface SmtpSettings {
  url?: string;
  from: string;
}

export const SMTP_NOT_CONFIGURED_FOR_JOBS = 'SMTP_URL is not configured: email jobs cannot be sent (set SMTP_URL, e.g. smtp://user:pass@mail.example.com:587)';

/**
 * The default transport: nodemailer over SMTP_URL, from SMTP_FROM, created on first use (one per process,
 * no pooled connections to close). Kept separate from the notifications' EmailSender because job emails
 * need what it does not offer (html, several recipients, the accepted/rejected lists).
 */
export function smtpTransport(settings: SmtpSettings): MailTransport | undefined {
  if (!settings.url) return undefined;
  let transport: ReturnType<typeof nodemailer.createTransport> | undefined;
  return async (email) => {
    transport ??= nodemailer.createTransport(settings.url, {});
    const info = await transport.sendMail({
      from: settings.from,
      to: email.to,
      subject: email.subject,
      ...(email.text !== undefined ? { text: email.text } : {}),
      ...(email.html !== undefined ? { html: email.html } : {}),
      messageId: email.messageId,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    const address = (a: string | { address: string }) => (typeof a === 'string' ? a : a.address);
    return { messageId: info.messageId ?? email.messageId, accepted: (info.accepted ?? []).map(address), rejected: (info.rejected ?? []).map(address) };
  };
}

/**
 * `email` jobs: one message over SMTP to `to` (one address or up to 50). Output: `{ messageId, accepted,
 * rejected }`; some recipients rejected is still a success (they are listed, and logged as a warning), all
 * rejected is a failure. No SMTP_URL: a failure that is not retried. An SMTP 5xx answer is permanent (not
 * retried); connection problems and 4xx are retried.
 */
export class EmailExecutor implements Executor {
  readonly type = 'email' as const;

  /** `transport`: undefined when SMTP_URL is not set (every run then fails, clearly). */
  constructor(private readonly transport: MailTransport | undefined) {}

  static fromSettings(settings: SmtpSettings): EmailExecutor {
    return new EmailExecutor(smtpTransport(settings));
  }

  async run(context: ExecutionContext): Promise<unknown> {
    const payload = context.payload as unknown as EmailPayload;
    if (!this.transport) throw new ExecutionFailure(SMTP_NOT_CONFIGURED_FOR_JOBS, undefined, false);
    const to = Array.isArray(payload.to) ? payload.to : [payload.to];
    const messageId = `<${context.jobId}.${Date.parse(context.scheduledAt)}@chronos>`;
    context.log('info', `sending to ${to.length} recipient${to.length === 1 ? '' : 's'}`, { recipients: to.length, messageId });
    context.signal.throwIfAborted();
    let result: MailResult;
    try {
      result = await abortable(this.transport({ to, subject: payload.subject, text: payload.text, html: payload.html, messageId }), context.signal);
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      const smtp = error as { responseCode?: number; code?: string; message?: string; rejected?: unknown };
      const permanent = typeof smtp.responseCode === 'number' && smtp.responseCode >= 500 && smtp.responseCode < 600;
      const detail = smtp.responseCode ? `SMTP ${smtp.responseCode}` : smtp.code ?? 'error';
      const output = Array.isArray(smtp.rejected) ? { rejected: smtp.rejected.map(String) } : undefined;
      throw new ExecutionFailure(`sending email failed (${detail}): ${firstLine(smtp.message ?? String(error))}`, output, !permanent);
    }
    if (result.rejected.length) context.log('warn', `${result.rejected.length} recipient${result.rejected.length === 1 ? '' : 's'} rejected`, { rejected: result.rejected });
    context.log('info', `sent ${result.messageId}: ${result.accepted.length} accepted, ${result.rejected.length} rejected`, { messageId: result.messageId });
    if (result.accepted.length === 0) throw new ExecutionFailure('every recipient was rejected', result, false);
    return result;
  }
}

/** The first line of an SMTP server's answer, at most 300 bytes (what it says is its text: made recordable). */
function firstLine(text: string): string {
  return recordableText(text.split(/\r?\n/, 1)[0]!, 300);
}
