import type { ChronosApp } from '../src/app.js';
import { SseStream, type SseEvent } from './support/sse.js';
import { ApiClient, resetStack, startTestChronos } from './support/stack.js';

/** Reads server-sent events until `until` says stop (or the server ends the stream, or the timeout), then disconnects. */
async function readSse(base: string, token: string, until: (events: SseEvent[]) => boolean, lastEventId?: string, timeoutMs = 10_000): Promise<SseEvent[]> {
  const stream = await SseStream.open(base, token, lastEventId);
  expect(stream.status).toBe(200);
  expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events = await stream.waitFor(until, timeoutMs);
  stream.close();
  return events;
}

describe('server-sent events', () => {
  let chronos: ChronosApp;
  let base: string;

  beforeAll(async () => {
    await resetStack();
    chronos = await startTestChronos();
    base = `http://127.0.0.1:${chronos.port}`;
  });
  afterAll(() => chronos?.close());

  it("delivers the caller's lifecycle events live, and resumes after Last-Event-ID", async () => {
    const alice = await new ApiClient(base).signUp();
    const bob = await new ApiClient(base).signUp();
    const live = readSse(base, alice.token!, (events) => events.some((e) => e.event === 'chronos.job.completed'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await bob.post('/api/v1/jobs', { name: 'not yours', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } });
    const job = (await alice.post('/api/v1/jobs', { name: 'mine', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } })).body;
    const events = await live;
    expect(events.every((e) => e.data.subject === job.id)).toBe(true);
    expect(events.map((e) => e.event)).toEqual(['chronos.job.created', 'chronos.execution.queued', 'chronos.execution.started', 'chronos.execution.succeeded', 'chronos.job.completed']);

    // Resume after the second event: the rest comes again, nothing before it.
    const resumed = await readSse(base, alice.token!, (got) => got.some((e) => e.event === 'chronos.job.completed'), events[1]!.id);
    expect(resumed.map((e) => e.data.id)).toEqual(events.slice(2).map((e) => e.data.id));
    expect((await new ApiClient(base).get('/api/v1/events/stream')).status).toBe(401);
  });

  it('ends open streams when Chronos shuts down, so shutdown does not wait for clients', async () => {
    const alice = await new ApiClient(base).signUp();
    const reading = readSse(base, alice.token!, () => false, undefined, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await chronos.close();
    await reading;
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
