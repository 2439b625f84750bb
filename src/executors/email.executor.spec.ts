import { executionContext } from '../../test/support/execution-context.js';
import { SmtpSink } from '../../test/support/smtp-sink.js';
import { EmailExecutor, SMTP_NOT_CONFIGURED_FOR_JOBS, type MailTransport } from './email.executor.js';
import { ExecutionFailure } from './executor.js';

describe('EmailExecutor', () => {
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await new SmtpSink().start();
  });
  afterAll(() => smtp.stop());

  it('sends over SMTP_URL to one address or a list, with text and html, and records the message id and recipients', async () => {
    const executor = EmailExecutor.fromSettings({ url: smtp.url, from: 'Chronos <chronos@localhost>' });
    const output = await executor.run(executionContext({ to: ['a@example.com', 'b@example.com'], subject: 'Nightly report ✓', text: 'plain body', html: '<p>html body</p>' }));
    const messageId = `<job-1.${Date.parse('2026-01-01T00:00:00.000Z')}@chronos>`;
    expect(output).toEqual({ messageId, accepted: ['a@example.com', 'b@example.com'], rejected: [] });
    const mail = smtp.messages.find((m) => m.messageId === messageId)!;
    expect(mail.to).toEqual(['a@example.com', 'b@example.com']);
    expect(mail.from).toBe('chronos@localhost');
    expect(mail.raw).toContain('plain body');
    expect(mail.raw).toContain('<p>html body</p>');

    const single = await executor.run(executionContext({ to: 'c@example.com', subject: 'One', html: '<b>only html</b>' }));
    expect(single).toMatchObject({ accepted: ['c@example.com'], rejected: [] });
    expect(smtp.to('c@example.com')).toHaveLength(1);
  });

  it('without SMTP_URL fails clearly, without retrying', async () => {
    const executor = EmailExecutor.fromSettings({ from: 'chronos@localhost' });
    const run = executor.run(executionContext({ to: 'a@example.com', subject: 's', text: 't' }));
    await expect(run).rejects.toBeInstanceOf(ExecutionFailure);
    await expect(run).rejects.toMatchObject({ message: SMTP_NOT_CONFIGURED_FOR_JOBS, retryable: false });
  });

  it('an SMTP 5xx is permanent, a connection failure or 4xx is retried', async () => {
    const failing = (error: object): MailTransport => async () => {
      throw Object.assign(new Error('Mail command failed: 550 5.1.1 no such user\nsecond line'), error);
    };
    await expect(new EmailExecutor(failing({ responseCode: 550 })).run(executionContext({ to: 'a@example.com', subject: 's', text: 't' }))).rejects.toMatchObject({
      retryable: false,
      message: 'sending email failed (SMTP 550): Mail command failed: 550 5.1.1 no such user',
    });
    await expect(new EmailExecutor(failing({ responseCode: 451 })).run(executionContext({ to: 'a@example.com', subject: 's', text: 't' }))).rejects.toMatchObject({ retryable: true });
    await expect(new EmailExecutor(failing({ code: 'ECONNREFUSED' })).run(executionContext({ to: 'a@example.com', subject: 's', text: 't' }))).rejects.toMatchObject({
      retryable: true,
      message: expect.stringContaining('(ECONNREFUSED)'),
    });
    const refused = EmailExecutor.fromSettings({ url: 'smtp://127.0.0.1:1', from: 'chronos@localhost' });
    await expect(refused.run(executionContext({ to: 'a@example.com', subject: 's', text: 't' }))).rejects.toMatchObject({ retryable: true });
  });

  it('some recipients rejected is a success that lists them; all rejected is a failure', async () => {
    const partial = new EmailExecutor(async (email) => ({ messageId: email.messageId, accepted: ['a@example.com'], rejected: ['b@example.com'] }));
    const ctx = executionContext({ to: ['a@example.com', 'b@example.com'], subject: 's', text: 't' });
    await expect(partial.run(ctx)).resolves.toMatchObject({ accepted: ['a@example.com'], rejected: ['b@example.com'] });
    expect(ctx.logged.some((l) => l.level === 'warn' && l.message === '1 recipient rejected')).toBe(true);
    const none = new EmailExecutor(async (email) => ({ messageId: email.messageId, accepted: [], rejected: ['b@example.com'] }));
    await expect(none.run(executionContext({ to: 'b@example.com', subject: 's', text: 't' }))).rejects.toMatchObject({ retryable: false, message: 'every recipient was rejected' });
  });

  it('an abort rejects with the signal\'s reason', async () => {
    const controller = new AbortController();
    const hanging = new EmailExecutor(() => new Promise(() => undefined));
    const run = hanging.run(executionContext({ to: 'a@example.com', subject: 's', text: 't' }, { signal: controller.signal }));
    const reason = new Error('timed out after 10 ms');
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
  });
});
