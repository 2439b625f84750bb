import { describeCronSyntax, nextCronFire, nextInstant, type DstAdjustment, type Schedule, type ZoneTransition } from './schedule.js';

// Re-exported so that everything a client is shown about schedules can be found here.
export { describeCronSyntax };

/** The API caps `GET /jobs/:id/preview?count=` at this. */
export const MAX_PREVIEW_COUNT = 100;

export interface PreviewItem {
  /** ISO-8601 UTC instant. */
  at: string;
  /** Present when a DST transition moved or decided this instant. */
  note?: string;
}

/**
 * The next `count` instants of a schedule strictly after `after` (count is clamped to 0…MAX_PREVIEW_COUNT).
 * `anchor` is the job's creation time, which anchors an interval without startAt. An immediate job has
 * none; an `at` job its one instant if it is still ahead.
 */
export function previewInstants(schedule: Schedule, options: { after: Date; anchor: Date; count: number }): PreviewItem[] {
  const count = Math.max(0, Math.min(Math.floor(options.count), MAX_PREVIEW_COUNT));
  const items: PreviewItem[] = [];
  let after = options.after;
  while (items.length < count) {
    const next = nextPreviewInstant(schedule, after, options.anchor);
    if (next === null) break;
    items.push(next.note === undefined ? { at: next.at.toISOString() } : { at: next.at.toISOString(), note: next.note });
    after = next.at;
  }
  return items;
}

function nextPreviewInstant(schedule: Schedule, after: Date, anchor: Date): { at: Date; note?: string } | null {
  if (schedule.kind !== 'cron') {
    const at = nextInstant(schedule, after, anchor);
    return at === null ? null : { at };
  }
  const fire = nextCronFire(schedule.expression, schedule.timezone, after);
  return fire && { at: fire.at, note: fire.dst && dstNote(schedule.timezone, fire.dst) };
}

/**
 * E.g. "Europe/Berlin skips 02:00–03:00 on 2026-03-29 (clocks go forward 1 h): 02:30 runs at 03:00 CEST", or
 * "Europe/Berlin repeats 02:00–03:00 on 2026-10-25 (clocks go back 1 h): 02:30 runs once, at its first occurrence (CEST)".
 */
function dstNote(timezone: string, dst: DstAdjustment): string {
  const { transition } = dst;
  const time = clockTime(dst.localTime);
  if (dst.kind === 'skipped') {
    const gap = localTimesAround(transition);
    const jump = `${timezone} skips ${gap.from}–${gap.to} on ${gap.date} (clocks go forward ${duration(transition)})`;
    const runs = dst.collapsed ? `${time} and the job's later times before ${gap.to} run once,` : `${time} runs`;
    return `${jump}: ${runs} at ${gap.to} ${zoneAbbreviation(timezone, transition.at)}`;
  }
  const repeat = localTimesAround(transition);
  const fallBack = `${timezone} repeats ${repeat.to}–${repeat.from} on ${repeat.date} (clocks go back ${duration(transition)})`;
  const zone = zoneAbbreviation(timezone, dst.occurrence === 'first' ? new Date(transition.at.getTime() - 1) : transition.at);
  if (!dst.firesAtBoth) return `${fallBack}: ${time} runs once, at its first occurrence (${zone})`;
  return `${fallBack}: ${time} runs at both occurrences; this is the ${dst.occurrence} (${zone})`;
}

/** The local clock just before and at a transition: the ends of its gap, or of its repeated stretch. */
function localTimesAround(transition: ZoneTransition): { date: string; from: string; to: string } {
  const before = new Date(transition.at.getTime() + transition.offsetBeforeMs).toISOString();
  const after = new Date(transition.at.getTime() + transition.offsetAfterMs).toISOString();
  const earlier = before < after ? before : after;
  return { date: earlier.slice(0, 10), from: clockTime(before), to: clockTime(after) };
}

/** "02:30", or "02:30:15" when the seconds matter; from `YYYY-MM-DDTHH:mm:ss…`. */
function clockTime(localTime: string): string {
  const seconds = localTime.slice(17, 19);
  return seconds === '00' ? localTime.slice(11, 16) : localTime.slice(11, 19);
}

function duration(transition: ZoneTransition): string {
  const minutes = Math.round(Math.abs(transition.offsetAfterMs - transition.offsetBeforeMs) / 60_000);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** "CEST", "EDT"; or "GMT+11" for zones whose abbreviation ICU does not know. */
function zoneAbbreviation(timezone: string, at: Date): string {
  // en-US knows American abbreviations (EDT) but writes "GMT+2" for Berlin; en-GB knows European ones (CEST).
  const names = ['en-US', 'en-GB'].map((locale) => shortZoneName(locale, timezone, at));
  return names.find((name) => /^[A-Z]{2,5}$/.test(name)) ?? names[0]!;
}

const shortNameFormatters = new Map<string, Intl.DateTimeFormat>();

function shortZoneName(locale: string, timezone: string, at: Date): string {
  // Building a formatter costs far more than using one, and a preview across a transition notes each instant.
  const key = `${locale} ${timezone}`;
  let formatter = shortNameFormatters.get(key);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat(locale, { timeZone: timezone, timeZoneName: 'short' });
    shortNameFormatters.set(key, formatter);
  }
  return formatter.formatToParts(at).find((part) => part.type === 'timeZoneName')?.value ?? timezone;
}
