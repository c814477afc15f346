import type { Message } from '@confab/protocol';
import type { HistoryPage } from '../src/channel-stream.js';

/** Test helper (not exported from the package): a text message with predictable fields. */
export function msg(channelId: string, seq: number, text = `${channelId}#${seq}`): Message {
  return { channelId, seq, senderId: 'u_other', clientId: `cid-${channelId}-${seq}`, kind: 'text', text, createdAt: 1_000 + seq };
}

/** In-memory channel histories answering `after`/`limit` queries the way the server does. */
export class FakeHistory {
  readonly calls: { channelId: string; after: number; limit: number }[] = [];
  private readonly channels = new Map<string, Message[]>();

  /** Makes seqs 1..lastSeq exist in the channel. */
  fill(channelId: string, lastSeq: number): this {
    const list = this.channels.get(channelId) ?? [];
    for (let s = list.length + 1; s <= lastSeq; s++) list.push(msg(channelId, s));
    this.channels.set(channelId, list);
    return this;
  }

  /** What a fetch would return, without recording a call (the server reading for a `sync` frame). */
  peekAfter(channelId: string, after: number, limit: number): Message[] {
    return (this.channels.get(channelId) ?? []).filter((m) => m.seq > after).slice(0, limit);
  }

  fetchAfter = async (channelId: string, after: number, limit: number): Promise<HistoryPage> => {
    this.calls.push({ channelId, after, limit });
    const all = this.channels.get(channelId) ?? [];
    const rest = all.filter((m) => m.seq > after);
    return { messages: rest.slice(0, limit), hasMore: rest.length > limit };
  };
}
