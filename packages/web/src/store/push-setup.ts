import type { ConfabApi } from '@confab/sdk';
import { notificationPermission, pushSupported } from '../lib/service-worker.js';
import { dismissPushPrompt, pushPromptDismissed } from '../lib/storage.js';
import { dropPushSubscription, ensurePushSubscription, pushErrorText } from '../lib/web-push.js';

export type PushStatus =
  /** The browser (or a development build) has no service worker, Push API or notifications. */
  | 'unsupported'
  /** Asking the server which push services it uses. */
  | 'checking'
  /** The server sends no Web Push. */
  | 'unavailable'
  /** Permission not asked yet: the "Turn on notifications" prompt may show. */
  | 'ask'
  | 'enabling'
  | 'on'
  /** Refused in the browser: only its settings can change that. */
  | 'blocked'
  /** Permission granted, but subscribing or registering failed. */
  | 'failed';

export interface PushState {
  status: PushStatus;
  /** A short message after the person asked for notifications (a failure, or that they are on). */
  notice: string | null;
  promptDismissed: boolean;
}

const NOTICE_MS = 6_000;

/**
 * Web Push for one session. Permission is only ever asked for when the person
 * clicks "Turn on notifications"; when it was granted before, the
 * subscription is checked and registered silently at each start, since
 * browsers and servers may have changed it since.
 */
export class PushSetup {
  private state: PushState;
  private readonly listeners = new Set<() => void>();
  private publicKey: string | null = null;
  private checking = false;
  private stopped = false;
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly api: ConfabApi) {
    this.state = { status: pushSupported() ? 'checking' : 'unsupported', notice: null, promptDismissed: pushPromptDismissed() };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): PushState => this.state;

  private set(patch: Partial<PushState>): void {
    if (this.stopped) return;
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  /** Reads the server's push config and follows the permission; called at start and on each (re)connection until it succeeds. */
  async check(): Promise<void> {
    if (this.state.status !== 'checking' || this.checking) return;
    this.checking = true;
    try {
      await this.checkOnce();
    } finally {
      this.checking = false;
    }
  }

  private async checkOnce(): Promise<void> {
    let publicKey: string;
    try {
      const config = await this.api.pushConfig();
      if (!config.webPush) {
        this.set({ status: 'unavailable' });
        return;
      }
      publicKey = this.publicKey = config.webPush.publicKey;
    } catch {
      return; // offline, or a server without push: the next connection asks again
    }
    const permission = notificationPermission();
    if (permission === 'denied') this.set({ status: 'blocked' });
    else if (permission !== 'granted') this.set({ status: 'ask' });
    else {
      try {
        await ensurePushSubscription(this.api, publicKey);
        this.set({ status: 'on' });
      } catch (err) {
        // Nobody asked just now: no message, but the account dialog offers to try again.
        console.warn('Confab: push subscription not renewed:', err);
        this.set({ status: 'failed' });
      }
    }
  }

  /** Asks for permission (the person just clicked), subscribes and registers with the server. */
  enable = async (): Promise<void> => {
    const key = this.publicKey;
    if (!key || this.state.status === 'enabling') return;
    this.set({ status: 'enabling', notice: null });
    try {
      const permission = notificationPermission() === 'granted' ? 'granted' : await Notification.requestPermission();
      if (permission !== 'granted') {
        const blocked = permission === 'denied';
        this.set({ status: blocked ? 'blocked' : 'ask', notice: blocked ? 'Notifications are blocked. You can allow them for Confab in the browser’s site settings.' : null });
        return;
      }
      await ensurePushSubscription(this.api, key);
      this.set({ status: 'on' });
      this.showNotice('Notifications are on for this browser.');
    } catch (err) {
      console.warn('Confab: notifications not turned on:', err);
      this.set({ status: 'failed', notice: pushErrorText(err) });
    }
  };

  private showNotice(notice: string): void {
    this.set({ notice });
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => this.state.notice === notice && this.set({ notice: null }), NOTICE_MS);
  }

  dismissPrompt = (): void => {
    dismissPushPrompt();
    this.set({ promptDismissed: true });
  };

  dismissNotice = (): void => {
    clearTimeout(this.noticeTimer);
    this.set({ notice: null });
  };

  /** At logout: the browser's subscription goes (the server drops the device's registration itself). */
  async signOut(): Promise<void> {
    try {
      await dropPushSubscription();
    } catch (err) {
      console.warn('Confab: push subscription not removed:', err);
    }
  }

  stop(): void {
    clearTimeout(this.noticeTimer);
    this.stopped = true;
  }
}
