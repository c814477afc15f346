/*
 * The broker port: moves events between the nodes of a cluster. Embedded:
 * MemoryBroker (one process). Distributed implementations route `deliver`
 * events only to the nodes holding a connection of one of the users.
 *
 * Contract:
 * - publish() never blocks the caller and never throws; delivery is
 *   best-effort (durability comes from the store: a device that misses a
 *   live event catches up through sync).
 * - Events published by one node reach each subscriber in publish order.
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
  close(): Promise<void>;
}
