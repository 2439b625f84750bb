import type { JobCommand } from '../domain/job/job.commands.js';
import type { CommandMetadata } from '../events/stored-event.js';

/** The bus message for every job command: the domain command, who sent it, and an optional ETag version. */
export class ExecuteJobCommand {
  constructor(
    readonly jobId: string,
    readonly command: JobCommand,
    readonly metadata: CommandMetadata,
    readonly expectedVersion?: number,
  ) {}
}
