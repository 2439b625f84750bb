/** One message of a text/event-stream. */
export interface ServerSentEvent {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Splits a text/event-stream into messages as chunks arrive (a chunk may end anywhere, even inside a line),
 * after the WHATWG rules the CLI needs: `id`, `event`, multi-line `data`, comments, CR/LF line ends.
 */
export class ServerSentEventParser {
  private buffer = '';
  private current: ServerSentEvent = { data: '' };
  private hasData = false;

  push(chunk: string): ServerSentEvent[] {
    const text = this.buffer + chunk;
    // A CR at the very end may be the first half of a CRLF: keep it until the next chunk says.
    const heldCarriageReturn = text.endsWith('\r');
    const lines = (heldCarriageReturn ? text.slice(0, -1) : text).split(/\r\n|\r|\n/);
    // The last piece has no line end yet.
    this.buffer = lines.pop()! + (heldCarriageReturn ? '\r' : '');
    const events: ServerSentEvent[] = [];
    for (const line of lines) {
      if (line === '') {
        if (this.hasData) events.push(this.current);
        this.current = { data: '' };
        this.hasData = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') {
        this.current.data = this.hasData ? `${this.current.data}\n${value}` : value;
        this.hasData = true;
      } else if (field === 'id' || field === 'event') {
        this.current[field] = value;
      }
    }
    return events;
  }
}
