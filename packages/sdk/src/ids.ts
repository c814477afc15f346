/**
 * Client ids make sends idempotent: a resend after a reconnect carries the same
 * id, and the server answers with the original ack instead of a second message.
 * randomUUID is missing in React Native and in browsers outside secure
 * contexts, hence the fallback. The fallback only needs to be unique per
 * device, so Math.random is acceptable when no CSPRNG exists.
 */
export function defaultClientId(): string {
  const c = (globalThis as { crypto?: Partial<Crypto> }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  // Shape it as a version 4 UUID so ids look the same on every platform.
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const CLIENT_ID_PATTERN = /^[\x21-\x7e]{1,64}$/;

/** Client ids are 1–64 printable ASCII characters (see MAX_CLIENT_ID_LENGTH). */
export function isValidClientId(id: unknown): id is string {
  return typeof id === 'string' && CLIENT_ID_PATTERN.test(id);
}
