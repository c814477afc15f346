import type { PresenceTracker } from '../../presence/presence-tracker.js';

/**
 * In-process presence. Heartbeat expiry is enforced by the WebSocket gateway,
 * which closes silent sockets; in one process a dead connection cannot outlive
 * its socket, so nothing ever expires here and no timestamps are needed.
 */
export class MemoryPresenceTracker implements PresenceTracker {
  private readonly connections = new Map<string, Set<string>>();

  async connect(userId: string, connectionId: string): Promise<boolean> {
    let set = this.connections.get(userId);
    const cameOnline = set === undefined;
    if (!set) this.connections.set(userId, (set = new Set()));
    set.add(connectionId);
    return cameOnline;
  }

  heartbeat(): void {}

  async disconnect(userId: string, connectionId: string): Promise<boolean> {
    const set = this.connections.get(userId);
    if (!set || !set.delete(connectionId)) return false;
    if (set.size > 0) return false;
    this.connections.delete(userId);
    return true;
  }

  async online(userIds: readonly string[]): Promise<Set<string>> {
    return new Set(userIds.filter((id) => this.connections.has(id)));
  }

  onExpired(): void {}

  async close(): Promise<void> {
    this.connections.clear();
  }
}
