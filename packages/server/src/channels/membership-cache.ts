import type { Store } from '../store/store.js';

/**
 * Current members per channel, for the hot checks that do not write (typing,
 * receipts, fan-out of volatile events). Writes never trust it: the store
 * checks membership inside its transactions. Entries are dropped on every
 * membership change, on this node or (via the broker) another.
 */
export class MembershipCache {
  private readonly entries = new Map<string, Promise<ReadonlySet<string>>>();

  constructor(
    private readonly store: Store,
    private readonly maxEntries = 50_000,
  ) {}

  members(channelId: string): Promise<ReadonlySet<string>> {
    let entry = this.entries.get(channelId);
    if (entry) {
      // Re-insert to keep the Map in least-recently-used order.
      this.entries.delete(channelId);
      this.entries.set(channelId, entry);
      return entry;
    }
    entry = this.store.listMembers(channelId).then((rows) => new Set(rows.map((m) => m.userId)));
    entry.catch(() => this.entries.delete(channelId));
    this.entries.set(channelId, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return entry;
  }

  async isMember(channelId: string, userId: string): Promise<boolean> {
    return (await this.members(channelId)).has(userId);
  }

  invalidate(channelId: string): void {
    this.entries.delete(channelId);
  }
}
