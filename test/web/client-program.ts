// A client developer's program: the API through a client generated from the OpenAPI document Chronos serves
// (web/src/api/schema.d.ts, openapi-typescript + openapi-fetch), strictly typed with no cast, no `any` and no
// hand-written API type. test/web/openapi.e2e.test.ts runs it against a real Chronos and checks its source
// keeps to that: if the document misses a shape, this file stops compiling.
import createClient from 'openapi-fetch';
import type { components, paths } from '../../web/src/api/schema.js';

type Job = components['schemas']['Job'];

export interface ReadBack {
  created: Job;
  read: Job;
  accessToken: string;
  etag: string | null;
  hostname: string | undefined;
  previewCount: number;
  refusedCode: string | undefined;
  refusedFields: string[];
}

export async function createAndReadBack(baseUrl: string, email: string): Promise<ReadBack> {
  const api = createClient<paths>({ baseUrl });
  const { data: pair } = await api.POST('/api/v1/auth/register', { body: { email, password: 'Passw0rd!', name: 'Client' } });
  if (!pair) throw new Error('register failed');
  const headers = { Authorization: `Bearer ${pair.accessToken}` };

  const { data: created } = await api.POST('/api/v1/jobs', {
    headers,
    body: {
      name: 'Typed',
      type: 'http',
      payload: { url: 'http://127.0.0.1:9/health', method: 'POST', body: { hello: 'world' }, expectStatus: [200, 204] },
      schedule: { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Berlin' },
      retryPolicy: { maxAttempts: 2, backoff: 'fixed' },
      labels: { team: 'web' },
    },
  });
  if (!created) throw new Error('create failed');

  const read = await api.GET('/api/v1/jobs/{id}', { headers, params: { path: { id: created.id } } });
  if (!read.data) throw new Error('read failed');
  const { data: preview } = await api.GET('/api/v1/jobs/{id}/preview', { headers, params: { path: { id: created.id }, query: { count: 3 } } });
  // A refusal is a typed problem with its fields.
  const refused = await api.POST('/api/v1/jobs/preview', { headers, body: { schedule: { kind: 'cron', expression: '0 0 30 2 *' } } });

  // The payload's shape follows from the job's type: no cast needed to read an http job's URL.
  const job = read.data;
  const hostname = job.type === 'http' ? new URL(job.payload.url).hostname : undefined;
  return {
    created,
    read: job,
    accessToken: pair.accessToken,
    etag: read.response.headers.get('ETag'),
    hostname,
    previewCount: preview?.items.length ?? 0,
    refusedCode: refused.error?.code,
    refusedFields: refused.error?.errors?.map((field) => field.field) ?? [],
  };
}

/** The caller's http jobs labelled team=web, by name. */
export async function listHttpJobs(baseUrl: string, accessToken: string): Promise<Job[]> {
  const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${accessToken}` } });
  const { data } = await api.GET('/api/v1/jobs', { params: { query: { type: 'http', label: 'team=web', sort: 'name', order: 'asc' } } });
  return data?.items ?? [];
}
