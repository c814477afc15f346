/**
 * Limits that both ends of the wire must agree on. The server may be configured
 * stricter (e.g. a smaller group size) and announces its values in `welcome`.
 */

/** A message holds 1 to 100,000 Unicode code points (not UTF-16 units, not bytes). */
export const MAX_MESSAGE_CODE_POINTS = 100_000;

/**
 * The largest legal WebSocket frame. The worst case for a legal message is a
 * text of 100,000 control characters, each of which JSON escapes as `\u00XX`
 * (6 bytes); 4 KiB covers the envelope (type, ids). Anything larger cannot be a
 * legal frame, so the socket refuses it before parsing.
 */
export const MAX_FRAME_BYTES = MAX_MESSAGE_CODE_POINTS * 6 + 4096;

/** HTTP bodies that may carry a message text get the same bound; all others get a small one. */
export const MAX_MESSAGE_BODY_BYTES = MAX_FRAME_BYTES;
export const MAX_SMALL_BODY_BYTES = 64 * 1024;

export const DEFAULT_MAX_GROUP_MEMBERS = 100;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_HISTORY_PAGE_SIZE = 200;
export const MAX_SYNC_PAGE_SIZE = 500;
/** The longest sync cursor a server issues (cursors are opaque; some stores' carry a little state). */
export const MAX_SYNC_CURSOR_LENGTH = 1024;
/** Channels a `sync` frame may name in `have` (a device with more names its most recent ones). */
export const MAX_RESUME_HAVE = 1000;
/**
 * What a `sync` frame's answer carries at most: messages per channel, messages
 * in all, and text (UTF-16 code units) in all. The totals bound both the frame
 * and the reads one frame can cost the server.
 */
export const MAX_RESUME_MESSAGES_PER_CHANNEL = 50;
export const MAX_RESUME_MESSAGES = 1000;
export const MAX_RESUME_TEXT = 256 * 1024;
export const MAX_USER_SEARCH_RESULTS = 50;
export const MAX_PRESENCE_QUERY = 200;

/** Client-chosen message ids: opaque, 1–64 printable ASCII characters (UUIDs fit). */
export const MAX_CLIENT_ID_LENGTH = 64;

/** Ids (server-chosen and client ids alike): printable ASCII, no spaces. */
export const ID_PATTERN = '^[\\x21-\\x7e]+$';
/** Free text that is stored as given (device names, search prefixes, push targets): anything but U+0000, which PostgreSQL cannot store. */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';

export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9_.]{2,31}$';
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;
export const MAX_DISPLAY_NAME_CODE_POINTS = 64;
export const MAX_GROUP_NAME_CODE_POINTS = 100;
export const MAX_DEVICE_NAME_LENGTH = 100;

/** `mutedUntil` meaning "until I unmute" (the last millisecond of year 9999). */
export const MUTED_FOREVER = 253_402_300_799_999;

/** Push registrations: the longest Web Push endpoint URL and APNs / FCM token accepted. */
export const MAX_PUSH_ENDPOINT_LENGTH = 2048;
export const MAX_PUSH_TOKEN_LENGTH = 4096;
