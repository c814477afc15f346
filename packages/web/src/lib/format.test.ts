import { describe, expect, it } from 'vitest';
import { dayKey, daysAgo, formatCount, formatDayLabel, formatLastSeen, formatShortRelative } from './format.js';

const at = (d: number, h = 12, m = 0) => new Date(2026, 2, d, h, m).getTime();

describe('format', () => {
  it('groups thousands the same way everywhere', () => {
    expect(formatCount(100_000)).toBe('100,000');
    expect(formatCount(99_500)).toBe('99,500');
  });

  it('uses local calendar days', () => {
    expect(dayKey(at(5, 0, 0))).toBe('2026-03-05');
    expect(daysAgo(at(10, 23, 59), at(11, 0, 1))).toBe(1);
    expect(daysAgo(at(11, 0, 1), at(11, 23, 59))).toBe(0);
  });

  it('labels days relative to today', () => {
    const now = at(11, 15);
    expect(formatDayLabel(at(11, 9), now)).toBe('Today');
    expect(formatDayLabel(at(10, 9), now)).toBe('Yesterday');
    expect(formatDayLabel(at(2, 9), now)).not.toMatch(/Today|Yesterday/);
  });

  it('keeps list times short', () => {
    const now = at(11, 15);
    expect(formatShortRelative(now - 10_000, now)).toBe('now');
    expect(formatShortRelative(now - 5 * 60_000, now)).toBe('5 min');
    expect(formatShortRelative(now - 3 * 3_600_000, now)).toBe('3 h');
    expect(formatShortRelative(at(10, 9), now)).toBe('Yesterday');
  });

  it('says when someone was last seen', () => {
    const now = at(11, 15);
    expect(formatLastSeen(null, now)).toBe('Offline');
    expect(formatLastSeen(now - 20_000, now)).toBe('Last seen just now');
    expect(formatLastSeen(now - 60_000, now)).toBe('Last seen 1 minute ago');
    expect(formatLastSeen(now - 7 * 60_000, now)).toBe('Last seen 7 minutes ago');
    expect(formatLastSeen(at(11, 9), now)).toMatch(/^Last seen today at /);
    expect(formatLastSeen(at(10, 9), now)).toMatch(/^Last seen yesterday at /);
  });
});
