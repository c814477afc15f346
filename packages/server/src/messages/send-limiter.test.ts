import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { HOLD_GRACE_MS, SendLimiter } from './send-limiter.js';

const T0 = 1_764_000_000_000;

function refusal(fn: () => void): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('SendLimiter', () => {
  it('allows the burst, then the sustained rate, per device', () => {
    const l = new SendLimiter({ messagesPerSecond: 2, messagesBurst: 3, bytesPerSecond: 0, bytesBurst: 1 });
    for (let i = 0; i < 3; i++) l.take('d_a', `m${i}`, 10, T0);
    expect(refusal(() => l.take('d_a', 'm3', 10, T0))).toMatchObject({ code: 'rate_limited', retryAfterMs: 500 });
    l.take('d_b', 'm0', 10, T0);
    l.take('d_a', 'm3', 10, T0 + 500);
    expect(refusal(() => l.take('d_a', 'm4', 10, T0 + 500)).retryAfterMs).toBe(500);
  });

  it('limits bytes of text; a refused large send holds back smaller ones until its retry-after', () => {
    const l = new SendLimiter({ messagesPerSecond: 100, messagesBurst: 100, bytesPerSecond: 1_000, bytesBurst: 4_000 });
    l.take('d_a', 'one', 3_000, T0);
    const big = refusal(() => l.take('d_a', 'big', 2_000, T0));
    expect(big.retryAfterMs).toBe(1_000);
    // 1,000 bytes would fit, but would overtake the refused send.
    expect(refusal(() => l.take('d_a', 'small', 10, T0 + 400)).retryAfterMs).toBe(600);
    l.take('d_a', 'big', 2_000, T0 + 1_000);
    l.take('d_a', 'small', 10, T0 + 1_010);
  });

  it('a refusal by bytes does not use up a message token', () => {
    const l = new SendLimiter({ messagesPerSecond: 0.001, messagesBurst: 2, bytesPerSecond: 1_000, bytesBurst: 1_000 });
    l.take('d_a', 'a', 1_000, T0);
    refusal(() => l.take('d_a', 'b', 500, T0));
    // A second later the bytes have refilled, and the one message token left is still there.
    l.take('d_a', 'b', 500, T0 + 1_000);
    expect(refusal(() => l.take('d_a', 'c', 1, T0 + 1_000)).code).toBe('rate_limited');
  });

  it('is off when the rates are 0', () => {
    const l = new SendLimiter({ messagesPerSecond: 0, messagesBurst: 1, bytesPerSecond: 0, bytesBurst: 1 });
    for (let i = 0; i < 1_000; i++) l.take('d_a', `m${i}`, 400_000, T0);
  });

  it('after the retry-after only the refused send passes first, so sends already on the wire behind it cannot overtake it', () => {
    const l = new SendLimiter({ messagesPerSecond: 10, messagesBurst: 2, bytesPerSecond: 0, bytesBurst: 1 });
    l.take('d_a', 'm1', 1, T0);
    l.take('d_a', 'm2', 1, T0);
    expect(refusal(() => l.take('d_a', 'm3', 1, T0)).retryAfterMs).toBe(100);
    expect(refusal(() => l.take('d_a', 'm4', 1, T0 + 50)).retryAfterMs).toBe(50);
    // m5 arrives after the retry-after, while the client has not resent m3 yet.
    expect(refusal(() => l.take('d_a', 'm5', 1, T0 + 150)).code).toBe('rate_limited');
    l.take('d_a', 'm3', 1, T0 + 150);
    expect(refusal(() => l.take('d_a', 'm4', 1, T0 + 150)).code).toBe('rate_limited');
  });

  it('lets a device go when its refused send never comes back', () => {
    const l = new SendLimiter({ messagesPerSecond: 10, messagesBurst: 1, bytesPerSecond: 0, bytesBurst: 1 });
    l.take('d_a', 'm1', 1, T0);
    refusal(() => l.take('d_a', 'abandoned', 1, T0));
    refusal(() => l.take('d_a', 'other', 1, T0 + 100 + HOLD_GRACE_MS - 1));
    l.take('d_a', 'other', 1, T0 + 100 + HOLD_GRACE_MS);
  });
});
