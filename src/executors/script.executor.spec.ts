import { readFileSync } from 'node:fs';
import { executionContext, type Logged } from '../../test/support/execution-context.js';
import { ValidationError } from '../domain/errors.js';
import { ExecutionFailure } from './executor.js';
import { assertScriptAllowed, parseScriptAllowlist, ScriptExecutor, SCRIPT_PATH, type ScriptOutput } from './script.executor.js';

/** Lines the command wrote (what the capture logged with a `stream`). */
const lines = (logged: Logged[], stream?: 'stdout' | 'stderr') =>
  logged.filter((l) => l.metadata?.stream !== undefined && (stream === undefined || l.metadata.stream === stream)).map((l) => l.message);

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return check();
}

const pidFrom = async (logged: Logged[]): Promise<number> => {
  await eventually(() => lines(logged, 'stdout').length > 0);
  const pid = Number(lines(logged, 'stdout')[0]);
  expect(pid).toBeGreaterThan(1);
  return pid;
};

class TimeoutError extends Error {}

describe('script allowlist', () => {
  it('takes absolute paths as they are and resolves bare names on PATH', () => {
    const list = parseScriptAllowlist(' /opt/jobs/backup.sh , sh,,', '/nonexistent:relative/dir:/usr/bin:/bin');
    expect(list.entries).toEqual(['/opt/jobs/backup.sh', 'sh']);
    expect(list.commands.get('/opt/jobs/backup.sh')).toBe('/opt/jobs/backup.sh');
    expect(list.commands.get('sh')).toBe('/usr/bin/sh');
    expect(list.commands.get('/usr/bin/sh')).toBe('/usr/bin/sh'); // the resolved path names it too
    expect(list.commands.has('/bin/sh')).toBe(false);
    expect(parseScriptAllowlist(undefined, '/usr/bin').commands.size).toBe(0);
  });

  it('refuses relative paths, unnormalized paths and names found nowhere, naming the entry', () => {
    expect(() => parseScriptAllowlist('./run.sh', '/usr/bin')).toThrow(/invalid entry "\.\/run\.sh": a relative path/);
    expect(() => parseScriptAllowlist('bin/run', '/usr/bin')).toThrow(/relative path/);
    expect(() => parseScriptAllowlist('/opt/../bin/sh', '/usr/bin')).toThrow(/not a normalized path/);
    expect(() => parseScriptAllowlist('no-such-command-xyz', '/usr/bin:/bin')).toThrow(/no executable "no-such-command-xyz" on PATH/);
  });

  it('refuses at submit a command not on the list (422 SCRIPT_NOT_ALLOWED on payload.command)', () => {
    const list = parseScriptAllowlist('/bin/echo', '');
    expect(() => assertScriptAllowed({ command: '/bin/echo' }, list)).not.toThrow();
    for (const command of ['/bin/sh', 'echo', '/bin//echo', undefined]) {
      let error: unknown;
      try {
        assertScriptAllowed({ command }, list);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).code).toBe('SCRIPT_NOT_ALLOWED');
      expect((error as ValidationError).errors).toEqual([{ field: 'payload.command', message: expect.stringContaining('not on CHRONOS_SCRIPT_ALLOWLIST') }]);
    }
  });
});

describe('ScriptExecutor', () => {
  const allowlist = parseScriptAllowlist('/bin/sh,env,/bin/no-such-script', '/usr/bin:/bin');
  const executor = new ScriptExecutor(allowlist, { killGraceMs: 300 });

  it('refuses at run time a command not on the allowlist, without retrying', async () => {
    const ctx = executionContext({ command: '/bin/bash', args: ['-c', 'echo hi'] });
    const run = executor.run(ctx);
    await expect(run).rejects.toBeInstanceOf(ExecutionFailure);
    await expect(run).rejects.toMatchObject({ retryable: false, message: expect.stringContaining('not on CHRONOS_SCRIPT_ALLOWLIST') });
    expect(lines(ctx.logged)).toEqual([]);
  });

  it('runs in a clean environment: only PATH and the job env, no Chronos secrets', async () => {
    process.env.JWT_SECRET = 'must-not-leak-into-scripts';
    process.env.DATABASE_URL = 'postgres://secret@db/chronos';
    try {
      const ctx = executionContext({ command: 'env', env: { GREETING: 'hello world', EMPTY: '' } });
      const output = (await executor.run(ctx)) as ScriptOutput;
      expect(output).toMatchObject({ exitCode: 0, signal: null, truncated: false, stderrBytes: 0 });
      expect(lines(ctx.logged, 'stdout').sort()).toEqual(['EMPTY=', 'GREETING=hello world', `PATH=${SCRIPT_PATH}`]);
      expect(JSON.stringify(ctx.logged)).not.toContain('must-not-leak');
    } finally {
      delete process.env.JWT_SECRET;
      delete process.env.DATABASE_URL;
    }
  });

  it('logs stdout lines as info and stderr lines as warn, a last line without newline too; args are not a shell', async () => {
    const ctx = executionContext({ command: '/bin/sh', args: ['-c', 'echo "one $1"; echo two >&2; printf three; printf "\\r\\n" >&2', 'sh', '$(whoami) *'] });
    const output = (await executor.run(ctx)) as ScriptOutput;
    expect(output).toEqual({ exitCode: 0, signal: null, stdoutBytes: 'one $(whoami) *\nthree'.length, stderrBytes: 'two\n\r\n'.length, truncated: false });
    expect(ctx.logged.filter((l) => l.metadata?.stream)).toEqual([
      { level: 'info', message: 'one $(whoami) *', metadata: { stream: 'stdout', line: 1 } },
      { level: 'warn', message: 'two', metadata: { stream: 'stderr', line: 1 } },
      { level: 'warn', message: '', metadata: { stream: 'stderr', line: 2 } },
      { level: 'info', message: 'three', metadata: { stream: 'stdout', line: 2 } },
    ]);
    // The run's own lines name the command, never its arguments.
    expect(ctx.logged[0]!.message).toBe('running /bin/sh with 4 arguments');
    expect(ctx.logged.at(-1)!.message).toMatch(/^exited with code 0 in \d+ ms$/);
  });

  it('a non-zero exit is a retryable failure with the exit code in the output and the last stderr line in the error', async () => {
    const ctx = executionContext({ command: '/bin/sh', args: ['-c', 'echo working; echo "disk full" >&2; exit 3'] });
    const run = executor.run(ctx);
    await expect(run).rejects.toBeInstanceOf(ExecutionFailure);
    const failure = (await run.catch((e: unknown) => e)) as ExecutionFailure;
    expect(failure.message).toBe('exited with code 3: disk full');
    expect(failure.retryable).toBe(true);
    expect(failure.output).toEqual({ exitCode: 3, signal: null, stdoutBytes: 8, stderrBytes: 10, truncated: false });
  });

  it('caps a flood of output: logs up to the cap, says so once, keeps draining and counting', async () => {
    const cap = 64 * 1024;
    const capped = new ScriptExecutor(allowlist, { outputCapBytes: cap });
    // 200,000 lines of 11 bytes on stdout, and some on stderr: far past the cap, and past a pipe's buffer.
    const ctx = executionContext({ command: '/bin/sh', args: ['-c', 'yes 0123456789 | head -n 200000; yes err | head -n 1000 >&2'] });
    const output = (await capped.run(ctx)) as ScriptOutput;
    expect(output).toEqual({ exitCode: 0, signal: null, stdoutBytes: 2_200_000, stderrBytes: 4000, truncated: true });
    const logged = lines(ctx.logged);
    expect(logged.length).toBe(Math.floor(cap / 11));
    expect(logged.every((l) => l === '0123456789')).toBe(true);
    const notices = ctx.logged.filter((l) => l.message.startsWith('output truncated'));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.level).toBe('warn');
  });

  it('logs a very long line in pieces of 8192 bytes', async () => {
    const ctx = executionContext({ command: '/bin/sh', args: ['-c', "head -c 20000 /dev/zero | tr '\\0' x"] });
    await executor.run(ctx);
    expect(lines(ctx.logged, 'stdout').map((l) => l.length)).toEqual([8192, 8192, 20000 - 2 * 8192]);
  });

  it('logs a binary line as text with U+FFFD and its exact bytes as base64; a text line as it is', async () => {
    // stdout: "a NUL b", then invalid UTF-8; stderr: a NUL, then a clean line; exit 2.
    const ctx = executionContext({ command: '/bin/sh', args: ['-c', "printf 'a\\000b\\n\\377\\376x\\n'; printf 'err\\000or\\nplain é\\n' >&2; exit 2"] });
    const failure = (await executor.run(ctx).catch((e: unknown) => e)) as ExecutionFailure;
    expect(ctx.logged.filter((l) => l.metadata?.stream)).toEqual([
      { level: 'info', message: 'a\u0000b', metadata: { stream: 'stdout', line: 1, encoding: 'base64', data: Buffer.from('a\u0000b').toString('base64') } },
      { level: 'info', message: '\uFFFD\uFFFDx', metadata: { stream: 'stdout', line: 2, encoding: 'base64', data: Buffer.from([0xff, 0xfe, 0x78]).toString('base64') } },
      { level: 'warn', message: 'err\u0000or', metadata: { stream: 'stderr', line: 1, encoding: 'base64', data: Buffer.from('err\u0000or').toString('base64') } },
      { level: 'warn', message: 'plain é', metadata: { stream: 'stderr', line: 2 } },
    ]);
    expect(failure.message).toBe('exited with code 2: plain é');
  });

  it('cuts a long line between characters, never inside one', async () => {
    // 8191 bytes of "a" then "é" (2 bytes): a cut at 8192 bytes would split it.
    const ctx = executionContext({ command: '/bin/sh', args: ['-c', "head -c 8191 /dev/zero | tr '\\0' a; printf '\\303\\251tail'"] });
    await executor.run(ctx);
    expect(ctx.logged.filter((l) => l.metadata?.stream)).toEqual([
      { level: 'info', message: 'a'.repeat(8191), metadata: { stream: 'stdout', line: 1 } },
      { level: 'info', message: 'étail', metadata: { stream: 'stdout', line: 2 } },
    ]);
  });

  it('on timeout kills the whole process group, the command\'s children included, and rejects with the reason', async () => {
    const controller = new AbortController();
    const ctx = executionContext({ command: '/bin/sh', args: ['-c', 'sleep 30 & echo $!; wait'] }, { signal: controller.signal });
    const run = executor.run(ctx);
    const child = await pidFrom(ctx.logged);
    expect(alive(child)).toBe(true);
    const reason = new TimeoutError('timed out after 100 ms');
    const started = Date.now();
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000); // SIGTERM was enough
    expect(await eventually(() => !alive(child))).toBe(true);
  });

  it('kills with SIGKILL what ignores SIGTERM, after the grace period', async () => {
    const controller = new AbortController();
    const ctx = executionContext({ command: '/bin/sh', args: ['-c', 'trap "" TERM; sleep 30 & echo $!; wait; wait'] }, { signal: controller.signal });
    const run = executor.run(ctx);
    const child = await pidFrom(ctx.logged);
    const reason = new Error('cancelled');
    const started = Date.now();
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await eventually(() => !alive(child))).toBe(true);
  });

  it('terminates processes the command left behind, whether or not they hold its output', async () => {
    for (const script of ['sleep 30 >/dev/null 2>&1 & echo $!', 'sleep 30 & echo $!']) {
      const ctx = executionContext({ command: '/bin/sh', args: ['-c', script] });
      const output = (await executor.run(ctx)) as ScriptOutput;
      expect(output.exitCode).toBe(0);
      const child = Number(lines(ctx.logged, 'stdout')[0]);
      expect(await eventually(() => !alive(child))).toBe(true);
      expect(ctx.logged.some((l) => l.message.includes('left running'))).toBe(true);
    }
  });

  it('an already aborted signal never starts the command', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled before start');
    controller.abort(reason);
    await expect(executor.run(executionContext({ command: '/bin/sh', args: ['-c', 'echo ran'] }, { signal: controller.signal }))).rejects.toBe(reason);
  });

  it('a missing command file or cwd is a failure that is not retried', async () => {
    await expect(executor.run(executionContext({ command: '/bin/no-such-script' }))).rejects.toMatchObject({ retryable: false, message: expect.stringContaining('ENOENT') });
    await expect(executor.run(executionContext({ command: '/bin/sh', args: ['-c', 'pwd'], cwd: '/no/such/dir' }))).rejects.toMatchObject({
      retryable: false,
      message: 'cwd /no/such/dir does not exist or is not a directory',
    });
    const ctx = executionContext({ command: '/bin/sh', args: ['-c', 'pwd'], cwd: '/tmp' });
    await executor.run(ctx);
    expect(lines(ctx.logged, 'stdout')).toEqual(['/tmp']);
  });
});
