import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { ChronosApp } from '../src/app.js';
import { resetStack, startTestChronos } from './support/stack.js';

/**
 * Outside /api/v1 as inside it, a path nothing serves answers a 404 problem (never Express's HTML "Cannot GET"),
 * whatever the method and whatever the client accepts; only a browser's navigation to one of the dashboard's
 * routes gets the web app (npm test builds it).
 */
describe('paths nothing serves', () => {
  let chronos: ChronosApp;
  let base: string;

  beforeAll(async () => {
    await resetStack();
    chronos = await startTestChronos();
    base = `http://127.0.0.1:${chronos.port}`;
  });
  afterAll(() => chronos?.close());

  const expectProblem = async (method: string, path: string, accept: string) => {
    const res = await fetch(`${base}${path}`, { method, headers: { accept } });
    const body = method === 'HEAD' ? undefined : await res.json();
    expect({ method, path, accept, status: res.status, type: res.headers.get('content-type') }).toEqual({ method, path, accept, status: 404, type: expect.stringMatching(/^application\/problem\+json/) });
    if (body) expect(body).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND', title: 'Not Found', instance: path });
  };

  it('answers problem+json for server paths, files and anything else, with any method and Accept', async () => {
    const paths = ['/nope', '/favicon.ico', '/.env', '/docs/nope', '/health/nope', '/metrics/x', '/asyncapi.jsonx', '/api/v2/jobs', '/api/v1/nope', '/assets/nope.js', '/wp-login.php'];
    for (const path of paths) {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        for (const accept of ['*/*', 'application/json', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8']) await expectProblem(method, path, accept);
      }
    }
  });

  it('answers problem+json for any generated path outside the API and the dashboard', async () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/);
    const reserved = /^\/(?:api|docs|docs-json|health|metrics|asyncapi\.json|sign-in|register|jobs|executions|dead-letters|admin)(?:[/.?]|$)/;
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.constantFrom('GET', 'POST', 'DELETE'), fc.constantFrom('*/*', 'text/html'), async (segments, method, accept) => {
        const path = `/${segments.map(encodeURIComponent).join('/')}`;
        fc.pre(!reserved.test(path) && !segments.some((s) => s === '.' || s === '..'));
        await expectProblem(method, path, accept);
      }),
      { numRuns: 60 },
    );
  });

  it("gives a browser's navigation to each dashboard route the app, and the same route without Accept: text/html a problem", async () => {
    // The routes as the dashboard's router declares them (web/src/main.tsx), parameters filled in.
    const routes = [...readFileSync('web/src/main.tsx', 'utf8').matchAll(/<Route (?:index|path="([^"*]*)")/g)].map(([, path]) => `/${(path ?? '').replace(/^\//, '').replace(/:\w+/g, '3f1c')}`);
    expect(routes).toEqual(expect.arrayContaining(['/', '/sign-in', '/jobs/3f1c/edit', '/admin/users']));
    for (const path of routes) {
      const app = await fetch(`${base}${path}`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
      expect({ path, status: app.status, type: app.headers.get('content-type') }).toEqual({ path, status: 200, type: expect.stringMatching(/^text\/html/) });
      expect(await app.text()).toContain('<div id="root">');
      await expectProblem('GET', path, 'application/json');
      await expectProblem('POST', path, 'text/html');
    }
  });
});
