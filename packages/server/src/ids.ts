import { randomBytes } from 'node:crypto';

/** Random, unguessable ids with a type prefix (`u_`, `d_`, `c_`): 96 bits, URL-safe. */
export function newId(prefix: 'u' | 'd' | 'c' | 'k'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
