/*
 * What a notification about a conversation says. Shared by the service worker
 * (pushes from the server) and the page (a background tab that receives a
 * message live), so both look the same and replace each other: one
 * notification per conversation, tagged with its id.
 */

import type { PushPayload } from '@confab/protocol';

/** The decrypted Web Push data the Confab server sends (and what a background tab builds itself). */
export type NotificationPayload = PushPayload;

/** Kept on each notification, for the click (which conversation) and for ordering (which message). */
export interface NotificationData {
  channelId: string;
  seq: number | null;
}

/** NotificationOptions as Confab uses them; `renotify` is not in TypeScript's DOM types. */
export interface ChannelNotificationOptions extends NotificationOptions {
  tag: string;
  renotify: boolean;
  icon: string;
  data: NotificationData;
}

export const NOTIFICATION_ICON = '/icons/icon-192.png';

const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Reads push data defensively: anything malformed gives null, unknown or mistyped fields are dropped. */
export function parsePayload(raw: unknown): NotificationPayload | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if ((r.type !== 'message' && r.type !== 'read') || !isString(r.channelId) || r.channelId === '') return null;
  const p: NotificationPayload = { type: r.type, channelId: r.channelId };
  if (isCount(r.count)) p.count = r.count;
  if (isString(r.senderId)) p.senderId = r.senderId;
  if (isString(r.senderName)) p.senderName = r.senderName;
  if (isString(r.channelName) || r.channelName === null) p.channelName = r.channelName;
  if (isString(r.preview)) p.preview = r.preview;
  if (isCount(r.seq)) p.seq = r.seq;
  return p;
}

/** Title and options of the notification for a `message` payload. */
export function notificationFor(p: NotificationPayload): { title: string; options: ChannelNotificationOptions } {
  const title = p.channelName || p.senderName || 'New message';
  let body: string;
  if (p.preview !== undefined) {
    // In a group the title is the group, so the body says who wrote.
    body = p.channelName && p.senderName ? `${p.senderName}: ${p.preview}` : p.preview;
  } else {
    body = p.count !== undefined && p.count > 1 ? `${p.count} new messages` : 'New message';
  }
  return {
    title,
    options: {
      body,
      // One notification per conversation: a newer message replaces it, and still alerts (renotify).
      tag: p.channelId,
      renotify: true,
      icon: NOTIFICATION_ICON,
      data: { channelId: p.channelId, seq: p.seq ?? null },
    },
  };
}

/** The notification data Confab stored, or null for anything else. */
export function notificationData(data: unknown): NotificationData | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  if (!isString(d.channelId) || d.channelId === '') return null;
  return { channelId: d.channelId, seq: isCount(d.seq) ? d.seq : null };
}

/**
 * Whether a notification already shown makes a new one for `seq` redundant:
 * it is about the same or a later message (a late push, or another tab of
 * the app that showed it first).
 */
export function supersedes(shown: unknown, seq: number | undefined): boolean {
  const d = notificationData(shown);
  return seq !== undefined && d?.seq != null && d.seq >= seq;
}

/** Whether reading up to `readSeq` (undefined: everything) settles a shown notification. */
export function settledByRead(shown: unknown, readSeq: number | undefined): boolean {
  const d = notificationData(shown);
  return readSeq === undefined || d?.seq == null || d.seq <= readSeq;
}

/** Where the app opens a conversation (see use-selected-channel.ts). */
export function conversationUrl(channelId: string): string {
  return `/#/c/${encodeURIComponent(channelId)}`;
}

/** The message sent to a window of the app to open a conversation. */
export interface OpenChannelMessage {
  type: 'open-channel';
  channelId: string;
}

export function isOpenChannelMessage(data: unknown): data is OpenChannelMessage {
  const d = data as Partial<OpenChannelMessage> | null;
  return typeof d === 'object' && d !== null && d.type === 'open-channel' && isString(d.channelId) && d.channelId !== '';
}
