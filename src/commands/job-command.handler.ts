import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ExecuteJobCommand } from './job-command.js';
import { JobRepository, type JobCommandResult } from './job.repository.js';

/** Load, decide, append, return: the rules are in the decider (src/domain/job/job.decide.ts). */
@CommandHandler(ExecuteJobCommand)
export class ExecuteJobCommandHandler implements ICommandHandler<ExecuteJobCommand, JobCommandResult> {
  constructor(private readonly jobs: JobRepository) {}

  execute({ jobId, command, metadata, expectedVersion }: ExecuteJobCommand): Promise<JobCommandResult> {
    return this.jobs.execute(jobId, command, metadata, expectedVersion);
  }
}
