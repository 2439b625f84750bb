import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { jobEventsOf } from '../events/stored-event.js';
import { readEventLog } from '../infra/jetstream-event-store.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { JobOwners } from './job-owners.js';
import { lifecyclePublications } from './lifecycle.reaction.js';
import { publishAll } from './reaction.js';

/** Which events a replay re-publishes: from a stream sequence (default the first) or a time, of every job or one. */
export interface ReplayRange {
  fromSequence?: number;
  since?: Date;
  jobId?: string;
}

/** Events read from the log per round of a replay. */
const REPLAY_BATCH = 500;

/**
 * Re-publishes lifecycle CloudEvents from the event log for subscribers (POST /admin/lifecycle/replay): the
 * translator's own messages (lifecyclePublications), marked `chronosreplay: true`, in log order.
 */
@Injectable()
export class LifecycleReplay {
  private readonly log = new Logger(LifecycleReplay.name);

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    private readonly owners: JobOwners,
  ) {}

  /** Starts a replay in the background and answers its id at once. */
  start(range: ReplayRange): string {
    const replayId = randomUUID();
    void this.replay(replayId, range).catch((error: unknown) => this.log.error(`replay ${replayId} failed: ${(error as Error).message}`));
    return replayId;
  }

  private async replay(replayId: string, range: ReplayRange): Promise<void> {
    let fromSequence: number | null = range.fromSequence ?? 1;
    let since = range.fromSequence === undefined ? range.since : undefined;
    let published = 0;
    while (fromSequence !== null) {
      const { events, nextSequence } = await readEventLog(this.nats.js, {
        limit: REPLAY_BATCH,
        ...(since ? { since } : { fromSequence }),
        ...(range.jobId ? { aggregate: { type: 'job', id: range.jobId } } : {}),
      });
      since = undefined;
      const jobEvents = jobEventsOf(events);
      this.owners.learn(jobEvents);
      const publications = lifecyclePublications(jobEvents, await this.owners.ownersOf(jobEvents.map((event) => event.aggregateId)), replayId);
      await publishAll(this.nats, publications);
      published += publications.length;
      fromSequence = nextSequence;
    }
    this.log.log({ msg: 'lifecycle replay done', replayId, published });
  }
}
