import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, problemText, type Job, type Problem, type Schemas } from '../api/client';
import { ifUnchanged } from '../api/conditional';
import { Notice, Pagination, ProblemMessage, StatusBadge, useLoad } from '../components/ui';
import { duration, scheduleInWords, when } from '../format';
import { useLiveReload } from '../live/lifecycle';

type StoredEvent = Schemas['StoredEventDto'];
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** One line of the job's history: what happened, and for an instant that did not run, why. */
function describe(event: StoredEvent): string {
  const data = event.data;
  switch (event.type) {
    case 'JobCreated':
      return 'Created';
    case 'JobUpdated':
      return 'Edited';
    case 'JobRescheduled':
      return 'Rescheduled';
    case 'JobPaused':
      return `Paused${text(data.note) ? `: ${text(data.note)}` : ''}`;
    case 'JobResumed':
      return 'Resumed';
    case 'JobCancelled':
      return 'Cancelled';
    case 'JobCompleted':
      return 'Completed';
    case 'JobFailed':
      return 'Failed: its last run was dead-lettered';
    case 'JobFired':
      return `Fired for ${when(text(data.scheduledAt))} (${text(data.trigger) ?? 'schedule'}, attempt ${num(data.attempt) ?? 1})`;
    case 'ExecutionStarted':
      return `Run started (attempt ${num(data.attempt) ?? 1})`;
    case 'ExecutionFinished':
      return `Run ${text(data.outcome)?.replace('_', ' ') ?? 'finished'} in ${duration(num(data.durationMs))}${text(data.error) ? `: ${text(data.error)}` : ''}`;
    case 'ExecutionSkipped':
      return `Skipped the instant ${when(text(data.scheduledAt))} (${text(data.reason) ?? 'skipped'}): ${text(data.detail) ?? ''}`;
    case 'ExecutionCancelled':
      return `Run cancelled (${text(data.reason) ?? ''}): ${text(data.detail) ?? ''}`;
    case 'RetryScheduled':
      return `Retry scheduled for ${when(text(data.retryAt))}`;
    case 'ExecutionDeadLettered':
    case 'DeadLettered':
      return `Dead-lettered: ${text(data.lastError) ?? text(data.reason) ?? ''}`;
    case 'DeadLetterRetried':
      return 'Dead letter retried';
    case 'DeadLetterDiscarded':
      return 'Dead letter discarded';
    case 'NotificationSent':
      return `Notification sent (${text(data.channel) ?? ''})`;
    case 'NotificationFailed':
      return `Notification failed (${text(data.channel) ?? ''}): ${text(data.error) ?? ''}`;
    default:
      return event.type;
  }
}

const ACTIONS = {
  pause: 'Paused',
  resume: 'Resumed',
  cancel: 'Cancelled',
} as const;

export function JobPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const [executionsPage, setExecutionsPage] = useState(1);
  const [problem, setProblem] = useState<Problem | string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();

  const job = useLoad(() => api.GET('/api/v1/jobs/{id}', { params: { path: { id } } }), [id]);
  const preview = useLoad(() => api.GET('/api/v1/jobs/{id}/preview', { params: { path: { id }, query: { count: 5 } } }), [id, job.data?.version]);
  const executions = useLoad(() => api.GET('/api/v1/jobs/{id}/executions', { params: { path: { id }, query: { page: executionsPage, limit: 10 } } }), [id, executionsPage]);
  const history = useLoad(async () => {
    const first = await api.GET('/api/v1/jobs/{id}/events', { params: { path: { id }, query: { page: 1, limit: 100 } } });
    if (!first.data || first.data.totalPages <= 1) return first;
    return api.GET('/api/v1/jobs/{id}/events', { params: { path: { id }, query: { page: first.data.totalPages, limit: 100 } } });
  }, [id]);
  useLiveReload(() => {
    job.reload();
    executions.reload();
    history.reload();
  }, id);

  /** Answers of a write: a 412 means someone changed the job since this page read it. */
  function outcome(error: Problem | undefined, done: string): void {
    if (!error) {
      setProblem(undefined);
      setNotice(done);
      job.reload();
      return;
    }
    setNotice(undefined);
    setProblem(error.code === 'VERSION_CONFLICT' ? 'This job was changed meanwhile, after this page showed it: it has been reloaded, check it and try again.' : problemText(error));
    if (error.code === 'VERSION_CONFLICT') job.reload();
  }

  async function act(current: Job, action: keyof typeof ACTIONS) {
    const { error } = await ifUnchanged(current, (ifMatch) => {
      const options = { params: { path: { id }, header: { 'If-Match': ifMatch } }, body: {} };
      if (action === 'pause') return api.POST('/api/v1/jobs/{id}/pause', options);
      if (action === 'resume') return api.POST('/api/v1/jobs/{id}/resume', options);
      return api.POST('/api/v1/jobs/{id}/cancel', options);
    });
    outcome(error, `${ACTIONS[action]}.`);
  }

  async function trigger(current: Job) {
    const { data, error } = await ifUnchanged(current, (ifMatch) => api.POST('/api/v1/jobs/{id}/trigger', { params: { path: { id }, header: { 'If-Match': ifMatch } }, body: {} }));
    outcome(error, data ? `Run started outside the schedule: execution ${data.executionId.slice(0, 8)}.` : '');
    executions.reload();
  }

  async function remove(current: Job) {
    if (!window.confirm(`Delete the job "${current.name}"? Its history stays in the event log.`)) return;
    const { error } = await ifUnchanged(current, (ifMatch) => api.DELETE('/api/v1/jobs/{id}', { params: { path: { id }, header: { 'If-Match': ifMatch } } }));
    if (error) outcome(error, '');
    else navigate('/jobs', { replace: true });
  }

  if (job.problem && !job.data) return <ProblemMessage problem={job.problem} />;
  const current = job.data;
  if (!current) return <p className="muted">Loading…</p>;

  return (
    <section>
      <div className="heading">
        <h1>
          {current.name} <StatusBadge status={current.status} />
        </h1>
        <div className="actions" role="group" aria-label="Job actions">
          {current.status === 'active' && (
            <button type="button" onClick={() => void act(current, 'pause')}>
              Pause
            </button>
          )}
          {current.status === 'paused' && (
            <button type="button" onClick={() => void act(current, 'resume')}>
              Resume
            </button>
          )}
          {(current.status === 'active' || current.status === 'paused') && (
            <button type="button" onClick={() => void trigger(current)}>
              Run now
            </button>
          )}
          {(current.status === 'active' || current.status === 'paused') && (
            <button type="button" onClick={() => void act(current, 'cancel')}>
              Cancel
            </button>
          )}
          <Link className="button" to={`/jobs/${id}/edit`}>
            Edit
          </Link>
          <button type="button" className="danger" onClick={() => void remove(current)}>
            Delete
          </button>
        </div>
      </div>
      <ProblemMessage problem={problem} />
      {notice && <Notice>{notice}</Notice>}

      <div className="columns">
        <section aria-labelledby="spec-heading" className="card">
          <h2 id="spec-heading">Spec</h2>
          <dl className="spec">
            <dt>Type</dt>
            <dd>{current.type}</dd>
            <dt>Schedule</dt>
            <dd>{scheduleInWords(current.schedule)}</dd>
            <dt>Next run</dt>
            <dd>{when(current.nextRunAt)}</dd>
            <dt>Last run</dt>
            <dd>
              {when(current.lastRunAt)} <StatusBadge status={current.lastRunStatus} />
            </dd>
            <dt>Retries</dt>
            <dd>
              {current.retryPolicy.maxAttempts} attempts, {current.retryPolicy.backoff} from {duration(current.retryPolicy.delayMs)}
            </dd>
            <dt>Timeout</dt>
            <dd>{duration(current.timeoutMs)}</dd>
            <dt>Overlap</dt>
            <dd>{current.concurrencyPolicy}</dd>
            <dt>Misfires</dt>
            <dd>{current.misfirePolicy.replace('_', ' ')}</dd>
            <dt>Labels</dt>
            <dd>{Object.entries(current.labels).map(([key, value]) => `${key}=${value}`).join(', ') || '—'}</dd>
            <dt>Runs</dt>
            <dd>
              {current.stats.totalExecutions} ({current.stats.succeeded} succeeded, {current.stats.failed} failed), average {duration(current.stats.averageDurationMs)}
            </dd>
            <dt>Version</dt>
            <dd>{current.version}</dd>
          </dl>
          <h3>Payload</h3>
          <pre className="json">{JSON.stringify(current.payload, null, 2)}</pre>
        </section>

        <section aria-labelledby="next-heading" className="card">
          <h2 id="next-heading">Next instants</h2>
          {preview.data && preview.data.items.length === 0 && <p className="muted">None: the job is not active.</p>}
          <ol aria-label="Next instants" className="instants">
            {preview.data?.items.map((item) => (
              <li key={item.at}>
                {when(item.at)}
                {item.note && <span className="note"> — {item.note}</span>}
              </li>
            ))}
          </ol>
        </section>
      </div>

      <section aria-labelledby="executions-heading">
        <h2 id="executions-heading">Executions</h2>
        <ProblemMessage problem={executions.problem} />
        <table aria-label="Executions">
          <thead>
            <tr>
              <th scope="col">Scheduled for</th>
              <th scope="col">Status</th>
              <th scope="col">Trigger</th>
              <th scope="col">Attempt</th>
              <th scope="col">Duration</th>
              <th scope="col">Error</th>
              <th scope="col">Log</th>
            </tr>
          </thead>
          <tbody>
            {executions.data?.items.map((execution) => (
              <tr key={execution.id}>
                <td>{when(execution.scheduledAt)}</td>
                <td>
                  <StatusBadge status={execution.status} />
                </td>
                <td>{execution.trigger}</td>
                <td>{execution.attempt}</td>
                <td>{duration(execution.durationMs)}</td>
                <td className="error-cell">{execution.error ?? ''}</td>
                <td>
                  <Link to={`/executions/${execution.id}`} aria-label={`Log of the run scheduled for ${when(execution.scheduledAt)}`}>
                    Log
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {executions.data?.items.length === 0 && <p className="muted">No executions yet.</p>}
        {executions.data && (
          <Pagination label="Executions" page={executions.data.page} totalPages={executions.data.totalPages} onPage={setExecutionsPage} />
        )}
      </section>

      <section aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        <ol aria-label="History" className="timeline" reversed>
          {[...(history.data?.items ?? [])].reverse().map((event) => (
            <li key={`${event.sequence}:${event.index}`} className={`event event-${event.type}`}>
              <time dateTime={event.occurredAt}>{when(event.occurredAt)}</time> <span>{describe(event)}</span>
            </li>
          ))}
        </ol>
      </section>
    </section>
  );
}
