import type { NodeInfo, NodeRegistry } from '../../discovery/node-registry.js';

/** Discovery for a single process: the registry holds whatever this process announced. */
export class MemoryNodeRegistry implements NodeRegistry {
  private readonly nodes = new Map<string, { info: NodeInfo; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async announce(info: NodeInfo, ttlMs: number): Promise<void> {
    this.nodes.set(info.id, { info: { ...info }, expiresAt: this.now() + ttlMs });
  }

  async withdraw(nodeId: string): Promise<void> {
    this.nodes.delete(nodeId);
  }

  async live(): Promise<NodeInfo[]> {
    const now = this.now();
    return [...this.nodes.values()].filter((n) => n.expiresAt > now).map((n) => ({ ...n.info }));
  }

  async close(): Promise<void> {
    this.nodes.clear();
  }
}
