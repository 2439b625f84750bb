import type { DataSource } from 'typeorm';

/**
 * The three statements JobKeys runs, over a Map: enough for the secrets specs to test their logic without
 * PostgreSQL (test/secrets.e2e.test.ts runs them against the real one).
 */
export function fakeKeyTable(): { dataSource: DataSource; rows: Map<string, Buffer>; reads: () => number } {
  const rows = new Map<string, Buffer>();
  let reads = 0;
  const query = async (sql: string, params: unknown[]) => {
    const jobId = params[0] as string;
    if (sql.startsWith('SELECT')) {
      reads++;
      const key = rows.get(jobId);
      return key ? [{ key }] : [];
    }
    if (sql.startsWith('INSERT')) {
      if (!rows.has(jobId)) rows.set(jobId, params[1] as Buffer);
      return [];
    }
    if (sql.startsWith('DELETE')) {
      rows.delete(jobId);
      return [];
    }
    throw new Error(`unexpected SQL: ${sql}`);
  };
  return { dataSource: { query } as unknown as DataSource, rows, reads: () => reads };
}
