import { api, type Job, type Problem } from './client';

/** What a person sees of a job and acts on: its definition and status, without the bookkeeping of its runs. */
function definitionOf(job: Job): string {
  const { name, description, type, payload, schedule, retryPolicy, timeoutMs, concurrencyPolicy, misfirePolicy, notifications, labels, status } = job;
  return JSON.stringify({ name, description, type, payload, schedule, retryPolicy, timeoutMs, concurrencyPolicy, misfirePolicy, notifications, labels, status });
}

/**
 * Sends a write conditional on the job as the page showed it (If-Match with its ETag). The job's version
 * counts every event of the job, its runs' included, so a busy job's version moves every few seconds: when
 * the write is refused (412) but the job's definition and status are still what the page showed, only runs
 * happened meanwhile, and it is sent again with the current version. A real change (an edit, a pause from
 * elsewhere) comes back as the conflict, for the page to say so.
 */
export async function ifUnchanged<T>(shown: Job, send: (ifMatch: string) => Promise<{ data?: T; error?: Problem }>): Promise<{ data?: T; error?: Problem }> {
  let version = shown.version;
  for (let attempt = 1; ; attempt++) {
    const result = await send(`"${version}"`);
    if (result.error?.code !== 'VERSION_CONFLICT' || attempt === 5) return result;
    const { data: current } = await api.GET('/api/v1/jobs/{id}', { params: { path: { id: shown.id } } });
    if (!current || definitionOf(current) !== definitionOf(shown)) return result;
    version = current.version;
  }
}
