import type { ChronosApp } from '../src/app.js';
import { registerHandler } from '../src/executors/custom.executor.js';
import { ExecutionFailure } from '../src/executors/executor.js';
import { ApiClient, startWithUser, waitFor, type Json } from './support/stack.js';

/**
 * Custom handlers registered in code may return or throw anything; every run is still recorded, in the
 * documented form (README, "What a run records"), and the pipeline keeps going for everyone.
 */
const circular = (): Record<string, unknown> => {
  const value: Record<string, unknown> = { name: 'loop' };
  value.self = value;
  return value;
};

const hostile: Record<string, () => Promise<unknown>> = {
  buffer: async () => Buffer.from([0, 1, 2, 255]),
  text: async () => Buffer.from('plain text'),
  bigint: async () => ({ n: 10n ** 30n }),
  undefined: async () => undefined,
  circular: async () => circular(),
  nul: async () => 'a\u0000b\ud800c',
  huge: async () => ({ rows: Array.from({ length: 100_000 }, (_, i) => ({ i, text: 'x'.repeat(100) })) }),
  getter: async () => ({ kept: 1, get broken(): unknown { throw new Error('cannot read'); } }),
  'throws-string': async () => {
    throw 'a plain string';
  },
  'throws-null': async () => {
    throw null;
  },
  'failure-output': async () => {
    throw new ExecutionFailure('bad\u0000input', { loop: circular(), n: 1n }, false);
  },
};
for (const [name, handler] of Object.entries(hostile)) registerHandler(`hostile.${name}`, handler);
registerHandler('hostile.logs', async (_data, { log }) => {
  log('info', 'nul\u0000 and lone \udc00', { loop: circular(), bytes: new Uint8Array([0, 255]) });
  (log as (...args: unknown[]) => void)('fatal', { not: 'a string' }, 'not an object');
  return 'logged';
});
// Ignores its signal and never settles: the run still ends at its timeout.
registerHandler('hostile.hang', () => new Promise(() => undefined));

describe('custom handler outputs', () => {
  let chronos: ChronosApp | undefined;
  let client: ApiClient;
  beforeAll(async () => {
    ({ chronos, client } = await startWithUser());
  });
  afterAll(async () => {
    await chronos?.close();
  });

  const FINAL = ['succeeded', 'failed', 'timed_out'];
  async function run(handler: string, extra: Record<string, unknown> = {}): Promise<Json> {
    const created = await client.post('/api/v1/jobs', {
      name: `custom ${handler}`,
      type: 'custom',
      payload: { handler },
      schedule: { kind: 'immediate' },
      retryPolicy: { maxAttempts: 1 },
      notifications: { onFailure: false },
      ...extra,
    });
    expect(created.status).toBe(201);
    const [execution] = await waitFor(async () => {
      const items: Json[] = (await client.get(`/api/v1/jobs/${created.body.id}/executions`)).body.items;
      return items.length === 1 && FINAL.includes(items[0].status) && items;
    }, 20_000, `the run of ${handler} recorded as final`);
    return execution;
  }

  it('records each returned or thrown value in the documented form', async () => {
    const runs = Object.fromEntries(await Promise.all(Object.keys(hostile).map(async (name) => [name, await run(`hostile.${name}`)] as const)));
    expect(runs.buffer).toMatchObject({ status: 'succeeded', output: { encoding: 'base64', data: 'AAEC/w==', bytes: 4, truncated: false } });
    expect(runs.text).toMatchObject({ status: 'succeeded', output: { encoding: 'utf8', data: 'plain text', bytes: 10, truncated: false } });
    expect(runs.bigint).toMatchObject({ status: 'succeeded', output: { n: '1000000000000000000000000000000' } });
    expect(runs.undefined).toMatchObject({ status: 'succeeded', output: null });
    expect(runs.circular).toMatchObject({ status: 'succeeded', output: { name: 'loop', self: '[circular]' } });
    expect(runs.nul).toMatchObject({ status: 'succeeded', output: 'a\uFFFDb\uFFFDc' });
    expect(runs.huge).toMatchObject({ status: 'succeeded', output: { truncated: true, limitBytes: 65536, preview: expect.stringMatching(/^\{"rows":\[\{"i":0,/) } });
    expect(runs.getter).toMatchObject({ status: 'succeeded', output: '[unserializable: cannot read]' });
    expect(runs['throws-string']).toMatchObject({ status: 'failed', error: 'a plain string' });
    expect(runs['throws-null']).toMatchObject({ status: 'failed', error: 'null' });
    expect(runs['failure-output']).toMatchObject({ status: 'failed', error: 'bad\uFFFDinput', output: { loop: { name: 'loop', self: '[circular]' }, n: '1' } });
  });

  it('stores hostile log entries, ends a run whose handler ignores its signal, and keeps the pipeline going', async () => {
    const logged = await run('hostile.logs');
    expect(logged).toMatchObject({ status: 'succeeded', output: 'logged' });
    const entries = await waitFor(async () => {
      const items: Json[] = (await client.get(`/api/v1/executions/${logged.id}/logs?limit=100`)).body.items;
      return items.some((e) => e.message.startsWith('succeeded')) && items;
    }, 10_000, 'the log of the run');
    expect(entries).toEqual(expect.arrayContaining([
      expect.objectContaining({ level: 'info', message: 'nul\uFFFD and lone \uFFFD', metadata: { loop: { name: 'loop', self: '[circular]' }, bytes: { encoding: 'base64', data: 'AP8=', bytes: 2, truncated: false } } }),
      expect.objectContaining({ level: 'info', message: '{"not":"a string"}', metadata: { value: 'not an object' } }),
    ]));

    const hung = await run('hostile.hang', { timeoutMs: 300 });
    expect(hung).toMatchObject({ status: 'timed_out', error: 'timed out after 300 ms' });

    expect(await run('hostile.text')).toMatchObject({ status: 'succeeded' });
  });
});
