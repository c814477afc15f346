import { MUTED_FOREVER } from '@confab/protocol';
import { describe, expect, it } from 'vitest';
import { MUTE_CHOICES, isMuted, muteRemaining, muteStatus, mutedUntilFor } from './mute.js';

const NOW = 1_800_000_000_000;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('mute', () => {
  it('offers 8 hours, 1 week and always', () => {
    expect(MUTE_CHOICES.map((c) => c.choice)).toEqual(['8h', '1w', 'always']);
    expect(mutedUntilFor('8h', NOW)).toBe(NOW + 8 * HOUR);
    expect(mutedUntilFor('1w', NOW)).toBe(NOW + 7 * DAY);
    expect(mutedUntilFor('always', NOW)).toBe(MUTED_FOREVER);
  });

  it('is muted only while now is before mutedUntil', () => {
    expect(isMuted(null, NOW)).toBe(false);
    expect(isMuted(undefined, NOW)).toBe(false);
    expect(isMuted(NOW, NOW)).toBe(false);
    expect(isMuted(NOW + 1, NOW)).toBe(true);
    expect(isMuted(MUTED_FOREVER, NOW)).toBe(true);
  });

  it('reads as chosen right after muting, even against a clock up to a tick behind', () => {
    expect(muteRemaining(NOW + 8 * HOUR - 1_000, NOW)).toBe('8 h');
    expect(muteRemaining(NOW + 8 * HOUR + 30_000, NOW)).toBe('8 h');
    expect(muteRemaining(NOW + 7 * DAY - 1_000, NOW)).toBe('7 days');
    expect(muteRemaining(NOW + 7 * DAY + 30_000, NOW)).toBe('7 days');
  });

  it('rounds hours and days to the nearest, minutes up', () => {
    expect(muteRemaining(NOW + 90 * HOUR / 2 + 1, NOW)).toBe('2 days');
    expect(muteRemaining(NOW + DAY, NOW)).toBe('1 day');
    expect(muteRemaining(NOW + 5 * HOUR + 20 * MIN, NOW)).toBe('5 h');
    expect(muteRemaining(NOW + 59 * MIN + 1, NOW)).toBe('60 min');
    expect(muteRemaining(NOW + 10 * MIN, NOW)).toBe('10 min');
    expect(muteRemaining(NOW + 500, NOW)).toBe('1 min');
  });

  it('describes the mute for the menu and tooltip', () => {
    expect(muteStatus(null, NOW)).toBeNull();
    expect(muteStatus(NOW - 1, NOW)).toBeNull();
    expect(muteStatus(MUTED_FOREVER, NOW)).toBe('Muted until you unmute');
    expect(muteStatus(mutedUntilFor('8h', NOW), NOW)).toBe('Muted for 8 h more');
    expect(muteStatus(mutedUntilFor('1w', NOW), NOW + HOUR)).toBe('Muted for 7 days more');
  });
});
