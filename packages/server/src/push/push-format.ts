import type { PushPayload } from './push-sender.js';

/**
 * A `Retry-After` value (delay in seconds or an HTTP date) in milliseconds
 * from `now`; undefined when absent or unreadable. Shared by every sender:
 * Web Push services, APNs and FCM all use the HTTP header.
 */
export function parseRetryAfter(value: string | string[] | null | undefined, now = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The visible title and body of a message notification on platforms that render it for us (APNs, FCM). */
export function notificationText(p: PushPayload): { title: string; body: string } {
  const title = p.channelName ?? p.senderName ?? 'New message';
  let body: string;
  if (p.preview !== undefined) {
    body = p.channelName && p.senderName ? `${p.senderName}: ${p.preview}` : p.preview;
  } else {
    body = p.count !== undefined && p.count > 1 ? `${p.count} new messages` : 'New message';
  }
  return { title, body };
}
