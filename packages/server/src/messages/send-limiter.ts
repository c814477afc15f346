import { MemoryRateLimiter } from '../adapters/limits/memory-rate-limiter.js';
import { rateLimited } from '../errors.js';
import type { BucketSpec } from '../limits/token-bucket.js';

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
 * After a refusal the device is held back until the retry-after has passed,
 * even for a send small enough to fit: sends are committed in the order they
 * arrive, so a later small message must not overtake a refused large one.
 */
export class SendLimiter {
  private readonly buckets = new MemoryRateLimiter();
  private readonly messages: BucketSpec | null;
  private readonly bytes: BucketSpec | null;
  private readonly heldUntil = new Map<string, number>();

  constructor(limits: SendLimits) {
    this.messages = limits.messagesPerSecond > 0 ? { capacity: limits.messagesBurst, refillPerMs: limits.messagesPerSecond / 1000 } : null;
    this.bytes = limits.bytesPerSecond > 0 ? { capacity: limits.bytesBurst, refillPerMs: limits.bytesPerSecond / 1000 } : null;
  }

  /** Charges one send of `bytes` to the device, or throws `rate_limited` with the time to wait. */
  take(deviceId: string, bytes: number, now: number): void {
    if (!this.messages && !this.bytes) return;
    const held = this.heldUntil.get(deviceId);
    if (held !== undefined) {
      if (now < held) throw rateLimited(held - now);
      this.heldUntil.delete(deviceId);
    }
    const messageWait = this.messages ? this.buckets.takeNow(`m:${deviceId}`, this.messages, 1, now) : 0;
    const byteWait = messageWait === 0 && this.bytes ? this.buckets.takeNow(`b:${deviceId}`, this.bytes, Math.min(bytes, this.bytes.capacity), now) : 0;
    if (messageWait === 0 && byteWait === 0) return;
    // The message token taken above is given back when only the bytes refused.
    if (messageWait === 0 && this.messages) this.buckets.takeNow(`m:${deviceId}`, this.messages, -1, now);
    const retryAfter = Math.max(messageWait, byteWait);
    this.heldUntil.set(deviceId, now + retryAfter);
    if (this.heldUntil.size > 100_000) this.forgetExpiredHolds(now);
    throw rateLimited(retryAfter);
  }

  private forgetExpiredHolds(now: number): void {
    for (const [deviceId, until] of this.heldUntil) if (until <= now) this.heldUntil.delete(deviceId);
  }
}
