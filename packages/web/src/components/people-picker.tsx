import type { User } from '@confab/sdk';
import { useId, useState } from 'react';
import { useUserSearch } from '../hooks/use-user-search.js';
import { Avatar } from './avatar.js';
import { CloseIcon } from './icons.js';
import { SearchStatus } from './search-status.js';

interface PeoplePickerProps {
  selected: readonly User[];
  onChange: (selected: User[]) => void;
  /** People who cannot be picked (already members): shown checked and disabled. */
  exclude?: ReadonlySet<string>;
  /** How many may be selected at most. */
  max: number;
}

/** Search by username and tick people; the picks stay listed while the search changes. */
export function PeoplePicker({ selected, onChange, exclude, max }: PeoplePickerProps) {
  const [query, setQuery] = useState('');
  const search = useUserSearch(query);
  const baseId = useId();
  const selectedIds = new Set(selected.map((u) => u.id));
  const full = selected.length >= max;

  function toggle(user: User, on: boolean) {
    onChange(on ? [...selected, user] : selected.filter((u) => u.id !== user.id));
  }

  return (
    <div className="people-picker">
      <label className="field">
        <span>Find people</span>
        <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Username" autoComplete="off" spellCheck={false} />
      </label>
      {selected.length > 0 && (
        <ul className="chips" aria-label="Selected people">
          {selected.map((u) => (
            <li key={u.id} className="chip">
              {u.displayName}
              <button type="button" className="chip-remove" aria-label={`Unselect ${u.displayName}`} onClick={() => toggle(u, false)}>
                <CloseIcon size={14} />
              </button>
            </li>
          ))}
        </ul>
      )}
      <SearchStatus query={query} search={search} />
      <ul className="people-results">
        {search.results.map((u) => {
          const member = exclude?.has(u.id) ?? false;
          const checked = member || selectedIds.has(u.id);
          const nameId = `${baseId}-${u.id}-name`;
          const infoId = `${baseId}-${u.id}-info`;
          return (
            <li key={u.id}>
              <label className="person">
                <input
                  type="checkbox"
                  checked={checked}
                  disabled={member || (!checked && full)}
                  onChange={(e) => toggle(u, e.target.checked)}
                  aria-labelledby={nameId}
                  aria-describedby={infoId}
                />
                <Avatar id={u.id} name={u.displayName} size="small" />
                <span id={nameId} className="person-name">
                  {u.displayName}
                </span>
                <span id={infoId} className="person-username">
                  @{u.username}
                  {member && ' · already a member'}
                </span>
              </label>
            </li>
          );
        })}
      </ul>
      {full && <p className="dialog-note">That is as many people as a group can hold.</p>}
    </div>
  );
}
