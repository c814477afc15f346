import {
  ConfabClient,
  defaultClientId,
  isConfabError,
  type ChannelDetail,
  type ChannelSummary,
  type ConfabApi,
  type ConnectionState,
  type Member,
  type Message,
  type Presence,
  type Receipt,
  type User,
} from '@confab/sdk';
import { MAX_PRESENCE_QUERY } from '@confab/protocol';
import { errorText } from '../lib/error-text.js';
import { liveNotification } from '../lib/live-notification.js';
import { hasSeq, insertMessage, mergeMessages } from '../lib/messages.js';
import { closeChannelNotifications, showChannelNotification } from '../lib/notification-display.js';
import { raiseWatermark, type Watermark } from '../lib/receipts.js';
import { clearOutbox, loadOutbox, loadSyncState, saveSyncState, updateOutbox, type StoredSession } from '../lib/storage.js';
import { notificationPermission, serviceWorkerReady } from '../lib/service-worker.js';
import type { PendingSend } from '../lib/timeline.js';
import { PushSetup } from './push-setup.js';
import { mergeSummary, summaryWithMessage } from './summary.js';

/** The loaded part of one conversation: a contiguous run of messages ending at the newest. */
export interface Timeline {
  messages: readonly Message[];
  status: 'loading' | 'ready' | 'error';
  hasOlder: boolean;
  loadingOlder: boolean;
  /** Messages added above the first page; the list's firstItemIndex moves down by this much. */
  prepended: number;
  error: string | null;
}

export interface ChatState {
  me: User;
  connection: ConnectionState;
  listStatus: 'loading' | 'ready' | 'error';
  channels: Readonly<Record<string, ChannelSummary>>;
  /** Current members, per channel, once its detail was fetched. */
  members: Readonly<Record<string, readonly Member[]>>;
  /** Receipt watermarks per channel and user. */
  watermarks: Readonly<Record<string, Readonly<Record<string, Watermark>>>>;
  users: Readonly<Record<string, User>>;
  presence: Readonly<Record<string, Presence>>;
  /** Per channel, who is typing and until when (ms epoch). */
  typing: Readonly<Record<string, Readonly<Record<string, number>>>>;
  timelines: Readonly<Record<string, Timeline>>;
  pending: Readonly<Record<string, readonly PendingSend[]>>;
  /** Users I blocked. */
  blocked: Readonly<Record<string, true>>;
}

/** Someone's typing indicator disappears this long after their last typing event. */
export const TYPING_TTL_MS = 5_000;
export const PAGE_SIZE = 50;

type Patch = Partial<ChatState>;

/**
 * The app's view of the chat: initial data from the HTTP API, then kept live
 * by the SDK's events. Immutable snapshots, so React components can subscribe
 * with useSyncExternalStore and re-render only for the slices they read.
 */
export class ChatStore {
  readonly client: ConfabClient;
  readonly api: ConfabApi;
  /** Web Push for this session: permission prompt, subscription, registration with the server. */
  readonly push: PushSetup;
  /** Unsent composer text per conversation; not state, the composer owns the live value. */
  readonly drafts = new Map<string, string>();

  private state: ChatState;
  private readonly listeners = new Set<() => void>();
  private notifyScheduled = false;
  private readonly off: (() => void)[] = [];
  private readonly loadingDetail = new Map<string, Promise<void>>();
  /** Messages of channels not in the list yet, replayed onto their row once it is fetched. */
  private readonly orphans = new Map<string, Message[]>();
  private readonly loadingUsers = new Set<string>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly refreshTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private welcomes = 0;
  private stopped = false;
  private loggingOut = false;
  private listLoad: Promise<void> | null = null;

  constructor(
    private readonly session: StoredSession,
    private readonly onTerminal: () => void,
  ) {
    this.client = new ConfabClient({
      // The server serves this app on the same origin as its API.
      baseUrl: location.origin,
      token: session.token,
      syncState: loadSyncState(session.userId),
      onSyncState: (s) => saveSyncState(session.userId, s),
    });
    this.api = this.client.api;
    this.push = new PushSetup(this.api);
    this.state = {
      me: { id: session.userId, username: session.username, displayName: session.displayName, createdAt: 0 },
      connection: this.client.state,
      listStatus: 'loading',
      channels: {},
      members: {},
      watermarks: {},
      users: {},
      presence: {},
      typing: {},
      timelines: {},
      pending: {},
      blocked: {},
    };
  }

  // --- subscription (useSyncExternalStore) ----------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): ChatState => this.state;

  private update(fn: (s: ChatState) => Patch): void {
    const patch = fn(this.state);
    if (Object.keys(patch).length === 0) return;
    this.state = { ...this.state, ...patch };
    // A sync page can emit hundreds of messages in a row: tell React once.
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    queueMicrotask(() => {
      this.notifyScheduled = false;
      for (const l of this.listeners) l();
    });
  }

  get myId(): string {
    return this.session.userId;
  }

  // --- lifecycle ---------------------------------------------------------------------

  start(): void {
    const c = this.client;
    this.off.push(
      c.on('message', (m) => {
        this.onMessage(m);
        void this.notifyInBackground(m);
      }),
      c.on('receipts', ({ channelId, receipts }) => this.onReceipts(channelId, receipts)),
      c.on('read', ({ channelId, readSeq }) => this.onOwnRead(channelId, readSeq)),
      c.on('left', ({ channelId }) => this.patchChannel(channelId, (ch) => (ch.left ? ch : { ...ch, left: true }))),
      // Another device of mine may have muted or unmuted the conversation.
      c.on('muted', ({ channelId, mutedUntil }) => this.setMuted(channelId, mutedUntil)),
      c.on('presence', (p) => this.setPresence([p])),
      c.on('typing', ({ channelId, userId }) => this.onTyping(channelId, userId)),
      c.on('state', (connection) => this.update(() => ({ connection }))),
      c.on('welcome', () => this.onWelcome()),
      c.on('terminal', () => {
        clearOutbox(this.myId);
        // Logging out closes this device's sockets too: that is not news for the person who did it.
        if (this.loggingOut) return;
        // Revoked elsewhere: this device gets no more pushes, and the account's notifications go.
        void this.push.signOut();
        this.onTerminal();
      }),
      // Unexpected but survivable (the SDK keeps running); worth a trace for whoever debugs.
      c.on('error', (err) => console.warn('confab:', err.message)),
    );
    void c.connect();
    void this.loadChannels();
    void this.loadBlocks();
    void this.push.check();
    this.api.me().then(
      (me) => this.update(() => ({ me })),
      () => undefined,
    );
    // Sends a previous page load could not deliver go out again with their original ids (no duplicates).
    for (const s of loadOutbox(this.myId)) {
      this.addPending({ ...s, status: 'pending', seq: null, error: null });
      this.dispatch(s.channelId, s.clientId, s.text);
    }
  }

  stop(): void {
    this.stopped = true;
    this.push.stop();
    for (const off of this.off.splice(0)) off();
    for (const t of this.timers) clearTimeout(t);
    for (const t of this.refreshTimers.values()) clearTimeout(t);
    this.client.close();
  }

  /** Logs this device out on the server (best effort) and stops. */
  async logout(): Promise<void> {
    this.loggingOut = true;
    try {
      await this.push.signOut();
      await this.api.logout();
    } finally {
      clearOutbox(this.myId);
      this.stop();
    }
  }

  private onWelcome(): void {
    // After a reconnect the sync replays messages, reads and departures; the
    // list (with presence) is refreshed for what only it shows. The same goes
    // for a first connection after the list failed to load (offline start).
    const first = this.welcomes++ === 0;
    void this.push.check();
    if (!first || this.state.listStatus === 'error') void this.loadChannels();
    else void this.queryPresence(this.peerIds());
    for (const [channelId, tl] of Object.entries(this.state.timelines)) {
      if (tl.status === 'error') void this.loadLatest(channelId);
    }
  }

  // --- channels --------------------------------------------------------------------------

  loadChannels(): Promise<void> {
    // One request at a time: start() and the first welcome can both ask.
    this.listLoad ??= this.fetchChannels().finally(() => (this.listLoad = null));
    return this.listLoad;
  }

  private async fetchChannels(): Promise<void> {
    try {
      const list = await this.api.channels();
      this.update((s) => {
        const channels = { ...s.channels };
        const users = { ...s.users };
        for (const summary of list) {
          channels[summary.id] = mergeSummary(channels[summary.id], summary);
          if (summary.peer) users[summary.peer.id] = summary.peer;
        }
        return { channels, users, listStatus: 'ready' };
      });
      void this.queryPresence(this.peerIds());
      // Group previews name the sender of the last message.
      this.ensureUsers(list.flatMap((ch) => (ch.kind === 'group' && ch.lastMessage?.kind === 'text' ? [ch.lastMessage.senderId] : [])));
    } catch (err) {
      if (isConfabError(err, 'unauthorized')) return; // the client reports `terminal`
      this.update((s) => (s.listStatus === 'ready' ? {} : { listStatus: 'error' }));
    }
  }

  /** Fetches one channel with its members (for a new channel, or after a membership change). */
  loadChannelDetail(channelId: string): Promise<void> {
    let loading = this.loadingDetail.get(channelId);
    if (!loading) {
      loading = this.fetchChannelDetail(channelId).finally(() => this.loadingDetail.delete(channelId));
      this.loadingDetail.set(channelId, loading);
    }
    return loading;
  }

  private async fetchChannelDetail(channelId: string): Promise<void> {
    try {
      this.applyDetail(await this.api.channel(channelId));
    } catch (err) {
      if (isConfabError(err, 'not_member')) {
        this.orphans.delete(channelId);
        this.patchChannel(channelId, (ch) => ({ ...ch, left: true }));
      }
    }
  }

  private applyDetail(detail: ChannelDetail): void {
    const { members, ...summary } = detail;
    // The fetch may have been answered before messages that arrived meanwhile.
    const orphans = this.orphans.get(detail.id) ?? [];
    this.orphans.delete(detail.id);
    this.update((s) => {
      const watermarks = { ...s.watermarks[detail.id] };
      for (const m of members) watermarks[m.userId] = raiseWatermark(watermarks[m.userId], m);
      const row = orphans.reduce((ch, m) => summaryWithMessage(ch, m, this.myId), mergeSummary(s.channels[detail.id], summary));
      return {
        channels: { ...s.channels, [detail.id]: row },
        members: { ...s.members, [detail.id]: members },
        watermarks: { ...s.watermarks, [detail.id]: watermarks },
        ...(summary.peer && { users: { ...s.users, [summary.peer.id]: summary.peer } }),
      };
    });
    this.ensureUsers(members.map((m) => m.userId));
  }

  private patchChannel(channelId: string, fn: (ch: ChannelSummary) => ChannelSummary): void {
    this.update((s) => {
      const ch = s.channels[channelId];
      if (!ch) return {};
      const next = fn(ch);
      return next === ch ? {} : { channels: { ...s.channels, [channelId]: next } };
    });
  }

  /** Membership events arrive as system messages; several in a row cost one refresh. */
  private scheduleRefresh(channelId: string): void {
    clearTimeout(this.refreshTimers.get(channelId));
    this.refreshTimers.set(
      channelId,
      setTimeout(() => {
        this.refreshTimers.delete(channelId);
        void this.loadChannelDetail(channelId);
      }, 300),
    );
  }

  // --- users and presence ------------------------------------------------------------------

  ensureUsers(userIds: readonly string[]): void {
    for (const id of new Set(userIds)) {
      if (this.state.users[id] || this.loadingUsers.has(id)) continue;
      this.loadingUsers.add(id);
      this.api.getUser(id).then(
        (user) => this.update((s) => ({ users: { ...s.users, [user.id]: user } })),
        () => this.loadingUsers.delete(id), // forgotten so a later look-up can try again
      );
    }
  }

  rememberUsers(users: readonly User[]): void {
    if (users.length === 0) return;
    this.update((s) => {
      const next = { ...s.users };
      for (const u of users) next[u.id] = u;
      return { users: next };
    });
  }

  private peerIds(): string[] {
    return Object.values(this.state.channels).flatMap((ch) => (ch.peer ? [ch.peer.id] : []));
  }

  async queryPresence(userIds: readonly string[]): Promise<void> {
    const ids = [...new Set(userIds)];
    for (let i = 0; i < ids.length; i += MAX_PRESENCE_QUERY) {
      try {
        this.setPresence(await this.api.presence(ids.slice(i, i + MAX_PRESENCE_QUERY)));
      } catch {
        // Presence is decoration: live events and the next reconnect fill it in.
      }
    }
  }

  private setPresence(list: readonly Presence[]): void {
    if (list.length === 0) return;
    this.update((s) => {
      const presence = { ...s.presence };
      for (const p of list) presence[p.userId] = p;
      return { presence };
    });
  }

  // --- live events ------------------------------------------------------------------------------

  private onMessage(m: Message): void {
    const me = this.myId;
    const known = m.channelId in this.state.channels;
    this.update((s) => {
      const patch: Patch = {};
      const ch = s.channels[m.channelId];
      if (ch) patch.channels = { ...s.channels, [m.channelId]: summaryWithMessage(ch, m, me) };
      const tl = s.timelines[m.channelId];
      if (tl) {
        const messages = insertMessage(tl.messages, m);
        if (messages !== tl.messages) patch.timelines = { ...s.timelines, [m.channelId]: { ...tl, messages } };
      }
      // My committed message replaces its optimistic copy.
      const pending = s.pending[m.channelId];
      if (m.senderId === me && pending?.some((p) => p.clientId === m.clientId)) {
        patch.pending = { ...s.pending, [m.channelId]: pending.filter((p) => p.clientId !== m.clientId) };
      }
      // Whoever just sent has stopped typing.
      const typing = s.typing[m.channelId];
      if (typing?.[m.senderId]) {
        const { [m.senderId]: _gone, ...rest } = typing;
        patch.typing = { ...s.typing, [m.channelId]: rest };
      }
      return patch;
    });
    if (m.senderId === me) updateOutbox(me, m.clientId, null);
    if (!known) {
      this.orphans.set(m.channelId, [...(this.orphans.get(m.channelId) ?? []), m]);
      void this.loadChannelDetail(m.channelId);
    }
    else if (m.kind === 'system' && m.system?.event !== 'renamed' && m.system?.event !== 'created') this.scheduleRefresh(m.channelId);
    if (m.kind === 'text') this.ensureUsers([m.senderId]);
  }

  private onReceipts(channelId: string, receipts: readonly Receipt[]): void {
    this.update((s) => {
      const current = s.watermarks[channelId] ?? {};
      const next = { ...current };
      let changed = false;
      for (const r of receipts) {
        const w = raiseWatermark(next[r.userId], r);
        if (w !== next[r.userId]) {
          next[r.userId] = w;
          changed = true;
        }
      }
      return changed ? { watermarks: { ...s.watermarks, [channelId]: next } } : {};
    });
    // My own receipt means one of my devices (maybe another tab) read the conversation.
    const mine = receipts.find((r) => r.userId === this.myId);
    if (mine) this.onOwnRead(channelId, mine.readSeq);
  }

  private onOwnRead(channelId: string, readSeq: number): void {
    const ch = this.state.channels[channelId];
    if (!ch) {
      void this.loadChannelDetail(channelId);
      return;
    }
    if (readSeq <= ch.readSeq) return;
    this.patchChannel(channelId, (c) => (readSeq > c.readSeq ? { ...c, readSeq } : c));
    this.closeNotifications(channelId, readSeq);
  }

  private setMuted(channelId: string, mutedUntil: number | null): void {
    this.patchChannel(channelId, (ch) => (ch.mutedUntil === mutedUntil ? ch : { ...ch, mutedUntil }));
  }

  // --- notifications ------------------------------------------------------------------------

  /**
   * A tab in the background shows a notification for a message it receives
   * live: the server pushes only to devices that are not connected, so this
   * is how a hidden tab makes itself heard.
   */
  private async notifyInBackground(m: Message): Promise<void> {
    if (m.kind !== 'text' || m.senderId === this.myId) return;
    if (typeof document === 'undefined' || document.visibilityState !== 'hidden' || notificationPermission() !== 'granted') return;
    const ready = serviceWorkerReady();
    if (!ready) return;
    // A new conversation's first message arrives before its row: wait for the row (name, kind, mute).
    if (!(m.channelId in this.state.channels)) await this.loadChannelDetail(m.channelId);
    const sender = this.state.users[m.senderId] ?? (await this.api.getUser(m.senderId).catch(() => undefined));
    const payload = liveNotification({ message: m, channel: this.state.channels[m.channelId], myId: this.myId, senderName: sender?.displayName, now: Date.now() });
    if (!payload || this.stopped || document.visibilityState !== 'hidden') return;
    try {
      await showChannelNotification(await ready, payload);
    } catch (err) {
      console.warn('Confab: notification not shown:', err);
    }
  }

  /** What was read here or on another device is no longer news. */
  private closeNotifications(channelId: string, readSeq: number): void {
    const ready = notificationPermission() === 'granted' ? serviceWorkerReady() : null;
    ready?.then((registration) => closeChannelNotifications(registration, channelId, readSeq)).catch(() => undefined);
  }

  private onTyping(channelId: string, userId: string): void {
    if (userId === this.myId) return; // another device of mine
    const until = Date.now() + TYPING_TTL_MS;
    this.update((s) => ({ typing: { ...s.typing, [channelId]: { ...s.typing[channelId], [userId]: until } } }));
    this.ensureUsers([userId]);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.update((s) => {
        const typing = s.typing[channelId];
        if (!typing || (typing[userId] ?? 0) > Date.now()) return {};
        const { [userId]: _gone, ...rest } = typing;
        return { typing: { ...s.typing, [channelId]: rest } };
      });
    }, TYPING_TTL_MS + 50);
    this.timers.add(timer);
  }

  // --- history -----------------------------------------------------------------------------------

  /** Called when a conversation is shown: loads its newest page, members and the peer's presence. */
  openChannel(channelId: string): void {
    const tl = this.state.timelines[channelId];
    if (!tl || tl.status === 'error') void this.loadLatest(channelId);
    void this.loadChannelDetail(channelId);
    const peer = this.state.channels[channelId]?.peer;
    if (peer) void this.queryPresence([peer.id]);
  }

  private setTimeline(channelId: string, fn: (tl: Timeline | undefined) => Timeline): void {
    this.update((s) => ({ timelines: { ...s.timelines, [channelId]: fn(s.timelines[channelId]) } }));
  }

  private async loadLatest(channelId: string): Promise<void> {
    // From here on live messages are collected too, so nothing falls between the page and the events.
    this.setTimeline(channelId, (tl) => ({
      messages: tl?.messages ?? [],
      status: 'loading',
      hasOlder: false,
      loadingOlder: false,
      prepended: 0,
      error: null,
    }));
    try {
      const page = await this.api.history(channelId, { limit: PAGE_SIZE });
      this.setTimeline(channelId, (tl) => ({
        messages: mergeMessages(tl?.messages ?? [], page.messages),
        status: 'ready',
        hasOlder: page.hasMore,
        loadingOlder: false,
        prepended: 0,
        error: null,
      }));
      this.prunePending(channelId, page.messages);
    } catch (err) {
      this.setTimeline(channelId, (tl) => ({ ...tl!, status: 'error', error: errorText(err) }));
    }
  }

  /** Loads the page above the oldest loaded message (infinite scroll upwards). */
  async loadOlder(channelId: string): Promise<void> {
    const tl = this.state.timelines[channelId];
    const first = tl?.messages[0];
    if (!tl || !first || tl.status !== 'ready' || !tl.hasOlder || tl.loadingOlder) return;
    this.setTimeline(channelId, (t) => ({ ...t!, loadingOlder: true }));
    try {
      const page = await this.api.history(channelId, { before: first.seq, limit: PAGE_SIZE });
      this.setTimeline(channelId, (t) => {
        const messages = mergeMessages(t!.messages, page.messages);
        return {
          ...t!,
          messages,
          hasOlder: page.hasMore && page.messages.length > 0,
          loadingOlder: false,
          prepended: t!.prepended + (messages.length - t!.messages.length),
        };
      });
      this.prunePending(channelId, page.messages);
    } catch {
      // Scrolling to the top again retries.
      this.setTimeline(channelId, (t) => ({ ...t!, loadingOlder: false }));
    }
  }

  // --- sending ----------------------------------------------------------------------------------

  /** Shows the message at once and sends it; the SDK resends it across reconnects. */
  send(channelId: string, text: string): void {
    const clientId = defaultClientId();
    const createdAt = Date.now();
    this.addPending({ clientId, channelId, text, createdAt, status: 'pending', seq: null, error: null });
    updateOutbox(this.myId, clientId, { clientId, channelId, text, createdAt });
    this.dispatch(channelId, clientId, text);
  }

  /** Resends a failed message with the same client id, so the server can never store it twice. */
  retry(channelId: string, clientId: string): void {
    const p = this.state.pending[channelId]?.find((x) => x.clientId === clientId);
    if (!p || p.status !== 'failed') return;
    this.patchPending(channelId, clientId, { status: 'pending', error: null });
    updateOutbox(this.myId, clientId, { clientId, channelId, text: p.text, createdAt: p.createdAt });
    this.dispatch(channelId, clientId, p.text);
  }

  private dispatch(channelId: string, clientId: string, text: string): void {
    this.client.send(channelId, text, { clientId }).then(
      (ack) => {
        updateOutbox(this.myId, clientId, null);
        this.patchPending(channelId, clientId, { status: 'sent', seq: ack.seq });
      },
      (err: unknown) => {
        // Closing (logout, revoked session) rejects every send; that is not a failure to show.
        if (this.stopped || isConfabError(err, 'closed', 'unauthorized')) return;
        updateOutbox(this.myId, clientId, null);
        this.patchPending(channelId, clientId, { status: 'failed', error: errorText(err) });
      },
    );
  }

  private addPending(p: PendingSend): void {
    this.update((s) => ({ pending: { ...s.pending, [p.channelId]: [...(s.pending[p.channelId] ?? []), p] } }));
  }

  private patchPending(channelId: string, clientId: string, patch: Partial<PendingSend>): void {
    this.update((s) => {
      const list = s.pending[channelId];
      if (!list?.some((p) => p.clientId === clientId)) return {};
      return { pending: { ...s.pending, [channelId]: list.map((p) => (p.clientId === clientId ? { ...p, ...patch } : p)) } };
    });
  }

  /** Drops optimistic copies whose committed message a history page brought. */
  private prunePending(channelId: string, page: readonly Message[]): void {
    const me = this.myId;
    this.update((s) => {
      const list = s.pending[channelId];
      if (!list?.length) return {};
      const ids = new Set(page.filter((m) => m.senderId === me).map((m) => m.clientId));
      const kept = list.filter((p) => !ids.has(p.clientId) && !(p.seq !== null && hasSeq(page, p.seq)));
      return kept.length === list.length ? {} : { pending: { ...s.pending, [channelId]: kept } };
    });
  }

  // --- read state and typing ------------------------------------------------------------------

  /** Marks everything loaded in the conversation as read (called while it is on screen). */
  markRead(channelId: string): void {
    const ch = this.state.channels[channelId];
    const last = this.state.timelines[channelId]?.messages.at(-1)?.seq ?? 0;
    if (!ch || ch.left || last <= ch.readSeq) return;
    try {
      this.client.markRead(channelId, last);
    } catch {
      return;
    }
    this.patchChannel(channelId, (c) => ({ ...c, readSeq: Math.max(c.readSeq, last) }));
    this.closeNotifications(channelId, last);
  }

  typing(channelId: string): void {
    try {
      this.client.typing(channelId);
    } catch {
      // Typing is best effort.
    }
  }

  // --- conversations and membership -------------------------------------------------------------

  async openDirect(userId: string): Promise<string> {
    const detail = await this.api.openDirect(userId);
    this.applyDetail(detail);
    return detail.id;
  }

  async createGroup(name: string, memberIds: readonly string[]): Promise<string> {
    const detail = await this.api.createGroup(name, [...memberIds]);
    this.applyDetail(detail);
    return detail.id;
  }

  async rename(channelId: string, name: string): Promise<void> {
    this.applyDetail(await this.api.renameChannel(channelId, name));
  }

  async addMembers(channelId: string, userIds: readonly string[]): Promise<void> {
    this.applyDetail(await this.api.addMembers(channelId, [...userIds]));
  }

  async removeMember(channelId: string, userId: string): Promise<void> {
    const detail = await this.api.removeMember(channelId, userId);
    if (detail) this.applyDetail(detail);
    else this.patchChannel(channelId, (ch) => ({ ...ch, left: true }));
  }

  async setRole(channelId: string, userId: string, role: 'admin' | 'member'): Promise<void> {
    this.applyDetail(await this.api.setRole(channelId, userId, role));
  }

  // --- blocks ------------------------------------------------------------------------------

  private async loadBlocks(): Promise<void> {
    try {
      const blocks = await this.api.blocks();
      this.update(() => ({ blocked: Object.fromEntries(blocks.map((b) => [b.user.id, true] as const)) }));
    } catch {
      // Only the menu's label depends on it; blocking itself is enforced by the server.
    }
  }

  /** Blocks a user: no direct messages either way and no presence between us, until unblocked. */
  async block(userId: string): Promise<void> {
    await this.api.block(userId);
    this.update((s) => ({ blocked: { ...s.blocked, [userId]: true } }));
  }

  async unblock(userId: string): Promise<void> {
    await this.api.unblock(userId);
    this.update((s) => {
      const { [userId]: _, ...rest } = s.blocked;
      return { blocked: rest };
    });
    void this.queryPresence([userId]);
  }

  /** Mutes the conversation's notifications on all my devices until `mutedUntil` (ms epoch, MUTED_FOREVER), or unmutes (null). */
  async mute(channelId: string, mutedUntil: number | null): Promise<void> {
    const res = await this.api.muteChannel(channelId, mutedUntil);
    this.setMuted(res.channelId, res.mutedUntil);
    if (res.mutedUntil !== null && res.mutedUntil > Date.now()) this.closeNotifications(channelId, Number.MAX_SAFE_INTEGER);
  }

  async leave(channelId: string): Promise<void> {
    await this.api.leave(channelId);
    this.patchChannel(channelId, (ch) => ({ ...ch, left: true }));
  }
}
