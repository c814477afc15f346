import WebSocket from 'ws';
import { roomSpecs, startBaselineServer } from '../../baselines/child-server.js';
import type { ClientSpec, Conn, ConnHandlers, Driver, RoomPlan, RunningTarget, Target } from '../driver.js';

/*
 * The bare `ws` relay (bench/baselines/ws-relay-server.ts) as a benchmark
 * target: the ceiling for a Node + ws server, with no auth, storage or
 * protocol beyond one JSON frame each way. Rooms are joined in the URL.
 */

export const target: Target = {
  name: 'ws-relay',
  driverModule: 'ws-relay',
  start(opts): Promise<RunningTarget> {
    return startBaselineServer('ws-relay-server.ts', opts);
  },
  async provision(_running: RunningTarget, plan: RoomPlan): Promise<ClientSpec[]> {
    return roomSpecs(plan);
  },
};

export const driver: Driver = {
  connect(url: string, spec: ClientSpec, handlers: ConnHandlers): Promise<Conn> {
    const rooms = encodeURIComponent(spec.rooms.map((r) => r.id).join(','));
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/?rooms=${rooms}`, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('error', reject);
      ws.on('close', (code) => handlers.onClose(code));
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type === 'message') handlers.onDeliver(frame.room, frame.text);
        else if (frame.type === 'ack') handlers.onAck(frame.id);
      });
      ws.once('open', () => {
        ws.off('error', reject);
        // A later error is always followed by 'close', which is what the harness hears about.
        ws.on('error', () => undefined);
        resolve({
          send(roomId, id, text) {
            ws.send(JSON.stringify({ room: roomId, id, text }));
          },
          drop() {
            ws.terminate();
          },
          close() {
            return new Promise((done) => {
              if (ws.readyState === WebSocket.CLOSED) return done();
              ws.once('close', () => done());
              ws.close(1000);
            });
          },
        });
      });
    });
  },
};
