import type { Broker, BusEvent } from '../../realtime/broker.js';

/**
 * The single-process broker: subscribers are called synchronously, in publish
 * order. Routing needs no table: the one node holds every connection.
 */
export class MemoryBroker implements Broker {
  private readonly handlers: ((event: BusEvent) => void)[] = [];

  publish(event: BusEvent): void {
    for (const handler of this.handlers) handler(event);
  }

  subscribe(handler: (event: BusEvent) => void): void {
    this.handlers.push(handler);
  }

  async addLocalUser(): Promise<void> {}

  removeLocalUser(): void {}

  async close(): Promise<void> {
    this.handlers.length = 0;
  }
}
