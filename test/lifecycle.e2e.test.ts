import { Parser } from '@asyncapi/parser';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import type { ChronosApp } from '../src/app.js';
import { ApiClient, resetStack, startTestChronos, urls, waitFor } from './support/stack.js';

/** A subscriber with the official NATS client sees a job's whole life on CHRONOS_LIFECYCLE, in order, once. */
describe('lifecycle events for subscribers', () => {
  let chronos: ChronosApp;
  let client: ApiClient;

  beforeAll(async () => {
    await resetStack();
    chronos = await startTestChronos();
    client = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
  });
  afterAll(() => chronos?.close());

  it('publishes every event of a job in commit order, once, as CloudEvents on chronos.lifecycle.<owner>.<job>.<type>', async () => {
    const job = (
      await client.post('/api/v1/jobs', {
        name: 'lives',
        type: 'http',
        payload: { url: 'http://127.0.0.1:9/nowhere', headers: { Authorization: 'Bearer TOP-SECRET-TOKEN' } },
        schedule: { kind: 'cron', expression: '0 0 1 1 *' },
        retryPolicy: { maxAttempts: 2, backoff: 'fixed', delayMs: 100, jitter: false },
      })
    ).body;
    await client.post(`/api/v1/jobs/${job.id}/trigger`);
    await waitFor(async () => (await client.get('/api/v1/dead-letters')).body.total === 1, 15_000, 'the dead letter');
    await client.post(`/api/v1/jobs/${job.id}/pause`, {});
    await client.post(`/api/v1/jobs/${job.id}/resume`, {});
    await client.request('PATCH', `/api/v1/jobs/${job.id}`, { name: 'renamed' });
    await client.post(`/api/v1/jobs/${job.id}/cancel`, {});
    await client.request('DELETE', `/api/v1/jobs/${job.id}`);

    const nc = await connect({ servers: urls.nats });
    const js = jetstream(nc);
    const subject = `chronos.lifecycle.${client.user.id}.${job.id}.>`;
    const events: { id: string; type: string; subject: string; specversion: string; source: string; chronossequence: number; data: Record<string, unknown> }[] = [];
    const subjects: string[] = [];
    await waitFor(async () => {
      const consumer = await js.consumers.get('CHRONOS_LIFECYCLE', { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
      events.length = 0;
      subjects.length = 0;
      const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
      for await (const message of batch) {
        events.push(message.json());
        subjects.push(message.subject);
      }
      return events.some((e) => e.type === 'chronos.job.deleted');
    }, 15_000, 'the whole life on the stream');
    await nc.close();

    // The failure notification (no SMTP here: it fails) is sent on its own time, so it is checked apart.
    expect(events.filter((e) => e.type.startsWith('chronos.notification.')).map((e) => e.type)).toEqual(['chronos.notification.failed']);
    expect(events.filter((e) => !e.type.startsWith('chronos.notification.')).map((e) => e.type)).toEqual([
      'chronos.job.created',
      'chronos.execution.queued',
      'chronos.execution.started',
      'chronos.execution.failed',
      'chronos.execution.retry_scheduled',
      'chronos.execution.queued',
      'chronos.execution.started',
      'chronos.execution.failed',
      'chronos.execution.dead_lettered',
      'chronos.job.paused',
      'chronos.job.resumed',
      'chronos.job.updated',
      'chronos.job.cancelled',
      'chronos.job.deleted',
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(events.every((e) => e.specversion === '1.0' && e.source === '/chronos' && e.subject === job.id)).toBe(true);
    expect(subjects[0]).toBe(`chronos.lifecycle.${client.user.id}.${job.id}.job.created`);
    const sequences = events.map((e) => e.chronossequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    // Secrets never reach subscribers.
    expect(JSON.stringify(events)).not.toContain('TOP-SECRET-TOKEN');
    expect((events[0]!.data.spec as { payload: { headers: Record<string, string> } }).payload.headers.Authorization).toBe('••••••');
  });

  it('serves an AsyncAPI 3 document that validates', async () => {
    const res = await fetch(`http://127.0.0.1:${chronos.port}/asyncapi.json`);
    expect(res.status).toBe(200);
    const document = (await res.json()) as { asyncapi: string };
    expect(document.asyncapi).toBe('3.0.0');
    const { document: parsed, diagnostics } = await new Parser().parse(JSON.stringify(document));
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors).toEqual([]);
    expect(parsed?.channels().length).toBe(19);
  });

  it('the lifecycle stream exists with the documented shape', async () => {
    const nc = await connect({ servers: urls.nats });
    const info = await (await jetstreamManager(nc)).streams.info('CHRONOS_LIFECYCLE');
    await nc.close();
    expect(info.config.subjects).toEqual(['chronos.lifecycle.>']);
  });
});
