import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { api, currentUser, problemText, type Schemas } from '../api/client';
import { Notice, Pagination, ProblemMessage, StatusBadge, useLoad } from '../components/ui';
import { when } from '../format';

type ReadModel = Schemas['ProjectionStatusDto'];

/** Each read model: how far it is in the event log, whether it is stalled, and its blue/green rebuild. */
export function ReadModels() {
  const models = useLoad(() => api.GET('/api/v1/admin/projections'), []);
  // A 503 (a service down) still carries the whole answer.
  const health = useLoad(() => api.GET('/api/v1/dashboard/health').then(({ data, error }) => ({ data: data ?? (error && 'services' in error ? error : undefined) })), []);
  const [problem, setProblem] = useState<string>();
  const rebuilding = models.data?.some((model) => model.status === 'rebuilding') ?? false;
  // Two looks a second while a rebuild runs (the route is not rate-limited), else every 10 s.
  const { reload: reloadModels } = models;
  const { reload: reloadHealth } = health;
  useEffect(() => {
    const timer = setInterval(
      () => {
        reloadModels();
        if (!rebuilding) reloadHealth();
      },
      rebuilding ? 500 : 10_000,
    );
    return () => clearInterval(timer);
  }, [rebuilding, reloadModels, reloadHealth]);

  async function rebuild(name: ReadModel['name']) {
    const { error } = await api.POST('/api/v1/admin/projections/{name}/rebuild', { params: { path: { name } } });
    setProblem(error ? problemText(error) : undefined);
    models.reload();
  }

  return (
    <section>
      <h1>Read models</h1>
      <p className="muted">Tables projected from the event log. A rebuild fills new tables from the first event while the live ones keep serving, then swaps them in.</p>
      <ProblemMessage problem={problem ?? models.problem} />
      {health.data && (
        <p>
          Services: {Object.entries(health.data.services).map(([name, service]) => (
            <span key={name} className="service">
              {name} <StatusBadge status={service.status} /> {service.latencyMs === null ? '' : `${service.latencyMs} ms`}
            </span>
          ))}
        </p>
      )}
      <table aria-label="Read models">
        <thead>
          <tr>
            <th scope="col">Read model</th>
            <th scope="col">Status</th>
            <th scope="col">Position</th>
            <th scope="col">Lag (events)</th>
            <th scope="col">Stall</th>
            <th scope="col">Rebuild</th>
            <th scope="col">Last rebuild</th>
          </tr>
        </thead>
        <tbody>
          {models.data?.map((model) => {
            const stall = model.stalledAt;
            return (
              <tr key={model.name}>
                <th scope="row">{model.name}</th>
                <td>
                  <StatusBadge status={model.status} />
                </td>
                <td>{model.position}</td>
                <td>{model.lagEvents}</td>
                <td>
                  {stall ? (
                    <>
                      {model.stalledJobs} job(s) held back since {when(stall.since)}: {stall.code} at event {stall.sequence} ({stall.eventType}) of{' '}
                      <Link to={`/jobs/${stall.jobId}`}>job {stall.jobId.slice(0, 8)}</Link>: <span className="error-cell">{stall.error}</span>
                    </>
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  {model.progress ? (
                    <span className="progress">
                      <progress max={100} value={model.progress.percent} aria-label={`Rebuild of ${model.name}`} />
                      {model.progress.percent} % ({model.progress.position} of {model.progress.target}
                      {model.progress.etaSeconds === null ? '' : `, ${model.progress.etaSeconds} s left`})
                    </span>
                  ) : (
                    <button type="button" onClick={() => void rebuild(model.name)}>
                      Rebuild {model.name}
                    </button>
                  )}
                </td>
                <td>
                  {model.lastRebuild ? (
                    <>
                      <StatusBadge status={model.lastRebuild.status} /> {when(model.lastRebuild.finishedAt)}
                      {model.lastRebuild.error && <span className="error-cell"> {model.lastRebuild.error}</span>}
                    </>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

export function Users() {
  const [page, setPage] = useState(1);
  const [notice, setNotice] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const users = useLoad(() => api.GET('/api/v1/admin/users', { params: { query: { page, limit: 20 } } }), [page]);
  const me = currentUser();

  async function setRole(id: string, role: 'admin' | 'user') {
    const { data, error } = await api.PATCH('/api/v1/admin/users/{id}', { params: { path: { id } }, body: { role } });
    setProblem(error ? problemText(error) : undefined);
    setNotice(data ? `${data.email} is now ${data.role === 'admin' ? 'an admin' : 'a user'} (from their next access token).` : undefined);
    users.reload();
  }

  return (
    <section>
      <h1>Users</h1>
      <ProblemMessage problem={problem ?? users.problem} />
      {notice && <Notice>{notice}</Notice>}
      <table aria-label="Users">
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Since</th>
            <th scope="col">Change role</th>
          </tr>
        </thead>
        <tbody>
          {users.data?.items.map((user) => (
            <tr key={user.id}>
              <td>{user.email}</td>
              <td>{user.name ?? '—'}</td>
              <td>{user.role}</td>
              <td>{when(user.createdAt)}</td>
              <td>
                {user.id !== me?.id && (
                  <button type="button" onClick={() => void setRole(user.id, user.role === 'admin' ? 'user' : 'admin')}>
                    {user.role === 'admin' ? `Make ${user.email} a user` : `Make ${user.email} an admin`}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {users.data && <Pagination label="Users" page={users.data.page} totalPages={users.data.totalPages} onPage={setPage} />}
    </section>
  );
}
