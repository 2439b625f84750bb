import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { useEffect, useRef } from 'react';
import { accessToken } from '../api/client';

/** A lifecycle CloudEvent as the stream sends it (AsyncAPI document at /asyncapi.json). */
export interface LifecycleEvent {
  id: string;
  /** `chronos.job.created`, `chronos.execution.succeeded`, ... */
  type: string;
  /** The job id. */
  subject: string;
  time: string;
  data: Record<string, unknown>;
}

type Listener = (event: LifecycleEvent) => void;

/**
 * The caller's lifecycle events, live, from GET /api/v1/events/stream. EventSource cannot send an
 * Authorization header, so this reads the stream with fetch and the bearer token, parsing server-sent events
 * with eventsource-parser (as the CLI does). When the stream ends (network, restart, the token's expiry) it reconnects with a fresh token and
 * Last-Event-ID, so nothing is missed. One connection serves every subscriber of the page.
 */
class LifecycleStream {
  private readonly listeners = new Set<Listener>();
  private abort: AbortController | undefined;
  private lastEventId: string | undefined;

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (!this.abort) void this.run((this.abort = new AbortController()));
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.abort?.abort();
        this.abort = undefined;
      }
    };
  }

  private async run(abort: AbortController): Promise<void> {
    let failures = 0;
    while (!abort.signal.aborted) {
      const token = await accessToken();
      if (!token) break; // signed out: the next subscription after sign-in starts again
      try {
        const response = await fetch('/api/v1/events/stream', {
          headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream', ...(this.lastEventId ? { 'Last-Event-ID': this.lastEventId } : {}) },
          signal: abort.signal,
        });
        if (response.ok && response.body) {
          failures = 0;
          await this.read(response.body);
        } else failures++;
      } catch {
        if (abort.signal.aborted) return;
        failures++;
      }
      // Back off on repeated failures (1 s, 2 s, … 30 s); reconnect at once after a stream that worked.
      if (failures) await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** (failures - 1))));
    }
    if (this.abort === abort) this.abort = undefined;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = createParser({ onEvent: (message) => this.dispatch(message) });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  }

  private dispatch({ id, data }: EventSourceMessage): void {
    if (id !== undefined) this.lastEventId = id;
    let event: LifecycleEvent;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    for (const listener of this.listeners) listener(event);
  }
}

const stream = new LifecycleStream();

/**
 * Calls `onEvent` for each lifecycle event (of `jobId` only, when given) while the component is mounted.
 * Events come in bursts (queued, started, succeeded): `onEvent` is the latest callback, no re-subscription.
 */
export function useLifecycle(onEvent: (event: LifecycleEvent) => void, jobId?: string): void {
  const latest = useRef(onEvent);
  latest.current = onEvent;
  useEffect(() => stream.subscribe((event) => (jobId === undefined || event.subject === jobId) && latest.current(event)), [jobId]);
}

/** Re-runs `reload` after lifecycle events, at most once per `delayMs` (a burst of events makes one reload). */
export function useLiveReload(reload: () => void, jobId?: string, delayMs = 250): void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(reload);
  latest.current = reload;
  useEffect(() => () => clearTimeout(timer.current), []);
  useLifecycle(() => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, delayMs);
  }, jobId);
}
