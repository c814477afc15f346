import { useCallback, useEffect, useState } from 'react';
import { AuthScreen } from './components/auth-screen.js';
import { ChatApp } from './components/chat-app.js';
import { SESSION_KEY, clearSessionIf, loadSession, saveSession, type StoredSession } from './lib/storage.js';

/** Switches between the login screen and the chat, following the stored session. */
export function App() {
  const [session, setSession] = useState<StoredSession | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);

  // Another tab logged in or out: follow it, like a native app would.
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key !== SESSION_KEY && e.key !== null) return;
      const next = loadSession();
      setSession((cur) => (cur?.token === next?.token ? cur : next));
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);

  const signIn = useCallback((s: StoredSession) => {
    saveSession(s);
    setNotice(null);
    setSession(s);
  }, []);

  const signOut = useCallback((reason: string | null) => {
    setSession((cur) => {
      if (cur) clearSessionIf(cur.token);
      return null;
    });
    setNotice(reason);
  }, []);

  if (!session) return <AuthScreen onSession={signIn} notice={notice} />;
  return <ChatApp key={session.token} session={session} onSignedOut={signOut} />;
}
