import { createECDH, randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import webpush from 'web-push';

/*
 * The VAPID (RFC 8292) key pair Confab signs Web Push requests with. Browsers
 * bind every subscription to the public key the page passed to
 * `PushManager.subscribe()`, so the pair must outlive restarts (a new pair
 * silently orphans every subscription: push services answer 401/403) and must
 * be the same on every node of a cluster.
 *
 * One node: the pair is generated on first start and kept in
 * `<dataDir>/vapid.json` (mode 0600). Several nodes: give every node the same
 * pair explicitly (`vapidKeysFrom`, or `resolveVapidKeys` with both keys).
 * Keys are base64url: the public key is the 65-byte uncompressed P-256 point
 * (what the web client passes as `applicationServerKey`), the private key the
 * 32-byte scalar; `npx web-push generate-vapid-keys` prints this format.
 */

export interface VapidKeys {
  /** base64url uncompressed P-256 point (65 bytes); the web client's `applicationServerKey`. */
  publicKey: string;
  /** base64url P-256 private scalar (32 bytes). */
  privateKey: string;
  /** The `sub` claim: a `mailto:` or `https:` contact for the push services' operators. */
  subject: string;
}

export const VAPID_KEYS_FILE = 'vapid.json';

/** Reads the key pair kept in `<dataDir>/vapid.json`, generating and storing one on first use. */
export function loadOrCreateVapidKeys(dataDir: string, subject: string): VapidKeys {
  checkSubject(subject);
  const file = join(dataDir, VAPID_KEYS_FILE);
  const existing = readKeysFile(file);
  if (existing) return vapidKeysFrom(existing.publicKey, existing.privateKey, subject, file);

  mkdirSync(dataDir, { recursive: true });
  const generated = webpush.generateVAPIDKeys();
  const json = `${JSON.stringify({ publicKey: generated.publicKey, privateKey: generated.privateKey, createdAt: new Date().toISOString() }, null, 2)}\n`;
  const tmp = join(dataDir, `.${VAPID_KEYS_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // exact mode whatever the umask
    writeSync(fd, json);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // link() publishes the complete file atomically and, unlike rename(), never
    // replaces one another process wrote meanwhile: two nodes starting at once
    // on a shared directory end up with the same pair.
    linkSync(tmp, file);
    unlinkSync(tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      unlinkSync(tmp);
      const winner = readKeysFile(file);
      if (!winner) throw new Error(`${file} vanished while being created`);
      return vapidKeysFrom(winner.publicKey, winner.privateKey, subject, file);
    }
    // Filesystems without hard links: an atomic rename instead.
    try {
      renameSync(tmp, file);
    } catch (renameErr) {
      try {
        unlinkSync(tmp);
      } catch {
        // leave it; the error below matters more
      }
      throw renameErr;
    }
  }
  syncDirectory(dataDir);
  return vapidKeysFrom(generated.publicKey, generated.privateKey, subject);
}

/**
 * An explicit key pair, for clustered deployments where every node must sign
 * with the same keys. Throws when the keys are malformed or do not belong
 * together (which would make every push fail with 401/403).
 */
export function vapidKeysFrom(publicKey: string, privateKey: string, subject: string, source = 'the VAPID keys'): VapidKeys {
  checkSubject(subject);
  const pub = decodeBase64url(publicKey);
  const priv = decodeBase64url(privateKey);
  if (!pub || pub.length !== 65 || pub[0] !== 0x04) {
    throw new Error(`${source}: the VAPID public key must be a base64url uncompressed P-256 point (65 bytes)`);
  }
  if (!priv || priv.length !== 32) throw new Error(`${source}: the VAPID private key must be 32 base64url bytes`);
  let derived: Buffer;
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(priv);
    derived = ecdh.getPublicKey();
  } catch {
    throw new Error(`${source}: the VAPID private key is not a valid P-256 key`);
  }
  if (!derived.equals(pub)) throw new Error(`${source}: the VAPID public key does not belong to the private key`);
  return { publicKey, privateKey, subject };
}

/**
 * The keys to use: the explicit pair when both keys are given, otherwise the
 * pair kept in `dataDir`. One key without the other is a configuration error.
 */
export function resolveVapidKeys(opts: { dataDir: string; subject: string; publicKey?: string; privateKey?: string }): VapidKeys {
  const { publicKey = '', privateKey = '' } = opts;
  if (publicKey && privateKey) return vapidKeysFrom(publicKey, privateKey, opts.subject);
  if (publicKey || privateKey) throw new Error('set both the VAPID public and private key, or neither (to keep a generated pair in the data directory)');
  return loadOrCreateVapidKeys(opts.dataDir, opts.subject);
}

/**
 * The subject used when the operator has not given one: the push services of
 * Chrome, Edge and Firefox accept it, Apple's refuses it (Safari then gets no
 * pushes), so the server warns at start while it is in use.
 */
export const PLACEHOLDER_VAPID_SUBJECT = 'mailto:push@confab.invalid';

/** Host names that never resolve; Apple's push service refuses a `sub` naming one (403 BadJwtToken). */
const UNRESOLVABLE_HOST = /(^|\.)(localhost|local|invalid|test|example|internal)$/i;

function checkSubject(subject: string): void {
  let url: URL | undefined;
  try {
    url = new URL(subject);
  } catch {
    // reported below
  }
  let host: string | undefined;
  if (url?.protocol === 'mailto:') host = /^[^@\s]+@([^@\s?]+)$/.exec(decodeURIComponent(url.pathname))?.[1];
  else if (url?.protocol === 'https:') host = url.hostname;
  if (!host) throw new Error(`the VAPID subject must be a mailto: address or an https: URL, got ${JSON.stringify(subject)}`);
  if (subject === PLACEHOLDER_VAPID_SUBJECT) return;
  if (UNRESOLVABLE_HOST.test(host) || !host.includes('.')) {
    throw new Error(`the VAPID subject ${JSON.stringify(subject)} names a host that does not resolve; Apple's push service refuses such tokens. Use a real contact address or site.`);
  }
}

function readKeysFile(file: string): { publicKey: string; privateKey: string } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // A damaged file is an error, never a reason to generate a new pair: that
  // would silently orphan every existing subscription.
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON; restore it from a backup (a new key pair would invalidate every Web Push subscription)`);
  }
  const { publicKey, privateKey } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof publicKey !== 'string' || typeof privateKey !== 'string') {
    throw new Error(`${file} must hold "publicKey" and "privateKey" strings`);
  }
  return { publicKey, privateKey };
}

function decodeBase64url(value: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64url') : undefined;
}

/** Makes the new directory entry durable; best effort (not every platform can fsync a directory). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // ignore
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
