import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { useNavigate, useParams } from 'react-router';
import { api, problemText, type Job, type JobBody, type Problem, type Schedule, type Schemas } from '../api/client';
import { ifUnchanged } from '../api/conditional';
import { ProblemMessage, useLoad } from '../components/ui';
import { when } from '../format';

type JobType = JobBody['type'];
type HttpMethod = NonNullable<Schemas['HttpPayloadDto']['method']>;
type JsonValue = NonNullable<Schemas['CustomPayloadDto']['data']>;
const HTTP_METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
type ScheduleKind = Schedule['kind'];
const JOB_TYPES: JobType[] = ['http', 'webhook', 'script', 'email', 'custom'];
const SCHEDULE_KINDS: { kind: ScheduleKind; label: string }[] = [
  { kind: 'cron', label: 'Cron expression' },
  { kind: 'interval', label: 'Every …' },
  { kind: 'at', label: 'Once, at a time' },
  { kind: 'immediate', label: 'Once, now' },
];
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The form's fields, as typed: strings until the body is built. */
interface Draft {
  name: string;
  description: string;
  type: JobType;
  kind: ScheduleKind;
  expression: string;
  timezone: string;
  everySeconds: string;
  runAt: string;
  url: string;
  method: HttpMethod;
  body: string;
  data: string;
  secret: string;
  command: string;
  args: string;
  to: string;
  subject: string;
  text: string;
  handler: string;
  maxAttempts: string;
  backoff: 'exponential' | 'linear' | 'fixed';
  delayMs: string;
  timeoutMs: string;
  concurrencyPolicy: 'allow' | 'forbid' | 'replace';
  misfirePolicy: 'skip' | 'fire_once' | 'fire_all';
  labels: string;
}

const EMPTY: Draft = {
  name: '',
  description: '',
  type: 'http',
  kind: 'cron',
  expression: '0 9 * * 1-5',
  timezone: BROWSER_ZONE,
  everySeconds: '60',
  runAt: '',
  url: '',
  method: 'GET',
  body: '',
  data: '',
  secret: '',
  command: '',
  args: '',
  to: '',
  subject: '',
  text: '',
  handler: 'noop',
  maxAttempts: '3',
  backoff: 'exponential',
  delayMs: '1000',
  timeoutMs: '30000',
  concurrencyPolicy: 'forbid',
  misfirePolicy: 'fire_once',
  labels: '',
};

const localInput = (iso: string) => {
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
};
const jsonText = (value: unknown) => (value === undefined ? '' : JSON.stringify(value, null, 2));

/** A saved job as the form's fields (secrets come back masked and are kept as they are when sent back). */
function draftOf(job: Job): Draft {
  const draft: Draft = {
    ...EMPTY,
    name: job.name,
    description: job.description ?? '',
    type: job.type,
    kind: job.schedule.kind,
    maxAttempts: String(job.retryPolicy.maxAttempts),
    backoff: job.retryPolicy.backoff,
    delayMs: String(job.retryPolicy.delayMs),
    timeoutMs: String(job.timeoutMs),
    concurrencyPolicy: job.concurrencyPolicy,
    misfirePolicy: job.misfirePolicy,
    labels: Object.entries(job.labels).map(([key, value]) => `${key}=${value}`).join('\n'),
  };
  const schedule = job.schedule;
  if (schedule.kind === 'cron') Object.assign(draft, { expression: schedule.expression, timezone: schedule.timezone ?? 'UTC' });
  if (schedule.kind === 'interval') draft.everySeconds = String(schedule.everyMs / 1000);
  if (schedule.kind === 'at') draft.runAt = localInput(schedule.runAt);
  switch (job.type) {
    case 'http':
      return { ...draft, url: job.payload.url, method: job.payload.method ?? 'GET', body: jsonText(job.payload.body) };
    case 'webhook':
      return { ...draft, url: job.payload.url, data: jsonText(job.payload.data), secret: job.payload.secret ?? '' };
    case 'script':
      return { ...draft, command: job.payload.command, args: (job.payload.args ?? []).join('\n') };
    case 'email':
      return { ...draft, to: Array.isArray(job.payload.to) ? job.payload.to.join(', ') : job.payload.to, subject: job.payload.subject, text: job.payload.text ?? '' };
    case 'custom':
      return { ...draft, handler: job.payload.handler, data: jsonText(job.payload.data) };
  }
}

function scheduleOf(draft: Draft): Schedule {
  switch (draft.kind) {
    case 'immediate':
      return { kind: 'immediate' };
    case 'at':
      return { kind: 'at', runAt: draft.runAt ? new Date(draft.runAt).toISOString() : '' };
    case 'cron':
      return { kind: 'cron', expression: draft.expression, timezone: draft.timezone || 'UTC' };
    case 'interval':
      return { kind: 'interval', everyMs: Math.round(Number(draft.everySeconds) * 1000) };
  }
}

type FieldErrors = Record<string, string>;

const isJsonValue = (value: unknown): value is JsonValue => value !== undefined && typeof value !== 'function' && typeof value !== 'symbol' && typeof value !== 'bigint';

/** JSON typed into a field: its value, or an error for that field. */
function parseJson(text: string, field: string, errors: FieldErrors): JsonValue | null | undefined {
  if (!text.trim()) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || isJsonValue(value)) return value;
  } catch {
    // reported below
  }
  errors[field] = 'must be JSON, e.g. {"key": "value"}';
  return undefined;
}

/**
 * The body the form describes. Editing, the payload keeps what the form does not show (an http job's headers
 * and query, a script's env and cwd, an email's html: masked secrets among them, which the server keeps), and
 * the edit is a PATCH, so notifications the form does not show stay as they are too.
 */
function bodyOf(draft: Draft, previous?: Job): { body: JobBody; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const labels = Object.fromEntries(
    draft.labels
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .map((line) => [line.split('=')[0]!.trim(), line.slice(line.indexOf('=') + 1).trim()]),
  );
  const common = {
    name: draft.name,
    ...(draft.description || previous?.description ? { description: draft.description } : {}),
    schedule: scheduleOf(draft),
    retryPolicy: { maxAttempts: Number(draft.maxAttempts), backoff: draft.backoff, delayMs: Number(draft.delayMs) },
    timeoutMs: Number(draft.timeoutMs),
    concurrencyPolicy: draft.concurrencyPolicy,
    misfirePolicy: draft.misfirePolicy,
    labels,
  };
  const data = parseJson(draft.data, 'payload.data', errors);
  switch (draft.type) {
    case 'http': {
      const kept = previous?.type === 'http' ? previous.payload : {};
      return { body: { ...common, type: 'http', payload: { ...kept, url: draft.url, method: draft.method, body: parseJson(draft.body, 'payload.body', errors) } }, errors };
    }
    case 'webhook': {
      const kept = previous?.type === 'webhook' ? previous.payload : {};
      return { body: { ...common, type: 'webhook', payload: { ...kept, url: draft.url, data: data ?? null, secret: draft.secret || undefined } }, errors };
    }
    case 'script': {
      const kept = previous?.type === 'script' ? previous.payload : {};
      const args = draft.args.split('\n').filter((arg) => arg !== '');
      return { body: { ...common, type: 'script', payload: { ...kept, command: draft.command, args: args.length ? args : undefined } }, errors };
    }
    case 'email': {
      const kept = previous?.type === 'email' ? previous.payload : {};
      const to = draft.to.split(',').map((address) => address.trim()).filter(Boolean);
      return { body: { ...common, type: 'email', payload: { ...kept, to: to.length === 1 ? to[0]! : to, subject: draft.subject, text: draft.text || undefined } }, errors };
    }
    case 'custom': {
      const kept = previous?.type === 'custom' ? previous.payload : {};
      return { body: { ...common, type: 'custom', payload: { ...kept, handler: draft.handler, data } }, errors };
    }
  }
}

/** The next fire times of the schedule being typed, from the server's own dry run (POST /jobs/preview). */
function LivePreview({ schedule }: { schedule: Schedule }) {
  const key = JSON.stringify(schedule);
  const [result, setResult] = useState<{ key: string; items?: { at: string; note?: string }[]; problem?: Problem }>();
  useEffect(() => {
    if (schedule.kind === 'immediate' || (schedule.kind === 'at' && !schedule.runAt)) return;
    const timer = setTimeout(() => {
      void api.POST('/api/v1/jobs/preview', { body: { schedule, count: 5 } }).then(({ data, error }) => setResult({ key, ...(data ? { items: data.items } : {}), ...(error ? { problem: error } : {}) }));
    }, 300);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` is the schedule's value
  }, [key]);
  if (schedule.kind === 'immediate') return null;
  return (
    <div className="preview" aria-live="polite">
      <h3 id="preview-heading">Next fire times</h3>
      {result?.problem && <p className="field-error">{problemText(result.problem)}</p>}
      {result?.items && (
        <ol aria-labelledby="preview-heading">
          {result.items.map((item) => (
            <li key={item.at}>
              {when(item.at)}
              {item.note && <span className="note"> — {item.note}</span>}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

export function NewJob() {
  return <JobForm initial={EMPTY} />;
}

export function EditJob() {
  const { id = '' } = useParams();
  const job = useLoad(() => api.GET('/api/v1/jobs/{id}', { params: { path: { id } } }), [id]);
  if (job.problem && !job.data) return <ProblemMessage problem={job.problem} />;
  if (!job.data) return <p className="muted">Loading…</p>;
  return <JobForm initial={draftOf(job.data)} editing={job.data} />;
}

function JobForm({ initial, editing }: { initial: Draft; editing?: Job }) {
  const navigate = useNavigate();
  const [draft, setDraft] = useState<Draft>(initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<Problem | string | undefined>();
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((current) => ({ ...current, [key]: value }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    const { body, errors: local } = bodyOf(draft, editing);
    setErrors(local);
    if (Object.keys(local).length) return setProblem('Some fields need a fix.');
    setBusy(true);
    const { data, error } = editing
      ? await ifUnchanged(editing, (ifMatch) => api.PATCH('/api/v1/jobs/{id}', { params: { path: { id: editing.id }, header: { 'If-Match': ifMatch } }, body }))
      : await api.POST('/api/v1/jobs', { body });
    setBusy(false);
    if (data) return navigate(`/jobs/${data.id}`);
    setErrors(Object.fromEntries((error?.errors ?? []).map((field) => [field.field, field.message])));
    setProblem(
      error?.code === 'VERSION_CONFLICT'
        ? 'This job was changed meanwhile, after this form was opened: reload the page to edit the current version (your changes are not saved).'
        : problemText(error),
    );
  }

  /** A labelled control with its server-side error, announced with it. */
  const field = (name: string, label: string, control: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode, hint?: string) => {
    const id = `field-${name.replace(/\./g, '-')}`;
    const message = errors[name];
    return (
      <div className="field">
        <label htmlFor={id}>{label}</label>
        {control({ id, 'aria-invalid': Boolean(message), ...(message || hint ? { 'aria-describedby': `${id}-note` } : {}) })}
        {(message || hint) && (
          <span id={`${id}-note`} className={message ? 'field-error' : 'hint'}>
            {message ?? hint}
          </span>
        )}
      </div>
    );
  };
  const input = (key: keyof Draft, name: string, label: string, attributes: Record<string, string | boolean> = {}, hint?: string) =>
    field(name, label, (props) => <input {...props} {...attributes} value={String(draft[key])} onChange={(event) => set(key, event.target.value)} />, hint);
  const textarea = (key: keyof Draft, name: string, label: string, hint?: string) =>
    field(name, label, (props) => <textarea {...props} rows={3} value={String(draft[key])} onChange={(event) => set(key, event.target.value)} />, hint);
  const unplaced = Object.entries(errors).filter(([name]) => !FIELD_NAMES.has(name));

  return (
    <section>
      <h1>{editing ? `Edit ${editing.name}` : 'New job'}</h1>
      <form className="job-form" onSubmit={(event) => void submit(event)} noValidate>
        <fieldset>
          <legend>Job</legend>
          {input('name', 'name', 'Name', { required: true })}
          {input('description', 'description', 'Description')}
          {field('type', 'Type', (props) => (
            <select {...props} value={draft.type} onChange={(event) => set('type', JOB_TYPES.find((type) => type === event.target.value) ?? 'http')}>
              {JOB_TYPES.map((type) => (
                <option key={type}>{type}</option>
              ))}
            </select>
          ))}
        </fieldset>

        <fieldset>
          <legend>What it does ({draft.type})</legend>
          {(draft.type === 'http' || draft.type === 'webhook') && input('url', 'payload.url', 'URL', { type: 'url', placeholder: 'https://example.com/hook' })}
          {draft.type === 'http' &&
            field('payload.method', 'Method', (props) => (
              <select {...props} value={draft.method} onChange={(event) => set('method', HTTP_METHODS.find((method) => method === event.target.value) ?? 'GET')}>
                {HTTP_METHODS.map((method) => (
                  <option key={method}>{method}</option>
                ))}
              </select>
            ))}
          {draft.type === 'http' && textarea('body', 'payload.body', 'Request body (JSON)')}
          {(draft.type === 'webhook' || draft.type === 'custom') && textarea('data', 'payload.data', 'Data (JSON)')}
          {draft.type === 'webhook' && input('secret', 'payload.secret', 'Signing secret', { type: 'password', autoComplete: 'off' })}
          {draft.type === 'script' && input('command', 'payload.command', 'Command', {}, 'must be on CHRONOS_SCRIPT_ALLOWLIST (admins only)')}
          {draft.type === 'script' && textarea('args', 'payload.args', 'Arguments (one per line)')}
          {draft.type === 'email' && input('to', 'payload.to', 'To', {}, 'addresses, separated by commas')}
          {draft.type === 'email' && input('subject', 'payload.subject', 'Subject')}
          {draft.type === 'email' && textarea('text', 'payload.text', 'Text')}
          {draft.type === 'custom' && input('handler', 'payload.handler', 'Handler', {}, 'built in: noop, echo, sleep ({"ms": 1000})')}
        </fieldset>

        <fieldset>
          <legend>When it runs</legend>
          {field('schedule.kind', 'Schedule', (props) => (
            <select {...props} value={draft.kind} onChange={(event) => set('kind', SCHEDULE_KINDS.find((option) => option.kind === event.target.value)?.kind ?? 'cron')}>
              {SCHEDULE_KINDS.map((option) => (
                <option key={option.kind} value={option.kind}>
                  {option.label}
                </option>
              ))}
            </select>
          ))}
          {draft.kind === 'cron' && input('expression', 'schedule.expression', 'Cron expression', { className: 'mono' }, '5 fields (minute hour day month weekday), or 6 with seconds first')}
          {draft.kind === 'cron' && input('timezone', 'schedule.timezone', 'Time zone', {}, 'an IANA name such as Europe/Berlin')}
          {draft.kind === 'interval' && input('everySeconds', 'schedule.everyMs', 'Every (seconds)', { type: 'number', min: '1', step: 'any' })}
          {draft.kind === 'at' && input('runAt', 'schedule.runAt', 'Run at (your time)', { type: 'datetime-local', step: '1' })}
          <LivePreview schedule={scheduleOf(draft)} />
        </fieldset>

        <fieldset>
          <legend>Failures and overlaps</legend>
          {input('maxAttempts', 'retryPolicy.maxAttempts', 'Attempts', { type: 'number', min: '1', max: '100' }, 'every attempt, the first included')}
          {field('retryPolicy.backoff', 'Backoff', (props) => (
            <select {...props} value={draft.backoff} onChange={(event) => set('backoff', event.target.value === 'linear' ? 'linear' : event.target.value === 'fixed' ? 'fixed' : 'exponential')}>
              <option>exponential</option>
              <option>linear</option>
              <option>fixed</option>
            </select>
          ))}
          {input('delayMs', 'retryPolicy.delayMs', 'First retry after (ms)', { type: 'number', min: '0' })}
          {input('timeoutMs', 'timeoutMs', 'Timeout (ms)', { type: 'number', min: '1' })}
          {field('concurrencyPolicy', 'When the last run is still going', (props) => (
            <select {...props} value={draft.concurrencyPolicy} onChange={(event) => set('concurrencyPolicy', event.target.value === 'allow' ? 'allow' : event.target.value === 'replace' ? 'replace' : 'forbid')}>
              <option value="forbid">skip the new instant (forbid)</option>
              <option value="allow">run both (allow)</option>
              <option value="replace">cancel the old run (replace)</option>
            </select>
          ))}
          {field('misfirePolicy', 'Instants missed while no scheduler ran', (props) => (
            <select {...props} value={draft.misfirePolicy} onChange={(event) => set('misfirePolicy', event.target.value === 'skip' ? 'skip' : event.target.value === 'fire_all' ? 'fire_all' : 'fire_once')}>
              <option value="fire_once">run once (fire_once)</option>
              <option value="fire_all">run each (fire_all)</option>
              <option value="skip">skip them (skip)</option>
            </select>
          ))}
          {textarea('labels', 'labels', 'Labels (key=value, one per line)')}
        </fieldset>

        <ProblemMessage problem={problem} />
        {unplaced.length > 0 && (
          <ul className="field-error">
            {unplaced.map(([name, message]) => (
              <li key={name}>
                {name}: {message}
              </li>
            ))}
          </ul>
        )}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {editing ? 'Save changes' : 'Create job'}
          </button>
          <button type="button" onClick={() => navigate(-1)}>
            Back
          </button>
        </div>
      </form>
    </section>
  );
}

/** The fields the form shows an error next to; any other is listed under the form. */
const FIELD_NAMES = new Set([
  'name', 'description', 'type', 'payload.url', 'payload.method', 'payload.body', 'payload.data', 'payload.secret', 'payload.command', 'payload.args', 'payload.to', 'payload.subject',
  'payload.text', 'payload.handler', 'schedule.kind', 'schedule.expression', 'schedule.timezone', 'schedule.everyMs', 'schedule.runAt', 'retryPolicy.maxAttempts', 'retryPolicy.backoff',
  'retryPolicy.delayMs', 'timeoutMs', 'concurrencyPolicy', 'misfirePolicy', 'labels',
]);
