import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChronosApp } from '../src/app.js';
import { runCli } from './support/cli.js';
import { ApiClient, resetStack, startTestChronos, type Json } from './support/stack.js';

const quiet = (name: string) => ({ name, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'cron', expression: '0 0 1 1 *' } });

/** `chronos jobs create -f` (the built CLI) against a real Chronos: files of job bodies, as an operator has them. */
describe('chronos jobs create -f', () => {
  let chronos: ChronosApp;
  let dir: string;
  let url: string;

  const names = async (client: ApiClient): Promise<string[]> => {
    const all: string[] = [];
    for (let page = 1; ; page++) {
      const res = await client.get(`/api/v1/jobs?limit=100&page=${page}`);
      all.push(...res.body.items.map((job: Json) => job.name));
      if (page >= res.body.totalPages) return all.sort();
    }
  };
  const asNewUser = async () => {
    const client = await new ApiClient(url).signUp();
    return { client, env: { CHRONOS_URL: url, CHRONOS_TOKEN: client.token! } };
  };

  beforeAll(async () => {
    await resetStack();
    chronos = await startTestChronos({ RATE_LIMIT_PER_HOUR: '0' });
    url = `http://127.0.0.1:${chronos.port}`;
    dir = await mkdtemp(join(tmpdir(), 'chronos-cli-create-'));
  });
  afterAll(async () => {
    await chronos?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates what it can of an NDJSON file, names each refused line with its fields (escaped), and exits 1', async () => {
    const { client, env } = await asNewUser();
    const file = join(dir, 'jobs.ndjson');
    const lines = [
      JSON.stringify(quiet('first')),
      JSON.stringify({ ...quiet('bad'), name: 'bad\u0000name' }),
      '',
      JSON.stringify(quiet('third')),
      JSON.stringify({ ...quiet('x'), '\u001b]0;owned\u0007': 1 }),
      JSON.stringify(quiet('fifth')),
    ];
    await writeFile(file, `${lines.join('\n')}\n`);
    const result = await runCli(['jobs', 'create', '-f', file], env);
    expect(result.code).toBe(1);
    expect(result.stdout.trim()).toBe('created 3 of 5 jobs; 2 refused');
    expect(result.stderr).toMatch(/^line 2: VALIDATION_FAILED name: /m);
    expect(result.stderr).toMatch(/^line 5: VALIDATION_FAILED /m);
    expect(result.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(await names(client)).toEqual(['fifth', 'first', 'third']);
  });

  it('sends a JSON array of 1,500 bodies in two batches and prints each answer with --json', async () => {
    const { client, env } = await asNewUser();
    const file = join(dir, 'jobs.json');
    await writeFile(file, JSON.stringify(Array.from({ length: 1500 }, (_, index) => quiet(`job ${String(index).padStart(4, '0')}`))));
    const result = await runCli(['jobs', 'create', '-f', file, '--json'], env);
    expect([result.code, result.stderr]).toEqual([0, '']);
    const answered = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(answered.map((job) => job.name)).toEqual(Array.from({ length: 1500 }, (_, index) => `job ${String(index).padStart(4, '0')}`));
    expect((await client.get('/api/v1/jobs?limit=1')).body.total).toBe(1500);
  }, 120_000);

  it('refuses a file it cannot read as job bodies with usage (exit 2), creating nothing', async () => {
    const { client, env } = await asNewUser();
    const broken = join(dir, 'broken.ndjson');
    await writeFile(broken, `${JSON.stringify(quiet('fine'))}\n{"name":\n`);
    const bad = await runCli(['jobs', 'create', '-f', broken], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/line 2 is not valid JSON/);
    const object = join(dir, 'object.json');
    await writeFile(object, '[1');
    expect((await runCli(['jobs', 'create', '-f', object], env)).code).toBe(2);
    expect((await runCli(['jobs', 'create'], env)).code).toBe(2);
    expect((await runCli(['jobs', 'create', '-f', join(dir, 'missing.json')], env)).code).toBe(2);
    expect(await names(client)).toEqual([]);
  });
});
