import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ChronosApp } from '../../src/app.js';
import { HttpSink } from '../support/http-sink.js';
import { ApiClient, resetStack, sleep, startTestChronos, urls, waitFor } from '../support/stack.js';

/**
 * The web dashboard in Debian's headless Chromium against a real Chronos, as a person uses it: every control
 * is found by its role and accessible name. With CHRONOS_WEB_SCREENSHOTS=<dir> (npm run web:screenshots) it
 * also saves the main pages at 1400×900.
 */
const ADMIN = { email: 'ops@example.com', password: 'Adm1nPassword' };
const USER = { email: `ada-${Date.now()}@example.com`, password: 'Analyt1cal', name: 'Ada' };
const SCREENSHOTS = process.env.CHRONOS_WEB_SCREENSHOTS;

describe('the web dashboard', () => {
  let chronos: ChronosApp;
  let base: string;
  let browser: Browser;
  let profile: string;
  let user: BrowserContext;
  let page: Page;
  /** Console errors and CSP violations of every page: the app must run in Chronos's CSP without any. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await resetStack();
    // Access tokens of 62 s: the app refreshes them when less than a minute is left, so throughout these tests.
    chronos = await startTestChronos({ CHRONOS_ADMIN_EMAIL: ADMIN.email, CHRONOS_ADMIN_PASSWORD: ADMIN.password, JWT_ACCESS_TTL: '62' });
    base = `http://127.0.0.1:${chronos.port}`;
    profile = await mkdtemp(join(tmpdir(), 'chronos-chromium-'));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    user = await newContext();
    page = await user.newPage();
    if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await chronos?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  async function newContext(): Promise<BrowserContext> {
    const context = await browser.newContext({ baseURL: base, viewport: { width: 1400, height: 900 } });
    context.setDefaultTimeout(20_000);
    context.on('page', (opened) => watch(opened));
    return context;
  }

  /** Statuses of the app's token refreshes. */
  const refreshes: number[] = [];

  function watch(watched: Page): void {
    watched.on('response', (response) => {
      if (new URL(response.url()).pathname === '/api/v1/auth/refresh') refreshes.push(response.status());
    });
    watched.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
    watched.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of (4\d\d)/.test(message.text())) pageErrors.push(`console: ${message.text()}`);
    });
  }

  async function screenshot(on: Page, name: string): Promise<void> {
    if (SCREENSHOTS) await on.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
  }

  /** An API client signed in as the browser's user (a session of its own), for changes made "elsewhere". */
  async function apiAs(account: { email: string; password: string }): Promise<ApiClient> {
    const client = new ApiClient(base);
    expect((await client.signIn(account.email, account.password)).status).toBe(200);
    return client;
  }

  it('serves the app at any browser path, while API paths answer problem+json', async () => {
    const deep = await fetch(`${base}/jobs/3f1c/edit`, { headers: { accept: 'text/html' } });
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = deep.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(await deep.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    for (const path of ['/api/v1/nope', '/api/v1/jobs/not-a-uuid/nope']) {
      const api = await fetch(`${base}${path}`, { headers: { accept: 'text/html' } });
      expect(api.status).toBe(404);
      expect(api.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    // A client that does not ask for HTML is not given the app.
    const curl = await fetch(`${base}/jobs`, { headers: { accept: '*/*' } });
    expect(curl.status).toBe(404);
  });

  it('registers, signs out, shows a refused sign-in, signs in, and keeps a deep link through a reload', async () => {
    await page.goto('/register');
    await page.getByLabel('Name').fill(USER.name);
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password').fill(USER.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Chronos' }).waitFor();
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password').fill('Wr0ngPassword');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'email or password is wrong' }).waitFor();

    // A deep link, loaded afresh: tokens live in memory only, so it asks to sign in, then comes back to it.
    await page.goto('/jobs?status=active');
    await page.getByRole('heading', { name: 'Sign in to Chronos' }).waitFor();
    await screenshot(page, 'sign-in');
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password').fill(USER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/jobs?status=active');
    expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
  });

  let jobUrl: string;

  it('creates a cron job with the form, previewing its instants while the expression is typed', async () => {
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('link', { name: 'New job' }).click();
    await page.getByLabel('Name').fill('Heartbeat');
    await page.getByLabel('Type').selectOption('custom');
    await page.getByLabel('Handler').fill('echo');
    await page.getByLabel('Data (JSON)').fill('{"beat": true}');
    await page.getByLabel('Schedule', { exact: true }).selectOption('cron');
    await page.getByLabel('Time zone').fill('Europe/Berlin');
    const expression = page.getByLabel('Cron expression');
    await expression.fill('*/2 * * * * * *');
    await page.locator('.preview .field-error').filter({ hasText: 'invalid cron expression' }).waitFor();
    await expression.fill('*/2 * * * * *');
    const preview = page.getByRole('list', { name: 'Next fire times' });
    await waitFor(async () => (await preview.getByRole('listitem').count()) === 5, 20_000, 'five previewed instants');
    await screenshot(page, 'new-job');
    await page.getByRole('button', { name: 'Create job' }).click();
    await page.getByRole('heading', { name: /Heartbeat/ }).waitFor();
    jobUrl = page.url();
    expect(new URL(jobUrl).pathname).toMatch(/^\/jobs\/[0-9a-f-]{36}$/);
  });

  it('shows the executions as they happen, without a reload, and opens one execution\'s log', async () => {
    await page.evaluate('window.notReloaded = true'); // gone if the page reloads
    const executions = page.getByRole('table', { name: 'Executions' });
    await executions.getByRole('row').filter({ hasText: 'succeeded' }).nth(1).waitFor({ timeout: 30_000 });
    expect(await page.evaluate("'notReloaded' in window")).toBe(true);
    await screenshot(page, 'job');

    await page.getByRole('link', { name: /^Log of the run/ }).last().click();
    await page.getByRole('heading', { name: /^Execution/ }).waitFor();
    await page.getByRole('table', { name: 'Log' }).getByRole('row').nth(1).waitFor();
    await screenshot(page, 'execution');
    await page.goBack();
    await page.getByRole('heading', { name: /Heartbeat/ }).waitFor();
  });

  it('pauses the job, and on resuming shows the instants skipped while paused; then runs it now', async () => {
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('status').filter({ hasText: 'Paused.' }).waitFor();
    await page.getByRole('heading', { name: /Heartbeat/ }).filter({ hasText: 'paused' }).waitFor();
    await sleep(4500); // instants of */2 pass while it is paused
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('status').filter({ hasText: 'Resumed.' }).waitFor();
    await page.getByRole('list', { name: 'History' }).getByRole('listitem').filter({ hasText: /Skipped the instant .*\(paused\)/ }).first().waitFor();
    await page.getByRole('table', { name: 'Executions' }).getByRole('row').filter({ hasText: 'skipped' }).first().waitFor();

    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('status').filter({ hasText: 'Run started outside the schedule' }).waitFor();
    await page.getByRole('table', { name: 'Executions' }).getByRole('row').filter({ hasText: 'manual' }).filter({ hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
  });

  it('tells a stale edit form that the job changed meanwhile', async () => {
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit Heartbeat' }).waitFor();
    const jobId = new URL(jobUrl).pathname.split('/')[2]!;
    const elsewhere = await apiAs(USER);
    expect((await elsewhere.request('PATCH', `/api/v1/jobs/${jobId}`, { description: 'changed in another tab' })).status).toBe(200);

    await page.getByLabel('Name').fill('Heartbeat, renamed');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('alert').filter({ hasText: 'changed meanwhile' }).waitFor();
    const job = (await elsewhere.get(`/api/v1/jobs/${jobId}`)).body;
    expect(job).toMatchObject({ name: 'Heartbeat', description: 'changed in another tab' });
    await page.goto(jobUrl); // a reload: the tokens were in memory only, so sign in again
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password').fill(USER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /Heartbeat/ }).waitFor();

    // Opened afresh, the same edit goes through, although the job runs (and so changes version) every 2 s.
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Name').fill('Heartbeat, renamed');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: /Heartbeat, renamed/ }).waitFor();
    expect((await elsewhere.get(`/api/v1/jobs/${jobId}`)).body).toMatchObject({ name: 'Heartbeat, renamed', description: 'changed in another tab' });
  });

  it('lists jobs with their schedules in words, and filters and searches them', async () => {
    const api = await apiAs(USER);
    for (const [name, schedule] of [
      ['Weekday report', { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Berlin' }],
      ['Sync', { kind: 'interval', everyMs: 90_000 }],
    ] as const) {
      expect((await api.post('/api/v1/jobs', { name, type: 'custom', payload: { handler: 'noop' }, schedule, labels: { team: name === 'Sync' ? 'data' : 'finance' } })).status).toBe(201);
    }
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    const jobs = page.getByRole('table', { name: 'Jobs' });
    const row = (name: string) => jobs.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) });
    await row('Weekday report').filter({ hasText: 'at 09:00 on weekdays, Europe/Berlin' }).waitFor();
    await row('Sync').filter({ hasText: 'every 1 min 30 s' }).waitFor();
    await row('Heartbeat, renamed').filter({ hasText: 'every 2 s' }).waitFor();

    await page.getByRole('searchbox', { name: 'Search' }).fill('report');
    await waitFor(async () => (await jobs.getByRole('row').count()) === 2, 10_000, 'one job left by the search');
    await row('Weekday report').waitFor();
    await page.getByRole('searchbox', { name: 'Search' }).fill('');
    await page.getByRole('textbox', { name: 'Label' }).fill('team=data');
    await waitFor(async () => (await jobs.getByRole('row').count()) === 2, 10_000, 'one job left by the label filter');
    await row('Sync').waitFor();
    expect(new URL(page.url()).searchParams.get('label')).toBe('team=data');
    await page.getByRole('textbox', { name: 'Label' }).fill('');
    await page.getByRole('combobox', { name: 'Sort by' }).selectOption('name');
    await page.getByRole('combobox', { name: 'Order' }).selectOption('asc');
    await waitFor(async () => (await jobs.getByRole('link').allTextContents()).join('|') === 'Heartbeat, renamed|Sync|Weekday report', 10_000, 'jobs sorted by name');
  });

  it('edits a job without losing what the form does not show', async () => {
    const api = await apiAs(USER);
    const created = await api.post('/api/v1/jobs', {
      name: 'Ping partner',
      type: 'http',
      payload: { url: 'http://127.0.0.1:9/ping', headers: { 'X-Team': 'web', Authorization: 'Bearer partner-secret' }, query: { source: 'chronos' } },
      schedule: { kind: 'cron', expression: '0 3 * * *' },
      notifications: { onFailure: true, email: 'ops@example.com' },
    });
    expect(created.status).toBe(201);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('table', { name: 'Jobs' }).getByRole('link', { name: 'Ping partner' }).click();
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Name').fill('Ping the partner');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: /Ping the partner/ }).waitFor();
    const job = (await api.get(`/api/v1/jobs/${created.body.id}`)).body;
    expect(job).toMatchObject({
      name: 'Ping the partner',
      payload: { url: 'http://127.0.0.1:9/ping', headers: { 'X-Team': 'web', Authorization: '••••••' }, query: { source: 'chronos' } },
      notifications: { onFailure: true, email: 'ops@example.com' },
    });
  });

  it('retries a dead letter', async () => {
    const sink = await new HttpSink().start();
    sink.status = 500;
    try {
      const api = await apiAs(USER);
      const failing = await api.post('/api/v1/jobs', {
        name: 'Always failing',
        type: 'http',
        payload: { url: sink.url('/fail') },
        schedule: { kind: 'immediate' },
        retryPolicy: { maxAttempts: 1 },
      });
      expect(failing.status).toBe(201);
      await page.getByRole('link', { name: 'Dead letters' }).click();
      const letters = page.getByRole('table', { name: 'Dead letters' });
      await letters.getByRole('row').filter({ hasText: 'unexpected status 500' }).waitFor({ timeout: 30_000 });
      await screenshot(page, 'dead-letters');
      await letters.getByRole('button', { name: /^Retry/ }).click();
      await page.getByRole('status').filter({ hasText: 'Retried' }).waitFor();
      await waitFor(() => sink.to('/fail').length === 2, 20_000, 'the retried run to call the target');
    } finally {
      await sink.stop();
    }
    // Every page above ran on tokens the app refreshed (and rotated) before they expired.
    expect(refreshes.length).toBeGreaterThan(3);
    expect(refreshes.every((status) => status === 200)).toBe(true);
  });

  it('lets an admin rebuild a read model and watch its progress', async () => {
    const admin = await newContext();
    const adminPage = await admin.newPage();
    await adminPage.goto('/admin/read-models');
    await adminPage.getByLabel('Email').fill(ADMIN.email);
    await adminPage.getByLabel('Password').fill(ADMIN.password);
    await adminPage.getByRole('button', { name: 'Sign in' }).click();
    const models = adminPage.getByRole('table', { name: 'Read models' });
    const executionsRow = models.getByRole('row').filter({ has: adminPage.getByRole('rowheader', { name: 'executions', exact: true }) });
    await executionsRow.waitFor();

    // A reader holding the live executions table keeps the rebuild from swapping in: its progress stays on screen.
    const reader = new pg.Client({ connectionString: urls.database });
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT 1 FROM executions LIMIT 1');
      await adminPage.getByRole('button', { name: 'Rebuild executions' }).click();
      await adminPage.getByRole('progressbar', { name: 'Rebuild of executions' }).waitFor();
      await executionsRow.filter({ hasText: 'rebuilding' }).waitFor();
      if (SCREENSHOTS) {
        // The new tables fill up to the log's end, then wait for the reader to let the swap happen.
        const bar = adminPage.getByRole('progressbar', { name: 'Rebuild of executions' });
        await waitFor(async () => Number(await bar.getAttribute('value')) > 50, 10_000, 'the rebuild to fill its tables').catch(() => undefined);
        await screenshot(adminPage, 'read-models');
      }
    } finally {
      await reader.query('COMMIT');
      await reader.end();
    }
    await adminPage.getByRole('button', { name: 'Rebuild executions' }).waitFor({ timeout: 30_000 });
    await executionsRow.filter({ hasText: 'succeeded' }).waitFor();

    // Admins see everyone's jobs, and the overview of all of them.
    await adminPage.getByRole('link', { name: 'Jobs', exact: true }).click();
    await adminPage.getByRole('heading', { name: 'All jobs' }).waitFor();
    await adminPage.getByRole('table', { name: 'Jobs' }).getByRole('link', { name: 'Always failing' }).waitFor();
    await screenshot(adminPage, 'jobs');
    await adminPage.getByRole('link', { name: 'Overview' }).click();
    await adminPage.getByRole('img', { name: /Executions per hour/ }).waitFor();
    await screenshot(adminPage, 'overview');
    await admin.close();
  });
});
