import type { Message } from '@confab/protocol';
import { describe, expect, it } from 'vitest';
import { hasSeq, insertMessage, mergeMessages } from './messages.js';

const msg = (seq: number): Message => ({ channelId: 'c_1', seq, senderId: 'u_a', clientId: `m${seq}`, kind: 'text', text: `#${seq}`, createdAt: seq * 1000 });
const seqs = (list: readonly Message[]) => list.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i));

describe('insertMessage', () => {
  it('appends a newer message', () => {
    expect(seqs(insertMessage(range(1, 3), msg(4)))).toEqual([1, 2, 3, 4]);
  });

  it('returns the same list for a duplicate, so nothing is shown twice', () => {
    const list = range(1, 3);
    expect(insertMessage(list, msg(2))).toBe(list);
  });

  it('inserts an older missing message in order', () => {
    expect(seqs(insertMessage([msg(1), msg(3)], msg(2)))).toEqual([1, 2, 3]);
  });
});

describe('mergeMessages', () => {
  it('prepends an older page and appends a newer one', () => {
    expect(seqs(mergeMessages(range(51, 100), range(1, 50)))).toEqual(seqs(range(1, 100)));
    expect(seqs(mergeMessages(range(1, 50), range(51, 60)))).toEqual(seqs(range(1, 60)));
  });

  it('de-duplicates overlapping lists by seq', () => {
    expect(seqs(mergeMessages(range(5, 12), range(1, 8)))).toEqual(seqs(range(1, 12)));
    expect(seqs(mergeMessages([msg(1), msg(4), msg(6)], [msg(2), msg(4), msg(5), msg(7)]))).toEqual([1, 2, 4, 5, 6, 7]);
  });

  it('keeps the same list when nothing is added', () => {
    const list = range(1, 3);
    expect(mergeMessages(list, [])).toBe(list);
  });
});

describe('hasSeq', () => {
  it('finds seqs by binary search', () => {
    const list = [msg(2), msg(4), msg(9)];
    expect([1, 2, 3, 4, 9, 10].map((s) => hasSeq(list, s))).toEqual([false, true, false, true, true, false]);
  });
});
