import type { ServerFrame } from '@confab/protocol';
import * as ws from 'ws';

/** ws's framing, which its type declarations leave out. */
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[] };
};

/**
 * Serializes a server frame once; the resulting bytes are written unchanged to
 * every recipient socket (as a text frame), so fan-out costs no per-recipient
 * JSON or UTF-8 work.
 */
export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame));
}

/**
 * The complete WebSocket text frame for an encoded payload (header, then the
 * payload itself, not copied), built by ws's own framing once per message and
 * written unchanged to every recipient.
 */
export function wireFrame(payload: Buffer): Buffer[] {
  return Sender.frame(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true });
}
