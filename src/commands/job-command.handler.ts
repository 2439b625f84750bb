import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ExecuteJobCommand } from './job-command.js';
import { JobRepository, type JobCommandResult } from './job.repository.js';
import { noteWritePosition } from './write-positions.js';

/** Load, decide, append, return: the rules are in the decider (src/domain/job/job.decide.ts). */
@CommandHandler(ExecuteJobCommand)
export class ExecuteJobCommandHandler implements ICommandHandler<ExecuteJobCommand, JobCommandResult> {
  constructor(private readonly jobs: JobRepository) {}

  async execute({ jobId, command, metadata, expectedVersion }: ExecuteJobCommand): Promise<JobCommandResult> {
    const result = await this.jobs.execute(jobId, command, metadata, expectedVersion);
    noteWritePosition(result.position);
    return result;
  }
}
