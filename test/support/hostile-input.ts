import fc from 'fast-check';

/**
 * Generators of valid-shaped but adversarial input for the HTTP API, kept here so that every later change
 * runs them (test/hostile-input.e2e.test.ts). Strings reach every Unicode plane and carry what stores and
 * protocols choke on; numbers and instants sit at and beyond every boundary of the API.
 *
 * Each field is mostly storable-but-strange (every plane, controls, bidi marks, at its length cap) and now and
 * then refused (NUL, a lone surrogate, past its cap or range), so that a generated body is often accepted
 * and then has to come back unchanged, and a refused one is usually refused for one or two fields.
 */

/** Storable-but-strange most of the time, refused now and then. */
function mostly<T>(storable: fc.Arbitrary<T>, refused: fc.Arbitrary<T>, refusedWeight = 1): fc.Arbitrary<T> {
  return fc.oneof({ weight: 12, arbitrary: storable }, { weight: refusedWeight, arbitrary: refused });
}

/** The run's seed: `HOSTILE_SEED=<n>` replays a failing run exactly (fast-check prints the seed it used). */
export function hostileSeed(): number {
  const given = process.env.HOSTILE_SEED;
  return given !== undefined && given !== '' ? Number(given) : Date.now() ^ (Math.random() * 0x7fffffff);
}

/** Single characters and short runs that some part of a pipeline mishandles. */
export const NASTY_PIECES = [
  '\u0000', // NUL: PostgreSQL text and jsonb refuse it
  '\ud800', '\udbff', '\udc00', '\udfff', 'a\ud800', '\udc00b', // lone surrogates: not UTF-8, not jsonb
  '\ud83d\ude00', '\u{10ffff}', '\u{e0001}', '\u{1d11e}', // astral planes, well-formed
  '\u0001', '\u0007', '\u0008', '\u000b', '\u000c', '\u001b[2J', '\u001b]0;title\u0007', '\u007f', // C0, DEL, terminal escapes
  '\u0080', '\u0085', '\u009b', '\u009f', // C1
  '\u200e', '\u200f', '\u202a', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u061c', // bidi controls
  '\u200b', '\u200d', '\u2060', '\ufeff', // zero-width, BOM
  '\u2028', '\u2029', '\r', '\n', '\r\n', '\t', // line and paragraph separators
  '\ufffe', '\uffff', '\ufdd0', '\ufffd', // noncharacters, replacement character
  'e\u0301', '\u1100\u1161\u11a8', // combining sequences
  '%', '_', '\\', '"', "'", '`', '${x}', '{{x}}', '%00', '%s', '=', '&', '?', '#', '+', ';', ',', ':', '/', '../', // syntax of SQL LIKE, URLs, templates
  '<script>', '</x>', '&amp;', "' OR 1=1 --", 'NULL', 'null', 'undefined', '__proto__', 'constructor', 'prototype', // injections and object keys
  'ﬀ', 'İ', 'ß', 'Σ', 'ǅ', // characters whose case mappings change length
];

const controlChar = fc.integer({ min: 0, max: 0x9f }).map((code) => String.fromCharCode(code));
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const STORABLE_PIECES = NASTY_PIECES.filter((piece) => !piece.includes('\u0000') && !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(piece));

function text(pieces: fc.Arbitrary<string>, options: { minLength?: number; maxPieces?: number }): fc.Arbitrary<string> {
  return fc
    .array(pieces, { minLength: options.minLength ? 1 : 0, maxLength: options.maxPieces ?? 6 })
    .map((parts) => parts.join(''))
    .filter((joined) => joined.length >= (options.minLength ?? 0));
}

/** Text every store holds, strange as it gets: every plane, controls but NUL, bidi marks, noncharacters. */
export function storableText(options: { minLength?: number; maxPieces?: number } = {}): fc.Arbitrary<string> {
  return text(
    fc.oneof(
      { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }).map((piece) => piece.replace(/\u0000/g, '\u0001')) },
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
      { weight: 3, arbitrary: fc.constantFrom(...STORABLE_PIECES) },
      { weight: 1, arbitrary: fc.string({ unit: controlChar, maxLength: 3 }).map((piece) => piece.replace(/\u0000/g, '\u007f')) },
    ),
    options,
  );
}

/** Any text at all, mostly short: storable pieces mixed with NUL and lone surrogates. */
export function hostileText(options: { minLength?: number; maxPieces?: number } = {}): fc.Arbitrary<string> {
  return text(
    fc.oneof(
      { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
      { weight: 3, arbitrary: fc.constantFrom(...NASTY_PIECES) },
      { weight: 1, arbitrary: fc.string({ unit: controlChar, maxLength: 3 }) },
      { weight: 1, arbitrary: loneSurrogate },
    ),
    options,
  );
}

/**
 * Text for a field capped at `max` UTF-16 units: mostly storable, sometimes exactly at the cap (astral
 * characters count two units each), now and then refused (past the cap, NUL, a lone surrogate).
 */
export function boundedText(max: number, options: { minLength?: number } = {}): fc.Arbitrary<string> {
  return mostly(
    fc.oneof({ weight: 10, arbitrary: storableText(options) }, { weight: 1, arbitrary: fc.constantFrom('x'.repeat(max), '😀'.repeat(max / 2), `${'\u202e'.repeat(max - 1)}x`) }),
    fc.oneof(hostileText(options), fc.constantFrom('x'.repeat(max + 1), '😀'.repeat(max / 2) + 'x', `${'x'.repeat(max - 1)}\u0000`)),
  );
}

/** A JSON number written as the client wrote it: JSON.stringify cannot write 1e400 or -0. */
export class RawNumber {
  constructor(readonly text: string) {}
}

/** Numbers that JSON carries but not every reader reads back the same. */
export const RAW_NUMBERS = ['1e400', '-1e400', '-0', '-0.0', '1E2', '1.0', '5e-324', '1.7976931348623157e308', '9007199254740993', '123456789012345678901234567890', '0.1'];

/** The body as the client sends it: JSON, with each RawNumber written verbatim. */
export function toJsonText(value: unknown): string {
  const raws: string[] = [];
  const token = `@@raw-${Math.random().toString(36).slice(2)}-`;
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof RawNumber) {
      raws.push(item.text);
      return `${token}${raws.length - 1}`;
    }
    return item;
  });
  return text.replace(new RegExp(`"${token}(\\d+)"`, 'g'), (_match, index: string) => raws[Number(index)]!);
}

/** An integer field capped by `min`..`max`: mostly inside, at the bounds, and now and then past them or not an integer. */
export function boundaryNumber(min: number, max: number): fc.Arbitrary<number | RawNumber | string | null> {
  return mostly<number | RawNumber | string | null>(
    fc.oneof({ weight: 6, arbitrary: fc.integer({ min, max: Math.min(max, Number.MAX_SAFE_INTEGER) }) }, { weight: 1, arbitrary: fc.constantFrom(min, max) }),
    fc.oneof(
      fc.constantFrom(min - 1, max + 1, -1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1.5, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE),
      fc.constantFrom(...RAW_NUMBERS).map((raw) => new RawNumber(raw)),
      fc.constantFrom('1000', '', null, 'NaN', 'Infinity'),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Instants
// ---------------------------------------------------------------------------------------------------------

/** The instants the API accepts: RFC 3339 with Z or ±hh:mm, from 1970 through 9999 in UTC (README). */
export const EARLIEST_MS = Date.UTC(1970, 0, 1);
export const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** ISO 8601 forms that are not RFC 3339 date-times, or fall outside the range once their offset applies. */
export const REFUSED_INSTANTS = [
  '2026-W01', '2026-W01-1', '2026-152', '2026-06-01', '20260601T000000Z', '2026-06-01T10Z', '2026-06-01T10:00Z',
  '2026-06-01T10:00:00,5Z', '2026-06-01T10:00:00+01', '2026-06-01T10:00:00+0100', '2026-06-01T10:00:00',
  '2026-06-01 10:00:00Z', '2026-06-01t10:00:00z', '2026-06-01T24:00:00Z', '2026-06-01T23:59:60Z', '2026-02-29T00:00:00Z',
  '2026-13-01T00:00:00Z', '2026-06-31T00:00:00Z', '2026-06-01T10:00:00+24:00', '2026-06-01T10:00:00+01:60',
  '2026-06-01T10:00:00.Z', '2026-06-01T10:00:00.1234567890Z', ' 2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z ',
  '２０２６-06-01T10:00:00Z', '+012026-06-01T00:00:00Z', '-000001-01-01T00:00:00Z', '0000-01-01T00:00:00Z',
  '1969-12-31T23:59:59.999Z', '1970-01-01T00:59:59+01:00', '9999-12-31T23:59:59-01:00', '10000-01-01T00:00:00Z',
  'P1D', 'R5/2026-06-01T00:00:00Z/PT1H', '2026-06-01T10:00:00Z/2026-06-02T10:00:00Z', 'now', '1780000000000', '',
];

/** RFC 3339 date-times inside the range, at its edges and with unusual but valid offsets and fractions. */
export const ACCEPTED_INSTANTS = [
  '1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z', '1970-01-01T01:00:00+01:00', '1969-12-31T23:00:00-01:00',
  '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59+00:00', '9999-12-31T23:59:59-00:00', '9999-12-31T23:59:59.999999999Z',
  '2028-02-29T12:00:00Z', '2026-06-01T10:00:00.5Z', '2026-06-01T10:00:00.123456Z', '2026-06-01T10:00:00+14:00',
  '2026-06-01T10:00:00-12:00', '2026-06-01T10:00:00+05:45', '2026-06-01T10:00:00+23:59',
];

/** `ms` written as RFC 3339 local time at `offset` minutes from UTC ('Z': UTC), with `fractionDigits` digits (sub-ms digits invented). */
export function formatInstant(ms: number, offset: number | 'Z', fractionDigits: number): string {
  const minutes = offset === 'Z' ? 0 : offset;
  const local = new Date(ms + minutes * 60_000).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  const fraction = fractionDigits === 0 ? '' : `.${(local.slice(20, 23) + '456789').slice(0, fractionDigits)}`;
  const abs = Math.abs(minutes);
  const zone = offset === 'Z' ? 'Z' : `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local.slice(0, 19)}${fraction}${zone}`;
}

/** Generated RFC 3339 instants, mostly inside the range; those near its ends may fall out of it once their offset applies. */
export function rfc3339Instant(): fc.Arbitrary<string> {
  const offset = fc.oneof(fc.constant('Z' as const), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }));
  const now = Date.now();
  const nearEdge = fc.oneof(fc.integer({ min: EARLIEST_MS - 86_400_000, max: EARLIEST_MS + 86_400_000 }), fc.integer({ min: LATEST_MS - 86_400_000, max: LATEST_MS }));
  const ms = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: now, max: now + 10 * 365 * 86_400_000 }) }, { weight: 1, arbitrary: nearEdge });
  return fc
    .tuple(ms, offset, fc.constantFrom(0, 0, 3, 1, 6, 9))
    .filter(([at, zone]) => {
      const local = at + (zone === 'Z' ? 0 : zone) * 60_000;
      return local >= Date.UTC(0, 0, 1) && local <= LATEST_MS; // four-digit years only
    })
    .map(([at, zone, digits]) => formatInstant(at, zone, digits));
}

/** Every kind of instant a client might send: mostly accepted ones, then refused forms and hostile text. */
export function anyInstant(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: rfc3339Instant() },
    { weight: 1, arbitrary: fc.constantFrom(...ACCEPTED_INSTANTS) },
    { weight: 2, arbitrary: fc.constantFrom(...REFUSED_INSTANTS) },
    { weight: 1, arbitrary: hostileText() },
  );
}

/** The instant RFC 3339 text names, in ms, or undefined when the API refuses it: the tests' oracle, written apart from src/. */
export function expectedInstantMs(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', , sign, offsetHours = '0', offsetMinutes = '0'] = match;
  const n = (part: string | undefined) => Number(part);
  if (n(hour) > 23 || n(minute) > 59 || n(second) > 59 || n(offsetHours) > 23 || n(offsetMinutes) > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(n(year), n(month) - 1, n(day));
  if (date.getUTCFullYear() !== n(year) || date.getUTCMonth() !== n(month) - 1 || date.getUTCDate() !== n(day)) return undefined;
  date.setUTCHours(n(hour), n(minute), n(second), n(fraction.padEnd(3, '0').slice(0, 3)));
  const offsetMs = (sign === '-' ? -1 : 1) * (n(offsetHours) * 60 + n(offsetMinutes)) * 60_000;
  const ms = date.getTime() - offsetMs;
  return ms >= EARLIEST_MS && ms <= LATEST_MS ? ms : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Job bodies
// ---------------------------------------------------------------------------------------------------------

/** Cron expressions: ordinary, at the edges of the syntax, sparse, and DST-pathological. */
export const CRON_EXPRESSIONS = [
  '0 9 * * 1-5', '*/5 * * * *', '0 0 1 1 *', '30 2 * * *', '30 */5 * * * *', '0 0 L * *', '0 0 * * 5L', '0 0 * * 1#2', '0 12 ? * *',
  '0 0 29 2 *', '0 0 * 2 1#5', '59 23 31 12 1#5', '0 2 29 2 0L', '* * * * *', '* * * * * *', ' 0 9 * * * ',
  '0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29 0-23 1-31 1-12 0-7',
];
/** Expressions the API refuses: impossible, out of range, unsupported, or with no real instant (DST gaps). */
export const REFUSED_CRON_EXPRESSIONS = ['30 2-2/1 * 3 0L', '0 0 31 2 *', '0 0 30 2 *', '0 0 31 4,6,9,11 *', '61 * * * *', '0 24 * * *', 'H H * * *', '0 0 15W * *', '* * * *', '0 0 0 * * * *', '', '   ', '@daily'];

export const TIMEZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Antarctica/Troll', 'Pacific/Chatham', 'Asia/Kathmandu', 'Etc/GMT+12'];
export const REFUSED_TIMEZONES = ['Atlantis/Capital', 'Europe/Berlin\u0000', ''];

export function hostileSchedule(): fc.Arbitrary<unknown> {
  const cron = fc.record(
    {
      kind: fc.constant('cron'),
      expression: mostly(fc.constantFrom(...CRON_EXPRESSIONS), fc.oneof(fc.constantFrom(...REFUSED_CRON_EXPRESSIONS), hostileText())),
      timezone: mostly(fc.constantFrom(...TIMEZONES), fc.oneof(fc.constantFrom(...REFUSED_TIMEZONES), hostileText())),
    },
    { requiredKeys: ['kind', 'expression'] },
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant({ kind: 'immediate' }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('at'), runAt: anyInstant() }) },
    { weight: 4, arbitrary: cron },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('interval'), everyMs: boundaryNumber(1000, 366 * 24 * 3600 * 1000), startAt: anyInstant() }, { requiredKeys: ['kind', 'everyMs'] }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('yearly', 'at'), at: anyInstant() }) },
  );
}

/** Object keys: mostly names or storable text, now and then hostile or reserved. */
function hostileKey(): fc.Arbitrary<string> {
  return mostly(
    fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/) }, { weight: 2, arbitrary: storableText({ minLength: 1 }) }, { weight: 1, arbitrary: fc.constantFrom('toString', 'hasOwnProperty', 'valueOf', '') }),
    fc.oneof(hostileText({ minLength: 1 }), fc.constantFrom('__proto__', 'constructor', 'prototype')),
  );
}

/** Any JSON value, with hostile keys, strings and numbers at every depth (bounded well under the 32 levels). */
export function hostileJson(maxDepth = 4): fc.Arbitrary<unknown> {
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth, withCrossShrink: true },
      mostly(storableText(), hostileText()),
      fc.double(),
      fc.integer(),
      mostly(fc.constantFrom(...RAW_NUMBERS.filter((raw) => !raw.includes('e400'))), fc.constantFrom('1e400', '-1e400'), 2).map((raw) => new RawNumber(raw)),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(hostileKey(), tie('value'), { maxKeys: 4, noNullPrototype: true }),
      // Many keys at once, one of them hostile now and then.
      fc.tuple(fc.integer({ min: 100, max: 400 }), hostileKey()).map(([count, key]) => Object.fromEntries([...Array.from({ length: count }, (_, i) => [`k${i}`, i]), [key, 'v']])),
    ),
  }));
  return value;
}

/** HTTP header names and values: RFC 9110 tokens and field values, and now and then what breaks them. */
function headerName(): fc.Arbitrary<string> {
  return mostly(
    fc.oneof(fc.stringMatching(/^X-[A-Za-z0-9-]{1,16}$/), fc.constantFrom('Accept', 'Content-Type', 'X-Api-Key', 'Authorization', "x!#$%&'*+-.^_`|~", 'toString')),
    fc.oneof(fc.constantFrom('X A', 'X:A', 'X\r\nInjected', 'Ünïcode', 'X\u0000', '', 'Content-Length', 'Idempotency-Key', 'Connection'), hostileText({ minLength: 1 })),
  );
}

function headerValue(): fc.Arbitrary<string> {
  const visible = fc.string({ unit: fc.oneof(fc.integer({ min: 0x21, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 24 });
  return mostly(
    fc.oneof({ weight: 4, arbitrary: visible }, { weight: 1, arbitrary: fc.constantFrom('a b', 'a\tb', 'café', '\u00ff', '') }),
    fc.oneof(fc.constantFrom(' leading', 'trailing ', 'v\r\nX-Injected: 1', 'v\n', 'v\u0000', '😀', '€', 'a\u007fb'), hostileText()),
  );
}

/** The payload of each job type; `sinkUrl` is a local, allowlisted target. */
export function hostilePayload(type: string, sinkUrl: string): fc.Arbitrary<unknown> {
  const url = mostly(fc.oneof(fc.constant(sinkUrl), storableText().map((path) => `${sinkUrl}/${encodeURIComponent(path)}`)), hostileText());
  switch (type) {
    case 'http':
      return fc.record(
        {
          url,
          method: mostly(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), fc.constantFrom('get', 'BREW')),
          headers: fc.dictionary(headerName(), headerValue(), { maxKeys: 5, noNullPrototype: true }),
          query: fc.dictionary(hostileKey(), mostly(storableText(), hostileText()), { maxKeys: 4, noNullPrototype: true }),
          body: hostileJson(),
          expectStatus: fc.oneof(boundaryNumber(100, 599), fc.array(mostly(fc.integer({ min: 100, max: 599 }), fc.constantFrom(99, 600)), { maxLength: 3 })),
        },
        { requiredKeys: ['url'] },
      );
    case 'webhook':
      return fc.record({ url, data: hostileJson(), secret: boundedText(512, { minLength: 1 }) }, { requiredKeys: ['url', 'data'] });
    case 'email':
      return fc.record(
        { to: mostly<string | string[]>(fc.oneof(fc.constant('ops@example.com'), fc.array(fc.emailAddress(), { minLength: 1, maxLength: 3 })), hostileText()), subject: boundedText(998, { minLength: 1 }).map((subject) => subject.replace(/[\r\n]/g, ' ')), text: boundedText(2000) },
        { requiredKeys: ['to', 'subject', 'text'] },
      );
    case 'script':
      return fc.record(
        {
          command: mostly(fc.constant('/bin/echo'), fc.constantFrom('echo', '/bin/sh')),
          args: fc.array(mostly(storableText(), hostileText()), { maxLength: 4 }),
          env: fc.dictionary(mostly(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), hostileKey()), mostly(storableText(), hostileText()), { maxKeys: 3, noNullPrototype: true }),
        },
        { requiredKeys: ['command'] },
      );
    default:
      return fc.record({ handler: mostly(fc.constantFrom('noop', 'echo'), fc.constantFrom('nope', '__proto__', 'toString')), data: hostileJson() }, { requiredKeys: ['handler'] });
  }
}

/** A POST /jobs body of `types` (script is for admins), valid-shaped with hostile values throughout. */
export function hostileJobBody(sinkUrl: string, types: readonly string[] = ['http', 'webhook', 'email', 'custom', 'custom']): fc.Arbitrary<Record<string, unknown>> {
  return fc.constantFrom(...types).chain((type) =>
    fc.record(
      {
        name: boundedText(200, { minLength: 1 }),
        description: boundedText(2000),
        type: fc.constant(type),
        payload: hostilePayload(type, sinkUrl),
        schedule: hostileSchedule(),
        retryPolicy: fc.record(
          { maxAttempts: boundaryNumber(1, 100), backoff: mostly(fc.constantFrom('fixed', 'linear', 'exponential'), fc.constant('random')), delayMs: boundaryNumber(0, 86_400_000), maxDelayMs: boundaryNumber(0, 7 * 86_400_000), jitter: fc.boolean() },
          { requiredKeys: [] },
        ),
        timeoutMs: boundaryNumber(1, 86_400_000),
        concurrencyPolicy: mostly(fc.constantFrom('allow', 'forbid', 'replace'), fc.constantFrom('sometimes', '')),
        misfirePolicy: mostly(fc.constantFrom('skip', 'fire_once', 'fire_all'), fc.constantFrom('ignore', '')),
        labels: fc.oneof(
          { weight: 6, arbitrary: fc.dictionary(hostileKey().filter((key) => key.length >= 1 && key.length <= 63), boundedText(256), { maxKeys: 6, noNullPrototype: true }) },
          { weight: 1, arbitrary: fc.integer({ min: 49, max: 51 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]))) },
        ),
      },
      { requiredKeys: ['name', 'type', 'payload', 'schedule'] },
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Query strings and headers
// ---------------------------------------------------------------------------------------------------------

/** Percent-encoded chunks that decode to nothing sane: NUL, lone surrogates and bytes that are not UTF-8. */
const RAW_QUERY_CHUNKS = ['%00', '%ED%A0%80', '%ED%BF%BF', '%FF', '%C0%80', '%E2%80%AE', '%', '%zz', '%2', '+', '%20', '&', '=', '%26', '%3D', '[]', '[0]', 'a[b]=c'];

/**
 * Text percent-encoded as UTF-8, and a lone surrogate as the three bytes it would take (which are not
 * UTF-8: the server must decode them to something, never to a lone surrogate).
 */
export function encodeQueryText(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|[^]/gu, (char) => {
    const code = char.charCodeAt(0);
    if (char.length === 1 && code >= 0xd800 && code <= 0xdfff) return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    return encodeURIComponent(char);
  });
}

/** One query value: text percent-encoded, or a raw chunk of percent-encoding. */
export function queryValue(plausible: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: plausible.map(encodeQueryText) },
    { weight: 2, arbitrary: hostileText().map(encodeQueryText) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...RAW_QUERY_CHUNKS), { minLength: 1, maxLength: 3 }).map((chunks) => chunks.join('')) },
  );
}

/** A query string over a route's `params` (name → plausible values), with unknown and repeated keys now and then. */
export function queryString(params: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const known = Object.entries(params).map(([name, plausible]) => fc.option(queryValue(plausible).map((value) => `${name}=${value}`), { nil: undefined, freq: 2 }));
  const extra = fc.option(fc.oneof(hostileText({ minLength: 1 }).map((key) => `${encodeQueryText(key)}=1`), fc.constantFrom(...Object.keys(params).map((name) => `${name}=1&${name}=2`), '__proto__=1', 'constructor[prototype]=1')), { nil: undefined, freq: 4 });
  return fc.tuple(fc.tuple(...known), extra).map(([pairs, more]) => [...pairs, more].filter((pair) => pair !== undefined).join('&'));
}

/** Integers as query text, at and beyond every boundary a query has (pages, counts, sequences). */
export function integerText(min: number, max: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.integer({ min, max }).map(String),
    fc.constantFrom(String(min - 1), String(max + 1), '0', '-0', '1.5', '1e3', '0x10', ' 1', '1 ', '', '9007199254740993', '18446744073709551616', '1e400', 'Infinity', 'NaN', '٣'),
  );
}

/** Header values a client can put on the wire (Node refuses control characters itself): visible ASCII, Latin-1, tabs, spaces. */
export function wireHeaderValue(plausible: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const latin1 = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }), fc.constant(0x09)).map((c) => String.fromCharCode(c)), maxLength: 40 });
  return fc
    .oneof({ weight: 3, arbitrary: plausible }, { weight: 2, arbitrary: latin1 })
    .map((value) => value.trim())
    .filter((value) => /^[\t\x20-\x7e\x80-\xff]*$/.test(value));
}
