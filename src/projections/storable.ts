import { hasUnstorableChar, wellFormedText } from '../domain/text.js';

/**
 * How the read models store values that PostgreSQL cannot hold as they are. The API refuses such values at
 * its edge and runs record only well-formed text, but the event log is immutable: events appended before
 * those rules (or by another writer) must still project, so every projection writes through these.
 *
 * - Text: `text` and `jsonb` cannot hold U+0000, and `jsonb` refuses an unpaired UTF-16 surrogate. Each one
 *   is stored as U+FFFD (the replacement character), in values and in object keys. The event log keeps the
 *   exact value, and the routes that fold the log (`GET /jobs/:id`, which does for a job whose row holds U+FFFD,
 *   and `GET /jobs/:id/events`) show it.
 * - Instants: `timestamptz` reads neither JavaScript's extended years (`+010000-01-01T…`) nor year 0 and
 *   before; they are written in PostgreSQL's own notation, which reads back to the same instant (before
 *   4713 BC, which PostgreSQL cannot represent, as `-infinity`).
 */

export function storableText(text: string): string;
export function storableText(text: string | null | undefined): string | null | undefined;
export function storableText(text: string | null | undefined): string | null | undefined {
  return typeof text === 'string' ? wellFormedText(text) : text;
}

/** JSON for a `jsonb` parameter (`jsonb_to_recordset($1::jsonb)` and the like), every string and key storable. */
export function storableJson(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, _key, item: unknown) {
    if (typeof item === 'string') return storableText(item);
    if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).some(hasUnstorableChar)) {
      return Object.fromEntries(Object.entries(item).map(([key, entry]) => [storableText(key), entry]));
    }
    return item;
  });
}

const EARLIEST_POSTGRES_YEAR_BC = 4713;

/** An ISO-8601 instant as `timestamptz` reads it back unchanged; null stays null. */
export function storableInstant(iso: string | null | undefined): string | null {
  if (iso === null || iso === undefined) return null;
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) return null;
  const year = instant.getUTCFullYear();
  if (year >= 1 && year <= 9999) return instant.toISOString();
  const afterYear = instant.toISOString().replace(/^[+-]?\d+/, '');
  if (year > 9999) return `${year}${afterYear}`;
  // ISO year 0 is 1 BC, -1 is 2 BC, ...
  const yearBc = 1 - year;
  return yearBc > EARLIEST_POSTGRES_YEAR_BC ? '-infinity' : `${String(yearBc).padStart(4, '0')}${afterYear} BC`;
}
