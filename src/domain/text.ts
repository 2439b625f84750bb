/**
 * The one rule for text that every part of Chronos must be able to carry: PostgreSQL `text` and `jsonb` hold
 * neither U+0000 nor a UTF-16 surrogate without its pair (`jsonb` refuses the `\ud800` escape, and a lone
 * surrogate cannot be encoded as UTF-8 at all). The API refuses such text at its edge; what runs record and
 * what the read models store is made well-formed with `wellFormedText`.
 */

/** NUL, a high surrogate not followed by a low one, a low surrogate not preceded by a high one. */
const UNSTORABLE_SOURCE = '\\u0000|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const EVERY_UNSTORABLE = new RegExp(UNSTORABLE_SOURCE, 'g');
const ANY_UNSTORABLE = new RegExp(UNSTORABLE_SOURCE);

/** Whether `text` holds a character no store downstream can hold. */
export function hasUnstorableChar(text: string): boolean {
  return ANY_UNSTORABLE.test(text);
}

/** `text` with U+0000 and every unpaired surrogate replaced by U+FFFD (the replacement character). */
export function wellFormedText(text: string): string {
  return text.replace(EVERY_UNSTORABLE, '\ufffd');
}
