import { sleep } from './stack.js';

export interface SseEvent {
  id: string;
  event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- CloudEvents of the API under test
  data: any;
}

/**
 * One open GET /api/v1/events/stream: the events and comment lines as they come, and whether (and why) the
 * server ended it. `close()` disconnects.
 */
export class SseStream {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** Resolves when the server ends the stream (or `close()` is called). */
  readonly ended: Promise<void>;
  private readonly controller = new AbortController();

  private constructor(readonly response: Response) {
    this.ended = this.read();
  }

  static async open(base: string, token: string, lastEventId?: string): Promise<SseStream> {
    const controller = new AbortController();
    const response = await fetch(`${base}/api/v1/events/stream`, {
      headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      signal: controller.signal,
    });
    const stream = new SseStream(response);
    stream.controller.signal.addEventListener('abort', () => controller.abort());
    return stream;
  }

  get status(): number {
    return this.response.status;
  }

  /** Waits until `until` holds for the events read so far, or the stream ends, or `timeoutMs` passes. */
  async waitFor(until: (events: SseEvent[]) => boolean, timeoutMs = 15_000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    let over = false;
    void this.ended.then(() => (over = true));
    while (!until(this.events) && !over && Date.now() < deadline) await sleep(25);
    return this.events;
  }

  close(): void {
    this.controller.abort();
  }

  private async read(): Promise<void> {
    if (!this.response.ok || !this.response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of this.response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n');
          this.comments.push(...lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).trim()));
          const fields = Object.fromEntries(lines.filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
          if (fields.data) this.events.push({ id: fields.id!, event: fields.event!, data: JSON.parse(fields.data) });
        }
      }
    } catch (error) {
      if (!this.controller.signal.aborted) throw error;
    }
  }
}
