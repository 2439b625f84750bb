import { initialState, JOB_STATE_SHAPE } from './job.state.js';

describe('the shape of JobState, as snapshots record it', () => {
  it('changes only with JOB_STATE_SHAPE: a new or renamed field must pass every stored snapshot by', () => {
    // When this fails, bump JOB_STATE_SHAPE and record the new fields here.
    const shapes: Record<number, string> = {
      1: 'createdAt,deadLetters,deleted,exists,jobId,lastRunAt,lastRunStatus,lastScheduledAt,nextRunAt,openExecutions,ownerId,pausedNextRunAt,pendingRetries,recentNotifications,spec,status,updatedAt,version',
      2: 'cancelledAhead,createdAt,deadLetters,deleted,epoch,exists,jobId,lastRunAt,lastRunStatus,lastScheduledAt,nextRunAt,openExecutions,ownerId,pausedNextRunAt,pendingRetries,recentNotifications,spec,status,updatedAt,version',
    };
    expect(Object.keys(initialState()).sort().join(',')).toBe(shapes[JOB_STATE_SHAPE]);
  });
});
