import { Injectable } from '@nestjs/common';
import type { JobCommand } from '../domain/job/job.commands.js';
import type { CommandMetadata } from '../events/stored-event.js';
import { JobRepository, type JobCommandResult } from './job.repository.js';
import { noteWritePosition } from './write-positions.js';

/**
 * The one way into commands: every command for a job, whoever sends it (the API, the scheduler, a worker, a
 * saga), goes through `send` with an envelope from envelopes.ts. Load, decide, append is JobRepository's; the
 * rules are the decider's (src/domain/job/job.decide.ts). There is no command bus: the intent is the command's
 * `type`, and "go to definition" from any caller lands here.
 */
@Injectable()
export class JobCommands {
  constructor(private readonly jobs: JobRepository) {}

  /**
   * Decides `command` on the job and appends its events; `expectedVersion` (a caller's If-Match) refuses it when
   * the job changed meanwhile. The command's log position is reported to the request it runs for, if any
   * (read-your-writes, write-positions.ts).
   */
  async send(jobId: string, command: JobCommand, envelope: CommandMetadata, expectedVersion?: number): Promise<JobCommandResult> {
    const result = await this.jobs.execute(jobId, command, envelope, expectedVersion);
    noteWritePosition(result.position);
    return result;
  }
}
