import { Controller, Get, Headers, Inject, Res, type BeforeApplicationShutdown } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Response } from 'express';
import { SessionCache, type SessionChange } from '../auth/session-cache.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { LIFECYCLE_STREAM, LIFECYCLE_SUBJECTS, ownerLifecycleSubjects } from '../events/streams.js';
import { CurrentCaller, type Caller } from './caller.js';
import { RequestValidationError } from './problem-details.filter.js';

const KEEPALIVE_MS = 15_000;
/** setTimeout's longest delay; a later deadline is reached in several steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Server-sent events of the caller's lifecycle events (admins: everyone's), live from CHRONOS_LIFECYCLE.
 * Each event's SSE id is its position in that stream: a client that reconnects with Last-Event-ID resumes
 * right after it, missing nothing. A stream lives no longer than what let it open: it ends when the access
 * token expires, when its session ends (logout, revocation) and when the caller's role changes; the client
 * reconnects with a valid token and gets what its rights are then.
 */
@ApiTags('events')
@ApiBearerAuth()
@Controller('events')
export class EventStreamController implements BeforeApplicationShutdown {
  /** Open streams (their close), ended on shutdown so that closing the server does not wait for clients to leave. */
  private readonly open = new Set<(reason: string) => void>();

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    private readonly sessions: SessionCache,
  ) {}

  beforeApplicationShutdown(): void {
    for (const close of this.open) close('shutting down');
  }

  @Get('stream')
  @ApiOperation({
    summary: 'Your lifecycle events as server-sent events (event: the type, data: the CloudEvent)',
    description: 'The stream ends when the access token expires, at logout or session revocation, and when your role changes: reconnect with a valid token (and Last-Event-ID).',
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'resume after this event: the id of an event of this stream (digits); empty is none' })
  @ApiOkResponse({ description: 'text/event-stream' })
  async stream(@CurrentCaller() caller: Caller, @Headers('last-event-id') lastEventId: string | undefined, @Res() res: Response): Promise<void> {
    const resumeAfter = lastEventSequence(lastEventId);
    const claims = caller.claims!;
    let closedFor: string | undefined;
    const cleanups: (() => void)[] = [];
    const close = (reason: string) => {
      if (closedFor !== undefined) return;
      closedFor = reason;
      this.open.delete(close);
      for (const cleanup of cleanups) cleanup();
      if (res.headersSent && !res.writableEnded) res.end(`: closed: ${reason}\n\n`);
    };
    this.open.add(close);
    // Listening before anything is awaited: a logout while the consumer is being made still closes the stream.
    cleanups.push(this.sessions.onChange((change) => endsStream(change, caller) && close(endReason(change))));
    cleanups.push(closeAt(claims.exp * 1000, () => close('the access token expired')));
    res.on('close', () => close('the client left'));

    const consumer = await this.nats.js.consumers.get(LIFECYCLE_STREAM, {
      // The owner id is the caller's (a user's UUID, checked by the JWT strategy), made a safe token all the same.
      filter_subjects: caller.role === 'admin' ? LIFECYCLE_SUBJECTS : `${ownerLifecycleSubjects(caller.id)}.>`,
      ...(resumeAfter !== undefined ? { opt_start_seq: resumeAfter + 1 } : { deliver_policy: DeliverPolicy.New }),
    });
    const messages = await consumer.consume();
    const stopConsuming = () => {
      void messages.close();
      void consumer.delete().catch(() => undefined);
    };
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    if (closedFor !== undefined) {
      // Ended while the consumer was being made.
      stopConsuming();
      res.end(`: closed: ${closedFor}\n\n`);
      return;
    }
    cleanups.push(stopConsuming);
    res.write(': connected\n\n');
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    cleanups.push(() => clearInterval(keepalive));
    for await (const message of messages) {
      if (closedFor !== undefined) break;
      const event = message.json<{ type: string }>();
      res.write(`id: ${message.seq}\nevent: ${event.type}\ndata: ${message.string()}\n\n`);
    }
  }
}

/** Whether a session change takes away what opened this caller's stream. */
function endsStream(change: SessionChange, caller: Caller): boolean {
  return 'sessionId' in change ? change.sessionId === caller.claims!.sid : change.userId === caller.id;
}

const endReason = (change: SessionChange) => ('sessionId' in change ? 'the session ended' : 'the role changed');

/** Runs `action` at `epochMs` (at once if it has passed); returns the way to cancel it. */
function closeAt(epochMs: number, action: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = epochMs - Date.now();
    timer = left <= 0 ? setTimeout(action, 0) : setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * The stream sequence a reconnecting client saw last: an SSE id of this stream (digits, below 2^53 − 1 so
 * that the next one is exact too). An empty Last-Event-ID is none, as EventSource sends it.
 */
function lastEventSequence(header: string | undefined): number | undefined {
  if (header === undefined || header === '') return undefined;
  const sequence = /^\d+$/.test(header) ? Number(header) : NaN;
  if (!Number.isSafeInteger(sequence + 1)) {
    throw new RequestValidationError([{ field: 'Last-Event-ID', message: 'must be the id of an event of this stream (a sequence below 2^53 − 1)' }]);
  }
  return sequence;
}
