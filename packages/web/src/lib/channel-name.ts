import type { ChannelSummary } from '@confab/protocol';

/** The name shown for a conversation: the group's name, or the other person's. */
export function channelName(channel: Pick<ChannelSummary, 'kind' | 'name' | 'peer'>): string {
  if (channel.kind === 'direct') return channel.peer?.displayName ?? 'Direct message';
  return channel.name?.trim() || 'Unnamed group';
}

/** Up to two initials for an avatar. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]!, words.at(-1)!] : words.slice(0, 1);
  return letters.map((w) => String.fromCodePoint(w.codePointAt(0)!).toUpperCase()).join('') || '?';
}

/** A stable hue per id, so a person's avatar keeps its colour everywhere. */
export function hueFor(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % 360;
}
