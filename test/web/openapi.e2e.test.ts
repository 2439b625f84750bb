import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChronosApp } from '../../src/app.js';
import { startChronosProcess } from '../support/processes.js';
import { resetStack, startTestChronos, TEST_ENV, waitFor, type Json } from '../support/stack.js';
import { createAndReadBack, listHttpJobs } from './client-program.js';

/** Runs a node script to its end: its exit code and output. */
function runNode(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...TEST_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolveRun) => child.on('close', (code) => resolveRun({ code, output })));
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

describe('the OpenAPI document and the client generated from it', () => {
  let chronos: ChronosApp;
  let base: string;
  let document: Json;

  beforeAll(async () => {
    await resetStack();
    chronos = await startTestChronos();
    base = `http://127.0.0.1:${chronos.port}`;
    document = await (await fetch(`${base}/docs-json`)).json();
  });
  afterAll(() => chronos?.close());

  it('matches the committed client types (web/src/api/schema.d.ts): regenerating changes nothing', async () => {
    const { code, output } = await runNode(['scripts/web-client.mjs', '--check']);
    expect(output).toContain('matches the OpenAPI document');
    expect(code).toBe(0);
  });

  it('passes `redocly lint` (redocly.yaml: the recommended rules, two off for their reasons)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chronos-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(document));
      // No telemetry and no update check: the lint runs offline.
      const { code, output } = await runNode(['node_modules/@redocly/cli/bin/cli.js', 'lint', '--config', 'redocly.yaml', '--format', 'stylish', file], {
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
      });
      expect({ code, output }).toEqual({ code: 0, output: expect.stringMatching(/Woohoo! Your API description is valid/) });
      // No finding at all, not even a warning (the only other output: Redocly's notice that Node 20 is ending).
      expect(output).not.toMatch(/\d+ (?:errors?|warnings?)\b/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // What operation-4xx-response (off in redocly.yaml) would ask, for every operation but the probes.
    for (const [path, item] of Object.entries(document.paths) as [string, Json][]) {
      for (const method of METHODS.filter((m) => item[m] && !path.startsWith('/health'))) {
        expect({ path, method, clientErrors: Object.keys(item[method].responses).some((status) => /^4\d\d$/.test(status)) }).toEqual({ path, method, clientErrors: true });
      }
    }
  });

  it('says which routes are public, and each answers as documented without a token', async () => {
    const operations = Object.entries(document.paths).flatMap(([path, item]: [string, Json]) =>
      METHODS.filter((method) => item[method]).map((method) => ({ path, method, operation: item[method] })),
    );
    expect(operations.length).toBeGreaterThan(30);
    for (const { path, method, operation } of operations) {
      expect({ path, method, security: operation.security }).toEqual({ path, method, security: expect.any(Array) });
      const url = base + path.replace(/\{(\w+)\}/g, (_, name) => (name === 'name' ? 'jobs' : '00000000-0000-4000-8000-000000000000'));
      const response = await fetch(url, { method: method.toUpperCase(), ...(method === 'get' || method === 'delete' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }) });
      if (path.endsWith('/events/stream') && response.status === 200) await response.body?.cancel();
      const isPublic = operation.security.length === 0;
      // A secured route refuses before anything else; a public one never asks for a token.
      expect({ path, method, status: response.status === 401 ? 401 : 'not 401' }).toEqual({ path, method, status: isPublic ? 'not 401' : 401 });
      if (!isPublic) {
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(operation.responses['401'].content['application/problem+json']).toBeDefined();
      }
    }
  });

  it('declares every problem as application/problem+json, 429 with its headers, and servers', () => {
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
    const responses = Object.values(document.paths).flatMap((item: Json) => METHODS.flatMap((method) => (item[method] ? Object.entries(item[method].responses) : [])));
    for (const [status, response] of responses as [string, Json][]) {
      // Errors are problems; a 503 of a health route is that route's own answer, saying what is down.
      const problem = response.content?.['application/problem+json'];
      if (Number(status) >= 400 && !problem) expect({ status, schema: response.content['application/json'].schema.$ref }).toEqual({ status: '503', schema: expect.stringMatching(/HealthDto$/) });
      if (problem) expect(Object.keys(response.content)).toEqual(['application/problem+json']);
    }
    const create = document.paths['/api/v1/jobs'].post;
    expect(Object.keys(create.responses['429'].headers).sort()).toEqual(['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After']);
    expect(Object.keys(create.responses['201'].headers)).toEqual(expect.arrayContaining(['ETag', 'RateLimit-Remaining']));
    expect(Object.keys(create.responses['503'].headers)).toEqual(expect.arrayContaining(['Retry-After']));
    expect(document.paths['/health/live'].get.responses['503']).toBeUndefined();
    expect(document.paths['/health'].get.responses['429']).toBeUndefined();
    expect(document.components.schemas.Job.discriminator.mapping.http).toBe('#/components/schemas/HttpJobDto');
  });

  it('documents the rate limits each route has: their headers come exactly where it says', async () => {
    // A Chronos of its own, with the limits on, in a process of its own (closing a second one in this process disconnected the first's database).
    const limited = await startChronosProcess('limits', { CHRONOS_ROLES: 'api', RATE_LIMIT_PER_HOUR: '1000', AUTH_RATE_LIMIT_PER_IP: '1000', AUTH_RATE_LIMIT_PER_EMAIL: '1000' });
    try {
      const limitedBase = `http://127.0.0.1:${limited.logged('chronos started')!.json.port}`;
      const register = await fetch(`${limitedBase}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `limits-${Date.now()}@example.com`, password: 'Passw0rd!' }),
      });
      expect(document.paths['/api/v1/auth/register'].post['x-chronos-rate-limit']).toBe('auth');
      expect(register.headers.get('ratelimit-limit')).toBe('1000');
      const { accessToken }: Json = await register.json();
      const reads = Object.entries(document.paths).filter(([path, item]: [string, Json]) => item.get && !path.includes('{') && !path.startsWith('/api/v1/admin') && !path.endsWith('/stream'));
      expect(reads.length).toBeGreaterThan(5);
      for (const [path, item] of reads as [string, Json][]) {
        const response = await fetch(limitedBase + path, { headers: { authorization: `Bearer ${accessToken}` } });
        await response.arrayBuffer();
        expect({ path, limited: response.headers.has('ratelimit-limit') }).toEqual({ path, limited: item.get['x-chronos-rate-limit'] !== 'none' });
      }
    } finally {
      await limited.stop();
    }
  });

  it('serves a strict client program that creates a job and reads it back, with no cast', async () => {
    const source = readFileSync(resolve('test/web/client-program.ts'), 'utf8').replace(/\/\/.*$/gm, '');
    expect(source).not.toMatch(/\bas\s+(?!const\b)[\w{[(]/); // type assertions
    expect(source).not.toMatch(/[\w)\]]!(?=[.;,)\]])/); // non-null assertions
    expect(source).not.toMatch(/\bany\b|@ts-/);

    const result = await createAndReadBack(base, `client-${Date.now()}@example.com`);
    expect(result.read).toEqual(result.created);
    expect(result.read).toMatchObject({ type: 'http', payload: { url: 'http://127.0.0.1:9/health', method: 'POST', body: { hello: 'world' } }, schedule: { kind: 'cron', timezone: 'Europe/Berlin' } });
    expect(result.hostname).toBe('127.0.0.1');
    expect(result.etag).toBe(`"${result.read.version}"`);
    expect(result.previewCount).toBe(3);
    expect(result.refusedCode).toBe('INVALID_CRON');
    expect(result.refusedFields).toContain('schedule.expression');
    await waitFor(async () => (await listHttpJobs(base, result.accessToken)).some((job) => job.id === result.created.id), 10_000, 'the job in the list');
  });
});
