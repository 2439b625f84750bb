import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Link } from 'react-router';
import { api } from '../api/client';
import { ProblemMessage, StatusBadge, useLoad } from '../components/ui';
import { duration, relative, when } from '../format';
import { useLiveReload } from '../live/lifecycle';

const hourLabel = (iso: string) => `${String(new Date(iso).getHours()).padStart(2, '0')}:00`;

export function Overview() {
  const stats = useLoad(() => api.GET('/api/v1/dashboard/stats'), []);
  useLiveReload(stats.reload, undefined, 1000);
  const data = stats.data;
  if (!data) return <ProblemMessage problem={stats.problem} />;
  const last24h = data.executions.last24h;
  const perHour = data.executions.perHour.map((bucket) => ({ ...bucket, label: hourLabel(bucket.hour) }));
  return (
    <section>
      <h1>Overview</h1>
      <div className="tiles">
        <div className="tile">
          <span className="tile-value">{data.jobs.total}</span> jobs
        </div>
        {Object.entries(data.jobs.byStatus).map(([status, count]) => (
          <div className="tile" key={status}>
            <span className="tile-value">{count}</span> <StatusBadge status={status} />
          </div>
        ))}
        <div className="tile">
          <span className="tile-value">{last24h.successRate === null ? '—' : `${Math.round(last24h.successRate * 100)} %`}</span> succeeded (24 h)
        </div>
        <div className="tile">
          <span className="tile-value">{duration(last24h.p50DurationMs)}</span> p50 duration
        </div>
        <div className="tile">
          <span className="tile-value">{duration(last24h.p95DurationMs)}</span> p95 duration
        </div>
      </div>

      <section aria-labelledby="chart-heading" className="card">
        <h2 id="chart-heading">Executions per hour, last 24 h</h2>
        <p className="muted">
          {last24h.total} finished: {last24h.succeeded} succeeded, {last24h.failed} failed
        </p>
        <div className="chart" role="img" aria-label={`Executions per hour over the last 24 hours: ${last24h.succeeded} succeeded, ${last24h.failed} failed`}>
          <ResponsiveContainer width="100%" height={240}>
            <BarChart data={perHour} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="label" interval={2} fontSize={12} />
              <YAxis allowDecimals={false} fontSize={12} />
              <Tooltip />
              <Legend />
              <Bar dataKey="succeeded" name="succeeded" stackId="runs" fill="#2f855a" isAnimationActive={false} />
              <Bar dataKey="failed" name="failed" stackId="runs" fill="#c53030" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      </section>

      <div className="columns">
        <section aria-labelledby="failures-heading" className="card">
          <h2 id="failures-heading">Recent failures</h2>
          <table aria-labelledby="failures-heading">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Status</th>
                <th scope="col">Error</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {data.recentFailures.map((failure) => (
                <tr key={failure.executionId}>
                  <td>
                    <Link to={`/jobs/${failure.jobId}`}>{failure.jobName}</Link>
                  </td>
                  <td>
                    <StatusBadge status={failure.status} />
                  </td>
                  <td className="error-cell">
                    <Link to={`/executions/${failure.executionId}`}>{failure.error ?? 'no error message'}</Link>
                  </td>
                  <td title={when(failure.finishedAt)}>{relative(failure.finishedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.recentFailures.length === 0 && <p className="muted">No failures.</p>}
        </section>
        <section aria-labelledby="upcoming-heading" className="card">
          <h2 id="upcoming-heading">Upcoming runs</h2>
          <table aria-labelledby="upcoming-heading">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Schedule</th>
                <th scope="col">Next run</th>
              </tr>
            </thead>
            <tbody>
              {data.upcoming.map((job) => (
                <tr key={job.id}>
                  <td>
                    <Link to={`/jobs/${job.id}`}>{job.name}</Link>
                  </td>
                  <td>{job.scheduleKind}</td>
                  <td title={when(job.nextRunAt)}>{relative(job.nextRunAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.upcoming.length === 0 && <p className="muted">Nothing due.</p>}
        </section>
      </div>
    </section>
  );
}
