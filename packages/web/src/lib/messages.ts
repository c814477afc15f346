import type { Message } from '@confab/protocol';

/*
 * Message lists are kept ascending by seq with no duplicates: the SDK and the
 * history pages can both deliver the same message, and (channelId, seq) is its
 * identity.
 */

/** Adds one message; returns the same array when it was already there. */
export function insertMessage(list: readonly Message[], message: Message): readonly Message[] {
  const last = list.at(-1);
  // The common case: a new message at the end.
  if (!last || message.seq > last.seq) return [...list, message];
  const index = lowerBound(list, message.seq);
  if (list[index]?.seq === message.seq) return list;
  return [...list.slice(0, index), message, ...list.slice(index)];
}

/** Merges two ascending lists into one ascending list without duplicate seqs. */
export function mergeMessages(a: readonly Message[], b: readonly Message[]): readonly Message[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  // Whole-page prepends and appends are the usual shapes; they need no per-item work.
  if (b.at(-1)!.seq < a[0]!.seq) return [...b, ...a];
  if (b[0]!.seq > a.at(-1)!.seq) return [...a, ...b];
  const out: Message[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.seq < y.seq)) {
      out.push(x!);
      i++;
    } else if (x === undefined || y.seq < x.seq) {
      out.push(y);
      j++;
    } else {
      out.push(x);
      i++;
      j++;
    }
  }
  return out;
}

/** Index of the first message whose seq is >= `seq`. */
export function lowerBound(list: readonly Message[], seq: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** True when a message with this seq is in the (ascending) list. */
export function hasSeq(list: readonly Message[], seq: number): boolean {
  return list[lowerBound(list, seq)]?.seq === seq;
}
