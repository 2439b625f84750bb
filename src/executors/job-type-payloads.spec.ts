import { payloadErrors, PAYLOAD_DTOS } from '../http/dto/payload.dto.js';
import { CustomExecutor, handlerNames, hasHandler, registerHandler } from './custom.executor.js';
import type { ExecutionContext } from './executor.js';

/** Payload validation of the job types (what POST /jobs answers 400 with), and the custom handler registry. */
describe('payload DTOs', () => {
  it('covers every job type', () => {
    expect(Object.keys(PAYLOAD_DTOS).sort()).toEqual(['custom', 'email', 'http', 'script', 'webhook']);
  });

  it('webhook: url and data required (null allowed), secret optional, unknown fields refused', () => {
    expect(payloadErrors({ url: 'https://example.com/h', data: { a: 1 }, secret: 's3cret' }, 'webhook')).toEqual([]);
    expect(payloadErrors({ url: 'https://example.com/h', data: null }, 'webhook')).toEqual([]);
    expect(payloadErrors({ url: 'https://example.com/h', data: 'text' }, 'webhook')).toEqual([]);
    expect(payloadErrors({ url: 'https://example.com/h' }, 'webhook')).toEqual([expect.stringMatching(/^payload\.data: data is required/)]);
    expect(payloadErrors({ url: 'ftp://example.com', data: {} }, 'webhook')).toEqual([expect.stringMatching(/^payload\.url:/)]);
    expect(payloadErrors({ url: 'https://example.com/h', data: {}, secret: '' }, 'webhook')).toEqual([expect.stringMatching(/^payload\.secret:/)]);
    expect(payloadErrors({ url: 'https://example.com/h', data: {}, method: 'PUT' }, 'webhook')).toEqual(['payload.method: property method should not exist']);
  });

  it('script: command required; args strings; cwd absolute; env names and string values; unknown fields refused', () => {
    expect(payloadErrors({ command: '/bin/sh', args: ['-c', 'echo hi'], cwd: '/tmp', env: { A_B: '1' } }, 'script')).toEqual([]);
    expect(payloadErrors({ command: 'pg_dump' }, 'script')).toEqual([]);
    expect(payloadErrors({}, 'script')).toEqual(expect.arrayContaining([expect.stringMatching(/^payload\.command:/)]));
    expect(payloadErrors({ command: '/bin/sh', args: 'echo hi' }, 'script')).toEqual(expect.arrayContaining([expect.stringMatching(/^payload\.args:/)]));
    expect(payloadErrors({ command: '/bin/sh', args: [1] }, 'script')).toEqual(expect.arrayContaining([expect.stringMatching(/^payload\.args:/)]));
    expect(payloadErrors({ command: '/bin/sh', cwd: 'relative' }, 'script')).toEqual(['payload.cwd: cwd must be an absolute path']);
    expect(payloadErrors({ command: '/bin/sh', env: { 'BAD-NAME': 'x' } }, 'script')).toEqual([expect.stringMatching(/^payload\.env:/)]);
    expect(payloadErrors({ command: '/bin/sh', env: { OK: 1 } }, 'script')).toEqual([expect.stringMatching(/^payload\.env:/)]);
    expect(payloadErrors({ command: '/bin/sh\0x' }, 'script')).toEqual(['payload.command: command must not contain NUL bytes']);
    expect(payloadErrors({ command: '/bin/sh', shell: true }, 'script')).toEqual(['payload.shell: property shell should not exist']);
  });

  it('email: to (one address or 1..50), subject, text or html required', () => {
    expect(payloadErrors({ to: 'ops@example.com', subject: 'Hi', text: 'body' }, 'email')).toEqual([]);
    expect(payloadErrors({ to: ['a@example.com', 'b@example.com'], subject: 'Hi', html: '<p>x</p>' }, 'email')).toEqual([]);
    expect(payloadErrors({ to: 'ops@example.com', subject: 'Hi' }, 'email')).toEqual(['payload.text: text or html is required']);
    expect(payloadErrors({ to: 'not-an-email', subject: 'Hi', text: 'x' }, 'email')).toEqual([expect.stringMatching(/^payload\.to: to must be an email address/)]);
    expect(payloadErrors({ to: [], subject: 'Hi', text: 'x' }, 'email')).toEqual([expect.stringMatching(/^payload\.to: to must be an email address or a list of 1 to 50/)]);
    const many = Array.from({ length: 51 }, (_, i) => `u${i}@example.com`);
    expect(payloadErrors({ to: many, subject: 'Hi', text: 'x' }, 'email')).toEqual([expect.stringMatching(/^payload\.to:/)]);
    expect(payloadErrors({ to: 'a@example.com', subject: 'Hi\r\nBcc: x@evil.com', text: 'x' }, 'email')).toEqual(['payload.subject: subject must be a single line']);
    expect(payloadErrors({ to: 'a@example.com', subject: 'Hi', text: 'x', cc: 'b@example.com' }, 'email')).toEqual(['payload.cc: property cc should not exist']);
  });
});

describe('custom handler registry', () => {
  const ctx = (payload: Record<string, unknown>): ExecutionContext => ({
    jobId: 'j',
    executionId: 'e',
    scheduledAt: '2026-01-01T00:00:00.000Z',
    attempt: 1,
    payload,
    signal: new AbortController().signal,
    log: () => undefined,
  });

  it('validation and execution follow the registry: a handler registered later is accepted and runs', async () => {
    expect(handlerNames()).toEqual(expect.arrayContaining(['noop', 'echo', 'sleep']));
    expect(payloadErrors({ handler: 'report.build' }, 'custom')).toEqual([expect.stringMatching(/^payload\.handler: handler must be one of: noop, echo, sleep/)]);
    const executor = new CustomExecutor();
    await expect(executor.run(ctx({ handler: 'report.build' }))).rejects.toMatchObject({ retryable: false });

    registerHandler('report.build', async (data) => ({ built: data }));
    expect(hasHandler('report.build')).toBe(true);
    expect(payloadErrors({ handler: 'report.build', data: { id: 7 } }, 'custom')).toEqual([]);
    await expect(executor.run(ctx({ handler: 'report.build', data: { id: 7 } }))).resolves.toEqual({ built: { id: 7 } });
  });

  it('refuses a duplicate or malformed name, and inherited properties are not handlers', async () => {
    expect(() => registerHandler('noop', async () => null)).toThrow(/already registered/);
    expect(() => registerHandler('has space', async () => null)).toThrow(/invalid/);
    expect(hasHandler('toString')).toBe(false);
    await expect(new CustomExecutor({ noop: async () => null }).run(ctx({ handler: 'toString' }))).rejects.toMatchObject({ retryable: false });
  });
});
