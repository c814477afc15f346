import type { User } from '@confab/sdk';
import { useState } from 'react';
import { useUserSearch } from '../hooks/use-user-search.js';
import { errorText } from '../lib/error-text.js';
import { useStore } from '../store/store-context.js';
import { Avatar } from './avatar.js';
import { Dialog } from './dialog.js';
import { SearchStatus } from './search-status.js';

interface NewChatDialogProps {
  onClose: () => void;
  onOpened: (channelId: string) => void;
}

/** Find someone by username and open (or reopen) the 1:1 conversation with them. */
export function NewChatDialog({ onClose, onOpened }: NewChatDialogProps) {
  const store = useStore();
  const [query, setQuery] = useState('');
  const search = useUserSearch(query);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function start(user: User) {
    setBusy(true);
    setError(null);
    try {
      onOpened(await store.openDirect(user.id));
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="New chat" onClose={onClose}>
      <label className="field">
        <span>Find people</span>
        <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Username" autoComplete="off" spellCheck={false} autoFocus />
      </label>
      <SearchStatus query={query} search={search} />
      <ul className="people-results">
        {search.results.map((u) => (
          <li key={u.id}>
            <button type="button" className="person person-button" disabled={busy} aria-describedby={`new-chat-${u.id}`} onClick={() => void start(u)}>
              <Avatar id={u.id} name={u.displayName} size="small" />
              <span className="person-name">
                <span className="sr-only">Message </span>
                {u.displayName}
              </span>
              <span id={`new-chat-${u.id}`} className="person-username" aria-hidden="true">
                @{u.username}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
