import type { ProblemField } from './problem-details.filter.js';

/**
 * What no request may carry, in any field of any route, because some part of the pipeline cannot hold it
 * unchanged (README, "Accepted values"):
 * - U+0000 in a string or an object key: PostgreSQL `text` and `jsonb` refuse it;
 * - an unpaired UTF-16 surrogate: it has no UTF-8 form, so NATS, PostgreSQL and every JSON reader
 *   downstream would get U+FFFD or refuse the event (`jsonb` rejects the `\ud800` escape);
 * - a number that overflows a double (1e400 parses as Infinity, which JSON then writes as null);
 * - the object keys `__proto__`, `constructor` and `prototype`: no Chronos field has these names, and
 *   they mean something else to JavaScript objects.
 * Other control characters, bidi controls, noncharacters and every plane are text like any other: each
 * store holds them and the API shows them unchanged (terminals are the CLI's to protect). `-0` is a number
 * like 0 and reads back as 0.
 */
export function refusedRequestValues(value: unknown, path: string): ProblemField[] {
  const refused: ProblemField[] = [];
  walk(value, path, refused);
  return refused;
}

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const LONE_SURROGATE = '[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE);
const UNPRINTABLE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f]|${LONE_SURROGATE}`, 'g');

function walk(value: unknown, path: string, refused: ProblemField[]): void {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    if (problem) refused.push({ field: path, message: problem });
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) refused.push({ field: path, message: 'must be a finite number: this one overflows a double (JSON would carry it as null)' });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, join(path, String(index)), refused));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const field = join(path, printableKey(key));
      const problem = RESERVED_KEYS.has(key) ? `is not a known field (${key} is refused at every depth)` : textProblem(key);
      if (problem) refused.push({ field, message: problem.replace(/^must/, 'its name must') });
      else walk(item, field, refused);
    }
  }
}

function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain U+0000 (NUL): PostgreSQL cannot store it';
  if (HAS_LONE_SURROGATE.test(text)) return 'must be well-formed Unicode: it holds an unpaired UTF-16 surrogate, which has no UTF-8 form';
  return null;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** A key as a field name a problem can show: controls and lone surrogates written as \uXXXX, the empty key as "". */
export function printableKey(key: string): string {
  if (key === '') return '""';
  return key.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
