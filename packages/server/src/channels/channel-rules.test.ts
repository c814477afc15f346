import { describe, expect, it } from 'vitest';
import type { ChannelState, MemberRecord } from '../store/store.js';
import { decideAdd, decideLeave, decideRemove, decideRename, decideSetRole } from './channel-rules.js';

const names = new Map<string, string>();
function member(userId: string, role: MemberRecord['role'], joinedSeq = 1): MemberRecord {
  return { channelId: 'c', userId, role, joinedAt: joinedSeq, joinedSeq, leftSeq: null, deliveredSeq: 0, readSeq: 0, mutedUntil: null };
}
function group(...members: MemberRecord[]): ChannelState {
  return { channel: { id: 'c', kind: 'group', name: 'g', createdBy: 'o', createdAt: 0, lastSeq: 1, memberCount: members.length }, members };
}
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'ok';
};

describe('membership rules', () => {
  const state = group(member('o', 'owner'), member('a', 'admin'), member('m', 'member'), member('n', 'member', 3));

  it('adds only new members, only by owner or admin, within the limit', () => {
    expect(decideAdd(state, 'a', ['x', 'm', 'x'], 100, names).add).toEqual([{ userId: 'x', role: 'member' }]);
    expect(code(() => decideAdd(state, 'm', ['x'], 100, names))).toBe('forbidden');
    expect(code(() => decideAdd(state, 'z', ['x'], 100, names))).toBe('not_member');
    expect(code(() => decideAdd(state, 'o', ['m'], 100, names))).toBe('already_member');
    expect(code(() => decideAdd(state, 'o', ['x'], 4, names))).toBe('group_full');
    expect(code(() => decideAdd(state, 'o', ['x'], 5, names))).toBe('ok');
  });

  it('lets the owner remove anyone, admins only plain members', () => {
    expect(decideRemove(state, 'o', 'a', names).remove).toEqual(['a']);
    expect(decideRemove(state, 'a', 'm', names).remove).toEqual(['m']);
    expect(code(() => decideRemove(state, 'a', 'o', names))).toBe('forbidden');
    expect(code(() => decideRemove(state, 'm', 'n', names))).toBe('forbidden');
    expect(code(() => decideRemove(state, 'o', 'x', names))).toBe('not_member');
    expect(decideRemove(state, 'm', 'm', names).system.event.event).toBe('member_left');
  });

  it('hands ownership to the senior admin, else the senior member, when the owner leaves', () => {
    expect(decideLeave(state, 'o', names).roles).toEqual([{ userId: 'a', role: 'owner' }]);
    const noAdmin = group(member('o', 'owner'), member('n', 'member', 3), member('m', 'member', 2));
    expect(decideLeave(noAdmin, 'o', names).roles).toEqual([{ userId: 'm', role: 'owner' }]);
    expect(decideLeave(group(member('o', 'owner')), 'o', names).roles).toBeUndefined();
    expect(decideLeave(state, 'm', names).roles).toBeUndefined();
  });

  it('renames by owner or admin; roles by the owner only, never the owner\'s', () => {
    expect(decideRename(state, 'a', 'New', names).rename).toBe('New');
    expect(code(() => decideRename(state, 'm', 'New', names))).toBe('forbidden');
    expect(decideSetRole(state, 'o', 'm', 'admin', names).roles).toEqual([{ userId: 'm', role: 'admin' }]);
    expect(code(() => decideSetRole(state, 'a', 'm', 'admin', names))).toBe('forbidden');
    expect(code(() => decideSetRole(state, 'o', 'o', 'member', names))).toBe('forbidden');
  });

  it('refuses every change to a direct channel', () => {
    const direct: ChannelState = { ...group(member('o', 'member'), member('p', 'member')), channel: { ...state.channel, kind: 'direct' } };
    expect(code(() => decideAdd(direct, 'o', ['x'], 100, names))).toBe('not_allowed_in_direct');
    expect(code(() => decideLeave(direct, 'o', names))).toBe('not_allowed_in_direct');
    expect(code(() => decideRename(direct, 'o', 'x', names))).toBe('not_allowed_in_direct');
  });
});
