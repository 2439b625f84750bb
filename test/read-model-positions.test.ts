import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../src/infra/database/data-source.js';
import { applyCheckpointed, type Projection } from '../src/projections/checkpointed-projection.js';
import { READ_MODELS_LISTENER_NAME, ReadModelPositions } from '../src/projections/read-model-positions.js';
import { READ_MODEL_NAMES } from '../src/projections/read-models.js';
import type { StoredEvent } from '../src/events/stored-event.js';
import { resetStack, testConfig, urls } from './support/stack.js';

/** A read model's checkpoint moved without rows: what the waits see is the checkpoints and their announcements. */
const checkpointOnly = (name: string): Projection => ({ name, apply: async () => undefined });
const failing = (name: string): Projection => ({
  name,
  apply: async () => {
    throw new Error('cannot apply');
  },
});
const eventAt = (sequence: number): StoredEvent => ({
  sequence,
  index: 0,
  id: randomUUID(),
  type: 'Ignored',
  aggregateType: 'test',
  aggregateId: randomUUID(),
  version: 1,
  occurredAt: new Date().toISOString(),
  actor: 'test',
  causationId: 'test',
  correlationId: 'test',
  data: {},
});
const settledYet = (promise: Promise<unknown>) => Promise.race([promise.then(() => true), new Promise((resolve) => setImmediate(() => resolve(false)))]);

/** ReadModelPositions against a real PostgreSQL: notified by the read-model commits, never polling. */
describe('read-model positions', () => {
  const dataSource = createDataSource(urls.database);
  const all = READ_MODEL_NAMES.map(checkpointOnly);
  let positions: ReadModelPositions;
  let next = 100;
  /** A log position no read model has reached yet. */
  const ahead = () => (next += 10);

  beforeAll(async () => {
    await resetStack();
    await dataSource.initialize();
    positions = new ReadModelPositions(dataSource, testConfig());
    await positions.onApplicationBootstrap();
  });
  afterAll(async () => {
    await positions.onApplicationShutdown();
    await dataSource.destroy();
  });

  it('a wait ends when the last read model commits a checkpoint at or past its position', async () => {
    const position = ahead();
    const waited = positions.waitFor(position, 60_000);
    await applyCheckpointed(dataSource, all, [eventAt(position - 1)]);
    // Proof that the commit before was heard: a wait for its own position ends.
    expect(await positions.waitFor(position - 1, 60_000)).toBe(true);
    expect(await settledYet(waited)).toBe(false);

    const [first, ...rest] = all;
    await applyCheckpointed(dataSource, rest, [eventAt(position)]);
    await applyCheckpointed(dataSource, [first!], [eventAt(position + 1)]);
    expect(await waited).toBe(true);
    expect(positions.passed).toBe(position);
  });

  it('a read model that stays behind makes the wait answer false when its time is up', async () => {
    const position = ahead();
    await applyCheckpointed(dataSource, all.slice(1), [eventAt(position)]);
    expect(await positions.waitFor(position, 300)).toBe(false);
  });

  it('a rolled-back batch announces nothing', async () => {
    const position = ahead();
    await expect(applyCheckpointed(dataSource, [...all.slice(1), failing(all[0]!.name)], [eventAt(position)])).rejects.toThrow('cannot apply');
    expect(await positions.waitFor(position, 300)).toBe(false);
    await applyCheckpointed(dataSource, all, [eventAt(position)]);
    expect(await positions.waitFor(position, 60_000)).toBe(true);
  });

  it('with no time to wait, answers from what it already knows', async () => {
    const position = ahead();
    expect(await positions.waitFor(position, 0)).toBe(false);
    await applyCheckpointed(dataSource, all, [eventAt(position)]);
    expect(await positions.waitFor(position, 60_000)).toBe(true);
    expect(await positions.waitFor(position, 0)).toBe(true);
  });

  it('reconnects after its connection is cut, and learns what committed meanwhile', async () => {
    const position = ahead();
    const waited = positions.waitFor(position, 60_000);
    const admin = new pg.Client({ connectionString: urls.database });
    await admin.connect();
    try {
      const { rowCount } = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [READ_MODELS_LISTENER_NAME]);
      expect(rowCount).toBe(1);
      // Committed while the listener may be down: the reconnect reads the checkpoints after its LISTEN.
      await applyCheckpointed(dataSource, all, [eventAt(position)]);
    } finally {
      await admin.end();
    }
    expect(await waited).toBe(true);
  });

  it('without notifications, a wait reads the checkpoints once, and never polls', async () => {
    // The real database, its reads counted.
    let reads = 0;
    let onRead: () => void = () => undefined;
    const counted = {
      query: async (sql: string, parameters?: unknown[]) => {
        const rows = await dataSource.query(sql, parameters);
        reads++;
        onRead();
        return rows;
      },
    } as unknown as DataSource;
    // The listener cannot connect (nothing listens on port 1): every wait is on its own.
    const unheard = new ReadModelPositions(counted, testConfig({ DATABASE_URL: 'postgres://chronos:chronos@127.0.0.1:1/chronos' }));
    await unheard.onApplicationBootstrap();
    try {
      const reached = ahead();
      await applyCheckpointed(dataSource, all, [eventAt(reached)]);
      expect(await unheard.waitFor(reached, 60_000)).toBe(true);
      expect(reads).toBe(1);

      const position = ahead();
      const read = new Promise<void>((resolve) => (onRead = resolve));
      const waited = unheard.waitFor(position, 1_000);
      await read;
      await applyCheckpointed(dataSource, all, [eventAt(position)]);
      // Committed after the wait's one read: only a poll could have seen it.
      expect(await waited).toBe(false);
      expect(reads).toBe(2);
    } finally {
      await unheard.onApplicationShutdown();
    }
  });
});
