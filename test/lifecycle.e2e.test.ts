import { Parser } from '@asyncapi/parser';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import type { ChronosApp } from '../src/app.js';
import { HttpSink } from './support/http-sink.js';
import { startWithUser, urls, waitFor, type ApiClient } from './support/stack.js';

/** A subscriber with the official NATS client sees a job's whole life on CHRONOS_LIFECYCLE, in order, once. */
describe('lifecycle events for subscribers', () => {
  let chronos: ChronosApp;
  let client: ApiClient;

  beforeAll(async () => {
    ({ chronos, client } = await startWithUser());
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
    const contentTypes = new Set<string | undefined>();
    await waitFor(async () => {
      const consumer = await js.consumers.get('CHRONOS_LIFECYCLE', { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
      events.length = 0;
      subjects.length = 0;
      const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
      for await (const message of batch) {
        events.push(message.json());
        subjects.push(message.subject);
        contentTypes.add(message.headers?.get('Content-Type'));
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
    // The CloudEvents NATS binding: a structured-mode event says so in its Content-Type header.
    expect([...contentTypes]).toEqual(['application/cloudevents+json']);
    expect(events.every((e) => e.specversion === '1.0' && e.source === '/chronos' && e.subject === job.id)).toBe(true);
    expect(subjects[0]).toBe(`chronos.lifecycle.${client.user.id}.${job.id}.job.created`);
    const sequences = events.map((e) => e.chronossequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    // Secrets never reach subscribers.
    expect(JSON.stringify(events)).not.toContain('TOP-SECRET-TOKEN');
    expect((events[0]!.data.spec as { payload: { headers: Record<string, string> } }).payload.headers.Authorization).toBe('••••••');
  });

  it('is enough for a subscriber to build its own view of the jobs: the same names, statuses and next runs as the API', async () => {
    const sink = await new HttpSink().start();
    try {
      const create = async (body: Record<string, unknown>) => (await client.post('/api/v1/jobs', body)).body as { id: string };
      const noop = { type: 'custom', payload: { handler: 'noop' } };
      const cron = { kind: 'cron', expression: '0 3 * * *', timezone: 'Europe/Berlin' };
      const done = await create({ name: 'once', ...noop, schedule: { kind: 'immediate' } });
      const nightly = await create({ name: 'nightly', ...noop, schedule: cron });
      const paused = await create({ name: 'paused', ...noop, schedule: { kind: 'interval', everyMs: 3_600_000 } });
      await client.post(`/api/v1/jobs/${paused.id}/pause`, {});
      const resumed = await create({ name: 'resumed', ...noop, schedule: cron });
      await client.post(`/api/v1/jobs/${resumed.id}/pause`, {});
      await client.post(`/api/v1/jobs/${resumed.id}/resume`, {});
      const renamed = await create({ name: 'before', ...noop, schedule: cron });
      await client.request('PATCH', `/api/v1/jobs/${renamed.id}`, { name: 'after', schedule: { kind: 'cron', expression: '30 4 * * *' } });
      const cancelled = await create({ name: 'cancelled', ...noop, schedule: cron });
      await client.post(`/api/v1/jobs/${cancelled.id}/cancel`, {});
      const deleted = await create({ name: 'deleted', ...noop, schedule: cron });
      await client.request('DELETE', `/api/v1/jobs/${deleted.id}`);
      const triggered = await create({ name: 'triggered', ...noop, schedule: cron });
      await client.post(`/api/v1/jobs/${triggered.id}/trigger`);
      // Fails, is dead-lettered (the job fails), then its dead letter is retried against a target that is up.
      sink.status = 500;
      const revived = await create({ name: 'revived', type: 'http', payload: { url: sink.url('/revived') }, schedule: { kind: 'immediate' }, retryPolicy: { maxAttempts: 1 } });
      const stillFailed = await create({ name: 'failed', type: 'http', payload: { url: sink.url('/failed') }, schedule: { kind: 'immediate' }, retryPolicy: { maxAttempts: 1 } });
      await waitFor(async () => (await client.get('/api/v1/dead-letters')).body.items.filter((d: { jobId: string }) => [revived.id, stillFailed.id].includes(d.jobId)).length === 2, 15_000, 'two dead letters');
      sink.status = 200;
      const deadLetter = (await client.get('/api/v1/dead-letters')).body.items.find((d: { jobId: string }) => d.jobId === revived.id);
      await client.post(`/api/v1/dead-letters/${deadLetter.id}/retry`);
      await waitFor(async () => {
        const statuses = await Promise.all([done, revived, triggered].map(async (job) => (await client.get(`/api/v1/jobs/${job.id}`)).body));
        return statuses[0].status === 'completed' && statuses[1].status === 'completed' && statuses[2].stats?.totalExecutions === 1;
      }, 15_000, 'the runs done');

      // The subscriber: the documented types and their data, folded per job, nothing else.
      type View = { name: string; status: string; nextRunAt: string | null };
      const view = new Map<string, View>();
      const nc = await connect({ servers: urls.nats });
      try {
        const consumer = await jetstream(nc).consumers.get('CHRONOS_LIFECYCLE', { filter_subjects: `chronos.lifecycle.${client.user.id}.>` });
        const seen = new Set<string>();
        const apply = (event: { id: string; type: string; subject: string; data: Record<string, any> }) => {
          if (seen.has(event.id)) return;
          seen.add(event.id);
          const job = view.get(event.subject);
          const data = event.data;
          switch (event.type.replace(/^chronos\./, '')) {
            case 'job.created': return void view.set(event.subject, { name: data.spec.name, status: 'active', nextRunAt: data.nextRunAt });
            case 'job.updated': return void Object.assign(job!, { name: data.spec?.name ?? job!.name, nextRunAt: data.nextRunAt });
            case 'job.paused': return void Object.assign(job!, { status: 'paused', nextRunAt: null });
            case 'job.resumed': return void Object.assign(job!, { status: 'active', nextRunAt: data.nextRunAt });
            case 'job.cancelled': return void Object.assign(job!, { status: 'cancelled', nextRunAt: null });
            case 'job.completed': return void Object.assign(job!, { status: 'completed', nextRunAt: null });
            case 'job.failed': return void Object.assign(job!, { status: 'failed', nextRunAt: null });
            case 'job.deleted': return void view.delete(event.subject);
            case 'execution.queued':
              if (data.trigger === 'schedule' || data.trigger === 'misfire') job!.nextRunAt = data.nextRunAt;
              // A retried dead letter runs a failed job again: the job is active until that run ends.
              if (data.trigger === 'retry' && job!.status === 'failed') job!.status = 'active';
              return;
            case 'execution.skipped': return void (job!.nextRunAt = data.nextRunAt);
          }
        };
        // Read until the view matches the API (the stream may lag the read model a little), then compare.
        const sorted = (entries: [string, View][]) => Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
        let fromApi: Record<string, View> = {};
        for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
          for await (const message of await consumer.fetch({ max_messages: 1000, expires: 1000 })) apply(message.json());
          const api = (await client.get('/api/v1/jobs?limit=100')).body.items as ({ id: string } & View)[];
          fromApi = sorted(api.map((job) => [job.id, { name: job.name, status: job.status, nextRunAt: job.nextRunAt }]));
          if (JSON.stringify(sorted([...view])) === JSON.stringify(fromApi)) break;
        }
        expect(sorted([...view])).toEqual(fromApi);
      } finally {
        await nc.close();
      }
      expect(view.get(revived.id)).toMatchObject({ status: 'completed' });
      expect(view.get(stillFailed.id)).toMatchObject({ status: 'failed' });
      expect(view.get(renamed.id)).toMatchObject({ name: 'after', status: 'active' });
      expect(view.has(deleted.id)).toBe(false);
    } finally {
      await sink.stop();
    }
  });

  it('sends every lifecycle type as the served AsyncAPI document describes it: a standard JSON Schema validator (ajv) accepts each message', async () => {
    const document = (await (await fetch(`http://127.0.0.1:${chronos.port}/asyncapi.json`)).json()) as { components: { messages: Record<string, { title: string; payload: object }> } };
    const sink = await new HttpSink().start();
    try {
      const create = async (body: Record<string, unknown>) => (await client.post('/api/v1/jobs', body)).body as { id: string };
      const sleeping = (ms: number) => ({ type: 'custom', payload: { handler: 'sleep', data: { ms } } });
      // The types the tests above do not produce: a timeout, an overlap skip, a replaced run, a sent notification
      // (the two interval jobs run on until Chronos closes).
      await create({ name: 'times out', ...sleeping(10_000), timeoutMs: 200, schedule: { kind: 'immediate' }, retryPolicy: { maxAttempts: 1 } });
      await create({ name: 'overlaps', ...sleeping(2_500), schedule: { kind: 'interval', everyMs: 1000 }, concurrencyPolicy: 'forbid' });
      await create({ name: 'replaces', ...sleeping(2_500), schedule: { kind: 'interval', everyMs: 1000 }, concurrencyPolicy: 'replace' });
      await create({ name: 'notifies', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' }, notifications: { onSuccess: true, webhookUrl: sink.url('/sent') } });

      // JSON Schema as it is: ajv knows OpenAPI's `nullable` unless told otherwise, and strict mode makes any
      // keyword JSON Schema does not know an error instead of ignoring it.
      const ajv = new Ajv({ strict: true, allErrors: true });
      ajv.removeKeyword('nullable');
      formats.default(ajv);
      const validators = new Map<string, ValidateFunction>(Object.values(document.components.messages).map((message) => [message.title, ajv.compile(message.payload)]));

      const nc = await connect({ servers: urls.nats });
      const seen = new Map<string, { data: Record<string, unknown> }[]>();
      const refused: unknown[] = [];
      const contentTypes = new Set<string | undefined>();
      try {
        const consumer = await jetstream(nc).consumers.get('CHRONOS_LIFECYCLE', { deliver_policy: DeliverPolicy.All });
        await waitFor(async () => {
          for await (const message of await consumer.fetch({ max_messages: 1000, expires: 1000 })) {
            const event = message.json<{ type: string; data: Record<string, unknown> }>();
            contentTypes.add(message.headers?.get('Content-Type'));
            const validate = validators.get(event.type);
            if (!validate) refused.push({ type: event.type, error: 'no message of this type in the document' });
            else if (!validate(event)) refused.push({ event, errors: validate.errors });
            seen.set(event.type, [...(seen.get(event.type) ?? []), event]);
          }
          return validators.size === 19 && [...validators.keys()].every((type) => seen.has(type));
        }, 30_000, 'every lifecycle type on the stream');
      } finally {
        await nc.close();
      }
      expect(refused).toEqual([]);
      expect([...contentTypes]).toEqual(['application/cloudevents+json']);
      // The case a `nullable` schema refused: a one-off's queued run has no next run.
      expect(seen.get('chronos.execution.queued')!.some((event) => event.data.nextRunAt === null)).toBe(true);
    } finally {
      await sink.stop();
    }
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
