import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ChatState, ChatStore } from './chat-store.js';
import type { PushState } from './push-setup.js';

export const StoreContext = createContext<ChatStore | null>(null);

export function useStore(): ChatStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStore outside <StoreContext.Provider>');
  return store;
}

/**
 * Subscribes to a slice of the chat state. The selector must return a value
 * from the state itself (or a primitive), not a new object, or it re-renders forever.
 */
export function useChat<T>(selector: (s: ChatState) => T): T {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => selector(store.getState()));
}

/** The session's Web Push state (prompt, status, notice). */
export function usePush(): PushState {
  const push = useStore().push;
  return useSyncExternalStore(push.subscribe, push.getState);
}
