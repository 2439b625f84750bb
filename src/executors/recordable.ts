import { isUtf8 } from 'node:buffer';
import { wellFormedText } from '../domain/text.js';
import type { LogEntry, LogLevel } from '../events/messages.js';

export { wellFormedText };

/**
 * What Chronos records about a run (an execution's output and error, its log entries, how a notification
 * went) crosses NATS as JSON and lands in PostgreSQL `jsonb` and `text`, which hold neither U+0000 nor an
 * unpaired surrogate; one such value in an event would stop the read models for everyone. Every recorded
 * value therefore passes through here first: the results are well-formed Unicode without U+0000,
 * JSON-serializable by construction, and bounded in size.
 *
 * - Text: U+0000 and unpaired surrogates become U+FFFD; a cut falls on a code-point boundary and ends in "…".
 * - Bytes: UTF-8 text when they are valid UTF-8 without NUL (other control characters are kept: JSON escapes
 *   them and both stores hold them), otherwise base64 (`bytesForm`).
 * - Any value (`recordableValue`): what JSON.stringify would make of it, except that nothing makes it throw
 *   or produce something unstorable: see its comment.
 */

const ELLIPSIS = '…';
const ELLIPSIS_BYTES = 3;

/** Nesting below this depth is recorded as "[too deep]" (PostgreSQL and every JSON reader are safe above it). */
export const MAX_DEPTH = 32;
/** An execution's output, as JSON, in UTF-8 bytes. */
export const MAX_OUTPUT_BYTES = 64 * 1024;
/** An execution's error message, in UTF-8 bytes. */
export const MAX_ERROR_BYTES = 4096;

/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that ends on a code-point boundary. */
export function textPrefix(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  while (end < text.length) {
    const unit = text.charCodeAt(end);
    const pair = unit >= 0xd800 && unit <= 0xdbff && end + 1 < text.length && (text.charCodeAt(end + 1) & 0xfc00) === 0xdc00;
    const size = pair ? 4 : unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += pair ? 2 : 1;
  }
  return text.slice(0, end);
}

/** `text` made well-formed and, when longer than `maxBytes` UTF-8 bytes, cut on a code point to end in "…" within them. */
export function recordableText(text: string, maxBytes: number): string {
  const clean = wellFormedText(text);
  const cut = textPrefix(clean, maxBytes);
  return cut === clean ? clean : `${textPrefix(cut, maxBytes - ELLIPSIS_BYTES)}${ELLIPSIS}`;
}

/** The message of anything thrown, without ever throwing itself (a handler may throw a string, null, or a hostile object). */
export function errorMessage(thrown: unknown): string {
  try {
    if (thrown instanceof Error && typeof thrown.message === 'string') return thrown.message;
    return typeof thrown === 'string' ? thrown : String(thrown);
  } catch {
    return 'unknown error (it could not be described)';
  }
}

/**
 * `end`, or less so that `bytes[0, end)` does not end inside a UTF-8 sequence: a lead byte among the last
 * three whose sequence `end` would cut is left out. Bytes that are not UTF-8 anyway are cut at `end`.
 */
export function utf8Boundary(bytes: Uint8Array, end: number): number {
  const stop = Math.min(end, bytes.length);
  let lead = stop - 1;
  while (lead > 0 && lead > stop - 4 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return stop;
  const first = bytes[lead]!;
  if ((first & 0xc0) !== 0xc0) return stop; // ASCII, or continuation bytes without a lead: nothing partial to drop
  const length = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : 2;
  return lead + length > stop ? lead : stop;
}

/** Whether `bytes` are valid UTF-8 holding no U+0000: recordable as they are, as text. */
export function isRecordableText(bytes: Uint8Array): boolean {
  return bytes.indexOf(0) === -1 && isUtf8(bytes);
}

/** Bytes in a recordable form: `data` is their text (`encoding` "utf8") or their base64 (`encoding` "base64"). */
export interface BytesForm {
  encoding: 'utf8' | 'base64';
  data: string;
  /** Fewer bytes are in `data` than were given (the form keeps at most `keepBytes`). */
  truncated: boolean;
}

/**
 * The first `keepBytes` of `bytes` as text when they are valid UTF-8 without NUL (cut before a sequence the
 * limit would split), otherwise as base64 of exactly those bytes. `more`: the bytes given are only the start.
 */
export function bytesForm(bytes: Uint8Array, keepBytes: number, more = false): BytesForm {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kept = view.subarray(0, keepBytes);
  const truncated = more || kept.length < view.length;
  const text = truncated ? kept.subarray(0, utf8Boundary(kept, kept.length)) : kept;
  if (isRecordableText(text)) return { encoding: 'utf8', data: text.toString('utf8'), truncated: truncated };
  return { encoding: 'base64', data: kept.toString('base64'), truncated };
}

export interface RecordableOptions {
  /** Bound on the value's JSON text, in UTF-8 bytes. */
  maxBytes: number;
  /** Applied to every whole string and key before anything is cut, so a secret is masked whole, never shown in part. */
  mask?: (text: string) => string;
}

/** What a value too large to record becomes: the start of its JSON text. */
export interface TruncatedValue {
  truncated: true;
  limitBytes: number;
  /** The start of the value's JSON text (at most 4 KiB). */
  preview: string;
}

class Overflow extends Error {}

/**
 * `value` as a plain JSON value that PostgreSQL `jsonb` and every consumer can hold, within `maxBytes` of
 * JSON text. The same as `JSON.parse(JSON.stringify(value))`, except:
 * - strings and keys: U+0000 and unpaired surrogates become U+FFFD (and `mask` is applied);
 * - a BigInt becomes its decimal string; NaN and ±Infinity become null (as JSON.stringify makes them);
 * - a Buffer, typed array, DataView or ArrayBuffer becomes `{ encoding, data, bytes, truncated }` (`bytesForm`,
 *   cut to the room left; base64 also when its text, escaped, would not fit; `bytes` is its full length);
 * - a reference to an object being recorded (a cycle) becomes "[circular]", nesting past 32 levels "[too deep]",
 *   and a part whose reading throws (a getter, `toJSON`, a proxy) "[unserializable: <message>]";
 * - undefined, a function or a symbol alone gives undefined (nothing is recorded);
 * - a value whose JSON would exceed `maxBytes` becomes `{ truncated: true, limitBytes, preview }`.
 * Never throws.
 */
export function recordableValue(value: unknown, options: RecordableOptions): unknown {
  const writer = new BoundedJson(options);
  try {
    if (!writer.value(value, 0, [])) return undefined;
    return JSON.parse(writer.text());
  } catch (error) {
    if (!(error instanceof Overflow)) throw error;
    return truncatedValue(writer.text(), options.maxBytes);
  }
}

/** The truncated form of a value whose JSON text starts with `json`: as much of that as fits within `maxBytes` (at most 4 KiB). */
function truncatedValue(json: string, maxBytes: number): TruncatedValue {
  const form: TruncatedValue = { truncated: true, limitBytes: maxBytes, preview: '' };
  const room = maxBytes - Buffer.byteLength(JSON.stringify(form));
  // Escaping (quotes, backslashes, controls) makes a preview longer in JSON: shrink it until it fits.
  for (let budget = Math.min(4096, room); budget >= 3; ) {
    form.preview = recordableText(json, budget);
    const excess = Buffer.byteLength(JSON.stringify(form.preview)) - 2 - room;
    if (excess <= 0) return form;
    budget -= Math.max(excess, 1);
  }
  form.preview = '';
  return form;
}

/** What a run reports (the worker's FinishExecution): the output and the error, masked, recordable and bounded. */
export function recordableResult(output: unknown, error: string | undefined, mask?: (text: string) => string): { output?: unknown; error?: string } {
  const recorded = recordableValue(output, { maxBytes: MAX_OUTPUT_BYTES, mask });
  return {
    ...(recorded !== undefined ? { output: recorded } : {}),
    ...(error !== undefined ? { error: recordableText(mask ? mask(error) : error, MAX_ERROR_BYTES) } : {}),
  };
}

/** Writes JSON text piece by piece, throwing Overflow once it would pass its bound (the pieces so far stay for a preview). */
class BoundedJson {
  private readonly parts: string[] = [];
  private bytes = 0;

  constructor(private readonly options: RecordableOptions) {}

  text(): string {
    return this.parts.join('');
  }

  /** Writes `value`; false when it has no JSON form (undefined, a function, a symbol) and nothing was written. */
  value(value: unknown, depth: number, ancestors: object[]): boolean {
    switch (typeof value) {
      case 'string':
        this.string(value);
        return true;
      case 'number':
        this.emit(Number.isFinite(value) ? JSON.stringify(value) : 'null');
        return true;
      case 'boolean':
        this.emit(value ? 'true' : 'false');
        return true;
      case 'bigint':
        this.string(value.toString());
        return true;
      case 'object':
        if (value === null) {
          this.emit('null');
          return true;
        }
        this.object(value, depth, ancestors);
        return true;
      default:
        return false;
    }
  }

  private object(value: object, depth: number, ancestors: object[]): void {
    if (ancestors.includes(value)) return this.string('[circular]');
    if (depth >= MAX_DEPTH) return this.string('[too deep]');
    const mark = { parts: this.parts.length, bytes: this.bytes };
    try {
      const inner = [...ancestors, value];
      if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return this.binary(value);
      // Boxed primitives are written as their primitive, as JSON.stringify does.
      if (value instanceof String || value instanceof Number || value instanceof Boolean) {
        this.value(value.valueOf(), depth, inner);
        return;
      }
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        if (!this.value(toJSON.call(value), depth + 1, inner)) this.emit('null');
        return;
      }
      if (Array.isArray(value)) {
        this.emit('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) this.emit(',');
          if (!this.value(value[i], depth + 1, inner)) this.emit('null');
        }
        this.emit(']');
        return;
      }
      this.emit('{');
      let first = true;
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        if (!first) this.emit(',');
        first = false;
        this.string(key);
        this.emit(':');
        this.value(item, depth + 1, inner);
      }
      this.emit('}');
    } catch (error) {
      if (error instanceof Overflow) throw error;
      // What this object wrote before it threw is taken back: the JSON stays whole.
      this.parts.length = mark.parts;
      this.bytes = mark.bytes;
      this.string(`[unserializable: ${errorMessage(error)}]`);
    }
  }

  private binary(value: ArrayBuffer | ArrayBufferView): void {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    // Base64 takes 4 characters for 3 bytes: keep what fits in the room left, with some for the keys.
    const room = Math.max(0, Math.floor(((this.options.maxBytes - this.bytes) * 3) / 4) - 96);
    let form = bytesForm(bytes, room);
    // Text that JSON escapes (control characters) can outgrow the room: then the same bytes as base64.
    if (form.encoding === 'utf8' && Buffer.byteLength(JSON.stringify(form.data)) > (room * 4) / 3) {
      form = { encoding: 'base64', data: Buffer.from(bytes.subarray(0, room)).toString('base64'), truncated: room < bytes.byteLength };
    }
    this.emit(`{"encoding":"${form.encoding}","data":`);
    this.string(form.data, false);
    this.emit(`,"bytes":${bytes.byteLength},"truncated":${form.truncated}}`);
  }

  private string(text: string, mask = true): void {
    const masked = mask && this.options.mask ? this.options.mask(text) : text;
    // Work on no more of a long string than could still fit (JSON takes at least a byte per character).
    const room = this.options.maxBytes - this.bytes;
    const head = masked.length > room ? masked.slice(0, room + 1) : masked;
    this.emit(JSON.stringify(wellFormedText(head)));
  }

  private emit(piece: string): void {
    const size = Buffer.byteLength(piece);
    if (this.bytes + size > this.options.maxBytes) {
      this.parts.push(textPrefix(piece, this.options.maxBytes - this.bytes));
      this.bytes = this.options.maxBytes;
      throw new Overflow();
    }
    this.parts.push(piece);
    this.bytes += size;
  }
}

/** What one execution may log: entries past either cap are dropped, and the log says so once. */
export const MAX_LOG_ENTRIES = 1000;
export const MAX_LOG_BYTES = 1024 * 1024;
/** One entry's message and its metadata (as JSON), in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 8192;
export const MAX_METADATA_BYTES = 16 * 1024;
const LEVELS: ReadonlySet<string> = new Set<LogLevel>(['debug', 'info', 'warn', 'error']);

/**
 * An entry as it is stored: the message well-formed text (U+0000 and unpaired surrogates as U+FFFD) of at
 * most MAX_MESSAGE_BYTES, the metadata a JSON object of at most MAX_METADATA_BYTES (recordableValue), an
 * unknown level as `info`. Whatever an executor or a custom handler passes (binary text, a circular object,
 * not even a string), the entry can be shipped and stored.
 */
export function recordableEntry(level: unknown, message: unknown, metadata: unknown, mask?: (text: string) => string): Pick<LogEntry, 'level' | 'message' | 'metadata'> {
  const text = typeof message === 'string' ? message : (JSON.stringify(recordableValue(message, { maxBytes: MAX_MESSAGE_BYTES, mask })) ?? String(message));
  const meta = metadata === undefined || metadata === null ? {} : recordableValue(metadata, { maxBytes: MAX_METADATA_BYTES, mask });
  return {
    level: typeof level === 'string' && LEVELS.has(level) ? (level as LogLevel) : 'info',
    message: recordableText(mask ? mask(text) : text, MAX_MESSAGE_BYTES),
    metadata: typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? (meta as Record<string, unknown>) : { value: meta ?? null },
  };
}

