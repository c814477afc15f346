import {
  DEFAULT_PAGE_SIZE,
  MAX_HISTORY_PAGE_SIZE,
  MAX_RESUME_MESSAGES,
  MAX_RESUME_MESSAGES_PER_CHANNEL,
  MAX_RESUME_TEXT,
  MAX_SYNC_PAGE_SIZE,
  checkMessageText,
  type HistoryResponse,
  type ResumeEntry,
  type SendResponse,
  type SyncResponse,
} from '@confab/protocol';
import type { Session } from '../accounts/accounts-service.js';
import { AppError } from '../errors.js';
import type { Fanout } from '../realtime/fanout.js';
import type { AppendBatchResult, AppendRequest, PushPolicy, Store } from '../store/store.js';
import { SendBatcher } from './send-batcher.js';
import { SendLimiter, type SendLimits } from './send-limiter.js';

export interface MessagesMetrics {
  committed(count: number): void;
  batch(size: number, seconds: number): void;
}

export class MessagesService {
  private readonly batcher: SendBatcher;
  private readonly limiter: SendLimiter | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    fanout: Fanout,
    opts: {
      maxBatch: number;
      now: () => number;
      metrics: MessagesMetrics;
      pushPolicy?: (at: number) => PushPolicy | undefined;
      /** Per-device send limits (both transports); none when absent. */
      limits?: SendLimits;
    },
  ) {
    this.now = opts.now;
    this.limiter = opts.limits && new SendLimiter(opts.limits);
    this.batcher = new SendBatcher(store, {
      maxBatch: opts.maxBatch,
      now: opts.now,
      ...(opts.pushPolicy && { pushPolicy: opts.pushPolicy }),
      onBatch: (size, seconds) => opts.metrics.batch(size, seconds),
      onCommitted: (_requests: readonly AppendRequest[], { results, recipients }: AppendBatchResult) => {
        let fresh = 0;
        // results are in request order, which within a channel is seq order.
        for (const r of results) {
          if (!r.ok || r.duplicate) continue;
          fresh++;
          fanout.message(r.message, recipients.get(r.message.channelId) ?? []);
        }
        opts.metrics.committed(fresh);
      },
    });
  }

  /** Commits a text message; resolves only once it is durable. */
  async send(session: Session, channelId: string, clientId: string, text: string): Promise<SendResponse> {
    const refusal = checkMessageText(text);
    if (refusal) throw new AppError(refusal);
    // Here rather than in a transport, so WebSocket and HTTP sends share one allowance per device.
    this.limiter?.take(session.device.id, clientId, Buffer.byteLength(text, 'utf8'), this.now());
    const result = await this.batcher.submit({
      channelId,
      senderId: session.user.id,
      senderDeviceId: session.device.id,
      clientId,
      text,
    });
    if (!result.ok) throw new AppError(result.code);
    const { message, duplicate } = result;
    return { channelId: message.channelId, seq: message.seq, createdAt: message.createdAt, duplicate };
  }

  async history(session: Session, channelId: string, q: { before?: number; after?: number; limit?: number }): Promise<HistoryResponse> {
    const member = await this.store.getMember(channelId, session.user.id);
    if (!member) {
      throw new AppError((await this.store.getChannel(channelId)) ? 'not_member' : 'channel_not_found');
    }
    const limit = Math.min(q.limit ?? DEFAULT_PAGE_SIZE, MAX_HISTORY_PAGE_SIZE);
    // A former member keeps read access up to the event that removed them.
    const range = { limit, ...(q.before !== undefined && { before: q.before }), ...(q.after !== undefined && { after: q.after }), ...(member.leftSeq !== null && { maxSeq: member.leftSeq }) };
    return this.store.getMessages(channelId, range);
  }

  async sync(session: Session, cursor: string | undefined, limit: number | undefined): Promise<SyncResponse> {
    const page = await this.store.sync(session.user.id, cursor ?? null, Math.min(limit ?? 100, MAX_SYNC_PAGE_SIZE));
    return { cursor: page.cursor, hasMore: page.hasMore, channels: page.entries };
  }

  /**
   * A sync page that also carries, for each listed channel the device named in
   * `have`, the messages it missed: one answer instead of a sync request and
   * a history request per channel (the `sync` frame). The entry's `lastSeq`
   * already stops at a former member's `leftSeq`, so reading up to it shows
   * exactly what history would. Budgets keep the answer well under a socket's
   * outbound limit; whatever they cut, the device reads from history.
   */
  async resume(
    session: Session,
    cursor: string,
    limit: number | undefined,
    have: Readonly<Record<string, number>>,
  ): Promise<{ cursor: string; hasMore: boolean; channels: ResumeEntry[] }> {
    const page = await this.sync(session, cursor, limit);
    let text = 0;
    let count = 0;
    let full = false;
    const channels: ResumeEntry[] = [];
    for (const entry of page.channels) {
      const from = Object.hasOwn(have, entry.channelId) ? have[entry.channelId]! : undefined;
      if (from === undefined || from >= entry.lastSeq || full) {
        channels.push(entry);
        continue;
      }
      const limit = Math.min(MAX_RESUME_MESSAGES_PER_CHANNEL, MAX_RESUME_MESSAGES - count, entry.lastSeq - from);
      const { messages } = await this.store.getMessages(entry.channelId, { after: from, before: entry.lastSeq + 1, limit });
      let take = 0;
      while (take < messages.length && text + messages[take]!.text.length <= MAX_RESUME_TEXT) text += messages[take++]!.text.length;
      count += take;
      // Once a budget is spent, later channels carry nothing (a prefix per channel, never a hole).
      full = take < messages.length || count >= MAX_RESUME_MESSAGES;
      channels.push(take > 0 ? { ...entry, messages: take === messages.length ? messages : messages.slice(0, take) } : entry);
    }
    return { cursor: page.cursor, hasMore: page.hasMore, channels };
  }

  drained(): Promise<void> {
    return this.batcher.drained();
  }
}
