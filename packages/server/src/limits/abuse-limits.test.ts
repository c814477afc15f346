import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../adapters/limits/memory-rate-limiter.js';
import { AppError } from '../errors.js';
import { AbuseLimits, addressKey } from './abuse-limits.js';
import type { RateLimiter } from './rate-limiter.js';

function limits(over: Partial<ConstructorParameters<typeof AbuseLimits>[1]> = {}, limiter: RateLimiter = new MemoryRateLimiter()) {
  let t = 1_764_000_000_000;
  const errors: unknown[] = [];
  const l = new AbuseLimits(limiter, {
    loginFailuresPerAccount: 3,
    loginFailuresPerAddress: 5,
    loginFailureWindowMs: 60_000,
    groupOpsPerMinute: 2,
    now: () => t,
    onError: (err) => errors.push(err),
    ...over,
  });
  return { l, errors, advance: (ms: number) => (t += ms) };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(() => null, (e: unknown) => e);
  if (!(err instanceof AppError)) throw new Error('expected a refusal');
  return err;
}

describe('AbuseLimits', () => {
  it('counts failed password checks per account; successful ones are given back', async () => {
    const { l, advance } = limits();
    for (let i = 0; i < 10; i++) await (await l.passwordAttempt('Ada', '10.0.0.1')).refund();
    for (let i = 0; i < 3; i++) await l.passwordAttempt('ada ', `10.0.0.${i}`);
    const err = await refusal(l.passwordAttempt('ADA', '10.0.0.9'));
    expect(err.code).toBe('rate_limited');
    // One failure comes back every 20 s (3 per minute).
    expect(err.retryAfterMs).toBe(20_000);
    advance(20_000);
    await l.passwordAttempt('ada', '10.0.0.9');
    expect((await refusal(l.passwordAttempt('ada', '10.0.0.9'))).code).toBe('rate_limited');
  });

  it('counts failed password checks per address, across accounts, without using up the account of a refused attempt', async () => {
    const { l } = limits();
    for (let i = 0; i < 5; i++) await l.passwordAttempt(`user${i}`, '192.0.2.7');
    expect((await refusal(l.passwordAttempt('victim', '192.0.2.7'))).code).toBe('rate_limited');
    // The refusal above did not cost the victim's account anything.
    for (let i = 0; i < 3; i++) await l.passwordAttempt('victim', `198.51.100.${i}`);
    expect((await refusal(l.passwordAttempt('victim', '198.51.100.9'))).code).toBe('rate_limited');
  });

  it('limits group operations per user per minute', async () => {
    const { l, advance } = limits();
    await l.groupOperation('u_1');
    await l.groupOperation('u_1');
    await l.groupOperation('u_2');
    const err = await refusal(l.groupOperation('u_1'));
    expect(err).toMatchObject({ code: 'rate_limited', retryAfterMs: 30_000 });
    advance(30_000);
    await l.groupOperation('u_1');
  });

  it('a limit of 0 is off', async () => {
    const { l } = limits({ loginFailuresPerAccount: 0, loginFailuresPerAddress: 0, groupOpsPerMinute: 0 });
    for (let i = 0; i < 50; i++) {
      await l.passwordAttempt('ada', '10.0.0.1');
      await l.groupOperation('u_1');
    }
  });

  it('lets requests through when the limiter fails, and reports it', async () => {
    const broken: RateLimiter = { take: () => Promise.reject(new Error('redis down')), close: async () => {} };
    const { l, errors } = limits({}, broken);
    for (let i = 0; i < 10; i++) await l.passwordAttempt('ada', '10.0.0.1');
    await l.groupOperation('u_1');
    expect(errors.length).toBeGreaterThan(0);
  });

  it('keys IPv6 addresses by their /64 and IPv4-mapped ones as IPv4', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});
