import type { Presence } from '@confab/protocol';
import type { Fanout } from '../realtime/fanout.js';
import type { Store } from '../store/store.js';
import type { PresenceTracker } from './presence-tracker.js';

/**
 * Online / offline / last seen. A change is pushed only to the user's 1:1
 * peers (the people who show this user's dot); anyone else asks with query(),
 * which is how group member lists get presence without fan-out to every group.
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

  async query(userIds: readonly string[]): Promise<Presence[]> {
    const unique = [...new Set(userIds)];
    const [online, users] = await Promise.all([this.tracker.online(unique), this.store.getUsers(unique)]);
    return users.map((u) => ({ userId: u.id, online: online.has(u.id), lastSeen: u.lastSeen }));
  }

  private async announce(presence: Presence): Promise<void> {
    try {
      const peers = await this.store.listDirectPeers(presence.userId);
      this.fanout.presence(presence, peers);
    } catch (err) {
      this.opts.onError(err);
    }
  }
}
