import { expect } from '@jest/globals';
import type pg from 'pg';
import { READ_MODELS } from '../../src/projections/read-models.js';
import { sleep, waitFor, type ApiClient, type Json } from './stack.js';

/** Waits, through the admin API, until the event log stops growing and every read model has applied all of it. */
export async function quiesceReadModels(admin: ApiClient): Promise<void> {
  let last = -1;
  await waitFor(async () => {
    const projections = (await admin.get('/api/v1/admin/projections')).body as { position: number; lagEvents: number }[];
    const end = Math.max(...projections.map((p) => p.position + p.lagEvents));
    const settled = end === last && projections.every((p) => p.lagEvents === 0);
    last = end;
    if (!settled) await sleep(300);
    return settled;
  }, 60_000, 'a quiet event log with caught-up read models');
}

/** Every row of every read-model table, as JSON, in a stable order. */
export async function readModelRows(db: pg.Client): Promise<Record<string, string[]>> {
  const tables: Record<string, string[]> = {};
  for (const table of READ_MODELS.flatMap((model) => model.tables)) {
    const { rows } = await db.query(`SELECT to_jsonb(t)::text AS row FROM ${table} t ORDER BY 1`);
    tables[table] = rows.map((r: { row: string }) => r.row);
  }
  return tables;
}

/** Starts the blue/green rebuild of read model `name` through the admin API and waits for it to be swapped in, leaving no schema behind. */
export async function rebuildReadModel(admin: ApiClient, db: pg.Client, name: string): Promise<void> {
  const started = await admin.post(`/api/v1/admin/projections/${name}/rebuild`, {});
  expect(started.status).toBe(202);
  expect(started.body).toMatchObject({ name, status: 'rebuilding', progress: { rebuildId: expect.any(String), position: expect.any(Number), target: expect.any(Number) } });
  const rebuildId = started.body.progress.rebuildId;
  const done = await waitFor(async () => {
    const status = ((await admin.get('/api/v1/admin/projections')).body as Json[]).find((p) => p.name === name);
    return status.lastRebuild?.rebuildId === rebuildId && status;
  }, 60_000, `the rebuild of ${name}`);
  expect(done).toMatchObject({ status: 'live', lastRebuild: { status: 'succeeded', finishedAt: expect.any(String) } });
  const { rows } = await db.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild\\_%' OR nspname LIKE 'retired\\_%'`);
  expect(rows).toEqual([]);
}
