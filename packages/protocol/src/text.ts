import { MAX_MESSAGE_CODE_POINTS } from './limits.js';
import type { ErrorCode } from './errors.js';

/** Counts Unicode code points: an emoji outside the BMP is one character, not two. */
export function countCodePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit >= 0xdc00) return false;
    const next = text.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

/**
 * Checks a message text against the protocol rules and returns the error code
 * that refuses it, or null when it is acceptable. U+0000 is refused because no
 * SQL text type stores it portably; lone surrogates because they are not text.
 */
export function checkMessageText(text: unknown, max = MAX_MESSAGE_CODE_POINTS): ErrorCode | null {
  if (typeof text !== 'string') return 'bad_request';
  if (text.length === 0) return 'message_empty';
  // UTF-16 length is an upper bound for code points, so short texts skip the count.
  if (text.length > max && countCodePoints(text) > max) return 'message_too_long';
  if (text.includes('\u0000') || !isWellFormed(text)) return 'invalid_text';
  return null;
}
