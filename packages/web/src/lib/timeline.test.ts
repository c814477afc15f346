import type { Message } from '@confab/protocol';
import { describe, expect, it } from 'vitest';
import { GROUP_GAP_MS, buildRows, timelineEntries, type PendingSend } from './timeline.js';

const day = (d: number, h = 12, m = 0) => new Date(2026, 2, d, h, m).getTime();
const msg = (seq: number, senderId: string, createdAt: number, kind: 'text' | 'system' = 'text', clientId = `c${seq}`): Message => ({
  channelId: 'c_1',
  seq,
  senderId,
  clientId,
  kind,
  text: `#${seq}`,
  createdAt,
});
const pending = (clientId: string, over: Partial<PendingSend> = {}): PendingSend => ({
  clientId,
  channelId: 'c_1',
  text: 'hi',
  createdAt: day(11, 13),
  status: 'pending',
  seq: null,
  error: null,
  ...over,
});

describe('timelineEntries', () => {
  it('lists committed messages, then my pending sends', () => {
    const entries = timelineEntries([msg(1, 'u_b', day(11))], [pending('p1')], 'u_me');
    expect(entries.map((e) => [e.key, e.seq, e.senderId])).toEqual([
      ['s1', 1, 'u_b'],
      ['pp1', null, 'u_me'],
    ]);
  });

  it('drops an acknowledged send once its committed message is in the list', () => {
    const messages = [msg(1, 'u_b', day(11)), msg(2, 'u_me', day(11), 'text', 'p1')];
    expect(timelineEntries(messages, [pending('p1', { status: 'sent', seq: 2 })], 'u_me').map((e) => e.key)).toEqual(['s1', 's2']);
    // Acknowledged but not received yet: still shown, from the pending copy.
    expect(timelineEntries(messages.slice(0, 1), [pending('p1', { status: 'sent', seq: 2 })], 'u_me').map((e) => e.key)).toEqual(['s1', 'pp1']);
  });
});

describe('buildRows', () => {
  const rowsOf = (messages: Message[]) => buildRows(timelineEntries(messages, [], 'u_me'));

  it('groups consecutive messages of one sender', () => {
    const rows = rowsOf([msg(1, 'u_a', day(11, 12, 0)), msg(2, 'u_a', day(11, 12, 1)), msg(3, 'u_a', day(11, 12, 2)), msg(4, 'u_b', day(11, 12, 3))]);
    expect(rows.map((r) => [r.firstOfGroup, r.lastOfGroup])).toEqual([
      [true, false],
      [false, false],
      [false, true],
      [true, true],
    ]);
  });

  it('starts a new group after a long pause, and around system messages', () => {
    const t = day(11);
    const rows = rowsOf([msg(1, 'u_a', t), msg(2, 'u_a', t + GROUP_GAP_MS + 1), msg(3, 'u_a', t + GROUP_GAP_MS + 2, 'system'), msg(4, 'u_a', t + GROUP_GAP_MS + 3)]);
    expect(rows.map((r) => r.firstOfGroup)).toEqual([true, true, true, true]);
  });

  it('puts a day separator above the first message of each local day', () => {
    const rows = rowsOf([msg(1, 'u_a', day(10, 23, 58)), msg(2, 'u_a', day(10, 23, 59)), msg(3, 'u_a', day(11, 0, 0)), msg(4, 'u_b', day(13, 9))]);
    expect(rows.map((r) => r.showDay)).toEqual([true, false, true, true]);
    // Midnight also ends a group, even from the same sender a minute later.
    expect(rows[2]!.firstOfGroup).toBe(true);
  });

  it('makes exactly one row per message, so prepending N messages adds N rows', () => {
    const older = [msg(1, 'u_a', day(10)), msg(2, 'u_b', day(10))];
    const newer = [msg(3, 'u_a', day(11)), msg(4, 'u_a', day(11))];
    expect(rowsOf([...older, ...newer]).length - rowsOf(newer).length).toBe(older.length);
  });
});
