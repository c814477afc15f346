import { AppError } from '../errors.js';
import type { NodeInfo, NodeRegistry } from './node-registry.js';

/**
 * Keeps this node announced with its load, and hands clients the least
 * loaded healthy node. The announcement expires after `ttlMs` unless
 * refreshed, so a killed node stops receiving clients within that time.
 */
export class DiscoveryService {
  private timer: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(
    private readonly registry: NodeRegistry,
    private readonly self: { id: string; url: () => string; connections: () => number },
    private readonly opts: { ttlMs: number; onError: (err: unknown) => void },
  ) {}

  async start(): Promise<void> {
    await this.announce();
    this.timer = setInterval(() => void this.announce(), Math.max(100, Math.floor(this.opts.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops handing this node out; clients already here are told to move by the gateway. */
  async drain(): Promise<void> {
    this.draining = true;
    await this.announce();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    try {
      await this.registry.withdraw(this.self.id);
    } catch (err) {
      this.opts.onError(err);
    }
  }

  /** The least-loaded live node that is not draining; ties are broken at random to spread a storm. */
  async pick(): Promise<NodeInfo> {
    const nodes = (await this.registry.live()).filter((n) => !n.draining);
    if (nodes.length === 0) throw new AppError('unavailable', 'No chat node is available.');
    const least = Math.min(...nodes.map((n) => n.connections));
    // Nodes within 5% (or 10 connections) of the least loaded count as equal.
    const slack = Math.max(10, Math.floor(least * 0.05));
    const candidates = nodes.filter((n) => n.connections <= least + slack);
    return candidates[Math.floor(Math.random() * candidates.length)]!;
  }

  private async announce(): Promise<void> {
    try {
      await this.registry.announce({ id: this.self.id, url: this.self.url(), connections: this.self.connections(), draining: this.draining }, this.opts.ttlMs);
    } catch (err) {
      this.opts.onError(err);
    }
  }
}
