import { MemoryRateLimiter } from '../adapters/limits/memory-rate-limiter.js';
import { rateLimited } from '../errors.js';
import type { BucketSpec } from '../limits/token-bucket.js';

/** How long after its retry-after a refused send has to come back before its hold lapses. */
export const HOLD_GRACE_MS = 10_000;

export interface SendLimits {
  /** Sustained messages per second per device; 0: no message limit. */
  messagesPerSecond: number;
  messagesBurst: number;
  /** Sustained UTF-8 bytes of text per second per device; 0: no byte limit. */
  bytesPerSecond: number;
  bytesBurst: number;
}

/**
 * Per-device token buckets for sends: one for messages, one for bytes of
 * text. They live in this process: a device sends through the node its
 * socket is on (HTTP sends may land elsewhere, so across a cluster a device
 * could get up to one allowance per node; a per-node limit is enough to stop
 * a flood from one device from swamping a node or a channel).
 *
 * Order: sends are committed in the order they arrive, and a client resends
 * a refused send before anything it queued behind it. So after a refusal the
 * device is held: until the retry-after has passed nothing gets through, and
 * then only that same send (its client id) does, which ends the hold. A later
 * message that was already on the wire — or a small one that would fit —
 * cannot overtake the refused one. A client that never resends it is let go
 * `HOLD_GRACE_MS` after the retry-after.
 */
export class SendLimiter {
  private readonly buckets = new MemoryRateLimiter();
  private readonly messages: BucketSpec | null;
  private readonly bytes: BucketSpec | null;
  private readonly holds = new Map<string, { clientId: string; until: number }>();

  constructor(limits: SendLimits) {
    this.messages = limits.messagesPerSecond > 0 ? { capacity: limits.messagesBurst, refillPerMs: limits.messagesPerSecond / 1000 } : null;
    this.bytes = limits.bytesPerSecond > 0 ? { capacity: limits.bytesBurst, refillPerMs: limits.bytesPerSecond / 1000 } : null;
  }

  /** Charges one send (`clientId`, `bytes` of text) to the device, or throws `rate_limited` with the time to wait. */
  take(deviceId: string, clientId: string, bytes: number, now: number): void {
    if (!this.messages && !this.bytes) return;
    const hold = this.holds.get(deviceId);
    if (hold) {
      if (now < hold.until) throw rateLimited(hold.until - now);
      // Past the retry-after only the refused send itself may pass (and ends the hold).
      if (hold.clientId !== clientId && now < hold.until + HOLD_GRACE_MS) throw rateLimited(1);
      this.holds.delete(deviceId);
    }
    const messageWait = this.messages ? this.buckets.takeNow(`m:${deviceId}`, this.messages, 1, now) : 0;
    const byteWait = messageWait === 0 && this.bytes ? this.buckets.takeNow(`b:${deviceId}`, this.bytes, Math.min(bytes, this.bytes.capacity), now) : 0;
    if (messageWait === 0 && byteWait === 0) return;
    // The message token taken above is given back when only the bytes refused.
    if (messageWait === 0 && this.messages) this.buckets.takeNow(`m:${deviceId}`, this.messages, -1, now);
    const retryAfter = Math.max(messageWait, byteWait);
    this.holds.set(deviceId, { clientId, until: now + retryAfter });
    if (this.holds.size > 100_000) this.forgetLapsedHolds(now);
    throw rateLimited(retryAfter);
  }

  private forgetLapsedHolds(now: number): void {
    for (const [deviceId, hold] of this.holds) if (hold.until + HOLD_GRACE_MS <= now) this.holds.delete(deviceId);
  }
}
