import type { Message } from '@confab/protocol';
import { dayKey } from './format.js';
import { hasSeq } from './messages.js';

/** A send of mine that the conversation shows before (or instead of) its committed message. */
export interface PendingSend {
  clientId: string;
  channelId: string;
  text: string;
  createdAt: number;
  /** pending: waiting for the server; sent: acknowledged, its message not received yet; failed: refused. */
  status: 'pending' | 'sent' | 'failed';
  seq: number | null;
  error: string | null;
}

/** One message as the conversation renders it, committed or not. */
export interface TimelineEntry {
  key: string;
  seq: number | null;
  senderId: string;
  kind: 'text' | 'system';
  text: string;
  createdAt: number;
  pending: PendingSend | null;
}

export interface TimelineRow {
  entry: TimelineEntry;
  /** The first message of a local calendar day: a separator goes above it. */
  showDay: boolean;
  /** First and last of a run of consecutive text messages by one sender. */
  firstOfGroup: boolean;
  lastOfGroup: boolean;
}

/** Messages further apart than this start a new group even from the same sender. */
export const GROUP_GAP_MS = 5 * 60_000;

/**
 * Committed messages, then my sends still in flight. A pending send whose
 * commit is already in the list is dropped: the committed copy replaces it.
 */
export function timelineEntries(messages: readonly Message[], pending: readonly PendingSend[], myId: string): TimelineEntry[] {
  const entries: TimelineEntry[] = messages.map((m) => ({
    key: `s${m.seq}`,
    seq: m.seq,
    senderId: m.senderId,
    kind: m.kind,
    text: m.text,
    createdAt: m.createdAt,
    pending: null,
  }));
  for (const p of pending) {
    if (p.seq !== null && hasSeq(messages, p.seq)) continue;
    entries.push({ key: `p${p.clientId}`, seq: null, senderId: myId, kind: 'text', text: p.text, createdAt: p.createdAt, pending: p });
  }
  return entries;
}

function sameGroup(a: TimelineEntry, b: TimelineEntry): boolean {
  return (
    a.kind === 'text' &&
    b.kind === 'text' &&
    a.senderId === b.senderId &&
    dayKey(a.createdAt) === dayKey(b.createdAt) &&
    Math.abs(b.createdAt - a.createdAt) < GROUP_GAP_MS
  );
}

/** Adds day separators and sender grouping. One row per message, so prepending N messages adds exactly N rows. */
export function buildRows(entries: readonly TimelineEntry[]): TimelineRow[] {
  const rows: TimelineRow[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const prev = entries[i - 1];
    const next = entries[i + 1];
    rows.push({
      entry,
      showDay: !prev || dayKey(prev.createdAt) !== dayKey(entry.createdAt),
      firstOfGroup: !prev || !sameGroup(prev, entry),
      lastOfGroup: !next || !sameGroup(entry, next),
    });
  }
  return rows;
}
