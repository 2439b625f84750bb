import type { EntityManager } from 'typeorm';

/**
 * The history tables, partitioned by day on a time column (range partitions `<table>_pYYYYMMDD` holding
 * [day, day + 1) UTC, and `<table>_default` for whatever falls outside them). Retention drops whole days
 * (docs/architecture.md, Retention); nothing on the normal path deletes rows.
 */
export const HISTORY_TABLES = [
  { table: 'executions', column: 'queued_at' },
  { table: 'execution_logs', column: 'timestamp' },
] as const;
export type HistoryTable = (typeof HISTORY_TABLES)[number];
/** The read model each history table belongs to, when it is rebuilt from the log (its partitions are then left alone). */
export const REBUILT_WITH: Record<HistoryTable['table'], string | null> = { executions: 'executions', execution_logs: null };
/** Transaction-level advisory lock taken by whatever changes the history tables' partitions, and by a rebuild copying them. */
export const HISTORY_PARTITIONS_LOCK = 0x6368726f; // "chro"

const DAY_MS = 86_400_000;
export const startOfDay = (at: Date) => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
export const addDays = (day: Date, days: number) => new Date(day.getTime() + days * DAY_MS);
export const partitionName = (table: string, day: Date) => `${table}_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
export const defaultPartition = (table: string) => `${table}_default`;
const dayOf = (table: string, partition: string): Date | null => {
  const match = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(partition);
  return match ? new Date(`${match[1]}-${match[2]}-${match[3]}T00:00:00.000Z`) : null;
};

/** The day partitions of a table (in the current schema), by day. */
export async function dayPartitions(db: EntityManager, table: string): Promise<Date[]> {
  const rows: { name: string }[] = await db.query(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass($1)`,
    [table],
  );
  return rows.flatMap((row) => dayOf(table, row.name) ?? []).sort((a, b) => a.getTime() - b.getTime());
}

/**
 * Makes sure `day` has its partition. Rows of that day already in the default partition (written before the
 * partition existed: a migration's old rows, a clock far off) move into it first, which is what lets it attach.
 */
export async function ensureDayPartition(db: EntityManager, { table, column }: HistoryTable, day: Date): Promise<boolean> {
  const name = partitionName(table, day);
  const [exists]: { found: boolean }[] = await db.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [name]);
  if (exists!.found) return false;
  const from = day.toISOString();
  const to = addDays(day, 1).toISOString();
  await db.query(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  await db.query(
    `WITH moved AS (DELETE FROM ${defaultPartition(table)} WHERE ${column} >= $1 AND ${column} < $2 RETURNING *) INSERT INTO ${name} SELECT * FROM moved`,
    [from, to],
  );
  await db.query(`ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`);
  return true;
}

/** Drops every day partition of `table` before `horizon` (a day boundary), and the default partition's rows before it. */
export async function dropBefore(db: EntityManager, { table, column }: HistoryTable, horizon: Date): Promise<number> {
  let dropped = 0;
  for (const day of await dayPartitions(db, table)) {
    if (addDays(day, 1) > horizon) continue;
    const name = partitionName(table, day);
    await db.query(`ALTER TABLE ${table} DETACH PARTITION ${name}`);
    await db.query(`DROP TABLE ${name}`);
    dropped++;
  }
  // Only rows that missed their day partition are ever here (normally none).
  await db.query(`DELETE FROM ${defaultPartition(table)} WHERE ${column} < $1`, [horizon.toISOString()]);
  return dropped;
}

/** Turns an existing table into one partitioned by day on `column`, rows kept (they wait in the default partition). */
export async function partitionByDay(db: EntityManager, { table, column }: HistoryTable, primaryKey: string, indexes: string[]): Promise<void> {
  await db.query(`ALTER TABLE ${table} RENAME TO ${table}_unpartitioned`);
  await db.query(`ALTER TABLE ${table}_unpartitioned DROP CONSTRAINT ${table}_pkey`);
  for (const index of indexes) await db.query(`DROP INDEX IF EXISTS ${index.split(' ')[0]}`);
  await db.query(`CREATE TABLE ${table} (LIKE ${table}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (${column})`);
  await db.query(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_pkey PRIMARY KEY (${primaryKey})`);
  for (const index of indexes) await db.query(`CREATE INDEX ${index.replace(' (', ` ON ${table} (`)}`);
  await db.query(`CREATE TABLE ${defaultPartition(table)} PARTITION OF ${table} DEFAULT`);
  await db.query(`INSERT INTO ${table} SELECT * FROM ${table}_unpartitioned`);
  await db.query(`DROP TABLE ${table}_unpartitioned`);
}
