import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ChatState, ChatStore } from './chat-store.js';

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
