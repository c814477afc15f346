import { DEFAULT_MAX_GROUP_MEMBERS } from '@confab/protocol';
import type { Member, Role, User } from '@confab/sdk';
import { useMemo, useState, type FormEvent } from 'react';
import { channelName } from '../lib/channel-name.js';
import { errorText } from '../lib/error-text.js';
import { useChat, useStore } from '../store/store-context.js';
import { Avatar } from './avatar.js';
import { Dialog } from './dialog.js';
import { PeoplePicker } from './people-picker.js';

interface GroupInfoDialogProps {
  channelId: string;
  onClose: () => void;
  /** After I left the group. */
  onLeft: () => void;
}

const ROLE_ORDER: Record<Role, number> = { owner: 0, admin: 1, member: 2 };
const ROLE_LABEL: Record<Role, string> = { owner: 'Owner', admin: 'Admin', member: 'Member' };

/** Owners remove anyone; admins remove plain members; nobody removes themselves here (that is Leave). */
function canRemove(myRole: Role, myId: string, m: Member): boolean {
  if (m.userId === myId) return false;
  return myRole === 'owner' || (myRole === 'admin' && m.role === 'member');
}

/** Rename, members, add, remove, promote, leave. */
export function GroupInfoDialog({ channelId, onClose, onLeft }: GroupInfoDialogProps) {
  const store = useStore();
  const channel = useChat((s) => s.channels[channelId]);
  const members = useChat((s) => s.members[channelId]);
  const users = useChat((s) => s.users);
  const [name, setName] = useState(() => (channel ? channelName(channel) : ''));
  const [picked, setPicked] = useState<User[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const maxMembers = store.client.welcome?.limits.maxGroupMembers ?? DEFAULT_MAX_GROUP_MEMBERS;

  const sorted = useMemo(
    () => [...(members ?? [])].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.joinedAt - b.joinedAt),
    [members],
  );
  const memberIds = useMemo(() => new Set((members ?? []).map((m) => m.userId)), [members]);

  if (!channel) return null;
  const myRole = channel.role;
  const manager = !channel.left && (myRole === 'owner' || myRole === 'admin');
  const nameOf = (id: string) => users[id]?.displayName ?? users[id]?.username ?? 'Someone';

  /** Runs one change; errors and confirmations are announced in the dialog. */
  async function run(action: () => Promise<void>, confirmation: string) {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await action();
      setDone(confirmation);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  function rename(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) {
      setError('Give the group a name.');
      return;
    }
    void run(() => store.rename(channelId, name.trim()), 'Group renamed.');
  }

  function add() {
    const ids = picked.map((u) => u.id);
    void run(async () => {
      await store.addMembers(channelId, ids);
      setPicked([]);
    }, `Added ${picked.length === 1 ? picked[0]!.displayName : `${picked.length} people`}.`);
  }

  async function leave() {
    setBusy(true);
    setError(null);
    try {
      await store.leave(channelId);
      onClose();
      onLeft();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Group info" onClose={onClose} className="dialog-wide">
      {manager ? (
        <form className="inline-form" onSubmit={rename} noValidate>
          <label className="field">
            <span>Group name</span>
            <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required />
          </label>
          <button type="submit" className="secondary-button" disabled={busy}>
            Rename
          </button>
        </form>
      ) : (
        <p className="group-name">{channelName(channel)}</p>
      )}

      <section className="dialog-section" aria-labelledby={`${channelId}-members`}>
        <h3 id={`${channelId}-members`}>Members ({members?.length ?? channel.memberCount})</h3>
        {!members && <p className="dialog-note">Loading members…</p>}
        <ul className="member-list">
          {sorted.map((m) => {
            const display = nameOf(m.userId);
            const isMe = m.userId === store.myId;
            return (
              <li key={m.userId} className="member">
                <Avatar id={m.userId} name={display} size="small" />
                <span className="member-name">
                  {display}
                  {isMe && ' (you)'}
                </span>
                {m.role !== 'member' && <span className="role-tag">{ROLE_LABEL[m.role]}</span>}
                {myRole === 'owner' && !isMe && !channel.left && (
                  <button
                    type="button"
                    className="link-button"
                    disabled={busy}
                    aria-label={m.role === 'admin' ? `Dismiss ${display} as admin` : `Make ${display} admin`}
                    onClick={() => void run(() => store.setRole(channelId, m.userId, m.role === 'admin' ? 'member' : 'admin'), 'Role changed.')}
                  >
                    {m.role === 'admin' ? 'Dismiss admin' : 'Make admin'}
                  </button>
                )}
                {!channel.left && canRemove(myRole, store.myId, m) && (
                  <button
                    type="button"
                    className="link-button danger"
                    disabled={busy}
                    aria-label={`Remove ${display}`}
                    onClick={() => void run(() => store.removeMember(channelId, m.userId), `${display} was removed.`)}
                  >
                    Remove
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      </section>

      {manager && (
        <section className="dialog-section" aria-labelledby={`${channelId}-add`}>
          <h3 id={`${channelId}-add`}>Add members</h3>
          <PeoplePicker selected={picked} onChange={setPicked} exclude={memberIds} max={Math.max(0, maxMembers - memberIds.size)} />
          <button type="button" className="secondary-button" disabled={busy || picked.length === 0} onClick={add}>
            Add members
          </button>
        </section>
      )}

      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <p className="dialog-note" aria-live="polite">
        {done}
      </p>
      {!channel.left && (
        <button type="button" className="danger-button" disabled={busy} onClick={() => void leave()}>
          Leave group
        </button>
      )}
    </Dialog>
  );
}
