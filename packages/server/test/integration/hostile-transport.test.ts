import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AUTH_SUBPROTOCOL_PREFIX, CloseCode, MAX_FRAME_BYTES, MAX_MESSAGE_CODE_POINTS, PROTOCOL_NAME, WS_PATH, type Message, type ServerFrame } from '@confab/protocol';
import { Connection } from '../../src/realtime/connection.js';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { until } from '../support/wait.js';

/*
 * Hostile transport: WebSocket frames written byte by byte on a raw TCP
 * socket after a real, authenticated upgrade (reserved bits and opcodes, bad
 * masking and fragmentation, oversized control frames, invalid close codes,
 * lengths over the frame limit); upgrade requests with thousands of headers
 * or a huge one; and a client that stops reading while a channel fills. Each
 * hostile connection is closed with the standard code and nothing it sent is
 * stored; the process and everyone else's connections keep working; a
 * stalled reader is closed with 4100 and catches up by sync.
 */

const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
const RSV1 = 0x4;
const RSV2 = 0x2;
const RSV3 = 0x1;
/** RFC 6455 standard close codes that ws sends for a framing violation and an oversized frame. */
const PROTOCOL_ERROR = 1002;

let srv: TestServer;
beforeAll(async () => {
  // The smallest outbound queue the configuration allows, so a stalled reader is found quickly.
  srv = await startServer({ maxOutboundBytes: 1024 * 1024 });
});
afterAll(() => srv.stop());

/** One client frame, masked unless told otherwise; `length` overrides the declared payload length. */
function frame(opcode: number, payload: Buffer | string = Buffer.alloc(0), opts: { fin?: boolean; rsv?: number; mask?: boolean; length?: number | bigint } = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const { fin = true, rsv = 0, mask = true } = opts;
  const declared = BigInt(opts.length ?? body.length);
  let header: Buffer;
  if (declared < 126n) {
    header = Buffer.from([0, Number(declared)]);
  } else if (declared < 65_536n) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(Number(declared), 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(declared, 2);
  }
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  if (!mask) return Buffer.concat([header, body]);
  header[1] = header[1]! | 0x80;
  const key = randomBytes(4);
  const masked = Buffer.from(body);
  for (let i = 0; i < masked.length; i++) masked[i] = masked[i]! ^ key[i & 3]!;
  return Buffer.concat([header, key, masked]);
}

function closePayload(code: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return b;
}

/**
 * A WebSocket client written by hand on node:net: the upgrade request, then
 * whatever bytes a test writes; it parses the server's (unmasked) frames.
 */
class WireClient {
  readonly frames: ServerFrame[] = [];
  /** Control frames other than close (ping/pong) as received. */
  readonly control: { opcode: number; payload: Buffer }[] = [];
  /** The code of the server's close frame, when one arrived. */
  closeCode: number | undefined;
  /** The TCP connection is gone (the server ended it, or it was reset). */
  gone = false;
  readonly closed: Promise<void>;
  private pending: Buffer = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.gone = true;
        resolve();
      }),
    );
    socket.on('error', () => {}); // a reset is one way for the server to end it
  }

  static async open(url: string, token: string): Promise<WireClient> {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port) });
    const client = new WireClient(socket);
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET ${WS_PATH} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${PROTOCOL_NAME}, ${AUTH_SUBPROTOCOL_PREFIX}${token}\r\n\r\n`,
    );
    const head = await new Promise<{ status: string; rest: Buffer; accept: string | undefined }>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        const accept = lines.find((l) => l.toLowerCase().startsWith('sec-websocket-accept:'))?.slice(21).trim();
        resolve({ status: lines[0] ?? '', rest: buf.subarray(end + 4), accept });
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error('closed during the upgrade')));
    });
    expect(head.status).toMatch(/^HTTP\/1\.1 101 /);
    expect(head.accept).toBe(createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64'));
    socket.on('data', (chunk: Buffer) => client.parse(chunk));
    client.parse(head.rest);
    await client.until(() => client.frames.some((f) => f.type === 'welcome'), 10_000, 'welcome');
    return client;
  }

  private parse(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      const b = this.pending;
      if (b.length < 2) return;
      const opcode = b[0]! & 0x0f;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      expect(b[1]! & 0x80, 'server frames are never masked').toBe(0);
      if (b.length < off + len) return;
      const payload = b.subarray(off, off + len);
      this.pending = b.subarray(off + len);
      if (opcode === OP.text) this.frames.push(JSON.parse(payload.toString('utf8')) as ServerFrame);
      else if (opcode === OP.close) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      else this.control.push({ opcode, payload: Buffer.from(payload) });
    }
  }

  write(...bufs: Buffer[]): void {
    for (const b of bufs) this.socket.write(b);
  }

  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return until(check, timeoutMs, what);
  }

  messages(channelId: string): Message[] {
    return this.frames.flatMap((f) => (f.type === 'message' && f.message.channelId === channelId ? [f.message] : []));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

async function stored(token: string, channelId: string): Promise<Message[]> {
  const res = await http(srv.url, 'GET', `/v1/channels/${channelId}/messages?limit=200`, { token });
  expect(res.status).toBe(200);
  return res.body.messages;
}

describe('hostile WebSocket frames', () => {
  let a: Awaited<ReturnType<typeof newUser>>;
  let b: Awaited<ReturnType<typeof newUser>>;
  let channelId: string;
  /** A's well-behaved connection and B's, open for the whole suite: they must keep working. */
  let aSock: RawSocket;
  let bSock: RawSocket;
  let witnessed = 0;

  beforeAll(async () => {
    [a, b] = await Promise.all([newUser(srv.url, 'hta'), newUser(srv.url, 'htb')]);
    channelId = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    [aSock, bSock] = await Promise.all([RawSocket.open(srv.url, a.token), RawSocket.open(srv.url, b.token)]);
  });
  afterAll(() => Promise.all([aSock.close(), bSock.close()]));

  /** Another client on the same server still sends, is acked, and is delivered to. */
  async function othersStillServed(): Promise<string> {
    const id = `witness-${witnessed++}`;
    aSock.send({ type: 'ping' }); // a heartbeat: this socket only listens
    bSock.send({ type: 'send', id, channelId, text: id });
    expect(await bSock.next('ack', (f) => f.id === id, 10_000)).toMatchObject({ channelId, duplicate: false });
    expect((await aSock.next('message', (f) => f.message.clientId === id, 10_000)).message).toMatchObject({ text: id, senderId: b.user.id });
    expect((await http(srv.url, 'GET', '/healthz')).status).toBe(200);
    return id;
  }

  /** A valid send that would be stored if the frame around it were accepted. */
  const sendJson = (id: string) => JSON.stringify({ type: 'send', id, channelId, text: `hostile ${id}` });

  const cases: { name: string; code: number; frames: (id: string) => Buffer[] }[] = [
    { name: 'RSV1 set (no compression was negotiated)', code: PROTOCOL_ERROR, frames: (id) => [frame(OP.text, sendJson(id), { rsv: RSV1 })] },
    { name: 'RSV2 set', code: PROTOCOL_ERROR, frames: (id) => [frame(OP.text, sendJson(id), { rsv: RSV2 })] },
    { name: 'RSV3 set', code: PROTOCOL_ERROR, frames: (id) => [frame(OP.text, sendJson(id), { rsv: RSV3 })] },
    { name: 'RSV1 on a ping', code: PROTOCOL_ERROR, frames: () => [frame(OP.ping, 'p', { rsv: RSV1 })] },
    ...[0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => ({
      name: `reserved opcode 0x${opcode.toString(16)}`,
      code: PROTOCOL_ERROR,
      frames: (id: string) => [frame(opcode, sendJson(id))],
    })),
    { name: 'an unmasked client frame', code: PROTOCOL_ERROR, frames: (id) => [frame(OP.text, sendJson(id), { mask: false })] },
    { name: 'a continuation frame with nothing to continue', code: PROTOCOL_ERROR, frames: (id) => [frame(OP.continuation, sendJson(id))] },
    {
      name: 'a new text frame in the middle of a fragmented message',
      code: PROTOCOL_ERROR,
      frames: (id) => [frame(OP.text, sendJson(`${id}-a`).slice(0, 20), { fin: false }), frame(OP.text, sendJson(id))],
    },
    {
      name: 'a new binary frame in the middle of a fragmented message',
      code: PROTOCOL_ERROR,
      frames: (id) => [frame(OP.text, sendJson(id).slice(0, 20), { fin: false }), frame(OP.binary, sendJson(id).slice(20))],
    },
    { name: 'a fragmented control frame (ping without FIN)', code: PROTOCOL_ERROR, frames: () => [frame(OP.ping, 'half', { fin: false }), frame(OP.continuation, 'rest')] },
    { name: 'a ping with a 126-byte payload', code: PROTOCOL_ERROR, frames: () => [frame(OP.ping, Buffer.alloc(126, 0x61))] },
    { name: 'a pong with a 1,000-byte payload', code: PROTOCOL_ERROR, frames: () => [frame(OP.pong, Buffer.alloc(1_000, 0x61))] },
    { name: 'a close frame with a 126-byte payload', code: PROTOCOL_ERROR, frames: () => [frame(OP.close, Buffer.concat([closePayload(1000), Buffer.alloc(124, 0x61)]))] },
    ...[0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65_535].map((closeCode) => ({
      name: `a close frame with the invalid code ${closeCode}`,
      code: PROTOCOL_ERROR,
      frames: () => [frame(OP.close, closePayload(closeCode))],
    })),
    { name: 'a close frame with a 1-byte payload', code: PROTOCOL_ERROR, frames: () => [frame(OP.close, Buffer.from([0x03]))] },
    {
      name: 'a text frame whose length header claims one byte over MAX_FRAME_BYTES',
      code: CloseCode.MESSAGE_TOO_BIG,
      frames: (id) => [frame(OP.text, sendJson(id), { length: MAX_FRAME_BYTES + 1 })],
    },
    { name: 'a binary frame whose length header claims 2^62 bytes', code: CloseCode.MESSAGE_TOO_BIG, frames: () => [frame(OP.binary, Buffer.alloc(0), { length: 2n ** 62n })] },
    {
      name: 'fragments that are each legal but together pass MAX_FRAME_BYTES',
      code: CloseCode.MESSAGE_TOO_BIG,
      frames: (id) => {
        const json = Buffer.from(JSON.stringify({ type: 'send', id, channelId, text: 'x'.repeat(MAX_MESSAGE_CODE_POINTS) }));
        const filler = Buffer.alloc(MAX_FRAME_BYTES, 0x20);
        return [frame(OP.text, json.subarray(0, 50_000), { fin: false }), frame(OP.continuation, filler.subarray(0, MAX_FRAME_BYTES - 50_000), { fin: false }), frame(OP.continuation, json.subarray(50_000))];
      },
    },
  ];

  for (const c of cases) {
    it(`closes the connection on ${c.name} (${c.code}), stores nothing, and keeps serving others`, async () => {
      const before = await stored(a.token, channelId);
      const baseline = srv.server.connections;
      const hostile = await WireClient.open(srv.url, a.token);
      const id = `h${randomBytes(6).toString('hex')}`;
      hostile.write(...c.frames(id));
      await hostile.until(() => hostile.gone, 10_000, 'the server to end the hostile connection');
      expect(hostile.closeCode).toBe(c.code);
      expect(hostile.frames.filter((f) => f.type === 'ack' || f.type === 'message')).toEqual([]);
      // The server forgot the connection: no state is left behind.
      await until(() => srv.server.connections <= baseline, 10_000, 'the connection to be released');

      const witness = await othersStillServed();
      const after = await stored(a.token, channelId);
      expect(after.map((m) => m.clientId)).toEqual([...before.map((m) => m.clientId), witness]);
      expect(after.some((m) => m.text.startsWith('hostile'))).toBe(false);
    });
  }

  it('accepts a send split over several continuation frames, with a ping and a split UTF-8 character in between, and acks it', async () => {
    const before = await stored(a.token, channelId);
    const hostile = await WireClient.open(srv.url, a.token);
    const text = 'fragmented 😀 héllo '.repeat(50);
    const json = Buffer.from(JSON.stringify({ type: 'send', id: 'fragmented-1', channelId, text }));
    const emoji = json.indexOf(Buffer.from('😀'));
    const cuts = [0, 7, 30, emoji + 2, json.length - 3, json.length]; // one cut inside the emoji's four bytes
    const parts = cuts.slice(1).map((end, i) => json.subarray(cuts[i], end));
    const frames = parts.map((p, i) => frame(i === 0 ? OP.text : OP.continuation, p, { fin: i === parts.length - 1 }));
    // A control frame may come between the fragments of a message.
    frames.splice(2, 0, frame(OP.ping, 'mid-message'));
    for (const f of frames) hostile.write(f);

    await hostile.until(() => hostile.frames.some((f) => f.type === 'ack'), 10_000, 'the ack');
    expect(hostile.frames.find((f) => f.type === 'ack')).toMatchObject({ id: 'fragmented-1', channelId, duplicate: false });
    expect(hostile.control).toContainEqual({ opcode: OP.pong, payload: Buffer.from('mid-message') });
    expect((await aSock.next('message', (f) => f.message.clientId === 'fragmented-1', 10_000)).message.text).toBe(text);
    const after = await stored(a.token, channelId);
    expect(after.map((m) => m.text)).toEqual([...before.map((m) => m.text), text]);
    expect(hostile.closeCode).toBeUndefined();
    hostile.destroy();
    await othersStillServed();
  });
});

describe('hostile upgrade requests', () => {
  /** Writes a request on a fresh TCP connection; resolves with every byte answered, once the server has closed it. */
  async function exchange(request: string): Promise<string> {
    const { hostname, port } = new URL(srv.url);
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {}); // the server may reset a connection whose request it stopped reading
    let timedOut = false;
    const done = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(request);
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, 15_000);
    await done;
    clearTimeout(timer);
    expect(timedOut, 'the server kept the connection open').toBe(false);
    return Buffer.concat(chunks).toString('latin1');
  }

  function upgradeHead(token: string): string {
    const { host } = new URL(srv.url);
    return (
      `GET ${WS_PATH} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${PROTOCOL_NAME}, ${AUTH_SUBPROTOCOL_PREFIX}${token}\r\n`
    );
  }

  async function stillServing(): Promise<void> {
    const [x, y] = await Promise.all([newUser(srv.url, 'hux'), newUser(srv.url, 'huy')]);
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: x.token, body: { userId: y.user.id } })).body.channel.id as string;
    const [sx, sy] = await Promise.all([RawSocket.open(srv.url, x.token), RawSocket.open(srv.url, y.token)]);
    sx.send({ type: 'send', id: 'after-headers', channelId: ch, text: 'still here' });
    expect(await sx.next('ack', () => true, 10_000)).toMatchObject({ id: 'after-headers', seq: 1 });
    expect((await sy.next('message', () => true, 10_000)).message).toMatchObject({ clientId: 'after-headers', text: 'still here' });
    await Promise.all([sx.close(), sy.close()]);
  }

  it('refuses an upgrade with 5,000 header lines with 431 and no WebSocket, and keeps serving', async () => {
    const u = await newUser(srv.url, 'hdr');
    const baseline = srv.server.connections;
    const lines = Array.from({ length: 5_000 }, (_, i) => `X-Pad-${i}: ${i}\r\n`).join('');
    const answer = await exchange(upgradeHead(u.token) + lines + '\r\n');
    expect(answer).not.toMatch(/^HTTP\/1\.1 101/);
    expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 431 /);
    expect(srv.server.connections).toBeLessThanOrEqual(baseline);
    await stillServing();
  });

  it('refuses an upgrade with one 100 KB header without a WebSocket (431 when an answer gets through), and keeps serving', async () => {
    const u = await newUser(srv.url, 'hdr');
    const baseline = srv.server.connections;
    const answer = await exchange(upgradeHead(u.token) + `X-Huge: ${'h'.repeat(100 * 1024)}\r\n\r\n`);
    expect(answer).not.toMatch(/^HTTP\/1\.1 101/);
    // The server stops reading at the limit; if its answer is not lost to the reset that follows, it is a 431.
    if (answer) expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 431 /);
    expect(srv.server.connections).toBeLessThanOrEqual(baseline);
    await stillServing();
  });
});

describe('a reader that stops reading', () => {
  it('is closed with 4100 while the others get every message in order; its device then catches up by sync', async () => {
    const [s, t, r] = await Promise.all([newUser(srv.url, 'slows'), newUser(srv.url, 'slowt'), newUser(srv.url, 'slowr')]);
    const group = await http(srv.url, 'POST', '/v1/channels', { token: s.token, body: { name: 'slow', memberIds: [t.user.id, r.user.id] } });
    expect(group.status).toBe(201);
    const channelId = group.body.channel.id as string;
    const cursor = (await http(srv.url, 'GET', '/v1/sync', { token: t.token })).body.cursor as string;
    const [sender, reader] = await Promise.all([RawSocket.open(srv.url, s.token), RawSocket.open(srv.url, r.token)]);
    const baseline = srv.server.connections;

    const closes = vi.spyOn(Connection.prototype, 'close');
    const stalledClose = () => closes.mock.calls.findIndex((_call, i) => (closes.mock.contexts[i] as Connection | undefined)?.deviceId === t.device.id);
    try {
      const stalled = await WireClient.open(srv.url, t.token);
      stalled.socket.pause(); // stops reading: Node reads no more from the kernel once its small buffer is full

      // Large messages (the longest legal text) until the server gives up on the stalled reader, then a few more it misses.
      const texts: string[] = [];
      const acks: number[] = [];
      let closedAfter = -1;
      const WINDOW = 4;
      for (let i = 0; closedAfter < 0 || i < closedAfter + 5; i++) {
        expect(i, 'the stalled reader was never closed').toBeLessThan(400);
        const text = `${String(i).padStart(5, '0')} `.padEnd(MAX_MESSAGE_CODE_POINTS, String.fromCharCode(97 + (i % 26)));
        texts.push(text);
        sender.send({ type: 'send', id: `big-${i}`, channelId, text });
        if (i % 10 === 0) reader.send({ type: 'ping' }); // a heartbeat: this socket only listens
        if (i >= WINDOW) acks.push((await sender.next('ack', (f) => f.id === `big-${i - WINDOW}`, 20_000)).seq);
        if (closedAfter < 0 && stalledClose() >= 0) {
          closedAfter = i;
          // Read again at once: the close frame is queued behind what the server still holds for it.
          stalled.socket.resume();
        }
      }
      for (let i = Math.max(0, texts.length - WINDOW); i < texts.length; i++) acks.push((await sender.next('ack', (f) => f.id === `big-${i}`, 20_000)).seq);

      // The mechanism that bounds the server's memory: that connection was closed as too slow.
      expect(closes.mock.calls[stalledClose()]?.[0]).toBe(CloseCode.TOO_SLOW);
      await stalled.until(() => stalled.gone, 15_000, 'the server to end the stalled connection');
      // Its close frame arrives if the client reads again before the server stops waiting for it; either way the socket ends.
      if (stalled.closeCode !== undefined) expect(stalled.closeCode).toBe(CloseCode.TOO_SLOW);
      await until(() => srv.server.connections <= baseline, 10_000, 'the stalled connection to be released');

      // The sender got every ack, in order; the other reader (and the sender's own socket) every message, in order.
      expect(acks).toHaveLength(texts.length);
      for (let i = 1; i < acks.length; i++) expect(acks[i]).toBe(acks[i - 1]! + 1);
      const ofChannel = (sock: RawSocket) => sock.frames.flatMap((f) => (f.type === 'message' && f.message.channelId === channelId && f.message.kind === 'text' ? [f.message] : []));
      await until(() => ofChannel(reader).length === texts.length && ofChannel(sender).length === texts.length, 20_000, 'every message at the other readers');
      for (const sock of [reader, sender]) {
        const got = ofChannel(sock);
        expect(got.map((m) => m.seq)).toEqual(acks);
        expect(got.every((m, i) => m.text === texts[i])).toBe(true);
      }

      // What the stalled socket did get is a gapless prefix; it missed at least the messages sent after its close.
      const live = stalled.messages(channelId).filter((m) => m.kind === 'text');
      expect(live.map((m) => m.seq)).toEqual(acks.slice(0, live.length));
      expect(live.every((m, i) => m.text === texts[i])).toBe(true);
      expect(live.length).toBeLessThan(texts.length);

      // The device reconnects and syncs: every message it missed is there.
      const again = await RawSocket.open(srv.url, t.token);
      const sync = await http(srv.url, 'GET', `/v1/sync?cursor=${cursor}`, { token: t.token });
      expect(sync.status).toBe(200);
      const entry = sync.body.channels.find((c: { channelId: string }) => c.channelId === channelId);
      expect(entry).toMatchObject({ lastSeq: acks[acks.length - 1], left: false });
      const missed: Message[] = [];
      let after = live.length ? live[live.length - 1]!.seq : entry.joinedSeq - 1;
      while (after < entry.lastSeq) {
        const page = await http(srv.url, 'GET', `/v1/channels/${channelId}/messages?after=${after}&limit=50`, { token: t.token });
        expect(page.status).toBe(200);
        expect(page.body.messages.length).toBeGreaterThan(0);
        missed.push(...page.body.messages);
        after = page.body.messages[page.body.messages.length - 1].seq;
      }
      const all = [...live, ...missed.filter((m) => m.kind === 'text')];
      expect(all.map((m) => m.seq)).toEqual(acks);
      expect(all.every((m, i) => m.text === texts[i] && m.senderId === s.user.id)).toBe(true);

      // The reconnected socket is live again.
      sender.send({ type: 'send', id: 'after-stall', channelId, text: 'caught up' });
      expect((await again.next('message', (f) => f.message.clientId === 'after-stall', 10_000)).message.seq).toBe(acks[acks.length - 1]! + 1);
      await again.close();
    } finally {
      closes.mockRestore();
      await Promise.all([sender.close(), reader.close()]);
    }
  });
});
