import { useChat } from '../store/store-context.js';
import { Avatar } from './avatar.js';
import { ConversationList } from './conversation-list.js';
import { ChatIcon, GroupIcon } from './icons.js';
import { NotificationPrompt } from './notification-prompt.js';

export type SidebarDialog = 'new-chat' | 'new-group' | 'account';

interface SidebarProps {
  selected: string | null;
  onSelect: (channelId: string) => void;
  onOpenDialog: (dialog: SidebarDialog) => void;
}

export function Sidebar({ selected, onSelect, onOpenDialog }: SidebarProps) {
  const me = useChat((s) => s.me);
  return (
    <div className="sidebar">
      <header className="sidebar-header">
        <h1 className="app-title">
          <img src="/icons/icon.svg" alt="" width={28} height={28} />
          Confab
        </h1>
        <div className="toolbar">
          <button type="button" className="icon-button" aria-label="New chat" title="New chat" onClick={() => onOpenDialog('new-chat')}>
            <ChatIcon />
          </button>
          <button type="button" className="icon-button" aria-label="New group" title="New group" onClick={() => onOpenDialog('new-group')}>
            <GroupIcon />
          </button>
          <button type="button" className="icon-button account-button" aria-label="Account" title={`Account: ${me.displayName}`} onClick={() => onOpenDialog('account')}>
            <Avatar id={me.id} name={me.displayName || me.username} size="small" />
          </button>
        </div>
      </header>
      <NotificationPrompt />
      <nav className="conversations" aria-label="Conversations">
        <ConversationList selected={selected} onSelect={onSelect} />
      </nav>
    </div>
  );
}
