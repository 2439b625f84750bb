import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChronosApp } from '../src/app.js';
import { HttpSink } from './support/http-sink.js';
import { ApiClient, resetStack, startTestChronos, waitFor } from './support/stack.js';

/** Outbound targets: refused at submit for every private address class, and at run time on a redirect. */
describe('outbound target guard, end to end', () => {
  let chronos: ChronosApp;
  let client: ApiClient;
  let victim: HttpSink;
  let redirector: Server;

  beforeAll(async () => {
    await resetStack();
    victim = await new HttpSink().start();
    redirector = createServer((_req, res) => res.writeHead(302, { location: victim.url('/internal') }).end());
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    const port = (redirector.address() as AddressInfo).port;
    // Only the redirector is allowed: the victim, on another loopback port, is not.
    chronos = await startTestChronos({ CHRONOS_TARGET_ALLOWLIST: `127.0.0.1:${port}` });
    client = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
  });
  afterAll(async () => {
    await chronos?.close();
    await victim?.stop();
    redirector?.close();
  });

  const job = (url: string) => ({ name: 'ssrf', type: 'http', payload: { url }, schedule: { kind: 'immediate' } });

  it.each([
    ['loopback', 'http://127.0.0.1:8080/'],
    ['loopback by name', 'http://localhost/'],
    ['IPv6 loopback', 'http://[::1]/'],
    ['private 10/8', 'http://10.0.0.5/'],
    ['private 172.16/12', 'http://172.16.3.4/'],
    ['private 192.168/16', 'https://192.168.1.1/'],
    ['link-local', 'http://169.254.10.10/'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['CGNAT', 'http://100.64.1.2/'],
    ['unspecified', 'http://0.0.0.0/'],
    ['IPv4-mapped IPv6', 'http://[::ffff:127.0.0.1]/'],
  ])('refuses a %s target at submit', async (_class, url) => {
    const res = await client.post('/api/v1/jobs', job(url));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'TARGET_NOT_ALLOWED', errors: [{ field: 'payload.url' }] });
  });

  it('refuses a notification webhook to a private address', async () => {
    const res = await client.post('/api/v1/jobs', {
      name: 'n',
      type: 'custom',
      payload: { handler: 'noop' },
      schedule: { kind: 'immediate' },
      notifications: { webhookUrl: 'http://10.1.1.1/hook' },
    });
    expect(res.body).toMatchObject({ status: 422, code: 'TARGET_NOT_ALLOWED', errors: [{ field: 'notifications.webhookUrl' }] });
  });

  it('refuses, at run time, a redirect to an address that is not allowed', async () => {
    const port = (redirector.address() as AddressInfo).port;
    const created = await client.post('/api/v1/jobs', job(`http://127.0.0.1:${port}/start`));
    expect(created.status).toBe(201);
    const execution = await waitFor(async () => {
      const [item] = (await client.get(`/api/v1/jobs/${created.body.id}/executions`)).body.items;
      return item?.status === 'failed' && item;
    }, 10_000, 'the refused run');
    expect(execution.error).toMatch(/target not allowed/);
    expect(victim.requests).toHaveLength(0);
  });
});
