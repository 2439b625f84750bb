import { Controller, Get, Headers, Inject, Req, Res, type BeforeApplicationShutdown } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import type { Request, Response } from 'express';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { LIFECYCLE_STREAM, LIFECYCLE_SUBJECT_PREFIX } from '../lifecycle/lifecycle-event.js';
import { CurrentCaller, type Caller } from './caller.js';
import { RequestValidationError } from './problem-details.filter.js';

const KEEPALIVE_MS = 15_000;

/**
 * Server-sent events of the caller's lifecycle events (admins: everyone's), live from CHRONOS_LIFECYCLE.
 * Each event's SSE id is its position in that stream: a client that reconnects with Last-Event-ID resumes
 * right after it, missing nothing.
 */
@ApiTags('events')
@ApiBearerAuth()
@Controller('events')
export class EventStreamController implements BeforeApplicationShutdown {
  /** Open streams, ended on shutdown so that closing the server does not wait for clients to leave. */
  private readonly open = new Set<Response>();

  constructor(@Inject(NATS_CLIENTS) private readonly nats: NatsClients) {}

  beforeApplicationShutdown(): void {
    for (const res of this.open) res.end();
  }

  @Get('stream')
  @ApiOperation({ summary: 'Your lifecycle events as server-sent events (event: the type, data: the CloudEvent)' })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'resume after this event: the id of an event of this stream (digits); empty is none' })
  @ApiOkResponse({ description: 'text/event-stream' })
  async stream(@CurrentCaller() caller: Caller, @Headers('last-event-id') lastEventId: string | undefined, @Req() req: Request, @Res() res: Response): Promise<void> {
    const resumeAfter = lastEventSequence(lastEventId);
    const consumer = await this.nats.js.consumers.get(LIFECYCLE_STREAM, {
      filter_subjects: `${LIFECYCLE_SUBJECT_PREFIX}.${caller.role === 'admin' ? '*' : caller.id}.>`,
      ...(resumeAfter !== undefined ? { opt_start_seq: resumeAfter + 1 } : { deliver_policy: DeliverPolicy.New }),
    });
    const messages: ConsumerMessages = await consumer.consume();
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    res.write(': connected\n\n');
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    this.open.add(res);
    req.on('close', () => {
      this.open.delete(res);
      clearInterval(keepalive);
      void messages.close();
      void consumer.delete().catch(() => undefined);
    });
    res.on('close', () => void messages.close());
    for await (const message of messages) {
      const event = message.json<{ type: string }>();
      res.write(`id: ${message.seq}\nevent: ${event.type}\ndata: ${message.string()}\n\n`);
    }
  }
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
