import type { SyncState } from '@confab/sdk';

/*
 * Everything this app keeps in localStorage. The session belongs to the
 * browser profile (all tabs share it, like a device); the SDK sync state and
 * unsent messages are kept per user so switching accounts never mixes them.
 */

export interface StoredSession {
  token: string;
  userId: string;
  username: string;
  displayName: string;
  deviceId: string;
}

/** A send not yet acknowledged, kept so a reload resends it with the same client id. */
export interface StoredSend {
  clientId: string;
  channelId: string;
  text: string;
  createdAt: number;
}

export const SESSION_KEY = 'confab:session';
const syncKey = (userId: string) => `confab:sync:${userId}`;
const outboxKey = (userId: string) => `confab:outbox:${userId}`;

function read<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? null : (JSON.parse(raw) as T);
  } catch {
    return null;
  }
}

function write(key: string, value: unknown): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled (private mode): the app still works, it just forgets on reload.
  }
}

export function loadSession(): StoredSession | null {
  const s = read<Partial<StoredSession>>(SESSION_KEY);
  if (!s || typeof s.token !== 'string' || typeof s.userId !== 'string') return null;
  return { token: s.token, userId: s.userId, username: s.username ?? '', displayName: s.displayName ?? '', deviceId: s.deviceId ?? '' };
}

export function saveSession(session: StoredSession | null): void {
  write(SESSION_KEY, session);
}

/** Forgets the session only if it is still the given one: another tab may have logged in since. */
export function clearSessionIf(token: string): void {
  if (loadSession()?.token === token) saveSession(null);
}

export function loadSyncState(userId: string): SyncState | null {
  return read<SyncState>(syncKey(userId));
}

export function saveSyncState(userId: string, state: SyncState): void {
  write(syncKey(userId), state);
}

export function loadOutbox(userId: string): StoredSend[] {
  const all = read<Record<string, StoredSend>>(outboxKey(userId));
  return all ? Object.values(all).sort((a, b) => a.createdAt - b.createdAt) : [];
}

/**
 * Adds or removes one entry. Read-modify-write per entry so that two tabs
 * (sharing the key) do not overwrite each other's sends.
 */
export function updateOutbox(userId: string, clientId: string, entry: StoredSend | null): void {
  const all = read<Record<string, StoredSend>>(outboxKey(userId)) ?? {};
  if (entry) all[clientId] = entry;
  else delete all[clientId];
  write(outboxKey(userId), Object.keys(all).length > 0 ? all : null);
}

/** Forgets every unsent message of a user: after a logout they belong to a device that no longer exists. */
export function clearOutbox(userId: string): void {
  write(outboxKey(userId), null);
}

/** The browser's notification permission is per browser, not per account: so is a dismissed "Turn on notifications". */
const PUSH_PROMPT_KEY = 'confab:push-prompt-dismissed';

export function pushPromptDismissed(): boolean {
  return read<boolean>(PUSH_PROMPT_KEY) === true;
}

export function dismissPushPrompt(): void {
  write(PUSH_PROMPT_KEY, true);
}
