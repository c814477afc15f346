import {
  MAX_GROUP_NAME_CODE_POINTS,
  countCodePoints,
  type ChannelDetail,
  type ChannelSummary,
  type Role,
} from '@confab/protocol';
import { toUser, type Session } from '../accounts/accounts-service.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { AbuseLimits } from '../limits/abuse-limits.js';
import type { Fanout } from '../realtime/fanout.js';
import type { ChannelChange, ChannelChangeResult, ChannelRecord, ChannelState, MemberRecord, MembershipView, Store, UserRecord } from '../store/store.js';
import { decideAdd, decideLeave, decideRemove, decideRename, decideSetRole, type Names } from './channel-rules.js';
import type { MembershipCache } from './membership-cache.js';

function normalizeGroupName(name: string): string {
  const trimmed = name.trim().normalize('NFC');
  const n = countCodePoints(trimmed);
  if (n === 0 || n > MAX_GROUP_NAME_CODE_POINTS || trimmed.includes('\u0000')) throw new AppError('invalid_name');
  return trimmed;
}

export class ChannelsService {
  constructor(
    private readonly store: Store,
    private readonly members: MembershipCache,
    private readonly fanout: Fanout,
    private readonly opts: { maxGroupMembers: number; now: () => number; limits?: AbuseLimits },
  ) {}

  async openDirect(session: Session, peerId: string): Promise<{ channel: ChannelDetail; created: boolean }> {
    if (peerId === session.user.id) throw new AppError('bad_request', 'A direct channel needs another user.');
    const peer = await this.store.getUser(peerId);
    if (!peer) throw new AppError('user_not_found');
    // A block stops new conversations; an existing one can still be opened (and read).
    if (await this.store.isBlockedBetween(session.user.id, peerId)) {
      const existing = await this.store.findDirect(session.user.id, peerId);
      if (!existing) throw new AppError('blocked');
      return { channel: await this.detail(session, existing.id), created: false };
    }
    const { channel, created } = await this.store.getOrCreateDirect(newId('c'), session.user.id, peerId, this.opts.now());
    return { channel: await this.detail(session, channel.id), created };
  }

  /** Mutes the channel's pushes for all of the user's devices until `mutedUntil` (null: unmute). */
  async mute(session: Session, channelId: string, mutedUntil: number | null): Promise<{ channelId: string; mutedUntil: number | null }> {
    const member = await this.store.setMuted(channelId, session.user.id, mutedUntil);
    if (!member) throw new AppError((await this.store.getChannel(channelId)) ? 'not_member' : 'channel_not_found');
    this.fanout.muted(session.user.id, channelId, member.mutedUntil);
    return { channelId, mutedUntil: member.mutedUntil };
  }

  async createGroup(session: Session, name: string, memberIds: readonly string[]): Promise<ChannelDetail> {
    const groupName = normalizeGroupName(name);
    await this.opts.limits?.groupOperation(session.user.id);
    const others = [...new Set(memberIds)].filter((id) => id !== session.user.id);
    if (others.length + 1 > this.opts.maxGroupMembers) {
      throw new AppError('group_full', `A group has at most ${this.opts.maxGroupMembers} members.`);
    }
    const users = await this.requireUsers(others);
    const names: Names = new Map([[session.user.id, session.user.displayName], ...users.map((u) => [u.id, u.displayName] as const)]);
    const id = newId('c');
    const result = await this.store.createGroup({
      id,
      name: groupName,
      ownerId: session.user.id,
      memberIds: others,
      createdAt: this.opts.now(),
      system: {
        text: `${names.get(session.user.id)} created the group ${groupName}`,
        event: { event: 'created', actorId: session.user.id, name: groupName, userIds: others },
      },
    });
    this.published(result);
    return this.detail(session, id);
  }

  async rename(session: Session, channelId: string, name: string): Promise<ChannelDetail> {
    const groupName = normalizeGroupName(name);
    await this.opts.limits?.groupOperation(session.user.id);
    const names = await this.namesOf([session.user.id]);
    await this.change(channelId, (s) => decideRename(s, session.user.id, groupName, names));
    return this.detail(session, channelId);
  }

  async addMembers(session: Session, channelId: string, userIds: readonly string[]): Promise<ChannelDetail> {
    await this.opts.limits?.groupOperation(session.user.id);
    const users = await this.requireUsers([...new Set(userIds)]);
    const names: Names = new Map([[session.user.id, session.user.displayName], ...users.map((u) => [u.id, u.displayName] as const)]);
    await this.change(channelId, (s) => decideAdd(s, session.user.id, userIds, this.opts.maxGroupMembers, names));
    return this.detail(session, channelId);
  }

  async removeMember(session: Session, channelId: string, userId: string): Promise<ChannelDetail | null> {
    // Leaving is never limited: anyone must always be able to get out.
    if (userId !== session.user.id) await this.opts.limits?.groupOperation(session.user.id);
    const names = await this.namesOf([session.user.id, userId]);
    await this.change(channelId, (s) => decideRemove(s, session.user.id, userId, names));
    return userId === session.user.id ? null : this.detail(session, channelId);
  }

  async leave(session: Session, channelId: string): Promise<void> {
    const names = await this.namesOf([session.user.id]);
    await this.change(channelId, (s) => decideLeave(s, session.user.id, names));
  }

  async setRole(session: Session, channelId: string, userId: string, role: 'admin' | 'member'): Promise<ChannelDetail> {
    await this.opts.limits?.groupOperation(session.user.id);
    const names = await this.namesOf([session.user.id, userId]);
    await this.change(channelId, (s) => decideSetRole(s, session.user.id, userId, role, names));
    return this.detail(session, channelId);
  }

  async list(session: Session): Promise<ChannelSummary[]> {
    const views = await this.store.listMemberships(session.user.id);
    const peers = await this.store.getUsers(views.flatMap((v) => (v.peerId ? [v.peerId] : [])));
    const peerById = new Map(peers.map((u) => [u.id, u]));
    return views.map((v) => summarize(v, v.peerId ? peerById.get(v.peerId) : undefined));
  }

  /** A channel with its members, for current members only. */
  async detail(session: Session, channelId: string): Promise<ChannelDetail> {
    const channel = await this.store.getChannel(channelId);
    if (!channel) throw new AppError('channel_not_found');
    const members = await this.store.listMembers(channelId);
    const me = members.find((m) => m.userId === session.user.id);
    if (!me) throw new AppError('not_member');
    const peerId = channel.kind === 'direct' ? members.find((m) => m.userId !== me.userId)?.userId : undefined;
    const peer = peerId ? (await this.store.getUsers([peerId]))[0] : undefined;
    const lastMessage = channel.lastSeq > 0 ? (await this.store.getMessages(channelId, { limit: 1 })).messages[0] ?? null : null;
    return {
      ...summarize({ channel, member: me, lastMessage, peerId: peerId ?? null }, peer),
      members: members.map((m) => ({ userId: m.userId, role: m.role, joinedAt: m.joinedAt, deliveredSeq: m.deliveredSeq, readSeq: m.readSeq })),
    };
  }

  private async change(channelId: string, decide: (s: ChannelState) => ChannelChange): Promise<ChannelChangeResult> {
    const result = await this.store.changeChannel(channelId, decide, this.opts.now());
    if (!result) throw new AppError('channel_not_found');
    this.published(result);
    return result;
  }

  private published(result: ChannelChangeResult): void {
    this.members.invalidate(result.channel.id);
    this.fanout.membershipChanged(result.channel.id);
    this.fanout.message(result.message, result.recipients);
  }

  private async requireUsers(ids: readonly string[]): Promise<UserRecord[]> {
    const users = await this.store.getUsers(ids);
    if (users.length !== new Set(ids).size) throw new AppError('user_not_found');
    return users;
  }

  private async namesOf(ids: readonly string[]): Promise<Names> {
    const users = await this.store.getUsers(ids);
    return new Map(users.map((u) => [u.id, u.displayName]));
  }
}

function summarize(v: { channel: ChannelRecord; member: MemberRecord; lastMessage: MembershipView['lastMessage']; peerId: string | null }, peer: UserRecord | undefined): ChannelSummary {
  const { channel, member } = v;
  const left = member.leftSeq !== null;
  const lastSeq = left ? Math.min(channel.lastSeq, member.leftSeq!) : channel.lastSeq;
  const summary: ChannelSummary = {
    id: channel.id,
    kind: channel.kind,
    name: channel.name,
    createdAt: channel.createdAt,
    memberCount: channel.memberCount,
    lastSeq,
    lastMessage: v.lastMessage,
    role: member.role as Role,
    joinedSeq: member.joinedSeq,
    readSeq: member.readSeq,
    unreadCount: Math.max(0, lastSeq - member.readSeq),
    left,
    mutedUntil: member.mutedUntil,
  };
  if (peer) summary.peer = toUser(peer);
  return summary;
}
