import type { Device } from '@confab/sdk';
import { useEffect, useState } from 'react';
import { errorText } from '../lib/error-text.js';
import { formatShortRelative } from '../lib/format.js';
import { useNow } from '../hooks/use-now.js';
import type { PushStatus } from '../store/push-setup.js';
import { useChat, usePush, useStore } from '../store/store-context.js';
import { Avatar } from './avatar.js';
import { Dialog } from './dialog.js';

const PUSH_STATUS: Record<PushStatus, string> = {
  unsupported: 'This browser cannot show notifications from Confab.',
  checking: 'Checking…',
  unavailable: 'This server does not send notifications to browsers.',
  ask: 'Off in this browser.',
  enabling: 'Turning on…',
  on: 'On in this browser.',
  blocked: 'Blocked in this browser. Allow them for Confab in the site settings.',
  failed: 'Not working in this browser right now.',
};

/** Notifications on this device: where they stand, and a way to turn them on after "Not now". */
function NotificationSettings() {
  const push = useStore().push;
  const { status, notice } = usePush();
  const canEnable = status === 'ask' || status === 'failed' || status === 'enabling';
  return (
    <section className="dialog-section" aria-labelledby="notifications-heading">
      <h3 id="notifications-heading">Notifications</h3>
      <p className="dialog-note">{PUSH_STATUS[status]}</p>
      {notice && status !== 'on' && (
        <p className="form-error" role="alert">
          {notice}
        </p>
      )}
      {canEnable && (
        <button type="button" className="secondary-button" disabled={status === 'enabling'} onClick={() => void push.enable()}>
          {status === 'failed' ? 'Try again' : 'Turn on notifications'}
        </button>
      )}
    </section>
  );
}

interface AccountDialogProps {
  onClose: () => void;
  onLogout: () => Promise<void>;
}

/** Who I am, where I am logged in, and logging devices out (this one included). */
export function AccountDialog({ onClose, onLogout }: AccountDialogProps) {
  const store = useStore();
  const me = useChat((s) => s.me);
  const now = useNow();
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    store.api.devices().then(
      (list) => current && setDevices(list.sort((a, b) => Number(b.current) - Number(a.current) || b.lastActiveAt - a.lastActiveAt)),
      (err: unknown) => current && setError(errorText(err)),
    );
    return () => {
      current = false;
    };
  }, [store]);

  async function revoke(device: Device) {
    setBusy(true);
    setError(null);
    try {
      await store.api.revokeDevice(device.id);
      setDevices((list) => list?.filter((d) => d.id !== device.id) ?? null);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  async function logout() {
    setBusy(true);
    await onLogout();
  }

  return (
    <Dialog title="Account" onClose={onClose}>
      <div className="account-me">
        <Avatar id={me.id} name={me.displayName || me.username} size="large" />
        <div>
          <p className="account-name">{me.displayName}</p>
          <p className="muted">@{me.username}</p>
        </div>
      </div>
      <section className="dialog-section" aria-labelledby="devices-heading">
        <h3 id="devices-heading">Devices</h3>
        {!devices && !error && <p className="dialog-note">Loading devices…</p>}
        <ul className="device-list">
          {devices?.map((d) => (
            <li key={d.id} className="device">
              <div>
                <p className="device-name">
                  {d.name || 'Unnamed device'}
                  {d.current && <span className="role-tag">this device</span>}
                </p>
                <p className="muted">
                  {d.platform ? `${d.platform} · ` : ''}
                  {d.current ? 'active now' : `active ${formatShortRelative(d.lastActiveAt, now)}`}
                </p>
              </div>
              {!d.current && (
                <button type="button" className="secondary-button" disabled={busy} aria-label={`Log out ${d.name}`} onClick={() => void revoke(d)}>
                  Log out
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
      <NotificationSettings />
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="button" className="danger-button" disabled={busy} onClick={() => void logout()}>
        Log out
      </button>
    </Dialog>
  );
}
