import {
  MAX_DISPLAY_NAME_CODE_POINTS,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  USERNAME_PATTERN,
  countCodePoints,
  type BlockedUser,
  type Device,
  type User,
} from '@confab/protocol';
import { AppError } from '../errors.js';
import type { AbuseLimits } from '../limits/abuse-limits.js';
import { newId } from '../ids.js';
import type { DeviceRecord, Store, UserRecord } from '../store/store.js';
import { hashPassword, verifyPassword } from './password.js';
import { hashToken, isWellFormedToken, newToken } from './tokens.js';

/**
 * Who a request or a socket acts as. The user's password hash is left out:
 * nothing acting for a session needs it, and every open socket holds its
 * session for as long as it lives.
 */
export interface Session {
  user: SessionUser;
  device: DeviceRecord;
}

export type SessionUser = Omit<UserRecord, 'passwordHash'>;

/** Closes a device's live sockets on every node when it is logged out. */
export type DeviceRevoked = (userId: string, deviceId: string) => void;

/** Who is asking, as far as the transport knows (for per-address limits). */
export interface Client {
  address?: string;
}

const USERNAME = new RegExp(USERNAME_PATTERN);

export function toUser(u: SessionUser): User {
  return { id: u.id, username: u.username, displayName: u.displayName, createdAt: u.createdAt };
}

export function toDevice(d: DeviceRecord, currentId: string): Device {
  return { id: d.id, name: d.name, platform: d.platform, createdAt: d.createdAt, lastActiveAt: d.lastActiveAt, current: d.id === currentId };
}

export function normalizeDisplayName(name: string): string {
  const trimmed = name.trim().normalize('NFC');
  const n = countCodePoints(trimmed);
  if (n === 0 || n > MAX_DISPLAY_NAME_CODE_POINTS || trimmed.includes('\u0000')) throw new AppError('invalid_name');
  return trimmed;
}

function checkNewPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) throw new AppError('invalid_password');
}

export class AccountsService {
  // A hash computed once so that logins for unknown usernames cost as much as
  // real ones and do not reveal which usernames exist by their timing.
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: { scryptLog2N: number; now: () => number; onDeviceRevoked: DeviceRevoked; limits?: AbuseLimits },
  ) {}

  async signUp(input: { username: string; password: string; displayName: string }): Promise<UserRecord> {
    const username = input.username.trim().toLowerCase();
    if (!USERNAME.test(username)) throw new AppError('invalid_username');
    checkNewPassword(input.password);
    const displayName = normalizeDisplayName(input.displayName);
    if (await this.store.getUserByUsername(username)) throw new AppError('username_taken');
    const user: UserRecord = {
      id: newId('u'),
      username,
      displayName,
      passwordHash: await hashPassword(input.password, this.opts.scryptLog2N),
      createdAt: this.opts.now(),
      lastSeen: null,
    };
    await this.store.createUser(user);
    return user;
  }

  async login(input: { username: string; password: string; deviceName?: string; platform?: string }, client: Client = {}): Promise<{ token: string; session: Session }> {
    const username = input.username.trim().toLowerCase();
    const user = await this.checkPassword(username, client, async () => {
      const found = await this.store.getUserByUsername(username);
      if (!found) {
        this.dummyHash ??= hashPassword('confab-dummy-password', this.opts.scryptLog2N);
        await verifyPassword(input.password, await this.dummyHash);
        return null;
      }
      return (await verifyPassword(input.password, found.passwordHash)) ? found : null;
    });
    const now = this.opts.now();
    const device: DeviceRecord = {
      id: newId('d'),
      userId: user.id,
      name: (input.deviceName ?? '').trim() || 'Unnamed device',
      platform: (input.platform ?? '').trim() || 'unknown',
      createdAt: now,
      lastActiveAt: now,
    };
    const token = newToken();
    await this.store.createDevice(device, hashToken(token));
    // A password change that committed while this login checked the old
    // password must not leave a session behind: look again, now that the
    // device exists (a change committing later revokes it).
    const current = await this.store.getUser(user.id);
    if (current?.passwordHash !== user.passwordHash) {
      await this.store.revokeDevice(user.id, device.id, this.opts.now());
      throw new AppError('invalid_credentials');
    }
    return { token, session: { user, device } };
  }

  /**
   * Changes the password and logs out every other device of the account
   * (their sockets close on every node); this device stays logged in. A wrong
   * current password counts as a failed login.
   */
  async changePassword(session: Session, input: { currentPassword: string; newPassword: string }, client: Client = {}): Promise<void> {
    checkNewPassword(input.newPassword);
    const user = await this.checkPassword(session.user.username, client, async () => {
      const found = await this.store.getUser(session.user.id);
      return found && (await verifyPassword(input.currentPassword, found.passwordHash)) ? found : null;
    });
    const hash = await hashPassword(input.newPassword, this.opts.scryptLog2N);
    const revoked = await this.store.setPassword(user.id, hash, session.device.id, this.opts.now());
    for (const deviceId of revoked) this.opts.onDeviceRevoked(user.id, deviceId);
  }

  /**
   * Runs a password check under the failed-login limits: refused with
   * `rate_limited` while they are used up; only a wrong password (`verify`
   * resolving null) keeps its cost.
   */
  private async checkPassword(username: string, client: Client, verify: () => Promise<UserRecord | null>): Promise<UserRecord> {
    const attempt = await this.opts.limits?.passwordAttempt(username, client.address);
    let user: UserRecord | null;
    try {
      user = await verify();
    } catch (err) {
      await attempt?.refund();
      throw err;
    }
    if (!user) throw new AppError('invalid_credentials');
    await attempt?.refund();
    return user;
  }

  /** The session behind a bearer token, or null for a malformed, unknown or revoked one. */
  async authenticate(token: string | undefined): Promise<Session | null> {
    if (!token || !isWellFormedToken(token)) return null;
    const found = await this.store.findDeviceByTokenHash(hashToken(token));
    if (!found) return null;
    const { passwordHash: _, ...user } = found.user;
    return { user, device: found.device };
  }

  async listDevices(session: Session): Promise<Device[]> {
    const devices = await this.store.listDevices(session.user.id);
    return devices.map((d) => toDevice(d, session.device.id));
  }

  async revokeDevice(session: Session, deviceId: string): Promise<void> {
    const ok = await this.store.revokeDevice(session.user.id, deviceId, this.opts.now());
    if (!ok) throw new AppError('device_not_found');
    this.opts.onDeviceRevoked(session.user.id, deviceId);
  }

  async getUser(userId: string): Promise<UserRecord> {
    const user = await this.store.getUser(userId);
    if (!user) throw new AppError('user_not_found');
    return user;
  }

  async search(prefix: string, limit: number): Promise<UserRecord[]> {
    const p = prefix.trim().toLowerCase();
    if (p.length === 0) return [];
    return this.store.searchUsers(p, limit);
  }

  // --- blocks -----------------------------------------------------------------

  /** Blocks a user: no direct messages either way, and neither sees the other's presence. */
  async block(session: Session, userId: string): Promise<void> {
    if (userId === session.user.id) throw new AppError('bad_request', 'You cannot block yourself.');
    if (!(await this.store.getUser(userId))) throw new AppError('user_not_found');
    await this.store.block(session.user.id, userId, this.opts.now());
  }

  async unblock(session: Session, userId: string): Promise<void> {
    await this.store.unblock(session.user.id, userId);
  }

  async listBlocks(session: Session): Promise<BlockedUser[]> {
    const blocks = await this.store.listBlocks(session.user.id);
    const users = new Map((await this.store.getUsers(blocks.map((b) => b.userId))).map((u) => [u.id, u]));
    return blocks.flatMap((b) => {
      const user = users.get(b.userId);
      return user ? [{ user: toUser(user), blockedAt: b.blockedAt }] : [];
    });
  }

  async updateProfile(session: Session, displayName: string): Promise<SessionUser> {
    const name = normalizeDisplayName(displayName);
    await this.store.updateDisplayName(session.user.id, name);
    return { ...session.user, displayName: name };
  }
}
