/**
 * The data of a push notification (the decrypted Web Push body; APNs: the
 * `confab` key beside `aps`; FCM: `data`, every value a string there).
 * Pushes only notify: the app fetches messages through sync as always.
 */
export interface PushPayload {
  /** `message`: show a notification; `read`: the conversation was read on another device, remove its notification. */
  type: 'message' | 'read';
  channelId: string;
  /** For `message`: how many messages the notification stands for (bursts are coalesced). */
  count?: number;
  senderId?: string;
  senderName?: string;
  /** The group's name; null for a 1:1 conversation. */
  channelName?: string | null;
  /** A preview cut to a safe length; absent in the server's privacy mode. */
  preview?: string;
  /** `message`: the newest message covered; `read`: the conversation is read at least up to here. */
  seq?: number;
}
