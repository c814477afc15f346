/*
 * The broker port: moves events between the nodes of a cluster. Embedded:
 * MemoryBroker (one process). Distributed: RedisBroker, which routes
 * `deliver` events only to the nodes holding a connection of one of the users.
 *
 * Contract (tested by broker.contract.ts on every implementation):
 * - publish() never blocks the caller and never throws; delivery is
 *   best-effort (durability comes from the store: a device that misses a
 *   live event catches up through sync).
 * - A `deliver` event reaches every node that has called addLocalUser for at
 *   least one of its users (and has not removed it since), and only those;
 *   each such node receives the event once, with the full payload.
 * - `revoke-device` and `membership` events reach every node.
 * - Events published by one node reach each subscriber in publish order.
 * - addLocalUser() resolves only once deliveries published after it will be
 *   routed to this node, so a device that syncs after that cannot miss a
 *   message in the gap between its sync and its live stream.
 * - `payload` is an already-serialized frame: it is encoded once per event,
 *   never once per recipient.
 */
export type BusEvent =
  | { kind: 'deliver'; userIds: readonly string[]; payload: Buffer }
  | { kind: 'revoke-device'; userId: string; deviceId: string }
  | { kind: 'membership'; channelId: string };

export interface Broker {
  publish(event: BusEvent): void;
  subscribe(handler: (event: BusEvent) => void): void;
  /** This node now holds a connection of the user. */
  addLocalUser(userId: string): Promise<void>;
  /** This node holds no connection of the user any more. */
  removeLocalUser(userId: string): void;
  close(): Promise<void>;
}
