import type { Schedule } from './api/client';

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "every 5 s", "every 1 h 30 min". */
export function every(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000], ['ms', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  return `every ${parts.join(' ') || '0 ms'}`;
}

/** A duration for a person: "120 ms", "3.2 s", "4 min 5 s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return every(Math.round(ms / 1000) * 1000).replace('every ', '');
}

/** A timestamp in the browser's zone, to the second: "2026-11-22 10:00:05". */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** "in 5 s", "3 min ago". */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const delta = Date.parse(iso) - now;
  if (Math.abs(delta) < 1000) return 'now';
  const words = duration(Math.abs(delta)).replace(/\.\d s$/, ' s');
  return delta >= 0 ? `in ${words}` : `${words} ago`;
}

const step = (field: string) => /^\*\/(\d+)$/.exec(field)?.[1];
const number = (field: string) => (/^\d+$/.test(field) ? Number(field) : undefined);

function listOf(field: string, names: string[], offset: number): string | undefined {
  if (field === '1-5' && names === DAY_NAMES) return 'weekdays';
  if ((field === '0,6' || field === '6,0') && names === DAY_NAMES) return 'weekends';
  const items = field.split(',').map((part) => {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) return `${names[Number(range[1]) - offset] ?? range[1]}–${names[Number(range[2]) - offset] ?? range[2]}`;
    return /^\d+$/.test(part) ? (names[Number(part) - offset] ?? part) : undefined;
  });
  return items.every((item) => item !== undefined) ? items.join(', ') : undefined;
}

/** A cron expression in words where it is a common shape ("at 09:00 on weekdays"), else the expression itself. */
export function cronInWords(expression: string): { words: string; timeOfDay: boolean } {
  const fields = expression.trim().split(/\s+/);
  const [second, minute, hour, dom, month, dow] = fields.length === 6 ? fields : ['0', ...fields];
  if (fields.length < 5 || fields.length > 6 || !minute || !hour || !dom || !month || !dow || second === undefined) return { words: `cron ${expression}`, timeOfDay: false };
  const anyDay = dom === '*' && month === '*' && dow === '*';
  if (anyDay && minute === '*' && hour === '*') {
    if (second === '*') return { words: 'every second', timeOfDay: false };
    if (step(second)) return { words: `every ${step(second)} s`, timeOfDay: false };
  }
  if (anyDay && second === '0' && hour === '*') {
    if (minute === '*') return { words: 'every minute', timeOfDay: false };
    if (step(minute)) return { words: `every ${step(minute)} min`, timeOfDay: false };
    if (number(minute) !== undefined) return { words: `every hour at :${String(number(minute)).padStart(2, '0')}`, timeOfDay: false };
  }
  if (second === '0' && number(minute) !== undefined && (number(hour) !== undefined || step(hour))) {
    const at = step(hour) ? `every ${step(hour)} h at :${String(number(minute)).padStart(2, '0')}` : `at ${String(number(hour)).padStart(2, '0')}:${String(number(minute)).padStart(2, '0')}`;
    const days: string[] = [];
    if (dow !== '*') {
      const names = listOf(dow, DAY_NAMES, 0);
      if (!names) return { words: `cron ${expression}`, timeOfDay: false };
      days.push(`on ${names}`);
    }
    if (dom !== '*') {
      if (!/^[\d,-]+$/.test(dom)) return { words: `cron ${expression}`, timeOfDay: false };
      days.push(`on day ${dom} of the month`);
    }
    if (month !== '*') {
      const names = listOf(month, MONTH_NAMES, 1);
      if (!names) return { words: `cron ${expression}`, timeOfDay: false };
      days.push(`in ${names}`);
    }
    return { words: `${at}${days.length ? ` ${days.join(' ')}` : step(hour) ? '' : ' every day'}`, timeOfDay: true };
  }
  return { words: `cron ${expression}`, timeOfDay: false };
}

/** A schedule in words: "every 5 s", "at 09:00 on weekdays, Europe/Berlin", "once at 2026-12-31 23:59:59". */
export function scheduleInWords(schedule: Schedule): string {
  switch (schedule.kind) {
    case 'immediate':
      return 'once, right away';
    case 'at':
      return `once at ${when(schedule.runAt)}`;
    case 'interval':
      return `${every(schedule.everyMs)}${schedule.startAt ? ` from ${when(schedule.startAt)}` : ''}`;
    case 'cron': {
      const { words, timeOfDay } = cronInWords(schedule.expression);
      return timeOfDay || words.startsWith('cron ') ? `${words}, ${schedule.timezone ?? 'UTC'}` : words;
    }
  }
}
