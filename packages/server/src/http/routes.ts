import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  AddMembersBody,
  ChangePasswordBody,
  CreateGroupBody,
  HistoryQuery,
  ID_PATTERN,
  LoginBody,
  MAX_MESSAGE_BODY_BYTES,
  MuteBody,
  PushRegistrationBody,
  OpenDirectBody,
  PresenceQueryBody,
  RenameBody,
  SendBody,
  SetRoleBody,
  SignUpBody,
  SyncQuery,
  UpdateProfileBody,
  UserSearchQuery,
  type BlocksResponse,
  type ChannelResponse,
  type ConnectResponse,
  type ChannelsResponse,
  type DevicesResponse,
  type HistoryResponse,
  type MuteResponse,
  type PushConfigResponse,
  type PushRegistrationResponse,
  type PresenceResponse,
  type SendResponse,
  type SessionResponse,
  type SyncResponse,
  type UserResponse,
  type UsersResponse,
} from '@confab/protocol';
import { toDevice, toUser, type AccountsService } from '../accounts/accounts-service.js';
import type { ChannelsService } from '../channels/channels-service.js';
import type { MessagesService } from '../messages/messages-service.js';
import type { DiscoveryService } from '../discovery/discovery-service.js';
import type { PresenceService } from '../presence/presence-service.js';
import type { PushRegistrations } from '../push/push-registrations.js';
import { requireAuth, sessionOf } from './auth.js';

export interface RouteDeps {
  accounts: AccountsService;
  channels: ChannelsService;
  messages: MessagesService;
  presence: PresenceService;
  discovery: DiscoveryService;
  push: PushRegistrations;
}

// Ids are printable ASCII: anything else (a NUL, say) could not be one, and is refused before any store sees it.
const IdParam = Type.String({ minLength: 1, maxLength: 64, pattern: ID_PATTERN });
const ChannelParams = Type.Object({ channelId: IdParam });
const MemberParams = Type.Object({ channelId: IdParam, userId: IdParam });
const UserParams = Type.Object({ userId: IdParam });
const DeviceParams = Type.Object({ deviceId: IdParam });

type P<T> = { Params: T };

/** The stateless HTTP API under /v1. Handlers only translate; the services decide. */
export function registerRoutes(app: FastifyInstance, d: RouteDeps): void {
  const { accounts } = d;

  // --- accounts and devices -------------------------------------------------
  app.post<{ Body: SignUpBody }>('/v1/accounts', { schema: { body: SignUpBody } }, async (req, reply) => {
    const user = await accounts.signUp(req.body);
    return reply.status(201).send({ user: toUser(user) } satisfies UserResponse);
  });

  app.post<{ Body: LoginBody }>('/v1/sessions', { schema: { body: LoginBody } }, async (req, reply) => {
    const { token, session } = await accounts.login(req.body, { address: req.ip });
    const body: SessionResponse = { token, user: toUser(session.user), device: toDevice(session.device, session.device.id) };
    return reply.status(201).send(body);
  });

  void app.register(async (scope) => {
    requireAuth(scope, accounts);
    registerAuthenticated(scope, d);
  });
}

function registerAuthenticated(scope: FastifyInstance, d: RouteDeps): void {
  const { accounts, channels, messages, presence, discovery, push } = d;

  scope.get('/v1/connect', async (): Promise<ConnectResponse> => {
    const node = await discovery.pick();
    return { nodeId: node.id, url: node.url };
  });

  scope.delete('/v1/sessions/current', async (req, reply) => {
    const session = sessionOf(req);
    await accounts.revokeDevice(session, session.device.id);
    return reply.status(204).send();
  });

  scope.get('/v1/me', async (req): Promise<UserResponse> => ({ user: toUser((sessionOf(req)).user) }));

  scope.patch<{ Body: UpdateProfileBody }>('/v1/me', { schema: { body: UpdateProfileBody } }, async (req): Promise<UserResponse> => {
    const session = sessionOf(req);
    return { user: toUser(await accounts.updateProfile(session, req.body.displayName)) };
  });

  scope.put<{ Body: ChangePasswordBody }>('/v1/me/password', { schema: { body: ChangePasswordBody } }, async (req, reply) => {
    await accounts.changePassword(sessionOf(req), req.body, { address: req.ip });
    return reply.status(204).send();
  });

  // --- blocks -------------------------------------------------------------------
  scope.get('/v1/blocks', async (req): Promise<BlocksResponse> => ({ blocks: await accounts.listBlocks(sessionOf(req)) }));

  scope.put<P<{ userId: string }>>('/v1/blocks/:userId', { schema: { params: UserParams } }, async (req, reply) => {
    await accounts.block(sessionOf(req), req.params.userId);
    return reply.status(204).send();
  });

  scope.delete<P<{ userId: string }>>('/v1/blocks/:userId', { schema: { params: UserParams } }, async (req, reply) => {
    await accounts.unblock(sessionOf(req), req.params.userId);
    return reply.status(204).send();
  });

  scope.get('/v1/devices', async (req): Promise<DevicesResponse> => ({ devices: await accounts.listDevices(sessionOf(req)) }));

  scope.delete<P<{ deviceId: string }>>('/v1/devices/:deviceId', { schema: { params: DeviceParams } }, async (req, reply) => {
    await accounts.revokeDevice(sessionOf(req), req.params.deviceId);
    return reply.status(204).send();
  });

  // --- push notifications -------------------------------------------------------
  scope.get('/v1/push/config', async (req): Promise<PushConfigResponse> => {
    sessionOf(req);
    return push.config();
  });

  scope.get('/v1/devices/current/push', async (req): Promise<PushRegistrationResponse> => ({
    registration: await push.current(sessionOf(req)),
  }));

  scope.put<{ Body: PushRegistrationBody }>('/v1/devices/current/push', { schema: { body: PushRegistrationBody } }, async (req, reply) => {
    await push.register(sessionOf(req), req.body);
    return reply.status(204).send();
  });

  scope.delete('/v1/devices/current/push', async (req, reply) => {
    await push.unregister(sessionOf(req));
    return reply.status(204).send();
  });

  scope.put<P<{ channelId: string }> & { Body: MuteBody }>(
    '/v1/channels/:channelId/mute',
    { schema: { params: ChannelParams, body: MuteBody } },
    async (req): Promise<MuteResponse> => channels.mute(sessionOf(req), req.params.channelId, req.body.mutedUntil),
  );

  scope.get<{ Querystring: UserSearchQuery }>('/v1/users', { schema: { querystring: UserSearchQuery } }, async (req): Promise<UsersResponse> => {
    sessionOf(req);
    const users = await accounts.search(req.query.prefix, req.query.limit ?? 20);
    return { users: users.map(toUser) };
  });

  scope.get<P<{ userId: string }>>('/v1/users/:userId', { schema: { params: UserParams } }, async (req): Promise<UserResponse> => {
    sessionOf(req);
    return { user: toUser(await accounts.getUser(req.params.userId)) };
  });

  // --- channels ---------------------------------------------------------------
  scope.post<{ Body: OpenDirectBody }>('/v1/channels/direct', { schema: { body: OpenDirectBody } }, async (req, reply) => {
    const { channel, created } = await channels.openDirect(sessionOf(req), req.body.userId);
    return reply.status(created ? 201 : 200).send({ channel } satisfies ChannelResponse);
  });

  scope.post<{ Body: CreateGroupBody }>('/v1/channels', { schema: { body: CreateGroupBody } }, async (req, reply) => {
    const channel = await channels.createGroup(sessionOf(req), req.body.name, req.body.memberIds);
    return reply.status(201).send({ channel } satisfies ChannelResponse);
  });

  scope.get('/v1/channels', async (req): Promise<ChannelsResponse> => ({ channels: await channels.list(sessionOf(req)) }));

  scope.get<P<{ channelId: string }>>('/v1/channels/:channelId', { schema: { params: ChannelParams } }, async (req): Promise<ChannelResponse> => ({
    channel: await channels.detail(sessionOf(req), req.params.channelId),
  }));

  scope.patch<P<{ channelId: string }> & { Body: RenameBody }>(
    '/v1/channels/:channelId',
    { schema: { params: ChannelParams, body: RenameBody } },
    async (req): Promise<ChannelResponse> => ({ channel: await channels.rename(sessionOf(req), req.params.channelId, req.body.name) }),
  );

  scope.post<P<{ channelId: string }> & { Body: AddMembersBody }>(
    '/v1/channels/:channelId/members',
    { schema: { params: ChannelParams, body: AddMembersBody } },
    async (req): Promise<ChannelResponse> => ({ channel: await channels.addMembers(sessionOf(req), req.params.channelId, req.body.userIds) }),
  );

  scope.delete<P<{ channelId: string; userId: string }>>('/v1/channels/:channelId/members/:userId', { schema: { params: MemberParams } }, async (req, reply) => {
    const channel = await channels.removeMember(sessionOf(req), req.params.channelId, req.params.userId);
    return channel ? reply.send({ channel } satisfies ChannelResponse) : reply.status(204).send();
  });

  scope.patch<P<{ channelId: string; userId: string }> & { Body: SetRoleBody }>(
    '/v1/channels/:channelId/members/:userId',
    { schema: { params: MemberParams, body: SetRoleBody } },
    async (req): Promise<ChannelResponse> => ({
      channel: await channels.setRole(sessionOf(req), req.params.channelId, req.params.userId, req.body.role),
    }),
  );

  scope.post<P<{ channelId: string }>>('/v1/channels/:channelId/leave', { schema: { params: ChannelParams } }, async (req, reply) => {
    await channels.leave(sessionOf(req), req.params.channelId);
    return reply.status(204).send();
  });

  // --- messages and sync --------------------------------------------------------
  scope.get<P<{ channelId: string }> & { Querystring: HistoryQuery }>(
    '/v1/channels/:channelId/messages',
    { schema: { params: ChannelParams, querystring: HistoryQuery } },
    async (req): Promise<HistoryResponse> => messages.history(sessionOf(req), req.params.channelId, req.query),
  );

  scope.post<P<{ channelId: string }> & { Body: SendBody }>(
    '/v1/channels/:channelId/messages',
    { schema: { params: ChannelParams, body: SendBody }, bodyLimit: MAX_MESSAGE_BODY_BYTES },
    async (req, reply) => {
      const ack = await messages.send(sessionOf(req), req.params.channelId, req.body.clientId, req.body.text);
      return reply.status(ack.duplicate ? 200 : 201).send(ack satisfies SendResponse);
    },
  );

  scope.get<{ Querystring: SyncQuery }>('/v1/sync', { schema: { querystring: SyncQuery } }, async (req): Promise<SyncResponse> =>
    messages.sync(sessionOf(req), req.query.cursor, req.query.limit),
  );

  // --- presence -------------------------------------------------------------------
  scope.post<{ Body: PresenceQueryBody }>('/v1/presence/query', { schema: { body: PresenceQueryBody } }, async (req): Promise<PresenceResponse> => {
    return { presence: await presence.query(sessionOf(req).user.id, req.body.userIds) };
  });
}
