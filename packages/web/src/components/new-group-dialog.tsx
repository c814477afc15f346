import { DEFAULT_MAX_GROUP_MEMBERS } from '@confab/protocol';
import type { User } from '@confab/sdk';
import { useState, type FormEvent } from 'react';
import { errorText } from '../lib/error-text.js';
import { useStore } from '../store/store-context.js';
import { Dialog } from './dialog.js';
import { PeoplePicker } from './people-picker.js';

interface NewGroupDialogProps {
  onClose: () => void;
  onCreated: (channelId: string) => void;
}

/** Name a group and pick its members; I am its owner and count towards the limit. */
export function NewGroupDialog({ onClose, onCreated }: NewGroupDialogProps) {
  const store = useStore();
  const [name, setName] = useState('');
  const [members, setMembers] = useState<User[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const maxMembers = store.client.welcome?.limits.maxGroupMembers ?? DEFAULT_MAX_GROUP_MEMBERS;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) {
      setError('Give the group a name.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onCreated(await store.createGroup(name.trim(), members.map((u) => u.id)));
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="New group" onClose={onClose}>
      <form className="dialog-form" onSubmit={submit} noValidate>
        <label className="field">
          <span>Group name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required autoFocus />
        </label>
        <PeoplePicker selected={members} onChange={setMembers} max={maxMembers - 1} />
        <p className="dialog-note">
          {members.length + 1} of {maxMembers} members, you included.
        </p>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary-button" disabled={busy}>
          Create group
        </button>
      </form>
    </Dialog>
  );
}
