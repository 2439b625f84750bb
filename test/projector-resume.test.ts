import pg from 'pg';
import { READ_MODEL_NAMES, READ_MODELS } from '../src/projections/read-models.js';
import { startChronosProcess, stopAllProcesses } from './support/processes.js';
import { ApiClient, resetStack, urls, waitFor } from './support/stack.js';

/** What the projector writes: the read models' tables and their checkpoints. */
const TABLES = [...READ_MODELS.flatMap((model) => model.tables), 'projection_checkpoints'];

/**
 * The projector trusts its PostgreSQL checkpoints, not its consumer's acknowledgements (docs/guarantees.md#g5):
 * PostgreSQL restored from a backup taken earlier (rows and checkpoints as they were then), while the event
 * log's consumer has acknowledged everything since, must not leave the later events out of the read models.
 * Everything from outside: a Chronos process killed with -9, the tables restored with SQL, the API's lists.
 */
describe('a projector after its database was restored from a backup', () => {
  const db = new pg.Client({ connectionString: urls.database });

  beforeAll(async () => {
    await resetStack();
    await db.connect();
  });
  afterAll(async () => {
    await stopAllProcesses();
    for (const table of TABLES) await db.query(`DROP TABLE IF EXISTS backup_${table}`);
    await db.end();
  });

  it('replays what its checkpoints say is not applied: every job is listed again', async () => {
    const env = { CHRONOS_ROLES: 'api,projector' };
    const first = await startChronosProcess('resume-first', env);
    const client = await new ApiClient(`http://127.0.0.1:${first.logged('chronos started')!.json.port}`).signUp();
    const runAt = new Date(Date.now() + 86_400_000).toISOString();
    const create = async (name: string) => (await client.post('/api/v1/jobs', { name, type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'at', runAt } })).body.id as string;
    const listed = async () => (await client.get('/api/v1/jobs?limit=100')).body.total as number;

    const before = [await create('before the backup 1'), await create('before the backup 2')];
    await waitFor(async () => (await listed()) === before.length, 30_000, 'the jobs before the backup to be listed');
    // The backup: the projector's tables as they are now, in one transaction.
    await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    for (const table of TABLES) await db.query(`CREATE TABLE backup_${table} AS SELECT * FROM ${table}`);
    await db.query('COMMIT');

    const after = [await create('after the backup 1'), await create('after the backup 2'), await create('after the backup 3')];
    await waitFor(async () => (await listed()) === before.length + after.length, 30_000, 'the jobs after the backup to be listed');
    // Its consumer has acknowledged them all (the projector only acknowledges what it committed).
    const checkpointsThen = (await db.query(`SELECT min(position) AS position FROM projection_checkpoints WHERE name = ANY($1)`, [READ_MODEL_NAMES])).rows[0].position;

    first.kill('SIGKILL');
    await first.exited;
    await db.query('BEGIN');
    await db.query(`TRUNCATE ${TABLES.join(', ')}`);
    for (const table of TABLES) await db.query(`INSERT INTO ${table} SELECT * FROM backup_${table}`);
    await db.query('COMMIT');
    const restored = (await db.query(`SELECT min(position) AS position FROM projection_checkpoints WHERE name = ANY($1)`, [READ_MODEL_NAMES])).rows[0].position;
    expect(Number(restored)).toBeLessThan(Number(checkpointsThen));

    const second = await startChronosProcess('resume-second', env);
    const again = new ApiClient(`http://127.0.0.1:${second.logged('chronos started')!.json.port}`);
    again.token = client.token;
    await waitFor(async () => (await again.get('/api/v1/jobs?limit=100')).body.total === before.length + after.length, 60_000, 'every job to be listed again');
    const names = (await again.get('/api/v1/jobs?limit=100')).body.items.map((job: { id: string }) => job.id).sort();
    expect(names).toEqual([...before, ...after].sort());
    expect(second.lines.some((line) => /replaying from/.test(line.json?.msg ?? ''))).toBe(true);
  }, 180_000);
});
