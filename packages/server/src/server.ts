import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { CloseCode, MAX_MESSAGE_BODY_BYTES } from '@confab/protocol';
import { AccountsService } from './accounts/accounts-service.js';
import { MemoryBroker } from './adapters/broker/memory-broker.js';
import { MemoryPresenceTracker } from './adapters/presence/memory-presence-tracker.js';
import { MemoryRateLimiter } from './adapters/limits/memory-rate-limiter.js';
import { RedisRateLimiter } from './adapters/limits/redis-rate-limiter.js';
import { AbuseLimits } from './limits/abuse-limits.js';
import { PostgresStore } from './adapters/store/postgres-store.js';
import { SqliteStore } from './adapters/store/sqlite-store.js';
import { MemoryNodeRegistry } from './adapters/discovery/memory-node-registry.js';
import { RedisNodeRegistry } from './adapters/discovery/redis-node-registry.js';
import { RedisBroker } from './adapters/broker/redis-broker.js';
import { RedisPresenceTracker } from './adapters/presence/redis-presence-tracker.js';
import { parseClusterNodes, type RedisConnectionOptions } from './adapters/redis/connect.js';
import { ApnsSender } from './adapters/push/apns-sender.js';
import { FcmSender, type FcmServiceAccount } from './adapters/push/fcm-sender.js';
import { PLACEHOLDER_VAPID_SUBJECT, resolveVapidKeys } from './adapters/push/vapid-keys.js';
import { WebPushSender } from './adapters/push/web-push-sender.js';
import type { PushSender } from './push/push-sender.js';
import { PushRegistrations, parseHostList } from './push/push-registrations.js';
import { PushService } from './push/push-service.js';
import { ChannelsService } from './channels/channels-service.js';
import { DiscoveryService } from './discovery/discovery-service.js';
import type { NodeRegistry } from './discovery/node-registry.js';
import { MembershipCache } from './channels/membership-cache.js';
import { databasePath, webDir, type Config } from './config.js';
import { createHttpApp } from './http/app.js';
import { registerRoutes } from './http/routes.js';
import { registerSecurityHeaders, registerWebApp } from './http/web-app.js';
import { MessagesService } from './messages/messages-service.js';
import { ReceiptsService } from './messages/receipts-service.js';
import { createMetrics } from './observability/metrics.js';
import { PresenceService } from './presence/presence-service.js';
import type { PresenceTracker } from './presence/presence-tracker.js';
import type { Broker } from './realtime/broker.js';
import { ConnectionRegistry } from './realtime/connection-registry.js';
import { Fanout } from './realtime/fanout.js';
import { Gateway, parseOrigins } from './realtime/gateway.js';
import { WsTransport } from './adapters/transport/ws-transport.js';
import type { Store } from './store/store.js';

/** Replaceable collaborators; anything not given is built from the config. */
export interface Overrides {
  store?: Store;
  broker?: Broker;
  presenceTracker?: PresenceTracker;
  nodeRegistry?: NodeRegistry;
  now?: () => number;
}

/** The JavaScript runtime this process runs on; it picks the transport and the SQLite driver. */
export const RUNTIME: 'node' | 'bun' = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' ? 'bun' : 'node';

/** Pending connections the kernel may queue for accept (see `listen`). */
const LISTEN_BACKLOG = 8_192;

/** How long a node's announcement lives without a refresh (refreshed every third of it). */
const DISCOVERY_TTL_MS = 6_000;

function redisOptions(config: Config): RedisConnectionOptions | null {
  if (config.redisClusterNodes) return { cluster: parseClusterNodes(config.redisClusterNodes) };
  if (config.redisUrl) return { url: config.redisUrl };
  return null;
}

/**
 * The push senders the configuration turns on: Web Push unless disabled
 * (keys from the settings, or generated once in DATA_DIR), APNs and FCM when
 * their credentials are given. `close` releases what the senders do not own.
 */
function vapidSubject(config: Config): string {
  if (config.vapidSubject) return config.vapidSubject;
  return config.publicUrl.startsWith('https://') ? new URL(config.publicUrl).origin : PLACEHOLDER_VAPID_SUBJECT;
}

function openPushSenders(config: Config): { senders: PushSender[]; vapidPublicKey: string | null; close: () => void } {
  const senders: PushSender[] = [];
  const extraCa = config.pushCaFile ? readFileSync(config.pushCaFile, 'utf8') : undefined;
  let agent: Agent | undefined;
  let vapidPublicKey: string | null = null;
  if (config.webPush) {
    const keys = resolveVapidKeys({
      dataDir: config.dataDir,
      subject: vapidSubject(config),
      ...(config.vapidPublicKey && { publicKey: config.vapidPublicKey }),
      ...(config.vapidPrivateKey && { privateKey: config.vapidPrivateKey }),
    });
    // An extra CA adds to the public roots; it never replaces them.
    if (extraCa) agent = new Agent({ keepAlive: true, maxSockets: 64, ca: [...rootCertificates, extraCa] });
    senders.push(new WebPushSender({ keys, ...(agent && { agent }) }));
    vapidPublicKey = keys.publicKey;
  }
  const apns = [config.apnsKeyFile, config.apnsKeyId, config.apnsTeamId, config.apnsBundleId];
  if (apns.some(Boolean)) {
    if (!apns.every(Boolean)) throw new Error('APNs needs APNS_KEY_FILE, APNS_KEY_ID, APNS_TEAM_ID and APNS_BUNDLE_ID together.');
    senders.push(
      new ApnsSender({
        teamId: config.apnsTeamId,
        keyId: config.apnsKeyId,
        privateKeyPem: readFileSync(config.apnsKeyFile, 'utf8'),
        bundleId: config.apnsBundleId,
        production: config.apnsProduction,
        ...(config.apnsUrl && { baseUrl: config.apnsUrl }),
        ...(extraCa && { ca: extraCa }),
      }),
    );
  }
  if (config.fcmServiceAccountFile) {
    const account = JSON.parse(readFileSync(config.fcmServiceAccountFile, 'utf8')) as FcmServiceAccount;
    senders.push(new FcmSender({ serviceAccount: account, ...(config.fcmUrl && { baseUrl: config.fcmUrl }) }));
  }
  return { senders, vapidPublicKey, close: () => agent?.destroy() };
}

function openEmbeddedStore(config: Config): Store {
  mkdirSync(config.dataDir, { recursive: true });
  return SqliteStore.open({ path: databasePath(config), synchronous: config.sqliteSynchronous });
}

export interface ConfabServer {
  /** Listens on the configured host and port; resolves with the base URL. */
  start(): Promise<{ url: string; port: number }>;
  /** Graceful stop: refuse new work, tell clients to reconnect, finish in-flight commits, close. */
  stop(): Promise<void>;
  readonly connections: number;
}

/**
 * The composition root: the only place that maps configuration to
 * implementations and wires the domains together.
 */
export async function createServer(config: Config, overrides: Overrides = {}): Promise<ConfabServer> {
  const now = overrides.now ?? Date.now;
  const nodeId = config.nodeId || `n_${randomBytes(6).toString('base64url')}`;
  const app = createHttpApp({ logLevel: config.logLevel, trustProxy: config.trustProxy });
  const log = app.log;

  const store =
    overrides.store ??
    (config.databaseUrl
      ? await PostgresStore.open({ url: config.databaseUrl, schema: config.databaseSchema, poolSize: config.databasePoolSize })
      : openEmbeddedStore(config));
  const redis = redisOptions(config);
  const onRedisError = (what: string) => (err: unknown) => log.warn({ err }, `redis ${what} error`);
  const broker =
    overrides.broker ??
    (redis ? await RedisBroker.open({ redis, nodeId, keyPrefix: config.redisKeyPrefix, onError: onRedisError('broker') }) : new MemoryBroker());
  const tracker =
    overrides.presenceTracker ??
    (redis
      ? await RedisPresenceTracker.open({ redis, keyPrefix: config.redisKeyPrefix, timeoutMs: config.presenceTimeoutMs, onError: onRedisError('presence') })
      : new MemoryPresenceTracker());
  const nodeRegistry =
    overrides.nodeRegistry ??
    (redis ? await RedisNodeRegistry.open({ redis, keyPrefix: config.redisKeyPrefix, nodeId, onError: onRedisError('discovery') }) : new MemoryNodeRegistry(now));

  const rateLimiter = redis
    ? await RedisRateLimiter.open({ redis, keyPrefix: config.redisKeyPrefix, onError: onRedisError('limits') })
    : new MemoryRateLimiter();
  const limits = new AbuseLimits(rateLimiter, {
    loginFailuresPerAccount: config.loginFailuresPerAccount,
    loginFailuresPerAddress: config.loginFailuresPerAddress,
    loginFailureWindowMs: config.loginFailureWindowMs,
    groupOpsPerMinute: config.groupOpsPerMinute,
    now,
    onError: (err) => log.warn({ err }, 'rate limiter unavailable; request let through'),
  });

  const pushSenders = openPushSenders(config);
  const metrics = createMetrics();
  const fanout = new Fanout(broker);
  const registry = new ConnectionRegistry();
  const members = new MembershipCache(store, { now });

  const accounts = new AccountsService(store, {
    scryptLog2N: config.scryptCost,
    now,
    onDeviceRevoked: (userId, deviceId) => fanout.deviceRevoked(userId, deviceId),
    limits,
  });
  const push = new PushService(store, {
    senders: pushSenders.senders,
    ackGraceMs: config.pushAckGraceMs,
    coalesceMs: config.pushCoalesceMs,
    privacy: config.pushPrivacy,
    ttlSeconds: config.pushTtlSeconds,
    pollMs: config.pushPollMs,
    flushMs: config.receiptFlushMs,
    now,
    log,
    metrics: metrics.push,
  });
  const pushRegistrations = new PushRegistrations(store, {
    supports: (kind) => push.supports(kind),
    webPushHosts: parseHostList(config.webPushHosts),
    vapidPublicKey: pushSenders.vapidPublicKey,
    now,
  });
  const messages = new MessagesService(store, fanout, {
    maxBatch: config.commitBatchSize,
    now,
    metrics: metrics.messages,
    pushPolicy: (at) => push.policy(at),
    limits: {
      messagesPerSecond: config.sendMessagesPerSecond,
      messagesBurst: config.sendMessagesBurst,
      bytesPerSecond: config.sendBytesPerSecond,
      bytesBurst: config.sendBytesBurst,
    },
  });
  const receipts = new ReceiptsService(store, members, fanout, {
    flushMs: config.receiptFlushMs,
    onError: (err) => log.error({ err }, 'receipt flush failed'),
    onReads: (changes) => push.channelsRead(changes),
  });
  const channels = new ChannelsService(store, members, fanout, { maxGroupMembers: config.maxGroupMembers, now, limits });
  const presence = new PresenceService(tracker, store, fanout, {
    now,
    flushMs: config.receiptFlushMs,
    onError: (err) => log.error({ err }, 'presence update failed'),
  });
  const gateway = new Gateway({
    accounts,
    messages,
    receipts,
    presence,
    members,
    fanout,
    push,
    registry,
    routing: broker,
    blockRelations: (userId) => store.blockRelations(userId),
    log,
    metrics: metrics.gateway,
    config: { ...config, nodeId, allowedOrigins: parseOrigins(config.allowedOrigins) },
    now,
  });

  tracker.onExpired((userId, lastSeen) => void presence.expired(userId, lastSeen));

  broker.subscribe((event) => {
    switch (event.kind) {
      case 'deliver':
        registry.deliver(event.userIds, event.payload);
        return;
      case 'revoke-device':
        gateway.deviceRevoked(event.deviceId);
        return;
      case 'membership':
        members.invalidate(event.channelId);
        return;
    }
  });

  let publicUrl = config.publicUrl;
  const discovery = new DiscoveryService(
    nodeRegistry,
    { id: nodeId, url: () => publicUrl, connections: () => registry.size },
    { ttlMs: DISCOVERY_TTL_MS, onError: (err) => log.error({ err }, 'discovery announce failed') },
  );

  let ready = false;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (ready ? { status: 'ready' } : reply.status(503).send({ status: 'not ready' })));
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  registerSecurityHeaders(app);
  registerRoutes(app, { accounts, channels, messages, presence, discovery, push: pushRegistrations });
  registerWebApp(app, webDir(config));

  /** Bun serves HTTP and WebSocket itself; on Node, ws rides on Fastify's node:http server. */
  let closeTransport: () => Promise<void> = async () => {};
  const listen = async (): Promise<number> => {
    if (RUNTIME === 'bun') {
      const { serveBun } = await import('./adapters/transport/bun-transport.js');
      const bun = await serveBun({
        gateway,
        app,
        host: config.host,
        port: config.port,
        maxBodyBytes: MAX_MESSAGE_BODY_BYTES,
        maxOutboundBytes: config.maxOutboundBytes,
      });
      closeTransport = () => bun.close();
      return bun.port;
    }
    // A reconnect storm is thousands of connects at once: Node's default
    // accept queue (511) overflows and the kernel drops SYNs, which clients
    // only retry seconds later. The kernel caps this at net.core.somaxconn.
    await app.listen({ host: config.host, port: config.port, backlog: LISTEN_BACKLOG });
    const ws = new WsTransport(gateway, log);
    ws.attach(app.server);
    closeTransport = async () => ws.close();
    return (app.server.address() as AddressInfo).port;
  };

  let stopping: Promise<void> | undefined;

  return {
    get connections() {
      return registry.size;
    },

    async start() {
      const port = await listen();
      ready = true;
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      publicUrl ||= url;
      await discovery.start();
      push.start();
      log.info({ url, nodeId, dataDir: config.dataDir }, 'confab listening');
      if (pushSenders.vapidPublicKey && vapidSubject(config) === PLACEHOLDER_VAPID_SUBJECT) {
        log.warn('VAPID_SUBJECT is not set: Web Push works for Chrome, Edge and Firefox, but Apple refuses pushes to Safari until it names a real contact.');
      }
      return { url, port };
    },

    stop() {
      stopping ??= (async () => {
        ready = false;
        await discovery.drain();
        gateway.drain();
        // Sends already received are committed and acknowledged before any socket closes.
        await messages.drained();
        const deadline = Date.now() + config.shutdownGraceMs;
        while (registry.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        gateway.closeAll(CloseCode.SERVICE_RESTART, 'server restarting');
        // Let the sockets' close handlers record their disconnects before presence closes.
        const closing = Date.now() + 2_000;
        while (registry.size > 0 && Date.now() < closing) await new Promise((r) => setTimeout(r, 10));
        gateway.close();
        await closeTransport();
        // Fastify closes the keep-alive connections idle when close starts; one
        // whose request finishes later would otherwise hold the close for the
        // whole keep-alive timeout (72 s).
        const idle = setInterval(() => app.server.closeIdleConnections(), 100);
        await app.close().finally(() => clearInterval(idle));
        await discovery.stop();
        await messages.drained();
        await receipts.close();
        await presence.close();
        await push.stop();
        pushSenders.close();
        await tracker.close();
        await rateLimiter.close();
        await broker.close();
        await nodeRegistry.close();
        await store.close();
        log.info('confab stopped');
      })();
      return stopping;
    },
  };
}
