/*
 * Date, time and number formatting. Functions take `now` explicitly so they
 * stay pure and testable; the UI passes a clock that ticks every 30 s.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// The UI text is English, so numbers use English grouping ("100,000") everywhere.
const numberFormat = new Intl.NumberFormat('en-US');

export function formatCount(n: number): string {
  return numberFormat.format(n);
}

/** Local calendar day of a timestamp, e.g. "2026-03-12": the unit of day separators. */
export function dayKey(ts: number): string {
  const d = new Date(ts);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function startOfDay(ts: number): number {
  const d = new Date(ts);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Whole local calendar days from `ts` to `now` (0 = same day, 1 = yesterday). */
export function daysAgo(ts: number, now: number): number {
  return Math.round((startOfDay(now) - startOfDay(ts)) / DAY);
}

export function formatTime(ts: number): string {
  return new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

function formatDate(ts: number, now: number, withWeekday: boolean): string {
  const sameYear = new Date(ts).getFullYear() === new Date(now).getFullYear();
  return new Date(ts).toLocaleDateString(undefined, {
    ...(withWeekday && { weekday: 'long' }),
    day: 'numeric',
    month: withWeekday ? 'long' : 'short',
    ...(!sameYear && { year: 'numeric' }),
  });
}

/** Label of a day separator: "Today", "Yesterday", or a full date. */
export function formatDayLabel(ts: number, now: number): string {
  const days = daysAgo(ts, now);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return formatDate(ts, now, true);
}

/** Compact time for the conversation list: "now", "5 min", "3 h", "Yesterday", "Mon", "12 Mar". */
export function formatShortRelative(ts: number, now: number): string {
  const diff = now - ts;
  if (diff < MINUTE) return 'now';
  if (diff < HOUR) return `${Math.floor(diff / MINUTE)} min`;
  const days = daysAgo(ts, now);
  if (days === 0) return `${Math.floor(diff / HOUR)} h`;
  if (days === 1) return 'Yesterday';
  if (days < 7) return new Date(ts).toLocaleDateString(undefined, { weekday: 'short' });
  return formatDate(ts, now, false);
}

/** "Last seen …" text for a 1:1 header. */
export function formatLastSeen(ts: number | null, now: number): string {
  if (ts === null) return 'Offline';
  const diff = Math.max(0, now - ts);
  if (diff < MINUTE) return 'Last seen just now';
  if (diff < HOUR) {
    const m = Math.floor(diff / MINUTE);
    return `Last seen ${m} minute${m === 1 ? '' : 's'} ago`;
  }
  const days = daysAgo(ts, now);
  if (days === 0) return `Last seen today at ${formatTime(ts)}`;
  if (days === 1) return `Last seen yesterday at ${formatTime(ts)}`;
  return `Last seen ${formatDate(ts, now, false)}`;
}
