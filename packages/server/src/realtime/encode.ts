import type { ServerFrame } from '@confab/protocol';

/**
 * Serializes a server frame once; the resulting bytes are sent unchanged to
 * every recipient socket (as a text frame), so fan-out costs no per-recipient
 * JSON or UTF-8 work.
 */
export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame));
}
