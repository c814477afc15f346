/*
 * Bare `ws` relay: the ceiling for a Node + ws chat server. No auth, no
 * storage, no validation beyond what it takes not to crash — whatever Confab
 * does on top of moving frames shows up as the gap to this.
 *
 *   connect   ws://127.0.0.1:<port>/?rooms=<id>,<id>,…   (joins those rooms)
 *   client →  {"room":"…","id":"…","text":"…"}
 *   server →  {"type":"message","room":"…","text":"…"}    to every member, sender included
 *   server →  {"type":"ack","id":"…"}                      to the sender
 *
 * Prints {"url":"http://127.0.0.1:<port>"} once listening. PORT=0 (default)
 * picks a free port. Exits on SIGTERM/SIGINT, and when stdin ends if
 * EXIT_ON_STDIN_END=1 (the bench target sets it so a crashed controller
 * never leaves the server behind).
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { serve } from './serve.js';

const rooms = new Map<string, Set<WebSocket>>();

const http = createServer((_req, res) => {
  res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n');
});
// Deflate off, as in Confab: compression would dominate CPU and hide the relay cost.
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, clientTracking: true });

wss.on('connection', (ws, req) => {
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('rooms') ?? '';
  const joined = query.split(',').filter((id) => id !== '');
  for (const id of joined) {
    let members = rooms.get(id);
    if (members === undefined) {
      members = new Set();
      rooms.set(id, members);
    }
    members.add(ws);
  }

  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let msg: { room?: unknown; id?: unknown; text?: unknown };
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null || typeof msg.room !== 'string') return;
    const members = rooms.get(msg.room);
    if (members !== undefined) {
      // Serialize and encode once; ws then writes the same buffer to every member (no per-recipient copy).
      const frame = Buffer.from(JSON.stringify({ type: 'message', room: msg.room, text: msg.text }));
      for (const member of members) member.send(frame, { binary: false });
    }
    ws.send(JSON.stringify({ type: 'ack', id: msg.id }));
  });

  ws.on('close', () => {
    for (const id of joined) {
      const members = rooms.get(id);
      if (members === undefined) continue;
      members.delete(ws);
      // Drop empty rooms so churny scenarios don't grow the map forever.
      if (members.size === 0) rooms.delete(id);
    }
  });
  ws.on('error', () => ws.terminate());
});

serve(http, (done) => {
  for (const client of wss.clients) client.terminate();
  wss.close();
  http.close(done);
});
