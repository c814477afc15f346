import type { UserSearch } from '../hooks/use-user-search.js';

/** What a people search is doing, when its results alone do not say it. */
export function SearchStatus({ query, search }: { query: string; search: UserSearch }) {
  if (search.error) {
    return (
      <p className="dialog-note form-error" role="alert">
        {search.error}
      </p>
    );
  }
  let text = '';
  if (!query.trim()) text = 'Type the beginning of a username.';
  else if (search.searching) text = 'Searching…';
  else if (search.results.length === 0) text = `Nobody has a username starting with “${query.trim()}”.`;
  return (
    <p className="dialog-note" aria-live="polite">
      {text}
    </p>
  );
}
