import type { ChannelSummary, Message } from '@confab/protocol';

/*
 * Pure updates of a conversation-list row. The server counts unread as
 * `lastSeq - readSeq` (a sender's own watermark moves with each send), so the
 * app derives the count the same way instead of trusting a stale number.
 */

export function unreadOf(ch: Pick<ChannelSummary, 'lastSeq' | 'readSeq'>): number {
  return Math.max(0, ch.lastSeq - ch.readSeq);
}

/** When the conversation last had activity: the list is sorted by this, newest first. */
export function activityOf(ch: Pick<ChannelSummary, 'lastMessage' | 'createdAt'>): number {
  return ch.lastMessage?.createdAt ?? ch.createdAt;
}

/** The row after a new message: moves the preview, the unread count and (for renames) the name. */
export function summaryWithMessage(ch: ChannelSummary, m: Message, myId: string): ChannelSummary {
  if (ch.lastMessage && m.seq <= ch.lastMessage.seq) return ch; // already known, or older than the preview
  const lastSeq = Math.max(ch.lastSeq, m.seq);
  const readSeq = m.senderId === myId ? Math.max(ch.readSeq, m.seq) : ch.readSeq;
  const name = m.system?.event === 'renamed' && m.system.name !== undefined ? m.system.name : ch.name;
  return { ...ch, lastSeq, readSeq, name, lastMessage: m, unreadCount: Math.max(0, lastSeq - readSeq) };
}

/** Combines a row fetched from the server with what live events already taught us; positions only move forward. */
export function mergeSummary(existing: ChannelSummary | undefined, incoming: ChannelSummary): ChannelSummary {
  if (!existing) return incoming;
  const newerLocally = existing.lastSeq > incoming.lastSeq;
  const lastSeq = Math.max(existing.lastSeq, incoming.lastSeq);
  const readSeq = Math.max(existing.readSeq, incoming.readSeq);
  return {
    ...incoming,
    lastSeq,
    readSeq,
    unreadCount: Math.max(0, lastSeq - readSeq),
    lastMessage: newerLocally ? existing.lastMessage : incoming.lastMessage,
    name: newerLocally ? existing.name : incoming.name,
  };
}

/** Conversations newest activity first; ties keep a stable order by id. */
export function sortChannels(channels: readonly ChannelSummary[]): ChannelSummary[] {
  return [...channels].sort((a, b) => activityOf(b) - activityOf(a) || (a.id < b.id ? -1 : 1));
}
