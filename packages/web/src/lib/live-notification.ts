import type { ChannelSummary, Message } from '@confab/protocol';
import { channelName } from './channel-name.js';
import { isMuted } from './mute.js';
import type { NotificationPayload } from './notifications.js';

/** Longest preview a background tab puts in a notification (the system cuts it shorter anyway). */
export const PREVIEW_CHARS = 200;
/** Messages older than this when they arrive (a catch-up after sleep) are not news worth a notification. */
export const LIVE_NOTIFY_MAX_AGE_MS = 5 * 60_000;

function previewOf(text: string): string {
  const chars = Array.from(text.trim());
  return chars.length > PREVIEW_CHARS ? `${chars.slice(0, PREVIEW_CHARS - 1).join('')}…` : chars.join('');
}

export interface LiveMessageContext {
  message: Message;
  /** The conversation's row, already updated with the message. */
  channel: ChannelSummary | undefined;
  myId: string;
  senderName: string | undefined;
  now: number;
}

/**
 * The notification a background tab shows for a message it received live, in
 * the same shape as a push; null when the message is not worth one: mine
 * (from any device), a system event, already read, in a muted or left
 * conversation, or old news replayed by a catch-up.
 */
export function liveNotification({ message: m, channel, myId, senderName, now }: LiveMessageContext): NotificationPayload | null {
  if (m.kind !== 'text' || m.senderId === myId || !channel) return null;
  if (channel.left || isMuted(channel.mutedUntil, now) || m.seq <= channel.readSeq) return null;
  if (now - m.createdAt > LIVE_NOTIFY_MAX_AGE_MS) return null;
  const group = channel.kind === 'group';
  const name = senderName ?? (channel.peer?.id === m.senderId ? channel.peer.displayName : undefined);
  return {
    type: 'message',
    channelId: m.channelId,
    count: Math.max(1, channel.lastSeq - channel.readSeq),
    senderId: m.senderId,
    ...(name !== undefined && { senderName: name }),
    channelName: group ? channelName(channel) : null,
    preview: previewOf(m.text),
    seq: m.seq,
  };
}
