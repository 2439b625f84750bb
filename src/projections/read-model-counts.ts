import type { DataSource } from 'typeorm';

const CACHE_LIMIT = 10_000;

/**
 * Exact row counts of a read model's table, counted once per state of the table instead of on every page
 * (a count walks every matching row: all of an owner's jobs, all of a job's executions).
 *
 * The state of a read model is its checkpoint row (position and updated_at) and the number of jobs it holds
 * back: every write to its tables goes through one of those in the same transaction (applyCheckpointed and a
 * stall move the checkpoint, a rebuild's swap sets it, resuming a stalled job deletes its stall row).
 * The count is taken in the same statement as that state, so it is the count of exactly that state.
 */
export class ReadModelCounts {
  private readonly cache = new Map<string, { state: string; total: number }>();

  constructor(
    private readonly dataSource: DataSource,
    /** The read model's projection (checkpoint) name. */
    private readonly readModel: string,
  ) {}

  /** The state of the read model now (one small statement). */
  state(): Promise<string> {
    return this.dataSource.query(`SELECT ${this.stateSql(1)} AS state`, [this.readModel]).then((rows: { state: string }[]) => rows[0]!.state);
  }

  /**
   * The count of `FROM <from>` (e.g. `jobs WHERE owner_id = $1`, with `params`) in state `state`, counted
   * only when that state is not the cached one.
   */
  async count(state: string, from: string, params: unknown[]): Promise<number> {
    const key = `${from}\u0000${JSON.stringify(params)}`;
    const cached = this.cache.get(key);
    if (cached?.state === state) return cached.total;
    const [row]: { state: string; total: number }[] = await this.dataSource.query(
      `SELECT ${this.stateSql(params.length + 1)} AS state, (SELECT count(*)::int FROM ${from}) AS total`,
      [...params, this.readModel],
    );
    this.cache.delete(key);
    this.cache.set(key, { state: row!.state, total: row!.total });
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    return row!.total;
  }

  /** `$<name>` is the read model's name. */
  private stateSql(name: number): string {
    return `concat_ws('/',
      (SELECT position || '@' || extract(epoch FROM updated_at) FROM projection_checkpoints WHERE name = $${name}),
      (SELECT count(*) FROM projection_stalls WHERE projection = $${name}))`;
  }
}
