import type { ChronosApp } from '../src/app.js';
import { ApiClient, resetStack, startTestChronos } from './support/stack.js';

interface SseEvent {
  id: string;
  event: string;
  data: { type: string; subject: string; id: string };
}

/** Reads server-sent events until `until` says stop (or the timeout), then disconnects. */
async function readSse(base: string, token: string, until: (events: SseEvent[]) => boolean, lastEventId?: string, timeoutMs = 10_000): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const res = await fetch(`${base}/api/v1/events/stream`, {
    headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
        if (fields.data) events.push({ id: fields.id!, event: fields.event!, data: JSON.parse(fields.data) });
      }
      if (until(events)) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
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
