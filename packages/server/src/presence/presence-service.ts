import type { Presence } from '@confab/protocol';
import type { Fanout } from '../realtime/fanout.js';
import type { Store } from '../store/store.js';
import type { PresenceTracker } from './presence-tracker.js';

/**
 * Online / offline / last seen. A change is pushed only to the user's 1:1
 * peers (the people who show this user's dot); other contacts ask with
 * query(), which is how group member lists get presence without fan-out to
 * every group. Presence is shown only between users who share a channel and
 * have not blocked each other: a stranger cannot watch when someone is online.
 */
export class PresenceService {
  /**
   * Last-seen times not yet written, merged per user. A reconnect storm is
   * thousands of connects and disconnects a second; one transaction (one
   * fsync) for each would be most of what the storm costs the server. They
   * are written together every `flushMs` instead; a crash loses at most that
   * much of last-seen precision, never a message.
   */
  private pending = new Map<string, number>();
  /** The batch being written now: until it commits, a read of the store may not show it yet. */
  private writing: ReadonlyMap<string, number> = new Map();
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly tracker: PresenceTracker,
    private readonly store: Store,
    private readonly fanout: Fanout,
    private readonly opts: { now: () => number; onError: (err: unknown) => void; flushMs: number },
  ) {
    this.timer = setInterval(() => void this.flush(), opts.flushMs);
    this.timer.unref();
  }

  async connected(userId: string, connectionId: string): Promise<void> {
    const now = this.opts.now();
    if (await this.tracker.connect(userId, connectionId, now)) {
      this.seen(userId, now);
      await this.announce({ userId, online: true, lastSeen: now });
    }
  }

  heartbeat(userId: string, connectionId: string): void {
    this.tracker.heartbeat(userId, connectionId, this.opts.now());
  }

  async disconnected(userId: string, connectionId: string, lastActiveAt: number): Promise<void> {
    if (await this.tracker.disconnect(userId, connectionId, this.opts.now())) {
      this.seen(userId, lastActiveAt);
      await this.announce({ userId, online: false, lastSeen: lastActiveAt });
    }
  }

  /** The tracker found the user's last connection dead (its node went away). */
  async expired(userId: string, lastSeen: number): Promise<void> {
    this.seen(userId, lastSeen);
    await this.announce({ userId, online: false, lastSeen });
  }

  /** Presence of the asker and of those of `userIds` who are their contacts; anyone else is left out, as unknown ids are. */
  async query(askerId: string, userIds: readonly string[]): Promise<Presence[]> {
    const wanted = [...new Set(userIds)];
    const others = wanted.filter((id) => id !== askerId);
    const visible = new Set(await this.store.contactsAmong(askerId, others));
    const unique = wanted.filter((id) => id === askerId || visible.has(id));
    if (unique.length === 0) return [];
    // Taken before the read: a time not yet committed when the read starts is
    // still in memory now, and one committed before it is in what is read.
    const unwritten = new Map(unique.map((id) => [id, this.lastSeenOf(id, null)]));
    const [online, users] = await Promise.all([this.tracker.online(unique), this.store.getUsers(unique)]);
    return users.map((u) => ({ userId: u.id, online: online.has(u.id), lastSeen: newer(u.lastSeen, unwritten.get(u.id) ?? null) }));
  }

  /** The newest of a stored last-seen time and any not yet written (or being written). */
  lastSeenOf(userId: string, stored: number | null): number | null {
    return newer(newer(stored, this.pending.get(userId) ?? null), this.writing.get(userId) ?? null);
  }

  /** Writes what is pending; resolves when everything noted before the call is stored. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      this.writing = batch;
      try {
        await this.store.setLastSeen(batch);
      } catch (err) {
        // Put back what was not written, unless something newer arrived meanwhile.
        for (const [userId, at] of batch) if (!((this.pending.get(userId) ?? -Infinity) >= at)) this.pending.set(userId, at);
        this.opts.onError(err);
      } finally {
        this.writing = new Map();
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private seen(userId: string, at: number): void {
    const prev = this.pending.get(userId);
    if (prev === undefined || at > prev) this.pending.set(userId, at);
  }

  private async announce(presence: Presence): Promise<void> {
    try {
      const [peers, blocks] = await Promise.all([this.store.listDirectPeers(presence.userId), this.store.blockRelations(presence.userId)]);
      const hidden = new Set(blocks);
      this.fanout.presence(presence, hidden.size === 0 ? peers : peers.filter((id) => !hidden.has(id)));
    } catch (err) {
      this.opts.onError(err);
    }
  }
}

function newer(a: number | null, b: number | null): number | null {
  return a === null || (b !== null && b > a) ? b : a;
}
