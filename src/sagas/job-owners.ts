import { Injectable } from '@nestjs/common';
import { JobRepository } from '../commands/job.repository.js';
import type { StoredJobEvent } from '../events/stored-event.js';

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
  learn(events: StoredJobEvent[]): void {
    for (const event of events) if (event.type === 'JobCreated') this.remember(event.aggregateId, event.data.ownerId);
  }

  /** The owner of each of `jobIds`: remembered, or read from the log (no await when all are known). */
  async ownersOf(jobIds: Iterable<string>): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const unknown = new Set<string>();
    for (const jobId of jobIds) {
      const known = this.owners.get(jobId);
      if (known !== undefined) found.set(jobId, known);
      else unknown.add(jobId);
    }
    if (unknown.size > 0) await Promise.all([...unknown].map(async (jobId) => found.set(jobId, await this.ownerOf(jobId))));
    return found;
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
