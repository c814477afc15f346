import type { User } from '@confab/sdk';
import { useEffect, useState } from 'react';
import { errorText } from '../lib/error-text.js';
import { useStore } from '../store/store-context.js';

export interface UserSearch {
  results: User[];
  searching: boolean;
  error: string | null;
}

/** Usernames are lower-case; people often type "@alice". */
export function normalizePrefix(query: string): string {
  return query.trim().replace(/^@/, '').toLowerCase().slice(0, 32);
}

/** Finds people by username prefix as the query changes (debounced), leaving myself out. */
export function useUserSearch(query: string): UserSearch {
  const store = useStore();
  const [search, setSearch] = useState<UserSearch>({ results: [], searching: false, error: null });
  const prefix = normalizePrefix(query);

  useEffect(() => {
    if (!prefix) {
      setSearch({ results: [], searching: false, error: null });
      return;
    }
    let current = true;
    setSearch((s) => ({ ...s, searching: true, error: null }));
    const timer = setTimeout(() => {
      store.api.searchUsers(prefix, 20).then(
        (users) => {
          if (!current) return;
          store.rememberUsers(users);
          setSearch({ results: users.filter((u) => u.id !== store.myId), searching: false, error: null });
        },
        (err: unknown) => current && setSearch({ results: [], searching: false, error: errorText(err) }),
      );
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [prefix, store]);

  return search;
}
