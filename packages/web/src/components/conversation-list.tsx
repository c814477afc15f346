import { useMemo } from 'react';
import { useNow } from '../hooks/use-now.js';
import { sortChannels } from '../store/summary.js';
import { useChat, useStore } from '../store/store-context.js';
import { ConversationRow } from './conversation-row.js';

interface ConversationListProps {
  selected: string | null;
  onSelect: (channelId: string) => void;
}

/** Every conversation, most recent activity first, kept live by the store. */
export function ConversationList({ selected, onSelect }: ConversationListProps) {
  const store = useStore();
  const channels = useChat((s) => s.channels);
  const status = useChat((s) => s.listStatus);
  const now = useNow();
  const sorted = useMemo(() => sortChannels(Object.values(channels)), [channels]);

  return (
    <>
      <ul className="conv-list">
        {sorted.map((ch) => (
          <ConversationRow key={ch.id} channel={ch} active={ch.id === selected} now={now} onSelect={onSelect} />
        ))}
      </ul>
      {sorted.length === 0 && status === 'loading' && <p className="list-note">Loading conversations…</p>}
      {sorted.length === 0 && status === 'error' && (
        <p className="list-note">
          Conversations could not be loaded.{' '}
          <button type="button" className="link-button" onClick={() => void store.loadChannels()}>
            Try again
          </button>
        </p>
      )}
      {sorted.length === 0 && status === 'ready' && <p className="list-note">No conversations yet. Start one with New chat or New group.</p>}
    </>
  );
}
