import { useCallback, useEffect, useState } from 'react';
import { useNotificationClicks } from '../hooks/use-notification-clicks.js';
import { useSelectedChannel } from '../hooks/use-selected-channel.js';
import { unreadOf } from '../store/summary.js';
import { useChat } from '../store/store-context.js';
import { AccountDialog } from './account-dialog.js';
import { ConnectionBanner } from './connection-banner.js';
import { ConversationView } from './conversation-view.js';
import { NewChatDialog } from './new-chat-dialog.js';
import { NewGroupDialog } from './new-group-dialog.js';
import { Sidebar, type SidebarDialog } from './sidebar.js';

interface ChatLayoutProps {
  onLogout: () => Promise<void>;
}

/** "(3) Confab": the tab shows that something is waiting. */
function useUnreadTitle(): void {
  const channels = useChat((s) => s.channels);
  const total = Object.values(channels).reduce((sum, ch) => sum + (ch.left ? 0 : unreadOf(ch)), 0);
  useEffect(() => {
    document.title = total > 0 ? `(${total}) Confab` : 'Confab';
  }, [total]);
}

/**
 * The app shell: conversation list and conversation side by side, or (under
 * 768 px) one at a time, switched by `data-view` in CSS.
 */
export function ChatLayout({ onLogout }: ChatLayoutProps) {
  const [selected, select] = useSelectedChannel();
  const [dialog, setDialog] = useState<SidebarDialog | null>(null);
  useUnreadTitle();
  const close = useCallback(() => setDialog(null), []);
  const openConversation = useCallback(
    (id: string) => {
      setDialog(null);
      select(id);
    },
    [select],
  );
  useNotificationClicks(openConversation);

  return (
    <div className="app" data-view={selected ? 'conversation' : 'list'}>
      <ConnectionBanner />
      <Sidebar selected={selected} onSelect={select} onOpenDialog={setDialog} />
      <main className="pane">
        {selected ? (
          <ConversationView key={selected} channelId={selected} onBack={() => select(null)} />
        ) : (
          <div className="empty-pane">
            <img src="/icons/icon.svg" alt="" width={72} height={72} />
            <p>Pick a conversation, or start a new one.</p>
          </div>
        )}
      </main>
      {dialog === 'new-chat' && <NewChatDialog onClose={close} onOpened={openConversation} />}
      {dialog === 'new-group' && <NewGroupDialog onClose={close} onCreated={openConversation} />}
      {dialog === 'account' && <AccountDialog onClose={close} onLogout={onLogout} />}
    </div>
  );
}
