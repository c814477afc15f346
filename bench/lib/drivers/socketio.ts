import { io, type Socket } from 'socket.io-client';
import { roomSpecs, startBaselineServer } from '../../baselines/child-server.js';
import type { ClientSpec, Conn, ConnHandlers, Driver, RoomPlan, RunningTarget, Target } from '../driver.js';

/*
 * The Socket.IO chat server (bench/baselines/socketio-server.ts) as a
 * benchmark target: what a typical Node developer would build instead of
 * Confab. The client is the stock socket.io-client over WebSocket only.
 */

export const target: Target = {
  name: 'socketio',
  driverModule: 'socketio',
  start(opts): Promise<RunningTarget> {
    return startBaselineServer('socketio-server.ts', opts);
  },
  async provision(_running: RunningTarget, plan: RoomPlan): Promise<ClientSpec[]> {
    return roomSpecs(plan);
  },
};

/*
 * Socket.IO reports a disconnect reason, not a close code; the harness gets
 * the WebSocket code that means the same: 1000 when this side closed, 1001
 * when the server did, 1006 for a lost connection.
 */
function closeCode(reason: Socket.DisconnectReason): number {
  if (reason === 'io client disconnect') return 1000;
  if (reason === 'io server disconnect') return 1001;
  return 1006;
}

/** The engine's underlying `ws` WebSocket (socket.io-client in Node uses the `ws` package). */
interface RawTransport {
  ws?: { terminate?: () => void };
}

export const driver: Driver = {
  connect(url: string, spec: ClientSpec, handlers: ConnHandlers): Promise<Conn> {
    const socket = io(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      query: { rooms: spec.rooms.map((r) => r.id).join(',') },
    });
    return new Promise((resolve, reject) => {
      socket.once('connect_error', (err) => {
        socket.close();
        reject(err);
      });
      socket.on('message', ({ room, text }: { room: string; text: string }) => handlers.onDeliver(room, text));
      socket.on('disconnect', (reason) => handlers.onClose(closeCode(reason)));
      socket.once('connect', () => {
        socket.off('connect_error');
        resolve({
          send(roomId, id, text) {
            socket.emit('send', { room: roomId, id, text }, (res: { id: string }) => handlers.onAck(res.id));
          },
          drop() {
            // Kill the TCP socket under the engine: no Socket.IO or WebSocket close handshake.
            const transport = socket.io.engine.transport as unknown as RawTransport;
            if (transport.ws?.terminate) transport.ws.terminate();
            else socket.io.engine.close();
          },
          close() {
            return new Promise((done) => {
              if (socket.disconnected) return done();
              socket.once('disconnect', () => done());
              socket.disconnect();
            });
          },
        });
      });
    });
  },
};
