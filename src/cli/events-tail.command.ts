import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { JobDto } from '../http/dto/responses.dto.js';
import { LIFECYCLE_TYPES, type LifecycleCloudEvent } from '../events/lifecycle-event.js';
import { ProblemError, type ChronosClient } from './chronos-client.js';
import { jsonOption, stringOption, timeOption, UsageError, type Command } from './command.js';
import { inline, print, printError } from './terminal.js';
import { formatMs, sleep } from './time.js';

const RECONNECT_FIRST_DELAY_MS = 500;
const RECONNECT_MAX_DELAY_MS = 10_000;
/** Chronos sends a keepalive every 15 s: this long without a byte, the connection is dead (not just quiet). */
const SILENCE_LIMIT_MS = 45_000;
const TYPE_GROUPS = ['job', 'execution', 'notification'];
const TYPE_WIDTH = Math.max(...LIFECYCLE_TYPES.map((type) => type.length));

export const eventsTail: Command = {
  name: 'events tail',
  summary: 'follow lifecycle events live, one line each',
  synopsis: '[--job ID] [--type T] [--since ISO] [--json]',
  help: `Follows your jobs' lifecycle events (admins: everyone's) as they happen, one line each: time, type,
job id and name, and what happened (execution, attempt, duration, error). Runs until Ctrl-C; when the
connection drops it reconnects and resumes after the last event it printed, missing nothing.

Options:
  --job ID      only this job's events
  --type T      only these types: a lifecycle type (execution.failed) or a group (job, execution,
                notification); several separated by commas
  --since ISO   first the events from this time on (read from the start of the lifecycle stream), then live
  --json        each event as one line of CloudEvents JSON`,
  options: { job: { type: 'string' }, type: { type: 'string' }, since: { type: 'string' }, ...jsonOption },
  async run({ values, client }) {
    const since = timeOption(values, 'since');
    const wanted = lifecycleFilter({ jobId: stringOption(values, 'job'), types: parseTypes(stringOption(values, 'type')), since });
    const names = new JobNames(client);
    // The SSE id is the event's position in the lifecycle stream: 0 asks for the stream from its start.
    let lastEventId = since ? '0' : undefined;
    let connected = false;
    let delayMs = RECONNECT_FIRST_DELAY_MS;
    for (;;) {
      const silence = new SilenceWatch(SILENCE_LIMIT_MS);
      try {
        const response = await client.stream('/events/stream', lastEventId ? { 'last-event-id': lastEventId } : {}, silence.signal);
        printError(`${connected ? 'reconnected' : 'following lifecycle events'} at ${client.url} (Ctrl-C to stop)`);
        connected = true;
        delayMs = RECONNECT_FIRST_DELAY_MS;
        const messages: EventSourceMessage[] = [];
        const parser = createParser({ onEvent: (message) => messages.push(message) });
        const decoder = new TextDecoder();
        for await (const chunk of response.body!) {
          silence.heard();
          parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
          for (const message of messages.splice(0)) {
            if (message.id) lastEventId = message.id;
            const event = JSON.parse(message.data) as LifecycleCloudEvent;
            if (!wanted(event)) continue;
            print(values.json ? JSON.stringify(event) : describeLifecycleEvent(event, await names.of(event)));
          }
        }
      } catch (error) {
        // Refusals (bad token, forbidden) will not get better; a restarting or unreachable server will.
        const refused = error instanceof ProblemError && error.status < 500 && error.status !== 429;
        if (!connected || refused) throw error;
        if (error instanceof ProblemError && error.retryAfterSeconds) delayMs = Math.max(delayMs, error.retryAfterSeconds * 1000);
      } finally {
        silence.stop();
      }
      printError(`the event stream closed; reconnecting in ${formatMs(delayMs)}${lastEventId ? ` after event ${inline(lastEventId)}` : ''}`);
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, RECONNECT_MAX_DELAY_MS);
    }
  },
};

type LifecycleEventLine = Pick<LifecycleCloudEvent, 'type' | 'subject' | 'time' | 'data' | 'chronosreplay'>;

/** `--type execution.failed,job`: lifecycle types and groups, checked so that a typo does not silently show nothing. */
export function parseTypes(text: string | undefined): string[] {
  if (text === undefined) return [];
  const types = text.split(',').map((type) => type.trim().replace(/^chronos\./, '')).filter(Boolean);
  const unknown = types.filter((type) => !TYPE_GROUPS.includes(type) && !(LIFECYCLE_TYPES as readonly string[]).includes(type));
  if (unknown.length > 0) throw new UsageError(`unknown event type ${unknown.join(', ')}: use a group (${TYPE_GROUPS.join(', ')}) or one of ${LIFECYCLE_TYPES.join(', ')}`);
  return types;
}

export function lifecycleFilter(options: { jobId?: string; types: string[]; since?: string }): (event: LifecycleEventLine) => boolean {
  const sinceMs = options.since ? Date.parse(options.since) : -Infinity;
  return (event) => {
    const type = event.type.replace(/^chronos\./, '');
    if (options.jobId && event.subject !== options.jobId) return false;
    if (options.types.length > 0 && !options.types.some((wanted) => type === wanted || type.startsWith(`${wanted}.`))) return false;
    return Date.parse(event.time) >= sinceMs;
  };
}

/** One line: time, type, job (and its name when known), what happened; all of it data, shown inline. */
export function describeLifecycleEvent(event: LifecycleEventLine, jobName?: string): string {
  const type = inline(event.type).replace(/^chronos\./, '');
  const job = jobName ? `${inline(event.subject)} "${inline(jobName)}"` : inline(event.subject);
  return [inline(event.time), type.padEnd(TYPE_WIDTH), job, inline(lifecycleDetails(event.data)), event.chronosreplay ? '(replay)' : ''].filter(Boolean).join('  ');
}

/** What an event's data says, in a fixed order, from whichever of these fields it has (errors last: they are long). */
function lifecycleDetails(data: Record<string, unknown>): string {
  const has = (field: string) => data[field] !== undefined && data[field] !== null && data[field] !== '';
  const parts: string[] = [];
  const spec = data.spec as { type?: string } | undefined;
  if (spec?.type) parts.push(`${spec.type} job`);
  if (has('executionId')) parts.push(`execution ${data.executionId}`);
  else if (has('nextRunAt')) parts.push(`next run ${data.nextRunAt}`);
  if (has('attempt')) parts.push(`attempt ${data.attempt}`);
  if (has('nextAttempt')) parts.push(`attempt ${data.nextAttempt} at ${data.retryAt}`);
  if (has('trigger')) parts.push(`trigger ${data.trigger}`);
  if (has('workerId')) parts.push(`on ${data.workerId}`);
  if (has('durationMs')) parts.push(`took ${formatMs(data.durationMs as number)}`);
  if (has('attempts')) parts.push(`after ${data.attempts} attempt${data.attempts === 1 ? '' : 's'}`);
  if (has('channel')) parts.push(`${data.channel} to ${data.to}`);
  if (has('reason')) parts.push(`reason ${data.reason}`);
  if (has('note')) parts.push(`note: ${data.note}`);
  if (has('detail')) parts.push(String(data.detail));
  if (has('error') || has('lastError')) parts.push(`error: ${data.error ?? data.lastError}`);
  return parts.join(', ');
}

/** Aborts its signal when `limitMs` pass without `heard()`. */
class SilenceWatch {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;

  constructor(private readonly limitMs: number) {
    this.timer = setTimeout(() => this.controller.abort(), limitMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  heard(): void {
    this.timer.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** Job names for event lines: from the events that carry one, else asked once per job. */
class JobNames {
  private readonly known = new Map<string, string | null>();

  constructor(private readonly client: ChronosClient) {}

  async of(event: LifecycleEventLine): Promise<string | undefined> {
    const spec = event.data.spec as { name?: string } | undefined;
    if (spec?.name) this.known.set(event.subject, spec.name);
    if (!this.known.has(event.subject)) {
      try {
        this.known.set(event.subject, (await this.client.get<JobDto>(`/jobs/${encodeURIComponent(event.subject)}`)).name);
      } catch (error) {
        // A deleted job has no name any more, nor one the API refuses to show; when the API is unreachable
        // the stream notices too, and the job's next event asks again.
        if (error instanceof ProblemError) this.known.set(event.subject, null);
      }
    }
    return this.known.get(event.subject) ?? undefined;
  }
}
