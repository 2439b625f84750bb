import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { ChronosApp } from '../src/app.js';
import { ApiClient, resetStack, startTestChronos, waitFor, type Json } from './support/stack.js';

const CLI = resolve(process.cwd(), 'dist/cli/main.js');
const ADMIN = { CHRONOS_EMAIL: 'ops@example.com', CHRONOS_PASSWORD: 'Adm1nPassword' };

/**
 * Another user's text on an admin's terminal: a job named with ESC/OSC/BEL sequences (clear the screen, set
 * the title, write the clipboard with OSC 52), a C1 CSI, a bidi override and a forged line, and a target that
 * answers the same. Every command that shows them runs under a real pseudo-terminal (util-linux `script`),
 * and what reaches the terminal is read byte by byte: no control character but the terminal's own line ends.
 */
const HOSTILE = 'Nightly\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b]52;c;ZWNobyBwd25lZA==\x07\u009b2J\u202egnp.exe\nerror FAKE: spoofed';
/** Bytes a terminal obeys: C0 but LF (and the CR a pty adds before it) and TAB, DEL, C1, bidi controls, separators. */
const OBEYED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** `chronos ...args` on a pseudo-terminal; what the terminal received, and how it ended. */
function underPty(args: string[], env: Record<string, string>): { output: () => string; exited: Promise<number | null>; child: ChildProcess } {
  const command = [process.execPath, CLI, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', SHELL: '/bin/sh', TERM: 'xterm', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { output: () => Buffer.concat(chunks).toString('utf8'), exited: new Promise((done) => child.on('close', done)), child };
}

async function run(args: string[], env: Record<string, string>): Promise<string> {
  const pty = underPty(args, env);
  expect([args.join(' '), await pty.exited, pty.output()]).toEqual([args.join(' '), 0, expect.any(String)]);
  return pty.output();
}

/** What the terminal got, its own line ends (CR LF from the pty) taken out: must hold nothing it obeys. */
const obeyed = (output: string) => [...output.replace(/\r\n/g, '\n').matchAll(new RegExp(OBEYED, 'g'))].map((m) => `U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')}`);

describe('the CLI on a terminal, with hostile data', () => {
  let chronos: ChronosApp;
  let target: Server;
  let env: Record<string, string>;
  let job: Json;
  let execution: Json;

  beforeAll(async () => {
    await resetStack();
    target = createServer((req, res) => req.resume().on('end', () => res.writeHead(500, { 'content-type': 'text/plain', 'x-note': 'plain' }).end(HOSTILE)));
    await new Promise<void>((done) => target.listen(0, '127.0.0.1', done));
    chronos = await startTestChronos({ CHRONOS_ADMIN_EMAIL: ADMIN.CHRONOS_EMAIL, CHRONOS_ADMIN_PASSWORD: ADMIN.CHRONOS_PASSWORD });
    const url = `http://127.0.0.1:${chronos.port}`;
    env = { CHRONOS_URL: url, ...ADMIN };
    const attacker = await new ApiClient(url).signUp();
    const created = await attacker.post('/api/v1/jobs', {
      name: HOSTILE,
      description: HOSTILE,
      type: 'http',
      payload: { url: `http://127.0.0.1:${(target.address() as AddressInfo).port}/x` },
      schedule: { kind: 'immediate' },
      retryPolicy: { maxAttempts: 1, backoff: 'fixed', delayMs: 100, maxDelayMs: 100, jitter: false },
    });
    expect(created.status).toBe(201);
    job = created.body;
    await waitFor(async () => (await attacker.get(`/api/v1/jobs/${job.id}`)).body.status === 'failed', 20_000, 'the hostile job to fail');
    [execution] = (await attacker.get(`/api/v1/jobs/${job.id}/executions`)).body.items;
  });
  afterAll(async () => {
    await chronos?.close();
    await new Promise((done) => (target ? target.close(done) : done(undefined)));
  });

  it('jobs list and jobs show print the name escaped: no sequence reaches the terminal, no line is forged', async () => {
    const list = await run(['jobs', 'list'], env);
    expect(obeyed(list)).toEqual([]);
    expect(list).toContain('Nightly\\u001b[2J\\u001b[H\\u001b]0;pwned\\u0007');
    expect(list).not.toMatch(/^error FAKE/m);

    const show = await run(['jobs', 'show', job.id], env);
    expect(obeyed(show)).toEqual([]);
    expect(show).toContain('\\u001b]52;c;ZWNobyBwd25lZA==\\u0007\\u009b2J\\u202egnp.exe\\nerror FAKE: spoofed');
    expect(show).not.toMatch(/^error FAKE/m);
  });

  it("executions show prints the target's answer escaped, and --json stays valid JSON with the same values", async () => {
    const show = await run(['executions', 'show', execution.id], env);
    expect(obeyed(show)).toEqual([]);
    expect(show).toContain('\\u001b]0;pwned');

    const json = await run(['jobs', 'list', '--json'], env);
    expect(obeyed(json)).toEqual([]);
    expect(JSON.parse(json.replace(/\r\n/g, '\n')).items.find((item: Json) => item.id === job.id).name).toBe(HOSTILE);
  });

  it('events tail prints a hostile job\'s events escaped', async () => {
    const tail = underPty(['events', 'tail'], env);
    try {
      await waitFor(() => tail.output().includes('following lifecycle events'), 15_000, 'the tail to follow');
      const attacker = await new ApiClient(env.CHRONOS_URL!).signUp();
      const next = (await attacker.post('/api/v1/jobs', { name: HOSTILE, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } })).body;
      await waitFor(() => tail.output().includes(`job.completed`) && tail.output().includes(next.id), 15_000, 'the job.completed line');
    } finally {
      tail.child.kill('SIGTERM');
      await tail.exited;
    }
    expect(obeyed(tail.output())).toEqual([]);
    expect(tail.output()).toContain('"Nightly\\u001b[2J');
  });

  it('projections list and an error from the server print nothing a terminal obeys', async () => {
    expect(obeyed(await run(['projections', 'list'], env))).toEqual([]);
    const refused = underPty(['jobs', 'show', '00000000-0000-4000-8000-000000000000'], env);
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(/error JOB_NOT_FOUND/);
    expect(obeyed(refused.output())).toEqual([]);
  });
});
