import { ConfabApi } from '@confab/sdk';
import { MIN_PASSWORD_LENGTH, USERNAME_PATTERN } from '@confab/protocol';
import { useState, type FormEvent } from 'react';
import { deviceName } from '../lib/device-name.js';
import { errorText } from '../lib/error-text.js';
import type { StoredSession } from '../lib/storage.js';

interface AuthScreenProps {
  onSession: (session: StoredSession) => void;
  /** Why the person is here again, e.g. after the session was revoked. */
  notice: string | null;
}

const usernamePattern = new RegExp(USERNAME_PATTERN);
const USERNAME_RULE = 'Usernames have 3–32 characters: lower-case letters, digits, “_” and “.”, starting with a letter or digit.';

/** Log in, or create an account and log in. */
export function AuthScreen({ onSession, notice }: AuthScreenProps) {
  const [mode, setMode] = useState<'login' | 'signup'>('login');
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const signingUp = mode === 'signup';

  function validate(name: string): string | null {
    if (!name || !password) return 'Enter your username and password.';
    if (!signingUp) return null;
    if (!usernamePattern.test(name)) return USERNAME_RULE;
    if (!displayName.trim()) return 'Enter a display name: it is how people see you.';
    if (password.length < MIN_PASSWORD_LENGTH) return `Passwords have at least ${MIN_PASSWORD_LENGTH} characters.`;
    return null;
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const name = username.trim().toLowerCase();
    const invalid = validate(name);
    if (invalid) {
      setError(invalid);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const api = new ConfabApi({ baseUrl: location.origin });
      if (signingUp) await api.signUp({ username: name, password, displayName: displayName.trim() });
      const s = await api.login({ username: name, password, deviceName: deviceName(navigator.userAgent), platform: 'web' });
      onSession({ token: s.token, userId: s.user.id, username: s.user.username, displayName: s.user.displayName, deviceId: s.device.id });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  function switchMode() {
    setMode(signingUp ? 'login' : 'signup');
    setError(null);
  }

  return (
    <div className="auth">
      <div className="auth-card">
        <div className="brand">
          <img src="/icons/icon.svg" alt="" width={48} height={48} />
          <h1>Confab</h1>
        </div>
        <p className="auth-tagline">Chat with your people, on a server you run.</p>
        {notice && <p className="auth-notice">{notice}</p>}
        <form className="auth-form" onSubmit={submit} noValidate>
          <h2>{signingUp ? 'Create your account' : 'Welcome back'}</h2>
          <label className="field">
            <span>Username</span>
            <input
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              autoComplete="username"
              autoCapitalize="none"
              autoCorrect="off"
              spellCheck={false}
              maxLength={32}
              required
              autoFocus
            />
          </label>
          {signingUp && (
            <label className="field">
              <span>Display name</span>
              <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} autoComplete="name" maxLength={64} required />
            </label>
          )}
          <label className="field">
            <span>Password</span>
            <input
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete={signingUp ? 'new-password' : 'current-password'}
              required
            />
          </label>
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="primary-button" disabled={busy}>
            {signingUp ? 'Create account' : 'Log in'}
          </button>
        </form>
        <p className="auth-switch">
          {signingUp ? 'Already registered?' : 'New here?'}{' '}
          <button type="button" className="link-button" onClick={switchMode}>
            {signingUp ? 'I have an account' : 'Create an account'}
          </button>
        </p>
      </div>
    </div>
  );
}
