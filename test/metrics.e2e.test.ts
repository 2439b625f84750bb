import { spawn } from 'node:child_process';
import { jest } from '@jest/globals';
import type { ChronosApp } from '../src/app.js';
import { ApiClient, resetStack, startTestChronos, waitFor } from './support/stack.js';

/**
 * /metrics tells how the whole installation is doing (every tenant's jobs and runs): only a scraper with
 * METRICS_TOKEN reads it, and scraping it fast costs the database nothing more.
 */
describe('/metrics', () => {
  const TOKEN = 'metrics-scrape-token-0123456789';
  let chronos: ChronosApp | undefined;
  afterEach(async () => {
    await chronos?.close();
    chronos = undefined;
  });

  const scrape = (headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${chronos!.port}/metrics`, { headers });

  it('answers nobody without METRICS_TOKEN, and only its bearer with it', async () => {
    await resetStack();
    chronos = await startTestChronos();
    const user = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
    await user.post('/api/v1/jobs', { name: 'tenant job', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } });
    for (const headers of [{}, { authorization: `Bearer ${user.token}` }] as Record<string, string>[]) {
      const res = await scrape(headers);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'METRICS_DISABLED' });
    }
    await chronos.close();

    chronos = await startTestChronos({ METRICS_TOKEN: TOKEN });
    const base = `http://127.0.0.1:${chronos.port}`;
    const signedIn = await new ApiClient(base).signUp();
    for (const headers of [{}, { authorization: `Bearer ${signedIn.token}` }, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }] as Record<string, string>[]) {
      const res = await scrape(headers);
      expect([headers, res.status]).toEqual([headers, 401]);
      const body = await res.text();
      expect(body).not.toContain('chronos_jobs');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    const allowed = await scrape({ authorization: `Bearer ${TOKEN}` });
    expect(allowed.status).toBe(200);
    const text = await allowed.text();
    // The names the docs list are all there.
    for (const name of ['chronos_jobs', 'chronos_executions', 'chronos_projection_lag_events', 'chronos_work_pending', 'chronos_work_in_flight', 'chronos_http_requests_total', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      expect(text).toContain(name);
    }
    expect(text).not.toContain('chronos_process_');
  });

  it('passes `promtool check metrics` (Prometheus\'s own linter) on a real scrape', async () => {
    await resetStack();
    chronos = await startTestChronos({ METRICS_TOKEN: TOKEN });
    const user = await new ApiClient(`http://127.0.0.1:${chronos.port}`).signUp();
    // Every family with samples: requests, a run, its lateness and duration.
    const job = (await user.post('/api/v1/jobs', { name: 'scraped', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } })).body;
    await waitFor(async () => (await user.get(`/api/v1/jobs/${job.id}`)).body.status === 'completed', 15_000, 'the run');
    const res = await scrape({ authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('chronos_execution_duration_seconds_count');
    // scripts/test.sh installs Debian's prometheus package (promtool) when it is missing.
    const promtool = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
      child.stdin.end(text);
    });
    expect(promtool).toEqual({ code: 0, output: '' });
  });

  it('counts over the read models at most once per METRICS_CACHE_MS, however often it is scraped', async () => {
    await resetStack();
    chronos = await startTestChronos({ METRICS_TOKEN: TOKEN, METRICS_CACHE_MS: '600000' });
    const query = jest.spyOn(chronos.infra.dataSource, 'query');
    const counts = () => query.mock.calls.filter(([sql]) => /FROM executions e JOIN jobs/.test(String(sql))).length;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const answers = await Promise.all(Array.from({ length: 50 }, () => scrape(auth)));
    for (let i = 0; i < 50; i++) answers.push(await scrape(auth));
    expect(answers.map((res) => res.status)).toEqual(Array(100).fill(200));
    expect(counts()).toBe(1);
    query.mockRestore();
  });
});
