import type { DeliveredFrame, ReadFrame, TypingFrame } from '@confab/protocol';

export type SignalFrame = ReadFrame | DeliveredFrame | TypingFrame;

export const TYPING_INTERVAL_MS = 3_000;
export const DELIVERED_FLUSH_MS = 100;

/**
 * The small fire-and-forget frames: delivered, read and typing. None of them
 * is worth an outbox; each keeps only what still matters after a reconnect
 * (the highest delivered and read seq per channel), and typing is simply dropped.
 */
export class Signals {
  private readonly delivered = new Map<string, number>();
  private readonly reads = new Map<string, number>();
  private readonly typingSentAt = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `transmit` writes a frame if connected and says whether it did. */
  constructor(
    private readonly transmit: (frame: SignalFrame) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A message was emitted to the app. Delivered acks are coalesced: one frame
   * per channel with its highest seq, at most every 100 ms, so a sync that
   * emits thousands of messages costs a handful of frames.
   */
  noteDelivered(channelId: string, seq: number): void {
    if (seq > (this.delivered.get(channelId) ?? 0)) this.delivered.set(channelId, seq);
    this.scheduleFlush();
  }

  markRead(channelId: string, seq: number): void {
    if (this.transmit({ type: 'read', channelId, seq })) {
      if ((this.reads.get(channelId) ?? -1) <= seq) this.reads.delete(channelId);
    } else {
      // Offline: only the latest position per channel matters once we are back.
      this.reads.set(channelId, Math.max(seq, this.reads.get(channelId) ?? 0));
    }
  }

  /** At most one frame per channel per TYPING_INTERVAL_MS; dropped while offline. */
  typing(channelId: string): void {
    const now = this.now();
    const last = this.typingSentAt.get(channelId);
    if (last !== undefined && now - last < TYPING_INTERVAL_MS) return;
    if (this.transmit({ type: 'typing', channelId })) this.typingSentAt.set(channelId, now);
  }

  /** After a welcome: send what was held back while offline. */
  connected(): void {
    for (const [channelId, seq] of this.reads) {
      if (this.transmit({ type: 'read', channelId, seq })) this.reads.delete(channelId);
    }
    if (this.delivered.size > 0) this.scheduleFlush();
  }

  flush(): void {
    for (const [channelId, seq] of this.delivered) {
      if (!this.transmit({ type: 'delivered', channelId, seq })) return; // offline: retried after the next welcome
      this.delivered.delete(channelId);
    }
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.delivered.clear();
    this.reads.clear();
  }

  private scheduleFlush(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, DELIVERED_FLUSH_MS);
  }
}
