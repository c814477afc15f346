import { describe, expect, it } from 'vitest';
import type { Connection } from './connection.js';
import { ConnectionRegistry } from './connection-registry.js';

function conn(id: string, userId: string, deviceId: string) {
  const written: number[] = [];
  const c = { id, userId, deviceId, sendWire: (wire: Buffer[]) => written.push(wire.reduce((n, b) => n + b.length, 0)) };
  return { conn: c as unknown as Connection, written };
}

describe('ConnectionRegistry', () => {
  it('tracks a user’s first and last connection through one, two and back to none', () => {
    const r = new ConnectionRegistry();
    const a = conn('1', 'u', 'd1');
    const b = conn('2', 'u', 'd2');
    const c = conn('3', 'u', 'd2');
    expect(r.add(a.conn)).toBe(true);
    expect(r.add(b.conn)).toBe(false);
    expect(r.add(c.conn)).toBe(false);
    expect(r.ofUser('u').map((x) => x.id).sort()).toEqual(['1', '2', '3']);
    expect(r.ofDevice('d2').map((x) => x.id).sort()).toEqual(['2', '3']);
    expect(r.remove(b.conn)).toBe(false);
    expect(r.ofDevice('d2').map((x) => x.id)).toEqual(['3']);
    expect(r.remove(a.conn)).toBe(false);
    expect(r.remove(a.conn)).toBe(false); // twice: no effect
    expect(r.remove(c.conn)).toBe(true);
    expect(r.ofUser('u')).toEqual([]);
    expect(r.ofDevice('d2')).toEqual([]);
    expect(r.size).toBe(0);
  });

  it('writes one frame to every connection of the given users, framed once', () => {
    const r = new ConnectionRegistry();
    const a = conn('1', 'u', 'd1');
    const b = conn('2', 'u', 'd2');
    const c = conn('3', 'v', 'd3');
    for (const x of [a, b, c]) r.add(x.conn);
    expect(r.deliver(['u', 'v', 'nobody'], Buffer.from('hello'))).toBe(3);
    // A 5-byte text frame: 2 header bytes + the payload.
    expect([a.written, b.written, c.written]).toEqual([[7], [7], [7]]);
  });
});
