import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { fromRetention } from '../commands/envelopes.js';
import { epochCommandId } from '../commands/ids.js';
import { JobCommands } from '../commands/job-commands.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { DomainError } from '../domain/errors.js';
import type { HistoryStats } from '../domain/job/job.events.js';
import { JOB_AGGREGATE } from '../events/stored-event.js';
import { EVENTS_STREAM, eventSubject } from '../events/streams.js';
import { addDays, dropBefore, ensureDayPartition, HISTORY_PARTITIONS_LOCK, HISTORY_TABLES, REBUILT_WITH, startOfDay } from '../infra/database/history-partitions.js';
import { Lease } from '../infra/lease.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { READ_MODEL_NAMES } from '../projections/read-models.js';

/** Day partitions kept ready ahead of today, so that rows of the coming days never wait in the default partition. */
const DAYS_AHEAD = 3;
/** Jobs looked at per query when closing epochs, and epochs per query when purging. */
const PAGE = 500;
/** How far another process's clock may be ahead: a row queued this long after an epoch may still come from before it. */
const CLOCK_SKEW_MS = 60_000;

export interface RetentionRun {
  /** Nothing before it is kept: the oldest day partition's start. */
  horizon: string;
  partitionsCreated: number;
  partitionsDropped: number;
  epochsClosed: number;
  subjectsPurged: number;
  messagesPurged: number;
  /** Why compaction of the event log did not run, if it did not. */
  compactionOff?: string;
}

/**
 * The retention task (docs/architecture.md, Retention), one active instance by lease, every
 * HISTORY_MAINTENANCE_INTERVAL_MS: day partitions of the history tables created ahead and dropped behind the horizon
 * (today − HISTORY_RETENTION_DAYS); each job's history closed into an epoch once it is a retention period old (or
 * HISTORY_EPOCH_EVENTS long); and the messages before an epoch purged once no read model holds anything of them.
 */
@Injectable()
export class HistoryRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(HistoryRetention.name);
  private lease: Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly commands: JobCommands,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.lease = await Lease.start(this.nats, 'history-retention', this.config.instanceId, this.config.leaseTtlMs, (held) => {
      if (held) this.schedule(0);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // A pass still running re-arms the timer when it ends: once stopped, nothing is armed again.
    this.stopped = true;
    clearTimeout(this.timer);
    await this.lease?.release();
    await this.running.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      if (!this.lease?.isHeld) return;
      this.running = this.run(new Date())
        .then((run) => this.log.log({ msg: 'retention ran', ...run }))
        .catch((error: unknown) => this.log.error(`retention failed: ${(error as Error).message}`))
        .finally(() => this.schedule(this.config.retention.intervalMs));
    }, delayMs);
  }

  /** One pass, as of `now` (the task passes the clock; tests pass the day they want to see). */
  async run(now: Date): Promise<RetentionRun> {
    const horizon = startOfDay(addDays(now, -this.config.retention.days));
    const run: RetentionRun = { horizon: horizon.toISOString(), partitionsCreated: 0, partitionsDropped: 0, epochsClosed: 0, subjectsPurged: 0, messagesPurged: 0 };
    await this.keepPartitions(now, horizon, run);
    const { config } = await this.nats.jsm.streams.info(EVENTS_STREAM);
    if (config.deny_purge) {
      // A stream created before compaction existed: the server refuses to lift deny_purge (docs/architecture.md, Retention).
      run.compactionOff = `${EVENTS_STREAM} denies purges`;
      return run;
    }
    run.epochsClosed = await this.closeEpochs(now);
    await this.purge(run);
    return run;
  }

  private async keepPartitions(now: Date, horizon: Date, run: RetentionRun): Promise<void> {
    for (const history of HISTORY_TABLES) {
      await this.dataSource.transaction(async (db) => {
        await db.query(`SELECT pg_advisory_xact_lock($1)`, [HISTORY_PARTITIONS_LOCK]);
        const model = REBUILT_WITH[history.table];
        // A rebuild copies the partitions it found; the next pass after its swap catches up.
        const [rebuilding] = model ? await db.query(`SELECT 1 FROM projection_rebuilds WHERE name = $1 AND status = 'running'`, [model]) : [];
        if (rebuilding) return;
        for (let day = horizon; day <= addDays(startOfDay(now), DAYS_AHEAD); day = addDays(day, 1)) {
          if (await ensureDayPartition(db, history, day)) run.partitionsCreated++;
        }
        run.partitionsDropped += await dropBefore(db, history, horizon);
        await db.query(`INSERT INTO history_horizons (name, horizon) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET horizon = EXCLUDED.horizon`, [
          history.table,
          horizon.toISOString(),
        ]);
      });
    }
  }

  /**
   * Closes the history of each job whose last epoch (or creation) is a retention period old, or that has
   * HISTORY_EPOCH_EVENTS events since it. The statistics come from the jobs read model at exactly the job's version
   * (the command expects it), so the epoch carries what the history it closes counted.
   */
  private async closeEpochs(now: Date): Promise<number> {
    const { days, epochEvents } = this.config.retention;
    let closed = 0;
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const jobs: { id: string; version: number; stats: HistoryStats }[] = await this.dataSource.query(
        `SELECT id, version, stats FROM jobs
         WHERE id > $1 AND state->'pendingRetries' = '{}'::jsonb
           AND version > COALESCE((state->'epoch'->>'version')::int, 0)
           AND (COALESCE((state->'epoch'->>'closedAt')::timestamptz, created_at) <= $2
                OR version - COALESCE((state->'epoch'->>'version')::int, 0) >= $3)
         ORDER BY id LIMIT ${PAGE}`,
        [after, addDays(now, -days).toISOString(), epochEvents],
      );
      for (const job of jobs) {
        try {
          const result = await this.commands.send(
            job.id,
            { type: 'CloseHistoryEpoch', now, data: { stats: job.stats } },
            fromRetention(this.config.instanceId, epochCommandId(job.id, job.version)),
            job.version,
          );
          if (result.events.length === 0 && !result.duplicate) continue;
          await this.dataSource.query(
            `INSERT INTO history_epochs (job_id, sequence, closed_at) VALUES ($1, $2, $3)
             ON CONFLICT (job_id) DO UPDATE SET sequence = EXCLUDED.sequence, closed_at = EXCLUDED.closed_at, purged_at = NULL
             WHERE history_epochs.sequence < EXCLUDED.sequence`,
            [job.id, result.position, now.toISOString()],
          );
          closed++;
        } catch (error) {
          // The job moved since the read model saw it (next pass), was deleted, or has a retry pending.
          if (!(error instanceof DomainError)) throw error;
        }
      }
      if (jobs.length < PAGE) return closed;
      after = jobs[jobs.length - 1]!.id;
    }
  }

  /**
   * Purges a job's messages before its last epoch once that is safe for "rebuild gives the same read models": every
   * read model has passed the epoch, none holds the job stalled (a resume re-reads its events), and the executions
   * read model holds no row of the job from before it (dropped with its day, or beyond the job's historyLimit).
   * A deleted job keeps its whole history.
   */
  private async purge(run: RetentionRun): Promise<void> {
    for (;;) {
      const due: { jobId: string; sequence: string }[] = await this.dataSource.query(
        `SELECT h.job_id AS "jobId", h.sequence FROM history_epochs h
         WHERE h.purged_at IS NULL
           AND EXISTS (SELECT 1 FROM jobs j WHERE j.id = h.job_id)
           AND (SELECT count(*) FROM projection_checkpoints c WHERE c.name = ANY($1::text[]) AND c.position >= h.sequence) = $2
           AND NOT EXISTS (SELECT 1 FROM projection_stalls s WHERE s.aggregate_id = h.job_id::text)
           AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.job_id = h.job_id AND e.queued_at < h.closed_at + interval '${CLOCK_SKEW_MS} milliseconds')
         LIMIT ${PAGE}`,
        [READ_MODEL_NAMES, READ_MODEL_NAMES.length],
      );
      for (const { jobId, sequence } of due) {
        // Everything on the job's subject below the epoch's sequence; the epoch and what follows stay.
        const purged = await this.nats.jsm.streams.purge(EVENTS_STREAM, { filter: eventSubject(JOB_AGGREGATE, jobId), seq: Number(sequence) });
        await this.dataSource.query(`UPDATE history_epochs SET purged_at = now() WHERE job_id = $1 AND sequence = $2`, [jobId, sequence]);
        run.subjectsPurged++;
        run.messagesPurged += purged.purged;
      }
      if (due.length < PAGE) return;
    }
  }
}
