import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { ChronosApp } from '../src/app.js';
import { JobRepository } from '../src/commands/job.repository.js';
import type { NotificationItem } from '../src/events/messages.js';
import { NOTIFY_STREAM, notifySubject } from '../src/events/streams.js';
import { SIGNATURE_HEADER, verifyWebhook } from '../src/executors/webhook-signature.js';
import { HttpSink } from './support/http-sink.js';
import { SmtpSink } from './support/smtp-sink.js';
import { ApiClient, resetStack, sleep, startTestChronos, urls, waitFor, type Json } from './support/stack.js';

/**
 * Job notifications end to end: a dead-lettered fire (a custom `sleep` past its timeout, one attempt) and a
 * succeeded run (`noop` with onSuccess) notify by email (a local SMTP server) and webhook (a local HTTP sink).
 */
describe('notifications', () => {
  let chronos: ChronosApp | undefined;
  let smtp: SmtpSink;
  let sink: HttpSink;
  let client: ApiClient;
  const MAX_DELIVERIES = 3;
  const notifyEnv = (extra: Record<string, string> = {}) => ({
    NOTIFY_MAX_DELIVERIES: String(MAX_DELIVERIES),
    NOTIFY_BACKOFF_MS: '100',
    NOTIFY_MAX_BACKOFF_MS: '400',
    NOTIFY_TIMEOUT_MS: '3000',
    ...extra,
  });

  beforeAll(async () => {
    await resetStack();
    smtp = await new SmtpSink().start();
    sink = await new HttpSink().start();
    chronos = await startTestChronos(notifyEnv({ SMTP_URL: smtp.url }));
    client = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
  });
  afterAll(async () => {
    await chronos?.close();
    await smtp?.stop();
    await sink?.stop();
  });

  const failing = { type: 'custom', payload: { handler: 'sleep', data: { ms: 5000 } }, timeoutMs: 100, retryPolicy: { maxAttempts: 1 }, schedule: { kind: 'immediate' } };
  const succeeding = { type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } };

  const create = async (body: Record<string, unknown>): Promise<Json> => {
    const res = await client.post('/api/v1/jobs', body);
    expect(res.status).toBe(201);
    return res.body;
  };
  const events = async (jobId: string): Promise<Json[]> => (await client.get(`/api/v1/jobs/${jobId}/events?limit=100`)).body.items;
  /** Waits until the job has `count` notification outcomes of `type`, and returns them. */
  const outcomes = (jobId: string, type: 'NotificationSent' | 'NotificationFailed', count: number, timeoutMs = 15_000): Promise<Json[]> =>
    waitFor(async () => {
      const found = (await events(jobId)).filter((e) => e.type === type);
      return found.length >= count && found;
    }, timeoutMs, `${count} ${type} of job ${jobId}`);
  const unique = (prefix: string) => `${prefix} ${Math.random().toString(36).slice(2, 8)}`;

  it('a dead letter emails the owner once, by default', async () => {
    const name = unique('Nightly backup');
    const job = await create({ name, ...failing });
    const [sent] = await outcomes(job.id, 'NotificationSent', 1);
    const history = await events(job.id);
    const deadLettered = history.find((e) => e.type === 'ExecutionDeadLettered');
    expect(deadLettered).toBeDefined();
    expect(sent.data).toMatchObject({
      jobId: job.id,
      channel: 'email',
      trigger: 'failure',
      executionId: deadLettered.data.executionId,
      to: client.user.email,
      attempts: 1,
      messageId: expect.any(String),
    });
    expect(sent.actor).toMatch(/^notifier:/);
    await sleep(1000); // nothing more arrives
    const mails = smtp.messages.filter((m) => m.subject.includes(name));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual([client.user.email]);
    expect(mails[0]!.from).toBe('chronos@localhost');
    expect(mails[0]!.subject).toBe(`[Chronos] ${name} failed`);
    expect(mails[0]!.raw).toContain(deadLettered.data.executionId);
    expect(mails[0]!.raw).toContain(deadLettered.data.deadLetterId);
    expect(mails[0]!.raw).toMatch(/timed out after 100 ms/);
    // No webhook configured: nothing else was recorded.
    expect((await events(job.id)).filter((e) => e.type.startsWith('Notification'))).toHaveLength(1);

    // The same item delivered again (as after a crash between append and ack) is dropped: already recorded.
    const item: NotificationItem = {
      notificationId: sent.data.notificationId,
      jobId: job.id,
      eventSequence: deadLettered.sequence,
      channel: 'email',
      trigger: 'failure',
      executionId: deadLettered.data.executionId,
      scheduledAt: deadLettered.data.scheduledAt,
      attempts: 1,
      error: deadLettered.data.lastError,
      deadLetterId: deadLettered.data.deadLetterId,
      occurredAt: deadLettered.data.deadLetteredAt,
    };
    const nc = await connect({ servers: urls.nats });
    try {
      await jetstream(nc).publish(notifySubject(job.id), JSON.stringify(item), { msgID: `replayed-${item.notificationId}` });
      const jsm = await jetstreamManager(nc);
      await waitFor(async () => (await jsm.streams.info(NOTIFY_STREAM)).state.messages === 0, 10_000, 'the notification queue to drain');
    } finally {
      await nc.close();
    }
    await sleep(300);
    expect(smtp.messages.filter((m) => m.subject.includes(name))).toHaveLength(1);
    expect((await events(job.id)).filter((e) => e.type.startsWith('Notification'))).toHaveLength(1);
  });

  it('notifications.email and a signed webhook: one email to that address, one webhook with a valid signature', async () => {
    const name = unique('Billing export');
    const secret = 'whsec_notifications_test';
    const job = await create({
      name,
      ...failing,
      notifications: { email: 'ops@example.com', webhookUrl: sink.url('/failure-hook'), webhookSecret: secret },
    });
    const sent = await outcomes(job.id, 'NotificationSent', 2);
    expect(sent.map((e) => e.data.channel).sort()).toEqual(['email', 'webhook']);
    expect(sent.find((e) => e.data.channel === 'webhook').data).toMatchObject({ to: sink.url('/failure-hook'), trigger: 'failure', attempts: 1 });
    await sleep(1000);

    const mails = smtp.messages.filter((m) => m.subject.includes(name));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(['ops@example.com']);

    const hooks = sink.to('/failure-hook');
    expect(hooks).toHaveLength(1);
    const [hook] = hooks;
    expect(hook!.method).toBe('POST');
    expect(hook!.headers['content-type']).toBe('application/json');
    const signature = hook!.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(secret, hook!.body, signature, 300, Math.floor(Date.now() / 1000))).toMatchObject({ valid: true });
    expect(verifyWebhook('wrong-secret', hook!.body, signature, 300, Math.floor(Date.now() / 1000)).valid).toBe(false);

    const deadLettered = (await events(job.id)).find((e) => e.type === 'ExecutionDeadLettered').data;
    expect(JSON.parse(hook!.body)).toEqual({
      type: 'chronos.notification',
      id: sent.find((e) => e.data.channel === 'webhook').data.notificationId,
      trigger: 'failure',
      job: { id: job.id, name },
      execution: { id: deadLettered.executionId, scheduledAt: deadLettered.scheduledAt, attempts: 1, error: deadLettered.lastError },
      deadLetterId: deadLettered.deadLetterId,
      occurredAt: deadLettered.deadLetteredAt,
    });
  });

  it('onSuccess notifies a succeeded run; by default a success notifies nobody', async () => {
    const quiet = unique('Quiet');
    const loud = unique('Loud');
    const silentJob = await create({ name: quiet, ...succeeding });
    const job = await create({ name: loud, ...succeeding, notifications: { onSuccess: true, webhookUrl: sink.url('/success-hook') } });
    const sent = await outcomes(job.id, 'NotificationSent', 2);
    expect(sent.every((e) => e.data.trigger === 'success')).toBe(true);
    const [mail] = smtp.messages.filter((m) => m.subject.includes(loud));
    expect(mail!.subject).toBe(`[Chronos] ${loud} succeeded`);
    expect(mail!.to).toEqual([client.user.email]);
    const [hook] = sink.to('/success-hook');
    expect(hook!.headers[SIGNATURE_HEADER.toLowerCase()]).toBeUndefined(); // no secret, no signature
    const body = JSON.parse(hook!.body);
    const finished = (await events(job.id)).find((e) => e.type === 'ExecutionFinished').data;
    expect(body).toMatchObject({ type: 'chronos.notification', trigger: 'success', job: { id: job.id, name: loud }, execution: { id: finished.executionId, attempts: 1 } });
    expect(body.execution.scheduledAt).toEqual(expect.any(String));
    expect(body).not.toHaveProperty('deadLetterId');

    await waitFor(async () => (await events(silentJob.id)).some((e) => e.type === 'ExecutionFinished'), 10_000, 'the quiet job to run');
    await sleep(1000);
    expect(smtp.messages.filter((m) => m.subject.includes(quiet))).toHaveLength(0);
    expect((await events(silentJob.id)).filter((e) => e.type.startsWith('Notification'))).toHaveLength(0);
  });

  it('onFailure: false notifies nobody of a dead letter', async () => {
    const name = unique('Muted');
    const job = await create({ name, ...failing, notifications: { onFailure: false, webhookUrl: sink.url('/muted') } });
    await waitFor(async () => (await events(job.id)).some((e) => e.type === 'ExecutionDeadLettered'), 10_000, 'the dead letter');
    await sleep(1000);
    expect(smtp.messages.filter((m) => m.subject.includes(name))).toHaveLength(0);
    expect(sink.to('/muted')).toHaveLength(0);
  });

  it(`a webhook answering 500 is retried with backoff, then recorded as failed after ${MAX_DELIVERIES} tries; the email still goes`, async () => {
    const failingSink = await new HttpSink().start();
    failingSink.status = 500;
    try {
      const job = await create({ name: unique('Flaky hook'), ...failing, notifications: { webhookUrl: failingSink.url('/down') } });
      const [failed] = await outcomes(job.id, 'NotificationFailed', 1);
      expect(failed.data).toMatchObject({ channel: 'webhook', trigger: 'failure', to: failingSink.url('/down'), attempts: MAX_DELIVERIES, error: 'webhook answered 500' });
      const [sent] = await outcomes(job.id, 'NotificationSent', 1);
      expect(sent.data.channel).toBe('email');
      await sleep(1000);
      const tries = failingSink.to('/down');
      expect(tries).toHaveLength(MAX_DELIVERIES);
      // Every try is the same notification (same body and id), spaced by the backoff (100 ms, then 200 ms).
      expect(new Set(tries.map((t) => t.body)).size).toBe(1);
      expect(new Set(tries.map((t) => t.headers['x-chronos-notification-id'])).size).toBe(1);
      expect(tries[1]!.receivedAt - tries[0]!.receivedAt).toBeGreaterThanOrEqual(90);
      expect(tries[2]!.receivedAt - tries[1]!.receivedAt).toBeGreaterThanOrEqual(190);
      expect((await events(job.id)).filter((e) => e.type === 'NotificationFailed')).toHaveLength(1);
    } finally {
      await failingSink.stop();
    }
  });

  it("a deleted job's pending notifications are dropped quietly", async () => {
    const failingSink = await new HttpSink().start();
    failingSink.status = 503;
    try {
      const job = await create({ name: unique('Doomed'), ...failing, notifications: { webhookUrl: failingSink.url('/doomed') } });
      await waitFor(() => failingSink.to('/doomed').length >= 1, 10_000, 'the first webhook try');
      expect((await client.request('DELETE', `/api/v1/jobs/${job.id}`)).status).toBe(204);
      const tries = failingSink.to('/doomed').length;
      // The queue drains without another try and without a recorded outcome.
      const nc = await connect({ servers: urls.nats });
      try {
        const jsm = await jetstreamManager(nc);
        await waitFor(async () => (await jsm.streams.info(NOTIFY_STREAM)).state.messages === 0, 10_000, 'the notification queue to drain');
      } finally {
        await nc.close();
      }
      // At most the try in flight at the delete; nothing recorded on the deleted job.
      expect(failingSink.to('/doomed').length).toBeLessThanOrEqual(tries + 1);
      const history = await chronos!.app.get(JobRepository).history(job.id);
      expect(history.map((e) => e.type)).toContain('JobDeleted');
      expect(history.filter((e) => e.type.startsWith('Notification'))).toHaveLength(0);
    } finally {
      await failingSink.stop();
    }
  });

  it('without SMTP_URL an email notification is recorded as failed at once, not retried', async () => {
    await chronos?.close();
    chronos = await startTestChronos(notifyEnv());
    client = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
    const name = unique('No mail');
    const job = await create({ name, ...failing });
    const [failed] = await outcomes(job.id, 'NotificationFailed', 1);
    expect(failed.data).toMatchObject({ channel: 'email', trigger: 'failure', to: client.user.email, attempts: 1, error: 'SMTP_URL is not configured' });
    expect(smtp.messages.filter((m) => m.subject.includes(name))).toHaveLength(0);
  });
});
