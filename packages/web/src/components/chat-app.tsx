import { useEffect, useState } from 'react';
import type { StoredSession } from '../lib/storage.js';
import { ChatStore } from '../store/chat-store.js';
import { StoreContext } from '../store/store-context.js';
import { ChatLayout } from './chat-layout.js';

interface ChatAppProps {
  session: StoredSession;
  /** Back to the login screen, with a reason to show (null for a plain logout). */
  onSignedOut: (reason: string | null) => void;
}

const REVOKED = 'This device was logged out. Log in again to continue.';

/** Owns the store (and so the connection) for one logged-in session. */
export function ChatApp({ session, onSignedOut }: ChatAppProps) {
  const [store, setStore] = useState<ChatStore | null>(null);

  // Created in the effect, not during render, so StrictMode's double run closes the first one cleanly.
  useEffect(() => {
    const s = new ChatStore(session, () => onSignedOut(REVOKED));
    s.start();
    setStore(s);
    return () => s.stop();
  }, [session, onSignedOut]);

  if (!store) return null;
  return (
    <StoreContext.Provider value={store}>
      <ChatLayout
        onLogout={async () => {
          await store.logout().catch(() => undefined);
          onSignedOut(null);
        }}
      />
    </StoreContext.Provider>
  );
}
