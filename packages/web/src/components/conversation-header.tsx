import type { ChannelSummary } from '@confab/sdk';
import { channelName } from '../lib/channel-name.js';
import { formatLastSeen } from '../lib/format.js';
import { useNow } from '../hooks/use-now.js';
import { useChat } from '../store/store-context.js';
import { Avatar } from './avatar.js';
import { ConversationMenu } from './conversation-menu.js';
import { BackIcon, InfoIcon } from './icons.js';
import { MutedIndicator } from './muted-indicator.js';

interface ConversationHeaderProps {
  channel: ChannelSummary;
  onBack: () => void;
  onInfo: () => void;
}

/** Name, presence or member count, and the actions of the open conversation. */
export function ConversationHeader({ channel, onBack, onInfo }: ConversationHeaderProps) {
  const name = channelName(channel);
  const peerId = channel.peer?.id;
  const presence = useChat((s) => (peerId ? s.presence[peerId] : undefined));
  const now = useNow();
  const isGroup = channel.kind === 'group';

  let subtitle = '';
  if (isGroup) subtitle = channel.left ? 'You are no longer a member' : `${channel.memberCount} ${channel.memberCount === 1 ? 'member' : 'members'}`;
  else if (presence) subtitle = presence.online ? 'Online' : formatLastSeen(presence.lastSeen, now);

  return (
    <header className="conv-header">
      <button type="button" className="icon-button back-button" aria-label="Back" onClick={onBack}>
        <BackIcon />
      </button>
      <Avatar id={peerId ?? channel.id} name={name} group={isGroup} />
      <div className="conv-title">
        <div className="conv-title-line">
          <h2>{name}</h2>
          <MutedIndicator mutedUntil={channel.mutedUntil} now={now} />
        </div>
        <p className="conv-subtitle" data-testid="presence" data-online={presence?.online || undefined}>
          {subtitle}
        </p>
      </div>
      {isGroup && (
        <button type="button" className="icon-button" aria-label="Group info" title="Group info" onClick={onInfo}>
          <InfoIcon />
        </button>
      )}
      <ConversationMenu channel={channel} />
    </header>
  );
}
