import type { JobState } from '../domain/job/job.state.js';
import type { JobStats } from '../projections/jobs/jobs.projection.js';
import type { JobDto } from './dto/responses.dto.js';
import { maskSpec } from '../secrets/job-secrets.js';

/** The public `Job` of the API (README.md, OpenAPI at /docs-json) from the folded job and its statistics. */
export function toJobDto(state: JobState, stats: JobStats | null): JobDto {
  // Secrets given to a job are for its runs only: never echoed.
  const masked = maskSpec(state.spec!);
  const { webhookSecret: _secret, ...notifications } = masked.notifications;
  const spec = { ...masked, notifications: { ...notifications, ...(_secret ? { webhookSigned: true } : {}) } };
  const s = stats ?? { totalExecutions: 0, succeeded: 0, failed: 0, totalDurationMs: 0 };
  return {
    id: state.jobId,
    ownerId: state.ownerId,
    ...spec,
    status: state.status,
    nextRunAt: state.nextRunAt,
    lastRunAt: state.lastRunAt,
    lastRunStatus: state.lastRunStatus,
    version: state.version,
    createdAt: state.createdAt!,
    updatedAt: state.updatedAt!,
    stats: {
      totalExecutions: s.totalExecutions,
      succeeded: s.succeeded,
      failed: s.failed,
      averageDurationMs: s.totalExecutions ? Math.round(s.totalDurationMs / s.totalExecutions) : null,
    },
  };
}
