import { createHash, randomBytes } from 'node:crypto';

/**
 * Session tokens: 256 random bits, base64url (valid inside a WebSocket
 * subprotocol). Only the SHA-256 of a token is stored, so a leaked database
 * does not leak working tokens; a fast hash is fine because the input is random.
 */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}
