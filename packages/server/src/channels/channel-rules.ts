import type { Role } from '@confab/protocol';
import { AppError } from '../errors.js';
import type { ChannelChange, ChannelState, MemberRecord } from '../store/store.js';

/*
 * Pure membership rules. Each decide* function looks at a channel's current
 * state and either returns the change to commit or throws the AppError that
 * refuses it. The store runs them inside its transaction.
 *
 * Roles: the owner may do everything; admins may add members, rename, and
 * remove plain members; members may only leave. Direct channels never change.
 */

/** Display names used in system message texts (the fallback for old clients). */
export type Names = ReadonlyMap<string, string>;

function nameOf(names: Names, id: string): string {
  return names.get(id) ?? 'someone';
}

function actorIn(state: ChannelState, actorId: string): MemberRecord {
  if (state.channel.kind === 'direct') throw new AppError('not_allowed_in_direct');
  const actor = state.members.find((m) => m.userId === actorId);
  if (!actor) throw new AppError('not_member');
  return actor;
}

function requireRole(actor: MemberRecord, allowed: readonly Role[]): void {
  if (!allowed.includes(actor.role)) throw new AppError('forbidden');
}

export function decideAdd(state: ChannelState, actorId: string, userIds: readonly string[], maxMembers: number, names: Names): ChannelChange {
  const actor = actorIn(state, actorId);
  requireRole(actor, ['owner', 'admin']);
  const current = new Set(state.members.map((m) => m.userId));
  const added = [...new Set(userIds)].filter((id) => !current.has(id));
  if (added.length === 0) throw new AppError('already_member');
  if (state.members.length + added.length > maxMembers) {
    throw new AppError('group_full', `A group has at most ${maxMembers} members.`);
  }
  return {
    add: added.map((userId) => ({ userId, role: 'member' as const })),
    system: {
      actorId,
      text: `${nameOf(names, actorId)} added ${added.map((id) => nameOf(names, id)).join(', ')}`,
      event: { event: 'member_added', actorId, userIds: added },
    },
  };
}

export function decideRemove(state: ChannelState, actorId: string, targetId: string, names: Names): ChannelChange {
  if (actorId === targetId) return decideLeave(state, actorId, names);
  const actor = actorIn(state, actorId);
  const target = state.members.find((m) => m.userId === targetId);
  if (!target) throw new AppError('not_member', 'That user is not a member of this channel.');
  if (actor.role === 'member' || (actor.role === 'admin' && target.role !== 'member')) throw new AppError('forbidden');
  return {
    remove: [targetId],
    system: {
      actorId,
      text: `${nameOf(names, actorId)} removed ${nameOf(names, targetId)}`,
      event: { event: 'member_removed', actorId, userIds: [targetId] },
    },
  };
}

export function decideLeave(state: ChannelState, actorId: string, names: Names): ChannelChange {
  const actor = actorIn(state, actorId);
  const change: ChannelChange = {
    remove: [actorId],
    system: { actorId, text: `${nameOf(names, actorId)} left`, event: { event: 'member_left', actorId, userIds: [actorId] } },
  };
  // A group is never left without an owner: the longest-standing admin, else
  // the longest-standing member, inherits it.
  if (actor.role === 'owner') {
    const rest = state.members.filter((m) => m.userId !== actorId).sort((a, b) => a.joinedSeq - b.joinedSeq || a.joinedAt - b.joinedAt);
    const heir = rest.find((m) => m.role === 'admin') ?? rest[0];
    if (heir) change.roles = [{ userId: heir.userId, role: 'owner' }];
  }
  return change;
}

export function decideRename(state: ChannelState, actorId: string, name: string, names: Names): ChannelChange {
  const actor = actorIn(state, actorId);
  requireRole(actor, ['owner', 'admin']);
  return {
    rename: name,
    system: { actorId, text: `${nameOf(names, actorId)} renamed the group to ${name}`, event: { event: 'renamed', actorId, name } },
  };
}

export function decideSetRole(state: ChannelState, actorId: string, targetId: string, role: 'admin' | 'member', names: Names): ChannelChange {
  const actor = actorIn(state, actorId);
  requireRole(actor, ['owner']);
  const target = state.members.find((m) => m.userId === targetId);
  if (!target) throw new AppError('not_member', 'That user is not a member of this channel.');
  if (target.role === 'owner') throw new AppError('forbidden', 'The owner\'s role cannot be changed.');
  return {
    roles: [{ userId: targetId, role }],
    system: {
      actorId,
      text: `${nameOf(names, actorId)} made ${nameOf(names, targetId)} ${role === 'admin' ? 'an admin' : 'a member'}`,
      event: { event: 'role_changed', actorId, userIds: [targetId], role },
    },
  };
}
