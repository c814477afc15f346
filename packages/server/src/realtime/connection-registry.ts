import type { Connection } from './connection.js';
import { OutboundFrame } from './client-socket.js';

/**
 * One connection, or several. Most users and nearly all devices hold exactly
 * one connection per node, and a Set per key would cost a few hundred bytes
 * on every idle connection; a Set is made only for the second.
 */
type Held = Connection | Set<Connection>;

/** The connections held by this node, indexed by user and by device. */
export class ConnectionRegistry {
  private readonly byUser = new Map<string, Held>();
  private readonly byDevice = new Map<string, Held>();
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

  /** Sends one encoded frame to every local connection of these users. */
  deliver(userIds: readonly string[], payload: Buffer): number {
    let written = 0;
    let frame: OutboundFrame | undefined;
    for (const userId of userIds) {
      const held = this.byUser.get(userId);
      if (!held) continue;
      if (!(held instanceof Set)) {
        held.sendFrame((frame ??= new OutboundFrame(payload)));
        written++;
        continue;
      }
      for (const conn of held) {
        conn.sendFrame((frame ??= new OutboundFrame(payload)));
        written++;
      }
    }
    return written;
  }

  ofDevice(deviceId: string): Connection[] {
    return list(this.byDevice.get(deviceId));
  }

  /** How many connections of this user this node holds. */
  countOfUser(userId: string): number {
    const held = this.byUser.get(userId);
    return held === undefined ? 0 : held instanceof Set ? held.size : 1;
  }

  ofUser(userId: string): Connection[] {
    return list(this.byUser.get(userId));
  }

  get size(): number {
    return this.all.size;
  }
}

function list(held: Held | undefined): Connection[] {
  if (!held) return [];
  return held instanceof Set ? [...held] : [held];
}

/** True when the key had no connection before. */
function addTo(map: Map<string, Held>, key: string, conn: Connection): boolean {
  const held = map.get(key);
  if (held === undefined) {
    map.set(key, conn);
    return true;
  }
  if (held instanceof Set) held.add(conn);
  else if (held !== conn) map.set(key, new Set([held, conn]));
  return false;
}

/** True when the key has no connection left. */
function removeFrom(map: Map<string, Held>, key: string, conn: Connection): boolean {
  const held = map.get(key);
  if (held === undefined) return false;
  if (!(held instanceof Set)) {
    if (held !== conn) return false;
    map.delete(key);
    return true;
  }
  held.delete(conn);
  if (held.size > 1) return false;
  const [last] = held;
  if (last) {
    map.set(key, last);
    return false;
  }
  map.delete(key);
  return true;
}
