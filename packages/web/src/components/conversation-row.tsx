import type { ChannelSummary } from '@confab/sdk';
import { memo } from 'react';
import { channelName } from '../lib/channel-name.js';
import { formatShortRelative } from '../lib/format.js';
import { isMuted } from '../lib/mute.js';
import { activityOf, unreadOf } from '../store/summary.js';
import { useChat, useStore } from '../store/store-context.js';
import { Avatar } from './avatar.js';
import { MutedIndicator } from './muted-indicator.js';

interface ConversationRowProps {
  channel: ChannelSummary;
  active: boolean;
  now: number;
  onSelect: (channelId: string) => void;
}

const PREVIEW_CHARS = 120;

/** One line of preview: a 100,000-character message must not put 100,000 characters in the list. */
function previewText(text: string): string {
  return text.slice(0, PREVIEW_CHARS * 2).replace(/\s+/g, ' ').slice(0, PREVIEW_CHARS);
}

/**
 * One conversation. The whole row is a single button whose accessible name
 * starts with the conversation name; badge and presence dot follow it.
 */
export const ConversationRow = memo(function ConversationRow({ channel, active, now, onSelect }: ConversationRowProps) {
  const store = useStore();
  const name = channelName(channel);
  const peerId = channel.peer?.id;
  const online = useChat((s) => (peerId ? (s.presence[peerId]?.online ?? false) : false));
  const typing = useChat((s) => s.typing[channel.id]);
  const senderName = useChat((s) => (channel.lastMessage ? s.users[channel.lastMessage.senderId]?.displayName : undefined));
  const someoneTyping = typing !== undefined && Object.keys(typing).length > 0;
  const unread = unreadOf(channel);
  const last = channel.lastMessage;

  let preview = '';
  if (last) {
    const text = previewText(last.text);
    if (last.kind === 'system') preview = text;
    else if (last.senderId === store.myId) preview = `You: ${text}`;
    else if (channel.kind === 'group') preview = `${senderName ?? 'Someone'}: ${text}`;
    else preview = text;
  }

  return (
    <li>
      <button
        type="button"
        className="conv-row"
        aria-current={active ? 'true' : undefined}
        data-unread={unread > 0 || undefined}
        data-muted={isMuted(channel.mutedUntil, now) || undefined}
        onClick={() => onSelect(channel.id)}
      >
        <Avatar id={peerId ?? channel.id} name={name} group={channel.kind === 'group'} />
        <span className="conv-body">
          <span className="conv-line">
            <span className="conv-name">{name}</span>
            <MutedIndicator mutedUntil={channel.mutedUntil} now={now} />
            <time className="conv-time" dateTime={new Date(activityOf(channel)).toISOString()}>
              {formatShortRelative(activityOf(channel), now)}
            </time>
          </span>
          <span className="conv-line">
            {someoneTyping ? (
              <span className="conv-preview typing-text">typing…</span>
            ) : (
              <span className={last?.kind === 'system' ? 'conv-preview system-text' : 'conv-preview'}>
                {preview || 'No messages yet'}
              </span>
            )}
            {unread > 0 && (
              <span className="badge" data-testid="unread" role="img" aria-label={`${unread} unread`}>
                {unread > 99 ? '99+' : unread}
              </span>
            )}
          </span>
        </span>
        {channel.kind === 'direct' && <span className="presence-dot" data-online={online} role="img" aria-label={online ? 'online' : 'offline'} />}
      </button>
    </li>
  );
});
