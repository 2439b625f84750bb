import { Link, useParams } from 'react-router';
import { api } from '../api/client';
import { ProblemMessage, StatusBadge, useLoad } from '../components/ui';
import { duration, when } from '../format';
import { useLiveReload } from '../live/lifecycle';

export function ExecutionPage() {
  const { id = '' } = useParams();
  const execution = useLoad(() => api.GET('/api/v1/executions/{id}', { params: { path: { id } } }), [id]);
  const log = useLoad(() => api.GET('/api/v1/executions/{id}/logs', { params: { path: { id }, query: { limit: 100 } } }), [id]);
  useLiveReload(() => {
    execution.reload();
    log.reload();
  }, execution.data?.jobId ?? '');

  if (execution.problem && !execution.data) return <ProblemMessage problem={execution.problem} />;
  const run = execution.data;
  if (!run) return <p className="muted">Loading…</p>;
  return (
    <section>
      <p>
        <Link to={`/jobs/${run.jobId}`}>← The job</Link>
      </p>
      <h1>
        Execution {run.id.slice(0, 8)} <StatusBadge status={run.status} />
      </h1>
      <dl className="spec card">
        <dt>Scheduled for</dt>
        <dd>{when(run.scheduledAt)}</dd>
        <dt>Trigger</dt>
        <dd>{run.trigger}</dd>
        <dt>Attempt</dt>
        <dd>{run.attempt}</dd>
        <dt>Queued</dt>
        <dd>{when(run.queuedAt)}</dd>
        <dt>Started</dt>
        <dd>{when(run.startedAt)}</dd>
        <dt>Finished</dt>
        <dd>{when(run.finishedAt)}</dd>
        <dt>Duration</dt>
        <dd>{duration(run.durationMs)}</dd>
        <dt>Worker</dt>
        <dd className="mono">{run.workerId ?? '—'}</dd>
        {run.error && (
          <>
            <dt>Error</dt>
            <dd className="error-cell">{run.error}</dd>
          </>
        )}
      </dl>
      <h2>Output</h2>
      <pre className="json">{run.output === null ? '—' : JSON.stringify(run.output, null, 2)}</pre>
      <h2 id="log-heading">Log</h2>
      <ProblemMessage problem={log.problem} />
      <table aria-labelledby="log-heading" className="log">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Level</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {log.data?.items.map((entry) => (
            <tr key={entry.id} className={`level-${entry.level}`}>
              <td>{when(entry.timestamp)}</td>
              <td>{entry.level}</td>
              <td className="mono">{entry.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {log.data?.items.length === 0 && <p className="muted">No log entries yet.</p>}
    </section>
  );
}
