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
  constructor(
    private readonly tracker: PresenceTracker,
    private readonly store: Store,
    private readonly fanout: Fanout,
    private readonly opts: { now: () => number; onError: (err: unknown) => void },
  ) {}

  async connected(userId: string, connectionId: string): Promise<void> {
    const now = this.opts.now();
    if (await this.tracker.connect(userId, connectionId, now)) {
      await this.store.setLastSeen(userId, now);
      await this.announce({ userId, online: true, lastSeen: now });
    }
  }

  heartbeat(userId: string, connectionId: string): void {
    this.tracker.heartbeat(userId, connectionId, this.opts.now());
  }

  async disconnected(userId: string, connectionId: string, lastActiveAt: number): Promise<void> {
    if (await this.tracker.disconnect(userId, connectionId, this.opts.now())) {
      await this.store.setLastSeen(userId, lastActiveAt);
      await this.announce({ userId, online: false, lastSeen: lastActiveAt });
    }
  }

  /** The tracker found the user's last connection dead (its node went away). */
  async expired(userId: string, lastSeen: number): Promise<void> {
    try {
      await this.store.setLastSeen(userId, lastSeen);
    } catch (err) {
      this.opts.onError(err);
    }
    await this.announce({ userId, online: false, lastSeen });
  }

  /** Presence of the asker and of those of `userIds` who are their contacts; anyone else is left out, as unknown ids are. */
  async query(askerId: string, userIds: readonly string[]): Promise<Presence[]> {
    const wanted = [...new Set(userIds)];
    const others = wanted.filter((id) => id !== askerId);
    const visible = new Set(await this.store.contactsAmong(askerId, others));
    const unique = wanted.filter((id) => id === askerId || visible.has(id));
    if (unique.length === 0) return [];
    const [online, users] = await Promise.all([this.tracker.online(unique), this.store.getUsers(unique)]);
    return users.map((u) => ({ userId: u.id, online: online.has(u.id), lastSeen: u.lastSeen }));
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
