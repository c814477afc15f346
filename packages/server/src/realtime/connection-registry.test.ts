import { describe, expect, it } from 'vitest';
import type { OutboundFrame } from './client-socket.js';
import type { Connection } from './connection.js';
import { ConnectionRegistry } from './connection-registry.js';

function conn(id: string, userId: string, deviceId: string) {
  const written: OutboundFrame[] = [];
  const c = { id, userId, deviceId, sendFrame: (frame: OutboundFrame) => written.push(frame) };
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

  it('sends one frame object to every connection of the given users', () => {
    const r = new ConnectionRegistry();
    const a = conn('1', 'u', 'd1');
    const b = conn('2', 'u', 'd2');
    const c = conn('3', 'v', 'd3');
    for (const x of [a, b, c]) r.add(x.conn);
    expect(r.deliver(['u', 'v', 'nobody'], Buffer.from('hello'))).toBe(3);
    const [frame] = a.written;
    expect(frame?.payload.toString()).toBe('hello');
    // The same object for all, so a transport's cached wire form is built once.
    expect([a.written, b.written, c.written]).toEqual([[frame], [frame], [frame]]);
    expect(b.written[0]).toBe(frame);
    expect(c.written[0]).toBe(frame);
  });
});
