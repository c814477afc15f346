import { useCallback, useEffect, useState } from 'react';

const PREFIX = '#/c/';

function parse(hash: string): string | null {
  if (!hash.startsWith(PREFIX)) return null;
  try {
    return decodeURIComponent(hash.slice(PREFIX.length)) || null;
  } catch {
    return null;
  }
}

interface AppHistoryState {
  confab?: true;
}

/**
 * The open conversation lives in the URL (`#/c/<id>`), so a reload keeps it and
 * the browser's Back button on a phone returns to the list. History holds at
 * most [list, conversation]: switching conversations replaces the entry.
 */
export function useSelectedChannel(): [string | null, (id: string | null) => void] {
  const [selected, setSelected] = useState(() => parse(location.hash));

  useEffect(() => {
    const onPop = () => setSelected(parse(location.hash));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const select = useCallback((id: string | null) => {
    const current = parse(location.hash);
    if (id === current) return;
    const state = history.state as AppHistoryState | null;
    if (id === null) {
      if (state?.confab) history.back();
      else history.replaceState(null, '', location.pathname + location.search);
    } else {
      const url = PREFIX + encodeURIComponent(id);
      if (current === null) history.pushState({ confab: true } satisfies AppHistoryState, '', url);
      else history.replaceState(state, '', url);
    }
    setSelected(id);
  }, []);

  return [selected, select];
}
