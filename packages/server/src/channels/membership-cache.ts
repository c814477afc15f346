import type { Store } from '../store/store.js';

/**
 * Current members per channel, for the hot checks that do not write (typing,
 * receipts, fan-out of volatile events). Writes never trust it: the store
 * checks membership inside its transactions. Entries are dropped on every
 * membership change, on this node or (via the broker) another; because a
 * broadcast can be lost while Redis is down, entries also expire after
 * `ttlMs`, which bounds how long a missed change can linger.
 */
export class MembershipCache {
  private readonly entries = new Map<string, { members: Promise<ReadonlySet<string>>; loadedAt: number }>();

  constructor(
    private readonly store: Store,
    private readonly opts: { maxEntries?: number; ttlMs?: number; now?: () => number } = {},
  ) {}

  members(channelId: string): Promise<ReadonlySet<string>> {
    const now = (this.opts.now ?? Date.now)();
    const cached = this.entries.get(channelId);
    if (cached && now - cached.loadedAt < (this.opts.ttlMs ?? 30_000)) {
      // Re-insert to keep the Map in least-recently-used order.
      this.entries.delete(channelId);
      this.entries.set(channelId, cached);
      return cached.members;
    }
    const members = this.store.listMembers(channelId).then((rows) => new Set(rows.map((m) => m.userId)));
    const entry = { members, loadedAt: now };
    members.catch(() => {
      if (this.entries.get(channelId) === entry) this.entries.delete(channelId);
    });
    this.entries.set(channelId, entry);
    if (this.entries.size > (this.opts.maxEntries ?? 50_000)) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return members;
  }

  async isMember(channelId: string, userId: string): Promise<boolean> {
    return (await this.members(channelId)).has(userId);
  }

  invalidate(channelId: string): void {
    this.entries.delete(channelId);
  }
}
