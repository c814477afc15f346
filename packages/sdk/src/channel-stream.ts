import { MAX_HISTORY_PAGE_SIZE, type Message } from '@confab/protocol';

export interface HistoryPage {
  /** Ascending by seq. */
  messages: Message[];
  hasMore: boolean;
}

/** Fetches up to `limit` messages with seq > `after`, ascending. */
export type FetchAfter = (channelId: string, after: number, limit: number) => Promise<HistoryPage>;

export interface ChannelStreamsOptions {
  fetchAfter: FetchAfter;
  /** Called exactly once per (channelId, seq), per channel in seq order without gaps. */
  emit: (message: Message) => void;
  /** A background gap fill failed; the buffered messages stay and a later sync retries. */
  onFillError?: (error: unknown, channelId: string) => void;
  pageSize?: number;
}

export type ReceiveResult = 'emitted' | 'duplicate' | 'buffered' | 'unknown';

/** Raised inside a catch-up when the streams were stopped, so the caller does not record progress. */
export class StreamsStoppedError extends Error {
  override readonly name = 'StreamsStoppedError';
}

/**
 * Per-channel ordering. `have` is the highest seq emitted contiguously; every
 * message, whether it came live, from a sync or from a gap fill, goes through
 * the same synchronous `accept`, so concurrent fetches can overlap freely and
 * each (channel, seq) is still emitted once and in order.
 */
export class ChannelStreams {
  private readonly have = new Map<string, number>();
  private readonly pending = new Map<string, Map<number, Message>>();
  private readonly fills = new Map<string, Promise<void>>();
  private held = false;
  private enabled = true;
  private readonly pageSize: number;

  constructor(private readonly opts: ChannelStreamsOptions) {
    this.pageSize = Math.max(1, Math.min(opts.pageSize ?? MAX_HISTORY_PAGE_SIZE, MAX_HISTORY_PAGE_SIZE));
  }

  haveOf(channelId: string): number | undefined {
    return this.have.get(channelId);
  }

  isKnown(channelId: string): boolean {
    return this.have.has(channelId);
  }

  /** Plain-JSON copy of `have`, for persistence. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.have);
  }

  channelsWithPending(): string[] {
    return [...this.pending].filter(([, buf]) => buf.size > 0).map(([id]) => id);
  }

  /**
   * Starts tracking a channel at `seq` (already seen up to and including it).
   * Only ever moves forward, then emits whatever buffered messages now follow on.
   */
  setHave(channelId: string, seq: number): void {
    const current = this.have.get(channelId);
    if (current === undefined || seq > current) this.have.set(channelId, seq);
    this.drain(channelId);
  }

  /**
   * Last resort for a channel that no sync explains: start it just before its
   * lowest buffered message, so live delivery is not blocked forever.
   */
  adopt(channelId: string): void {
    if (this.have.has(channelId)) return;
    const low = this.lowestPending(channelId);
    if (low !== undefined) this.setHave(channelId, low - 1);
  }

  /** Drops all per-channel state (the server no longer matches what we saw). */
  forget(): void {
    this.have.clear();
    this.pending.clear();
  }

  /** While held (during a sync), gaps are only buffered: the sync will cover them. */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
  }

  /** Stops all emission (client closed); in-flight fetches end without effect. */
  stop(): void {
    this.enabled = false;
  }

  start(): void {
    this.enabled = true;
  }

  get running(): boolean {
    return this.enabled;
  }

  /** A live message from the socket. */
  receive(message: Message): ReceiveResult {
    if (!this.enabled) return 'duplicate';
    const before = this.have.get(message.channelId);
    const result = this.accept(message);
    if (result === 'buffered' && before !== undefined && !this.held) void this.fillGap(message.channelId);
    return result;
  }

  /** Fetches and emits everything up to `upTo`. The channel must be known. */
  async catchUp(channelId: string, upTo: number): Promise<void> {
    for (;;) {
      const h = this.have.get(channelId);
      if (h === undefined) throw new Error(`channel ${channelId} is not tracked`);
      if (h >= upTo) return;
      const page = await this.opts.fetchAfter(channelId, h, Math.min(this.pageSize, upTo - h));
      if (!this.enabled) throw new StreamsStoppedError('stopped');
      this.ingest(page.messages);
      // Another fetch may have advanced `have` meanwhile; only no progress at all is an error.
      if (this.have.get(channelId) === h) throw new Error(`history of ${channelId} after ${h} returned nothing new`);
    }
  }

  /** Fills the gap before the buffered messages of a channel. One fill per channel at a time. */
  fillGap(channelId: string): Promise<void> {
    const running = this.fills.get(channelId);
    if (running) return running;
    const fill = this.runFill(channelId)
      .catch((err: unknown) => {
        if (!(err instanceof StreamsStoppedError)) this.opts.onFillError?.(err, channelId);
      })
      .finally(() => this.fills.delete(channelId));
    this.fills.set(channelId, fill);
    return fill;
  }

  /** After a sync: fill the gaps of every tracked channel that still has buffered messages. */
  async reconcile(): Promise<void> {
    const work = this.channelsWithPending().filter((id) => this.have.has(id)).map((id) => this.fillGap(id));
    await Promise.all(work);
  }

  /** Resolves when no gap fill is running. */
  async settled(): Promise<void> {
    while (this.fills.size > 0) await Promise.all([...this.fills.values()]);
  }

  private async runFill(channelId: string): Promise<void> {
    for (;;) {
      const h = this.have.get(channelId);
      const low = this.lowestPending(channelId);
      if (h === undefined || low === undefined) return;
      const page = await this.opts.fetchAfter(channelId, h, Math.min(this.pageSize, low - 1 - h));
      if (!this.enabled) throw new StreamsStoppedError('stopped');
      this.ingest(page.messages);
      if (this.have.get(channelId) === h) throw new Error(`history of ${channelId} after ${h} did not fill the gap`);
    }
  }

  /** Messages from a fetch (history or a sync page), in any order; duplicates are dropped. */
  ingest(messages: readonly Message[]): void {
    for (const m of messages) this.accept(m);
  }

  private accept(m: Message): ReceiveResult {
    if (!this.enabled) return 'duplicate';
    const h = this.have.get(m.channelId);
    if (h !== undefined && m.seq <= h) return 'duplicate';
    if (h !== undefined && m.seq === h + 1) {
      this.have.set(m.channelId, m.seq);
      this.opts.emit(m);
      this.drain(m.channelId);
      return 'emitted';
    }
    let buf = this.pending.get(m.channelId);
    if (!buf) this.pending.set(m.channelId, (buf = new Map()));
    if (buf.has(m.seq)) return 'duplicate';
    buf.set(m.seq, m);
    return h === undefined ? 'unknown' : 'buffered';
  }

  /** Emits buffered successors of `have` and forgets buffered messages already covered. */
  private drain(channelId: string): void {
    const buf = this.pending.get(channelId);
    if (!buf) return;
    let h = this.have.get(channelId);
    if (h === undefined) return;
    for (let next = buf.get(h + 1); next && this.enabled; next = buf.get(h + 1)) {
      buf.delete(next.seq);
      h = next.seq;
      this.have.set(channelId, h);
      this.opts.emit(next);
    }
    for (const seq of buf.keys()) if (seq <= h) buf.delete(seq);
    if (buf.size === 0) this.pending.delete(channelId);
  }

  private lowestPending(channelId: string): number | undefined {
    const buf = this.pending.get(channelId);
    if (!buf || buf.size === 0) return undefined;
    let low = Infinity;
    for (const seq of buf.keys()) if (seq < low) low = seq;
    return low;
  }
}
