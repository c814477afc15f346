import { useEffect, useState } from 'react';
import { usePageVisible } from '../hooks/use-page-visible.js';
import { useChat, useStore } from '../store/store-context.js';
import { Composer } from './composer.js';
import { ConversationHeader } from './conversation-header.js';
import { GroupInfoDialog } from './group-info-dialog.js';
import { BackIcon } from './icons.js';
import { MessageList } from './message-list.js';
import { TypingIndicator } from './typing-indicator.js';

interface ConversationViewProps {
  channelId: string;
  onBack: () => void;
}

/** Reports as read whatever arrives while the conversation is on screen. */
function useMarkRead(channelId: string): void {
  const store = useStore();
  const visible = usePageVisible();
  const ready = useChat((s) => s.timelines[channelId]?.status === 'ready');
  const lastSeq = useChat((s) => s.timelines[channelId]?.messages.at(-1)?.seq ?? 0);
  const readSeq = useChat((s) => s.channels[channelId]?.readSeq ?? 0);
  useEffect(() => {
    if (visible && ready && lastSeq > readSeq) store.markRead(channelId);
  }, [store, channelId, visible, ready, lastSeq, readSeq]);
}

export function ConversationView({ channelId, onBack }: ConversationViewProps) {
  const store = useStore();
  const channel = useChat((s) => s.channels[channelId]);
  const listStatus = useChat((s) => s.listStatus);
  const [infoOpen, setInfoOpen] = useState(false);
  const known = channel !== undefined;

  useEffect(() => {
    if (known) store.openChannel(channelId);
  }, [store, channelId, known]);
  useMarkRead(channelId);

  if (!channel) {
    return (
      <div className="pane-note">
        <button type="button" className="icon-button back-button" aria-label="Back" onClick={onBack}>
          <BackIcon />
        </button>
        <p>{listStatus === 'loading' ? 'Loading…' : 'This conversation is not available.'}</p>
      </div>
    );
  }

  return (
    <div className="conversation">
      <ConversationHeader channel={channel} onBack={onBack} onInfo={() => setInfoOpen(true)} />
      <MessageList channelId={channelId} isGroup={channel.kind === 'group'} />
      <TypingIndicator channelId={channelId} />
      {channel.left ? (
        <p className="left-note">You are no longer a member of this conversation.</p>
      ) : (
        <Composer key={channelId} channelId={channelId} />
      )}
      {infoOpen && channel.kind === 'group' && <GroupInfoDialog channelId={channelId} onClose={() => setInfoOpen(false)} onLeft={onBack} />}
    </div>
  );
}
