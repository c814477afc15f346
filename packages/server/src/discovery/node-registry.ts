/*
 * The discovery port: which chat nodes are alive, where clients reach them,
 * and how loaded they are. Embedded: MemoryNodeRegistry (the one node).
 * Distributed: RedisNodeRegistry.
 *
 * Contract:
 * - announce() records or refreshes a node; an entry not refreshed within
 *   `ttlMs` is no longer live.
 * - withdraw() removes a node at once.
 * - live() returns the nodes announced within their ttl, draining ones included
 *   (callers decide), in no particular order.
 */
export interface NodeInfo {
  id: string;
  /** Base URL (http or https) a client uses to reach this node directly. */
  url: string;
  connections: number;
  draining: boolean;
}

export interface NodeRegistry {
  announce(info: NodeInfo, ttlMs: number): Promise<void>;
  withdraw(nodeId: string): Promise<void>;
  live(): Promise<NodeInfo[]>;
  close(): Promise<void>;
}
