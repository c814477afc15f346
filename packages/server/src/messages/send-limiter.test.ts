import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { SendLimiter } from './send-limiter.js';

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
    for (let i = 0; i < 3; i++) l.take('d_a', 10, T0);
    expect(refusal(() => l.take('d_a', 10, T0))).toMatchObject({ code: 'rate_limited', retryAfterMs: 500 });
    l.take('d_b', 10, T0);
    l.take('d_a', 10, T0 + 500);
    expect(refusal(() => l.take('d_a', 10, T0 + 500)).retryAfterMs).toBe(500);
  });

  it('limits bytes of text; a refused large send holds back smaller ones until its retry-after', () => {
    const l = new SendLimiter({ messagesPerSecond: 100, messagesBurst: 100, bytesPerSecond: 1_000, bytesBurst: 4_000 });
    l.take('d_a', 3_000, T0);
    const big = refusal(() => l.take('d_a', 2_000, T0));
    expect(big.retryAfterMs).toBe(1_000);
    // 1,000 bytes would fit, but would overtake the refused send.
    expect(refusal(() => l.take('d_a', 10, T0 + 400)).retryAfterMs).toBe(600);
    l.take('d_a', 2_000, T0 + 1_000);
  });

  it('a refusal by bytes does not use up a message token', () => {
    const l = new SendLimiter({ messagesPerSecond: 0.001, messagesBurst: 2, bytesPerSecond: 1_000, bytesBurst: 1_000 });
    l.take('d_a', 1_000, T0);
    refusal(() => l.take('d_a', 500, T0));
    // A second later the bytes have refilled, and the one message token left is still there.
    l.take('d_a', 500, T0 + 1_000);
    expect(refusal(() => l.take('d_a', 1, T0 + 1_000)).code).toBe('rate_limited');
  });

  it('is off when the rates are 0', () => {
    const l = new SendLimiter({ messagesPerSecond: 0, messagesBurst: 1, bytesPerSecond: 0, bytesBurst: 1 });
    for (let i = 0; i < 1_000; i++) l.take('d_a', 400_000, T0);
  });
});
