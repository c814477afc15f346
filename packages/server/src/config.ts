import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_MESSAGE_CODE_POINTS } from '@confab/protocol';

/** The UTF-8 size of the largest legal message text (4 bytes per code point at most). */
const MAX_MESSAGE_UTF8_BYTES = MAX_MESSAGE_CODE_POINTS * 4;

/*
 * The one configuration schema. Every setting has an environment variable, a
 * default and a description; `docs/configuration.md` is generated from this
 * table (`npm run docs:config`). Nothing below the loader reads process.env.
 */

type Kind = 'string' | 'int' | 'bool' | 'enum';

interface Setting<T> {
  env: string;
  kind: Kind;
  default: T;
  description: string;
  min?: number;
  max?: number;
  values?: readonly string[];
}

function setting<T>(s: Setting<T>): Setting<T> {
  return s;
}

export const SETTINGS = {
  host: setting({ env: 'HOST', kind: 'string', default: '0.0.0.0', description: 'Address to listen on.' }),
  port: setting({ env: 'PORT', kind: 'int', default: 8080, min: 0, max: 65535, description: 'TCP port for HTTP and WebSocket (0 picks a free port).' }),
  dataDir: setting({ env: 'DATA_DIR', kind: 'string', default: './data', description: 'Directory for the embedded SQLite database and other local state.' }),
  sqliteSynchronous: setting({
    env: 'SQLITE_SYNCHRONOUS', kind: 'enum', default: 'full', values: ['full', 'normal'] as const,
    description: '`full` fsyncs every commit (survives power loss); `normal` survives process crashes only. Acks are sent after the commit either way.',
  }),
  logLevel: setting({
    env: 'LOG_LEVEL', kind: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
    description: 'Minimum level of the JSON logs written to stdout.',
  }),
  maxGroupMembers: setting({ env: 'MAX_GROUP_MEMBERS', kind: 'int', default: 100, min: 2, max: 10_000, description: 'Most members a group may have; one more is refused with `group_full`.' }),
  heartbeatMs: setting({ env: 'HEARTBEAT_MS', kind: 'int', default: 10_000, min: 100, max: 300_000, description: 'How often clients are told to send `ping`.' }),
  presenceTimeoutMs: setting({ env: 'PRESENCE_TIMEOUT_MS', kind: 'int', default: 30_000, min: 200, max: 3_600_000, description: 'Silence after which a connection is closed and, if it was the user\'s last, the user goes offline.' }),
  scryptCost: setting({ env: 'SCRYPT_LOG2_N', kind: 'int', default: 17, min: 10, max: 20, description: 'log2 of the scrypt cost N for password hashes (OWASP: N=2^17, r=8, p=1). Lower only for tests.' }),
  maxOutboundBytes: setting({ env: 'MAX_OUTBOUND_BYTES', kind: 'int', default: 8 * 1024 * 1024, min: 1024 * 1024, max: 1024 * 1024 * 1024, description: 'Bytes queued to one socket before it is closed as too slow (4100); it resumes by sync.' }),
  commitBatchSize: setting({ env: 'COMMIT_BATCH_SIZE', kind: 'int', default: 512, min: 1, max: 10_000, description: 'Most sends committed in one transaction (group commit).' }),
  receiptFlushMs: setting({ env: 'RECEIPT_FLUSH_MS', kind: 'int', default: 200, min: 10, max: 10_000, description: 'Delivered/read watermarks are written and broadcast, and last-seen times written, at most this often per node.' }),
  shutdownGraceMs: setting({ env: 'SHUTDOWN_GRACE_MS', kind: 'int', default: 5_000, min: 0, max: 120_000, description: 'On SIGTERM, how long to wait for clients to leave after being told to reconnect.' }),
  webDir: setting({ env: 'WEB_DIR', kind: 'string', default: '', description: 'Directory of the built web client served at `/`; empty means the one built in this checkout (packages/web/dist).' }),
  databaseUrl: setting({ env: 'DATABASE_URL', kind: 'string', default: '', description: 'PostgreSQL connection URL. Empty: the embedded SQLite database in DATA_DIR.' }),
  databaseSchema: setting({ env: 'DATABASE_SCHEMA', kind: 'string', default: 'public', description: 'PostgreSQL schema holding Confab\'s tables.' }),
  databasePoolSize: setting({ env: 'DATABASE_POOL_SIZE', kind: 'int', default: 10, min: 1, max: 1000, description: 'PostgreSQL connections per node.' }),
  redisUrl: setting({ env: 'REDIS_URL', kind: 'string', default: '', description: 'Redis URL for cross-node fan-out, presence and discovery. Empty: in-process (one node).' }),
  redisClusterNodes: setting({ env: 'REDIS_CLUSTER_NODES', kind: 'string', default: '', description: 'Comma-separated host:port seeds of a Redis Cluster; used instead of REDIS_URL when set.' }),
  redisKeyPrefix: setting({ env: 'REDIS_KEY_PREFIX', kind: 'string', default: 'confab:', description: 'Prefix of every Redis key and channel, so several deployments can share a Redis.' }),
  nodeId: setting({ env: 'NODE_ID', kind: 'string', default: '', description: 'This node\'s name in the cluster. Empty: a random id per start.' }),
  publicUrl: setting({ env: 'PUBLIC_URL', kind: 'string', default: '', description: 'The base URL clients use to reach this node directly (handed out by discovery). Empty: derived from HOST and the listening port.' }),
  trustProxy: setting({ env: 'TRUST_PROXY', kind: 'bool', default: false, description: 'Trust X-Forwarded-* headers from a reverse proxy.' }),
  allowedOrigins: setting({
    env: 'ALLOWED_ORIGINS', kind: 'string', default: '',
    description: 'Comma-separated origins (e.g. `https://chat.example.com`) whose pages may open WebSockets, besides the server\'s own origin (its Host, or PUBLIC_URL); `*` allows any. Upgrades carrying another `Origin` are refused (403); clients that send no `Origin` (apps, the Node SDK) are not affected.',
  }),
  maxConnectionsPerUser: setting({
    env: 'MAX_CONNECTIONS_PER_USER', kind: 'int', default: 50, min: 0, max: 100_000,
    description: 'Most WebSockets one user may hold open on one node, over all their devices and tabs; one more is refused (429). 0 turns the limit off.',
  }),

  // --- abuse limits (docs/security.md explains each default) ---
  sendMessagesPerSecond: setting({
    env: 'SEND_MESSAGES_PER_SECOND', kind: 'int', default: 10, min: 0, max: 1_000_000,
    description: 'Messages one device may send per second, sustained, over WebSocket and HTTP together; more are refused with `rate_limited` and a retry-after. Counted per node (a device sends through the node it is connected to). 0 turns the limit off.',
  }),
  sendMessagesBurst: setting({ env: 'SEND_MESSAGES_BURST', kind: 'int', default: 100, min: 1, max: 1_000_000, description: 'Messages one device may send at once before SEND_MESSAGES_PER_SECOND applies (e.g. its outbox after a while offline).' }),
  sendBytesPerSecond: setting({
    env: 'SEND_BYTES_PER_SECOND', kind: 'int', default: 100_000, min: 0, max: 1_000_000_000,
    description: 'Bytes of message text (UTF-8) one device may send per second, sustained, counted like SEND_MESSAGES_PER_SECOND. 0 turns the limit off.',
  }),
  sendBytesBurst: setting({
    env: 'SEND_BYTES_BURST', kind: 'int', default: 2_000_000, min: MAX_MESSAGE_UTF8_BYTES, max: 1_000_000_000,
    description: 'Bytes of message text one device may send at once; at least the largest legal message (400,000 bytes).',
  }),
  loginFailuresPerAccount: setting({
    env: 'LOGIN_FAILURES_PER_ACCOUNT', kind: 'int', default: 10, min: 0, max: 1_000_000,
    description: 'Failed logins (and wrong current passwords on a password change) per username per LOGIN_FAILURE_WINDOW_MS, refilled evenly over the window; past it, attempts are refused with `rate_limited` (HTTP 429, Retry-After). Cluster-wide. 0 turns the limit off.',
  }),
  loginFailuresPerAddress: setting({
    env: 'LOGIN_FAILURES_PER_ADDRESS', kind: 'int', default: 50, min: 0, max: 1_000_000,
    description: 'The same per client address (behind a reverse proxy, set TRUST_PROXY). 0 turns the limit off.',
  }),
  loginFailureWindowMs: setting({ env: 'LOGIN_FAILURE_WINDOW_MS', kind: 'int', default: 900_000, min: 1_000, max: 86_400_000, description: 'The window of the two login limits above.' }),
  groupOpsPerMinute: setting({
    env: 'GROUP_OPS_PER_MINUTE', kind: 'int', default: 30, min: 0, max: 1_000_000,
    description: 'Group operations (create, add or remove members, rename, change roles) one user may make per minute, cluster-wide; more are refused with `rate_limited`. Leaving is never limited. 0 turns the limit off.',
  }),

  // --- push notifications ---
  webPush: setting({ env: 'WEB_PUSH', kind: 'bool', default: true, description: 'Send Web Push notifications to browsers that subscribe (VAPID, RFC 8291/8292).' }),
  vapidPublicKey: setting({ env: 'VAPID_PUBLIC_KEY', kind: 'string', default: '', description: 'VAPID public key (base64url, 65-byte P-256 point). Empty: a key pair is generated on first start and kept in DATA_DIR/vapid.json. Give every node of a cluster the same pair.' }),
  vapidPrivateKey: setting({ env: 'VAPID_PRIVATE_KEY', kind: 'string', default: '', description: 'VAPID private key (base64url, 32 bytes); set together with VAPID_PUBLIC_KEY. `npx web-push generate-vapid-keys` prints a pair.' }),
  vapidSubject: setting({ env: 'VAPID_SUBJECT', kind: 'string', default: '', description: 'The `mailto:` or `https:` contact push services may use to reach the operator. Empty: PUBLIC_URL when it is https, else a placeholder that Apple\'s push service (Safari) refuses — set it for Safari.' }),
  webPushHosts: setting({
    env: 'WEB_PUSH_HOSTS', kind: 'string',
    default: 'fcm.googleapis.com,updates.push.services.mozilla.com,*.push.services.mozilla.com,*.notify.windows.com,web.push.apple.com',
    description: 'Comma-separated host names (`*.` for subdomains) a Web Push endpoint may point at. Endpoints come from clients, so anything else is refused (no requests to arbitrary hosts).',
  }),
  pushCaFile: setting({ env: 'PUSH_CA_FILE', kind: 'string', default: '', description: 'PEM file of extra CA certificates trusted for Web Push and APNs connections (a private push gateway).' }),
  apnsKeyFile: setting({ env: 'APNS_KEY_FILE', kind: 'string', default: '', description: 'The APNs signing key (.p8 file). APNs is on when this, APNS_KEY_ID, APNS_TEAM_ID and APNS_BUNDLE_ID are set.' }),
  apnsKeyId: setting({ env: 'APNS_KEY_ID', kind: 'string', default: '', description: 'The ID of the APNs signing key (10 characters).' }),
  apnsTeamId: setting({ env: 'APNS_TEAM_ID', kind: 'string', default: '', description: 'The Apple developer Team ID (10 characters).' }),
  apnsBundleId: setting({ env: 'APNS_BUNDLE_ID', kind: 'string', default: '', description: 'The iOS app\'s bundle ID (the `apns-topic`).' }),
  apnsProduction: setting({ env: 'APNS_PRODUCTION', kind: 'bool', default: true, description: 'Use the production APNs host; false for the sandbox (development builds of the app).' }),
  apnsUrl: setting({ env: 'APNS_URL', kind: 'string', default: '', description: 'Override the APNs origin (e.g. a test stand-in).' }),
  fcmServiceAccountFile: setting({ env: 'FCM_SERVICE_ACCOUNT_FILE', kind: 'string', default: '', description: 'The Firebase service account JSON key file. FCM is on when this is set.' }),
  fcmUrl: setting({ env: 'FCM_URL', kind: 'string', default: '', description: 'Override the FCM origin (default https://fcm.googleapis.com; the OAuth2 endpoint comes from the key file\'s `token_uri`).' }),
  pushAckGraceMs: setting({ env: 'PUSH_ACK_GRACE_MS', kind: 'int', default: 4_000, min: 50, max: 600_000, description: 'A device that has not acknowledged a message this long after its commit is pushed (so a phone whose socket silently died is still notified).' }),
  pushCoalesceMs: setting({ env: 'PUSH_COALESCE_MS', kind: 'int', default: 5_000, min: 0, max: 3_600_000, description: 'Least time between two pushes of one conversation to one device; messages in between fold into one push carrying the count.' }),
  pushPrivacy: setting({ env: 'PUSH_PRIVACY', kind: 'bool', default: false, description: 'Privacy mode: pushes carry no message text (only who wrote, where, and how many).' }),
  pushTtlSeconds: setting({ env: 'PUSH_TTL_SECONDS', kind: 'int', default: 86_400, min: 0, max: 2_419_200, description: 'How long a push service may hold an undeliverable push, and how long Confab retries one.' }),
  pushPollMs: setting({ env: 'PUSH_POLL_MS', kind: 'int', default: 250, min: 10, max: 60_000, description: 'How often each node looks for pushes that are due.' }),
} as const;

type SettingValue<S> = S extends Setting<infer T> ? T : never;
export type Config = { -readonly [K in keyof typeof SETTINGS]: SettingValue<(typeof SETTINGS)[K]> } & {
  sqliteSynchronous: 'full' | 'normal';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function parse(key: string, s: Setting<unknown>, raw: string, problems: string[]): unknown {
  switch (s.kind) {
    case 'string':
      return raw;
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      problems.push(`${s.env}: expected true or false, got ${JSON.stringify(raw)}`);
      return s.default;
    case 'enum':
      if (s.values?.includes(raw)) return raw;
      problems.push(`${s.env}: expected one of ${s.values?.join(', ')}, got ${JSON.stringify(raw)}`);
      return s.default;
    case 'int': {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) {
        problems.push(`${s.env}: expected an integer, got ${JSON.stringify(raw)}`);
        return s.default;
      }
      if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
        problems.push(`${s.env}: ${n} is outside ${s.min}..${s.max}`);
      }
      return n;
    }
  }
  void key;
}

/** Builds a config from environment variables; reports every problem at once. */
export function loadConfig(env: Record<string, string | undefined> = {}, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = env[s.env];
    out[key] = raw === undefined || raw === '' ? s.default : parse(key, s, raw, problems);
  }
  Object.assign(out, overrides);
  const config = out as Config;
  if (config.presenceTimeoutMs <= config.heartbeatMs) {
    problems.push('PRESENCE_TIMEOUT_MS must be larger than HEARTBEAT_MS');
  }
  for (const origin of config.allowedOrigins.split(',').map((o) => o.trim()).filter((o) => o && o !== '*')) {
    if (!URL.canParse(origin)) problems.push(`ALLOWED_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://chat.example.com`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

export function webDir(config: Config): string {
  return config.webDir || fileURLToPath(new URL('../../web/dist', import.meta.url));
}

export function databasePath(config: Config): string {
  return join(config.dataDir, 'confab.db');
}
