import type { Connection } from './connection.js';
import { wireFrame } from './encode.js';

/** The connections held by this node, indexed by user and by device. */
export class ConnectionRegistry {
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly byDevice = new Map<string, Set<Connection>>();
  readonly all = new Set<Connection>();

  /** Adds a connection; true when it is the user's first on this node. */
  add(conn: Connection): boolean {
    this.all.add(conn);
    addTo(this.byDevice, conn.deviceId, conn);
    return addTo(this.byUser, conn.userId, conn);
  }

  /** Removes a connection; true when it was the user's last on this node. */
  remove(conn: Connection): boolean {
    if (!this.all.delete(conn)) return false;
    removeFrom(this.byDevice, conn.deviceId, conn);
    return removeFrom(this.byUser, conn.userId, conn);
  }

  /** Writes one encoded frame to every local connection of these users. */
  deliver(userIds: readonly string[], payload: Buffer): number {
    let written = 0;
    let wire: Buffer[] | undefined;
    for (const userId of userIds) {
      const conns = this.byUser.get(userId);
      if (!conns) continue;
      for (const conn of conns) {
        conn.sendWire((wire ??= wireFrame(payload)));
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

/** True when the key had no connection before. */
function addTo(map: Map<string, Set<Connection>>, key: string, conn: Connection): boolean {
  let set = map.get(key);
  const first = set === undefined;
  if (!set) map.set(key, (set = new Set()));
  set.add(conn);
  return first;
}

/** True when the key has no connection left. */
function removeFrom(map: Map<string, Set<Connection>>, key: string, conn: Connection): boolean {
  const set = map.get(key);
  if (!set) return false;
  set.delete(conn);
  if (set.size > 0) return false;
  map.delete(key);
  return true;
}
