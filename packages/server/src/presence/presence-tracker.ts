/*
 * The presence port: which users have at least one live connection, across
 * the cluster. Embedded: MemoryPresenceTracker. Distributed:
 * RedisPresenceTracker keeps per-connection entries with an expiry refreshed
 * by heartbeat(), so a node that dies takes its users offline within the
 * presence timeout.
 *
 * Contract (tested by presence-tracker.contract.ts on every implementation):
 * - connect() resolves true exactly when the user had no live connection
 *   before (came online); disconnect() resolves true exactly when it removed
 *   the user's last live one (went offline).
 * - Repeating connect/disconnect for the same connection id is harmless.
 * - A connection not refreshed by heartbeat() within the tracker's timeout is
 *   dead; when that leaves a user with no live connection, the `expired`
 *   handlers are called for that user once, cluster-wide, with the time the
 *   user was last seen.
 */
export interface PresenceTracker {
  connect(userId: string, connectionId: string, now: number): Promise<boolean>;
  heartbeat(userId: string, connectionId: string, now: number): void;
  disconnect(userId: string, connectionId: string, now: number): Promise<boolean>;
  online(userIds: readonly string[]): Promise<Set<string>>;
  onExpired(handler: (userId: string, lastSeen: number) => void): void;
  close(): Promise<void>;
}
