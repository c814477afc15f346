import type { Receipt } from '@confab/protocol';
import type { Session } from '../accounts/accounts-service.js';
import type { MembershipCache } from '../channels/membership-cache.js';
import { AppError } from '../errors.js';
import type { Fanout } from '../realtime/fanout.js';
import type { ReceiptChange, ReceiptUpdate, Store } from '../store/store.js';

/**
 * Delivered and read watermarks. Devices report them often (every batch of
 * messages they receive), so updates are merged in memory and written and
 * broadcast together every `flushMs`: in a group of 100 one message causes
 * up to 100 delivered reports, which become one write batch and one frame per
 * channel instead of 100 × 100 frames.
 */
export class ReceiptsService {
  private pending = new Map<string, ReceiptUpdate>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly members: MembershipCache,
    private readonly fanout: Fanout,
    private readonly opts: { flushMs: number; onError: (err: unknown) => void; onReads?: (changes: readonly ReceiptChange[]) => void },
  ) {}

  async report(session: Session, channelId: string, kind: 'delivered' | 'read', seq: number): Promise<void> {
    if (!(await this.members.isMember(channelId, session.user.id))) throw new AppError('not_member');
    const key = `${channelId}\u0000${session.user.id}`;
    const entry = this.pending.get(key) ?? { channelId, userId: session.user.id };
    if (kind === 'read') entry.readSeq = Math.max(entry.readSeq ?? 0, seq);
    else entry.deliveredSeq = Math.max(entry.deliveredSeq ?? 0, seq);
    this.pending.set(key, entry);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.opts.flushMs);
  }

  /** Writes and broadcasts everything reported so far. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const updates = [...this.pending.values()];
    this.pending = new Map();
    try {
      const changes = await this.store.updateReceipts(updates);
      if (this.opts.onReads) {
        // Only rows someone reported reading can have moved a read watermark.
        const readKeys = new Set(updates.filter((u) => u.readSeq !== undefined).map((u) => `${u.channelId}\u0000${u.userId}`));
        const reads = changes.filter((c) => readKeys.has(`${c.channelId}\u0000${c.userId}`));
        if (reads.length > 0) this.opts.onReads(reads);
      }
      const byChannel = new Map<string, Receipt[]>();
      for (const c of changes) {
        let list = byChannel.get(c.channelId);
        if (!list) byChannel.set(c.channelId, (list = []));
        list.push({ userId: c.userId, deliveredSeq: c.deliveredSeq, readSeq: c.readSeq });
      }
      for (const [channelId, receipts] of byChannel) {
        // Everyone in the channel sees the ticks; the reader's own devices
        // learn the shared read watermark from the same frame.
        this.fanout.receipts(channelId, receipts, [...(await this.members.members(channelId))]);
      }
    } catch (err) {
      // Watermarks are advisory and clients re-report them; losing one flush
      // only delays ticks.
      this.opts.onError(err);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
  }
}
