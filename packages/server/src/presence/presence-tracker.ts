/*
 * The presence port: which users have at least one live connection, across
 * the cluster. Embedded: MemoryPresenceTracker. Distributed implementations
 * keep per-connection entries with an expiry refreshed by heartbeat(), so a
 * node that dies takes its users offline within the presence timeout.
 *
 * Contract:
 * - connect() resolves true exactly when the user had no live connection
 *   before (came online); disconnect() resolves true exactly when it removed
 *   the user's last one (went offline).
 * - Repeating connect/disconnect for the same connection id is harmless.
 */
export interface PresenceTracker {
  connect(userId: string, connectionId: string, now: number): Promise<boolean>;
  heartbeat(userId: string, connectionId: string, now: number): void;
  disconnect(userId: string, connectionId: string, now: number): Promise<boolean>;
  online(userIds: readonly string[]): Promise<Set<string>>;
  close(): Promise<void>;
}
