import type { Message, Presence, Receipt } from '@confab/protocol';
import type { Broker } from './broker.js';
import { encodeFrame } from './encode.js';

/** Turns domain events into frames, encoded once, published to the users who must see them. */
export class Fanout {
  constructor(private readonly broker: Broker) {}

  message(message: Message, userIds: readonly string[]): void {
    if (userIds.length === 0) return;
    this.broker.publish({ kind: 'deliver', userIds, payload: encodeFrame({ type: 'message', message }) });
  }

  receipts(channelId: string, receipts: Receipt[], userIds: readonly string[]): void {
    if (userIds.length === 0 || receipts.length === 0) return;
    this.broker.publish({ kind: 'deliver', userIds, payload: encodeFrame({ type: 'receipts', channelId, receipts }) });
  }

  presence(presence: Presence, userIds: readonly string[]): void {
    if (userIds.length === 0) return;
    this.broker.publish({ kind: 'deliver', userIds, payload: encodeFrame({ type: 'presence', ...presence }) });
  }

  typing(channelId: string, userId: string, userIds: readonly string[]): void {
    if (userIds.length === 0) return;
    this.broker.publish({ kind: 'deliver', userIds, payload: encodeFrame({ type: 'typing', channelId, userId }) });
  }

  /** A user's mute setting, to all their connections. */
  muted(userId: string, channelId: string, mutedUntil: number | null): void {
    this.broker.publish({ kind: 'deliver', userIds: [userId], payload: encodeFrame({ type: 'muted', channelId, mutedUntil }) });
  }

  membershipChanged(channelId: string): void {
    this.broker.publish({ kind: 'membership', channelId });
  }

  deviceRevoked(userId: string, deviceId: string): void {
    this.broker.publish({ kind: 'revoke-device', userId, deviceId });
  }
}
