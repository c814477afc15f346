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

/** Most characters (grapheme clusters) of message text a notification shows. */
export const PREVIEW_LENGTH = 120;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * The notification preview of a message text: whitespace runs folded into
 * one space (a lock screen shows a line or two), cut to `max` grapheme
 * clusters so no emoji or accented letter is split, with an ellipsis when cut.
 * Segmentation is lazy, so a 100,000-character text costs only its start.
 */
export function previewOf(text: string, max = PREVIEW_LENGTH): string {
  let out = '';
  let count = 0;
  let space = false;
  for (const { segment } of graphemes.segment(text)) {
    if (/^\s+$/.test(segment)) {
      space = count > 0;
      continue;
    }
    if (count + (space ? 2 : 1) > max) return `${out}…`;
    if (space) {
      out += ' ';
      count++;
      space = false;
    }
    out += segment;
    count++;
  }
  return out;
}
