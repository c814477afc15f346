import type { AckFrame } from '@confab/protocol';
import type { ConfabError } from './errors.js';

/** What a send resolves with once the server has durably committed it. */
export interface SendAck {
  channelId: string;
  seq: number;
  createdAt: number;
  /** true when the server had already committed this client id (e.g. a resend after a reconnect). */
  duplicate: boolean;
  clientId: string;
}

export interface OutboxEntry {
  readonly clientId: string;
  readonly channelId: string;
  readonly text: string;
  /** Written to the current socket and not yet answered. */
  sent: boolean;
}

interface Pending extends OutboxEntry {
  promise: Promise<SendAck>;
  resolve: (ack: SendAck) => void;
  reject: (err: ConfabError) => void;
}

/**
 * Sends that the server has not acknowledged yet, in the order the app made
 * them. A Map keeps insertion order, which is the resend order after a
 * reconnect; resends reuse the original client id so the server deduplicates.
 */
export class Outbox {
  private readonly entries = new Map<string, Pending>();

  get size(): number {
    return this.entries.size;
  }

  has(clientId: string): boolean {
    return this.entries.has(clientId);
  }

  /**
   * Queues a send. A second add with a client id that is still pending returns
   * the first promise: the server would treat it as the same message anyway.
   */
  add(clientId: string, channelId: string, text: string): { entry: OutboxEntry; promise: Promise<SendAck>; added: boolean } {
    const existing = this.entries.get(clientId);
    if (existing) return { entry: existing, promise: existing.promise, added: false };
    let resolve!: (ack: SendAck) => void;
    let reject!: (err: ConfabError) => void;
    const promise = new Promise<SendAck>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Marked handled so an app that fires and forgets cannot crash on close();
    // whoever awaits the promise still sees the rejection.
    promise.catch(() => undefined);
    const entry: Pending = { clientId, channelId, text, sent: false, promise, resolve, reject };
    this.entries.set(clientId, entry);
    return { entry, promise, added: true };
  }

  /** Every pending send in original order. */
  all(): OutboxEntry[] {
    return [...this.entries.values()];
  }

  /** Pending sends not written to the current socket, in original order. */
  unsent(): OutboxEntry[] {
    return this.all().filter((e) => !e.sent);
  }

  /** The socket went away: whatever was in flight must be written again. */
  markAllUnsent(): void {
    for (const e of this.entries.values()) e.sent = false;
  }

  /** Resolves the matching send; false when the ack matches nothing pending (e.g. a late duplicate). */
  ack(frame: Pick<AckFrame, 'id' | 'channelId' | 'seq' | 'createdAt' | 'duplicate'>): boolean {
    const entry = this.entries.get(frame.id);
    if (!entry) return false;
    this.entries.delete(frame.id);
    entry.resolve({ channelId: frame.channelId, seq: frame.seq, createdAt: frame.createdAt, duplicate: frame.duplicate, clientId: frame.id });
    return true;
  }

  /**
   * The server refused a send. A permanent refusal rejects it; a retryable one
   * keeps it (unsent) so it goes out again later with the same client id.
   */
  fail(clientId: string, error: ConfabError): 'rejected' | 'retry' | 'unknown' {
    const entry = this.entries.get(clientId);
    if (!entry) return 'unknown';
    if (error.retryable) {
      entry.sent = false;
      return 'retry';
    }
    this.entries.delete(clientId);
    entry.reject(error);
    return 'rejected';
  }

  rejectAll(error: ConfabError): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) e.reject(error);
  }
}
