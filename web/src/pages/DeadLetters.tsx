import { useState } from 'react';
import { Link } from 'react-router';
import { api, problemText } from '../api/client';
import { Notice, Pagination, ProblemMessage, useLoad } from '../components/ui';
import { when } from '../format';
import { useLiveReload } from '../live/lifecycle';

export function DeadLetters() {
  const [page, setPage] = useState(1);
  const [notice, setNotice] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const letters = useLoad(() => api.GET('/api/v1/dead-letters', { params: { query: { page, limit: 20 } } }), [page]);
  useLiveReload(letters.reload);

  async function retry(id: string) {
    const { data, error } = await api.POST('/api/v1/dead-letters/{id}/retry', { params: { path: { id } } });
    setProblem(error ? problemText(error) : undefined);
    setNotice(data ? `Retried: a new execution ${data.executionId.slice(0, 8)} is queued, with attempts counted afresh.` : undefined);
    letters.reload();
  }

  async function discard(id: string) {
    const { error } = await api.DELETE('/api/v1/dead-letters/{id}', { params: { path: { id } } });
    setProblem(error ? problemText(error) : undefined);
    setNotice(error ? undefined : 'Discarded.');
    letters.reload();
  }

  return (
    <section>
      <h1>Dead letters</h1>
      <p className="muted">Fires whose attempts were all used up: retry one to run it again, or discard it.</p>
      <ProblemMessage problem={problem ?? letters.problem} />
      {notice && <Notice>{notice}</Notice>}
      <table aria-label="Dead letters">
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Scheduled for</th>
            <th scope="col">Attempts</th>
            <th scope="col">Why</th>
            <th scope="col">Last error</th>
            <th scope="col">Dead since</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {letters.data?.items.map((letter) => (
            <tr key={letter.id}>
              <td>
                <Link to={`/jobs/${letter.jobId}`}>{letter.jobId.slice(0, 8)}</Link>
              </td>
              <td>{when(letter.scheduledAt)}</td>
              <td>{letter.attempts}</td>
              <td>{letter.reason.replace(/_/g, ' ')}</td>
              <td className="error-cell">
                <Link to={`/executions/${letter.executionId}`}>{letter.lastError}</Link>
              </td>
              <td>{when(letter.deadLetteredAt)}</td>
              <td className="actions">
                <button type="button" aria-label={`Retry the fire of ${when(letter.scheduledAt)}`} onClick={() => void retry(letter.id)}>
                  Retry
                </button>
                <button type="button" aria-label={`Discard the fire of ${when(letter.scheduledAt)}`} onClick={() => void discard(letter.id)}>
                  Discard
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {letters.data?.items.length === 0 && <p className="muted">No dead letters.</p>}
      {letters.data && <Pagination label="Dead letters" page={letters.data.page} totalPages={letters.data.totalPages} onPage={setPage} />}
    </section>
  );
}
