import type { Connection } from './connection.js';

/** The connections held by this node, indexed by user and by device. */
export class ConnectionRegistry {
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly byDevice = new Map<string, Set<Connection>>();
  readonly all = new Set<Connection>();

  add(conn: Connection): void {
    this.all.add(conn);
    addTo(this.byUser, conn.userId, conn);
    addTo(this.byDevice, conn.deviceId, conn);
  }

  remove(conn: Connection): void {
    this.all.delete(conn);
    removeFrom(this.byUser, conn.userId, conn);
    removeFrom(this.byDevice, conn.deviceId, conn);
  }

  /** Writes one encoded frame to every local connection of these users. */
  deliver(userIds: readonly string[], payload: Buffer): number {
    let written = 0;
    for (const userId of userIds) {
      const conns = this.byUser.get(userId);
      if (!conns) continue;
      for (const conn of conns) {
        conn.sendRaw(payload);
        written++;
      }
    }
    return written;
  }

  ofDevice(deviceId: string): Connection[] {
    return [...(this.byDevice.get(deviceId) ?? [])];
  }

  ofUser(userId: string): Connection[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  get size(): number {
    return this.all.size;
  }
}

function addTo(map: Map<string, Set<Connection>>, key: string, conn: Connection): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(conn);
}

function removeFrom(map: Map<string, Set<Connection>>, key: string, conn: Connection): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(conn);
  if (set.size === 0) map.delete(key);
}
