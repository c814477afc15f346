/** A piece of message text: plain text, or an http(s) URL to render as a link. */
export type TextSegment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

// Stops at whitespace and at characters that cannot appear unescaped in a URL
// and usually delimit one in prose (quotes, angle brackets).
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'"*_~]+$/;

/**
 * Trims punctuation that ends a sentence rather than the URL ("see
 * https://x.org/a." ends before the dot). A closing bracket is kept only when
 * the URL also contains its opening partner, as in Wikipedia links.
 */
function trimUrl(url: string): string {
  let out = url;
  for (;;) {
    const before = out;
    out = out.replace(TRAILING_PUNCTUATION, '');
    const last = out.at(-1);
    const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
    if (last && pairs[last]) {
      const open = pairs[last];
      const opens = out.split(open).length - 1;
      const closes = out.split(last).length - 1;
      if (closes > opens) out = out.slice(0, -1);
    }
    if (out === before) return out;
  }
}

/** True for strings the browser parses as an absolute http(s) URL with a host. */
function isSafeHttpUrl(candidate: string): boolean {
  try {
    const url = new URL(candidate);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

/**
 * Splits text into plain and link segments. Only http and https URLs become
 * links, so `javascript:` or `data:` can never reach an href. Linear in the
 * text length: safe for 100,000-character messages.
 */
export function linkify(text: string): TextSegment[] {
  const segments: TextSegment[] = [];
  let cursor = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index;
    const url = trimUrl(match[0]);
    if (!isSafeHttpUrl(url) || url.length <= 'https://'.length) continue;
    if (start > cursor) segments.push({ kind: 'text', text: text.slice(cursor, start) });
    segments.push({ kind: 'link', text: url, href: url });
    cursor = start + url.length;
  }
  if (cursor < text.length) segments.push({ kind: 'text', text: text.slice(cursor) });
  return segments;
}
