import { Injectable } from '@nestjs/common';
import { JobRepository } from '../commands/job.repository.js';
import type { JobCreated } from '../domain/job/job.events.js';
import type { StoredEvent } from '../events/stored-event.js';

/** How many jobs' owners are remembered (oldest forgotten first; a miss reads the log). */
const MEMORY_LIMIT = 100_000;

/**
 * Who owns each job, for the reactions that need it (work dispatch shares the work stream by owner; lifecycle
 * subjects name the owner). A job's owner never changes: it is learnt from the job's JobCreated when a batch
 * carries it, else read from the log once.
 */
@Injectable()
export class JobOwners {
  private readonly owners = new Map<string, string>();

  constructor(private readonly jobs: JobRepository) {}

  /** Learns the owners of the jobs created in `events`, so the lookups that follow need no read. */
  learn(events: StoredEvent[]): void {
    for (const event of events) {
      if (event.type === 'JobCreated') this.remember(event.aggregateId, (event.data as JobCreated['data']).ownerId);
    }
  }

  /** The owner when it is remembered (no await on the hot path). */
  known(jobId: string): string | undefined {
    return this.owners.get(jobId);
  }

  async ownerOf(jobId: string): Promise<string> {
    const known = this.owners.get(jobId);
    if (known !== undefined) return known;
    const owner = (await this.jobs.loadAtLeast(jobId, 0)).ownerId;
    if (owner) this.remember(jobId, owner);
    return owner;
  }

  private remember(jobId: string, owner: string): void {
    if (this.owners.has(jobId)) return;
    this.owners.set(jobId, owner);
    if (this.owners.size > MEMORY_LIMIT) this.owners.delete(this.owners.keys().next().value!);
  }
}
