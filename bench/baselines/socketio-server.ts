/*
 * The Socket.IO chat server a typical Node developer would write: rooms,
 * io.to(room).emit, and an ack callback. WebSocket transport only (no
 * long-polling upgrade dance), so the comparison with Confab is transport
 * for transport. No auth, no storage.
 *
 *   connect   io('http://127.0.0.1:<port>', { transports: ['websocket'], query: { rooms: '<id>,<id>,…' } })
 *   client →  emit('send', { room, id, text }, ack)
 *   server →  emit('message', { room, text })   to every member, sender included
 *   server →  ack({ id })
 *
 * Prints {"url":"http://127.0.0.1:<port>"} once listening. PORT=0 (default)
 * picks a free port. Exits on SIGTERM/SIGINT, and when stdin ends if
 * EXIT_ON_STDIN_END=1 (set by the bench target).
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { serve } from './serve.js';

interface SendPayload {
  room: string;
  id: string;
  text: string;
}

const http = createServer();
// perMessageDeflate is off by default in Socket.IO 4; spelled out because Confab runs without it too.
const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });

io.on('connection', (socket) => {
  const rooms = socket.handshake.query.rooms;
  const ids = (typeof rooms === 'string' ? rooms : '').split(',').filter((id) => id !== '');
  if (ids.length > 0) void socket.join(ids);

  socket.on('send', ({ room, id, text }: SendPayload, ack?: (res: { id: string }) => void) => {
    io.to(room).emit('message', { room, text });
    if (typeof ack === 'function') ack({ id });
  });
});

// io.close() disconnects every socket and closes the HTTP server.
serve(http, (done) => void io.close(done));
