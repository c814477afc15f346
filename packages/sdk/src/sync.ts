import type { ChannelSummary, ResumeEntry, SyncEntry } from '@confab/protocol';
import { ConfabError } from './errors.js';
import { StreamsStoppedError, type ChannelStreams } from './channel-stream.js';

/** What an app persists to resume without replaying or losing messages. */
export interface SyncState {
  /** Opaque sync cursor; null for a device that never synced. */
  cursor: string | null;
  /** Highest seq emitted contiguously, per channel id. */
  have: Record<string, number>;
}

/** A sync page; entries may carry the channel's missed messages (a `sync` frame's answer). */
export interface SyncPage {
  cursor: string;
  hasMore: boolean;
  channels: ResumeEntry[];
}

/** The two calls sync needs (ConfabApi provides them over HTTP; the client sends sync pages over its socket). */
export interface SyncApi {
  sync(query: { cursor?: string; limit?: number }): Promise<SyncPage>;
  channels(): Promise<ChannelSummary[]>;
}

export interface SyncEngineOptions {
  api: SyncApi;
  streams: ChannelStreams;
  cursor: string | null;
  /** Runs after an entry's messages were emitted (the client emits `read` and `left`). */
  onEntry?: (entry: SyncEntry) => void;
  /** The cursor moved (persist the state). */
  onCursor?: (cursor: string | null) => void;
  /** A channel's history could not be read (e.g. no longer accessible); it is skipped. */
  onSkip?: (error: unknown, entry: SyncEntry) => void;
  pageSize?: number;
}

/** Refusals that will not change on retry: skip the channel rather than stall the whole sync. */
const SKIP_CODES = new Set(['not_member', 'channel_not_found', 'forbidden']);

/**
 * Runs the sync algorithm: one run at a time, and a request made while a run
 * is going causes exactly one more run after it (the running one may already
 * be past the page that would have covered the reason for the request).
 */
export class SyncEngine {
  private current: Promise<void> | null = null;
  private again = false;
  private started = 0;
  private finished = 0;
  /** Channels seen live but unknown: channel id → the run that must finish before adopting it. */
  private readonly waiting = new Map<string, number>();
  private _cursor: string | null;

  constructor(private readonly opts: SyncEngineOptions) {
    this._cursor = opts.cursor;
  }

  get cursor(): string | null {
    return this._cursor;
  }

  get running(): boolean {
    return this.current !== null;
  }

  /** Forget everything server-side (e.g. the server no longer knows our cursor). */
  resetCursor(): void {
    this.setCursor(null);
  }

  /** Runs a sync now, or once more after the running one. Rejects when the run fails. */
  request(): Promise<void> {
    if (this.current) {
      this.again = true;
      return this.current;
    }
    const run = this.loop().finally(() => {
      this.current = null;
    });
    this.current = run;
    return run;
  }

  /**
   * A live message arrived for a channel nobody told us about. The next run to
   * start should explain it; if even that run does not, the channel is adopted.
   */
  noteUnknown(channelId: string): void {
    if (!this.waiting.has(channelId)) this.waiting.set(channelId, this.started + 1);
  }

  /**
   * First contact of a fresh device: take the head cursor, then record every
   * channel's current lastSeq, so that old history is not replayed (apps load
   * it on demand) while anything newer than the head is still caught. In that
   * order, a change between the two calls is either in `have` already or
   * listed by the next sync; in the other order it could fall between both.
   */
  async bootstrap(): Promise<void> {
    const { api, streams } = this.opts;
    const head = await api.sync({});
    this.checkRunning();
    const channels = await api.channels();
    this.checkRunning();
    for (const c of channels) if (!streams.isKnown(c.id)) streams.setHave(c.id, c.lastSeq);
    // A head sync carries no entries; should a server send some, they predate the list.
    this.setCursor(head.cursor);
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const run = ++this.started;
      this.opts.streams.hold();
      try {
        await this.runOnce();
      } finally {
        this.opts.streams.release();
      }
      this.finished = run;
      this.adoptUnexplained();
      await this.opts.streams.reconcile();
    } while (this.again);
  }

  private async runOnce(): Promise<void> {
    if (this._cursor === null) {
      await this.bootstrap();
      return;
    }
    const { api, pageSize } = this.opts;
    let cursor: string = this._cursor;
    for (;;) {
      let page: SyncPage;
      try {
        page = await api.sync({ cursor, ...(pageSize !== undefined && { limit: pageSize }) });
      } catch (err) {
        // The server does not know this cursor (e.g. its data was reset): start over as a fresh device.
        if (err instanceof ConfabError && err.code === 'bad_request') {
          this.checkRunning();
          this.opts.streams.forget();
          this.setCursor(null);
          await this.bootstrap();
          return;
        }
        throw err;
      }
      this.checkRunning();
      for (const entry of page.channels) await this.apply(entry);
      // Only now is the whole page reflected in `have`, so only now may the cursor move.
      cursor = page.cursor;
      this.setCursor(cursor);
      if (!page.hasMore) return;
    }
  }

  private async apply(entry: ResumeEntry): Promise<void> {
    const { streams } = this.opts;
    const from = streams.haveOf(entry.channelId) ?? entry.joinedSeq - 1;
    if (!streams.isKnown(entry.channelId)) streams.setHave(entry.channelId, from);
    // Messages that came with the page go through the same ordering as any other; catchUp reads only what is still missing.
    if (entry.messages) streams.ingest(entry.messages);
    if (entry.lastSeq > (streams.haveOf(entry.channelId) ?? from)) {
      try {
        await streams.catchUp(entry.channelId, entry.lastSeq);
      } catch (err) {
        if (!(err instanceof ConfabError && SKIP_CODES.has(err.code))) throw err;
        this.opts.onSkip?.(err, entry);
      }
    }
    this.checkRunning();
    this.opts.onEntry?.(entry);
  }

  private adoptUnexplained(): void {
    for (const [channelId, needRun] of this.waiting) {
      if (this.finished < needRun) continue;
      this.waiting.delete(channelId);
      this.opts.streams.adopt(channelId);
    }
  }

  private setCursor(cursor: string | null): void {
    if (cursor === this._cursor) return;
    this._cursor = cursor;
    this.opts.onCursor?.(cursor);
  }

  private checkRunning(): void {
    if (!this.opts.streams.running) throw new StreamsStoppedError('stopped');
  }
}
