import { MUTED_FOREVER } from '@confab/protocol';

/*
 * Muting a conversation: the server sends no pushes for it while
 * now < mutedUntil, and the app shows no notification either.
 */

export type MuteChoice = '8h' | '1w' | 'always';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const MUTE_CHOICES: readonly { choice: MuteChoice; label: string }[] = [
  { choice: '8h', label: 'For 8 hours' },
  { choice: '1w', label: 'For 1 week' },
  { choice: 'always', label: 'Always' },
];

/** The `mutedUntil` to send for a choice made at `now`. */
export function mutedUntilFor(choice: MuteChoice, now: number): number {
  switch (choice) {
    case '8h':
      return now + 8 * HOUR;
    case '1w':
      return now + 7 * DAY;
    case 'always':
      return MUTED_FOREVER;
  }
}

export function isMuted(mutedUntil: number | null | undefined, now: number): boolean {
  return typeof mutedUntil === 'number' && mutedUntil > now;
}

/**
 * How long a mute still lasts: "45 min", "8 h", "7 days". Hours and days are
 * rounded to the nearest, so a fresh 8-hour mute says "8 h" even against a
 * clock that ticks only every 30 s; minutes round up, never saying "0 min".
 */
export function muteRemaining(mutedUntil: number, now: number): string {
  const left = Math.max(0, mutedUntil - now);
  if (left < HOUR) return `${Math.max(1, Math.ceil(left / MINUTE))} min`;
  if (left < DAY) return `${Math.round(left / HOUR)} h`;
  const days = Math.round(left / DAY);
  return `${days} ${days === 1 ? 'day' : 'days'}`;
}

/** "Muted for 8 h more" or "Muted until you unmute"; null when not muted. */
export function muteStatus(mutedUntil: number | null | undefined, now: number): string | null {
  if (!isMuted(mutedUntil, now)) return null;
  if (mutedUntil! >= MUTED_FOREVER) return 'Muted until you unmute';
  return `Muted for ${muteRemaining(mutedUntil!, now)} more`;
}
