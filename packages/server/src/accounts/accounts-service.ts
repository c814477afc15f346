import {
  MAX_DISPLAY_NAME_CODE_POINTS,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  USERNAME_PATTERN,
  countCodePoints,
  type Device,
  type User,
} from '@confab/protocol';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { DeviceRecord, Store, UserRecord } from '../store/store.js';
import { hashPassword, verifyPassword } from './password.js';
import { hashToken, isWellFormedToken, newToken } from './tokens.js';

export interface Session {
  user: UserRecord;
  device: DeviceRecord;
}

/** Closes a device's live sockets on every node when it is logged out. */
export type DeviceRevoked = (userId: string, deviceId: string) => void;

const USERNAME = new RegExp(USERNAME_PATTERN);

export function toUser(u: UserRecord): User {
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

export class AccountsService {
  // A hash computed once so that logins for unknown usernames cost as much as
  // real ones and do not reveal which usernames exist by their timing.
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: { scryptLog2N: number; now: () => number; onDeviceRevoked: DeviceRevoked },
  ) {}

  async signUp(input: { username: string; password: string; displayName: string }): Promise<UserRecord> {
    const username = input.username.trim().toLowerCase();
    if (!USERNAME.test(username)) throw new AppError('invalid_username');
    if (input.password.length < MIN_PASSWORD_LENGTH || input.password.length > MAX_PASSWORD_LENGTH) {
      throw new AppError('invalid_password');
    }
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

  async login(input: { username: string; password: string; deviceName?: string; platform?: string }): Promise<{ token: string; session: Session }> {
    const user = await this.store.getUserByUsername(input.username.trim().toLowerCase());
    if (!user) {
      this.dummyHash ??= hashPassword('confab-dummy-password', this.opts.scryptLog2N);
      await verifyPassword(input.password, await this.dummyHash);
      throw new AppError('invalid_credentials');
    }
    if (!(await verifyPassword(input.password, user.passwordHash))) throw new AppError('invalid_credentials');
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
    return { token, session: { user, device } };
  }

  /** The session behind a bearer token, or null for a malformed, unknown or revoked one. */
  async authenticate(token: string | undefined): Promise<Session | null> {
    if (!token || !isWellFormedToken(token)) return null;
    return this.store.findDeviceByTokenHash(hashToken(token));
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

  async updateProfile(session: Session, displayName: string): Promise<UserRecord> {
    const name = normalizeDisplayName(displayName);
    await this.store.updateDisplayName(session.user.id, name);
    return { ...session.user, displayName: name };
  }
}
