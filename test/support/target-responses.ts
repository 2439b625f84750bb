import fc from 'fast-check';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { SinkAnswer } from './http-sink.js';

/**
 * Generators of what a hostile or careless target answers an `http` job: bodies (random bytes, invalid
 * UTF-8, NUL, CESU-8/WTF-8 surrogates, an emoji where the 4 KiB cut falls, bodies past the 1 MiB read
 * cap), content codings (honest, unknown, lying, undeclared, cut short), statuses and header values
 * (Latin-1 bytes, UTF-8 bytes, long ones). Kept here so that every later change runs them.
 *
 * Replay a failure with the seed fast-check printed: CHRONOS_FC_SEED=<seed> (and CHRONOS_FC_RUNS=<n> for more runs).
 */

/** How the body is put on the wire, and what a reader can know of it afterwards. */
export type Coding =
  /** No Content-Encoding: the bytes as they are. */
  | 'identity'
  /** Declared and applied: the reader gets the content back. */
  | 'gzip'
  | 'x-gzip'
  | 'deflate'
  | 'br'
  /** A value no reader undoes (unknown, several codings, "identity"): the bytes are the content as sent. */
  | 'unknown'
  /** gzip applied but not declared: the content is the gzip bytes. */
  | 'undeclared-gzip'
  /** Declared gzip or br, but the bytes are not: what a reader gets is undefined, only its form is. */
  | 'lying'
  /** gzip declared, the stream cut in half: the reader gets some prefix of the content. */
  | 'cut-gzip';

export interface TargetResponse {
  status: number;
  /** Header name → value; a value's characters are the bytes written (Latin-1). */
  headers: Record<string, string>;
  /** What the target means to send, before any coding. */
  content: Buffer;
  coding: Coding;
  /** The coding's header value for `unknown` and `lying`. */
  codingHeader: string;
}

/** Statuses whose answers carry no body (Node's server sends none; readers ignore one). */
export const NULL_BODY_STATUSES = new Set([204, 205, 304]);

const text = fc.string({ unit: 'grapheme', maxLength: 600 }).map((s) => Buffer.from(s, 'utf8'));
const insert = (base: fc.Arbitrary<Buffer>, pieces: fc.Arbitrary<Buffer>) =>
  fc.tuple(base, fc.array(fc.tuple(fc.nat(), pieces), { minLength: 1, maxLength: 4 })).map(([body, inserts]) => {
    let out = body;
    for (const [at, piece] of inserts) {
      const i = body.length ? at % (out.length + 1) : 0;
      out = Buffer.concat([out.subarray(0, i), piece, out.subarray(i)]);
    }
    return out;
  });
/** A surrogate encoded on its own (CESU-8, WTF-8): ED A0..BF 80..BF. */
const encodedSurrogate = fc.tuple(fc.integer({ min: 0xa0, max: 0xbf }), fc.integer({ min: 0x80, max: 0xbf })).map(([b, c]) => Buffer.from([0xed, b, c]));
/** Byte sequences that are not UTF-8: overlong, past U+10FFFF, cut short, stray continuations, never-valid bytes. */
const invalidSequence = fc.constantFrom(
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xf5, 0x80, 0x80, 0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0x80]),
  Buffer.from([0xff]),
  Buffer.from([0xf0, 0x9f, 0x98]),
);
/** 4,096 − k bytes of "a" then a multi-byte character: the 4 KiB cut falls inside it (or just before, or after). */
const characterAtTheCut = fc
  .tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom('😀', '€', 'é', '𝄞'), fc.string({ maxLength: 20 }))
  .map(([k, character, tail]) => Buffer.from(`${'a'.repeat(4096 - k)}${character}${tail}`, 'utf8'));
/** Past the kept 4 KiB, some past the 1 MiB read cap: a repeated pattern, cheap to build and to compress. */
const large = fc
  .tuple(fc.constantFrom(4097, 70_000, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024), fc.constantFrom('a', 'ab\n', '\u0000\u0001', 'é'))
  .map(([size, pattern]) => Buffer.alloc(size, pattern));

export const bodyArbitrary: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 6000 }).map((b) => Buffer.from(b)) },
  { weight: 3, arbitrary: text },
  { weight: 2, arbitrary: insert(text, fc.constant(Buffer.from([0]))) },
  { weight: 2, arbitrary: insert(text, encodedSurrogate) },
  { weight: 2, arbitrary: insert(text, invalidSequence) },
  { weight: 3, arbitrary: characterAtTheCut },
  { weight: 1, arbitrary: large },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
);

export const codingArbitrary: fc.Arbitrary<{ coding: Coding; codingHeader: string }> = fc.oneof(
  fc.constantFrom<Coding>('identity', 'gzip', 'x-gzip', 'deflate', 'br', 'undeclared-gzip', 'cut-gzip').map((coding) => ({ coding, codingHeader: coding })),
  fc.constantFrom('bogus', 'gzip, br', 'compress', 'identity', 'GZIP2').map((codingHeader) => ({ coding: 'unknown' as const, codingHeader })),
  fc.constantFrom('gzip', 'br', 'deflate').map((codingHeader) => ({ coding: 'lying' as const, codingHeader })),
);

/** Header values as bytes a server may send: printable Latin-1, UTF-8 text, long ones (past the 1 KiB kept). */
const headerValue = fc
  .oneof(
    fc.string({ unit: fc.oneof(fc.integer({ min: 0x21, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 80 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }).map((s) => Buffer.from(s, 'utf8').toString('latin1')),
    fc.integer({ min: 1025, max: 3000 }).map((n) => `${'v'.repeat(n - 2)}é`),
  )
  // A server cannot send control characters in a value, and leading or trailing white space is not part of it.
  .filter((value) => !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value))
  .map((value) => value.trim())
  .filter((value) => value.length > 0);

export const headersArbitrary: fc.Arbitrary<Record<string, string>> = fc
  .array(headerValue, { maxLength: 4 })
  .map((values) => Object.fromEntries(values.map((value, i) => [`x-target-${i}`, value])));

export const statusArbitrary: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(200, 201, 204, 205, 304, 400, 404, 408, 418, 429, 500, 503),
  fc.integer({ min: 200, max: 599 }).filter((status) => ![301, 302, 303, 307, 308].includes(status)),
);

export const targetResponseArbitrary: fc.Arbitrary<TargetResponse> = fc
  .record({ status: statusArbitrary, headers: headersArbitrary, content: bodyArbitrary, coding: codingArbitrary })
  .map(({ coding, ...rest }) => ({ ...rest, ...coding }));

/** The answer the sink writes for `response`: its status, its headers and the bytes of its body on the wire. */
export function sinkAnswer(response: TargetResponse): SinkAnswer {
  const headers: Record<string, string> = { ...response.headers, 'content-type': 'application/octet-stream' };
  const { content } = response;
  let body: Buffer;
  switch (response.coding) {
    case 'identity':
      body = content;
      break;
    case 'gzip':
    case 'x-gzip':
      body = gzipSync(content);
      break;
    case 'deflate':
      body = deflateSync(content);
      break;
    case 'br':
      body = brotliCompressSync(content);
      break;
    case 'undeclared-gzip':
      body = gzipSync(content);
      break;
    case 'unknown':
    case 'lying':
      body = content;
      break;
    case 'cut-gzip': {
      const whole = gzipSync(content);
      body = whole.subarray(0, Math.floor(whole.length / 2));
      break;
    }
  }
  if (response.coding !== 'identity' && response.coding !== 'undeclared-gzip') {
    headers['content-encoding'] = response.coding === 'cut-gzip' ? 'gzip' : response.codingHeader;
  }
  return { status: response.status, headers, body };
}

/** The body a faithful reader gets, when it is known: undefined for `lying` and `cut-gzip` (then only a prefix of `content`, if anything, is). */
export function knownBody(response: TargetResponse): Buffer | undefined {
  if (NULL_BODY_STATUSES.has(response.status)) return Buffer.alloc(0);
  switch (response.coding) {
    case 'lying':
    case 'cut-gzip':
      return undefined;
    case 'undeclared-gzip':
      return gzipSync(response.content);
    default:
      return response.content;
  }
}
