/*
 * A benchmark target is a chat server the load generator can drive: Confab
 * itself, or a baseline (a bare `ws` relay, a Socket.IO chat server). Every
 * target is driven with the same load shape through the same interface, so
 * their numbers compare.
 *
 * Model: clients (one WebSocket each) are members of rooms. A send goes to a
 * room; the server delivers it to every member of the room, the sender's own
 * connection included (as Confab does for the sender's devices), and
 * acknowledges it to the sender (Confab: after the commit is durable).
 */

/** Which rooms exist and who is in them; client i is the i-th connection the scenario opens. */
export interface RoomPlan {
  clients: number;
  rooms: { members: number[] }[];
}

/** What a load worker needs to open client i: serializable, sent to worker processes. */
export interface ClientSpec {
  /** The target's own room ids, in the order of RoomPlan.rooms this client belongs to, with that room's plan index. */
  rooms: { index: number; id: string }[];
  /** Target-specific connection data (a Confab token; nothing for the relay). */
  auth?: string;
}

/** A running target server (a child process, or several for a cluster). */
export interface RunningTarget {
  /** Base URLs (http://…) of the server processes; clients are spread over them. */
  urls: string[];
  /** Process ids whose CPU and memory are measured. */
  pids: number[];
  /** Processes of the services the target relies on (PostgreSQL, Redis), measured separately; asked for when a measurement starts. */
  servicePids?: () => number[];
  /** Brings the target to the state a long-running one would be in once accounts and rooms exist (see the Confab target). */
  settle?(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs in the controller process. */
export interface Target {
  name: string;
  /** `dataDir`: start on existing data (Confab only). */
  start(opts: { port?: number; nodes?: number; dataDir?: string }): Promise<RunningTarget>;
  /** Creates what the plan needs (accounts, channels) and returns one spec per client. */
  provision(running: RunningTarget, plan: RoomPlan): Promise<ClientSpec[]>;
  /** The module (under bench/lib/drivers) a worker loads to speak this target's protocol. */
  driverModule: string;
}

export interface ConnHandlers {
  /** A message reached this client. `text` is exactly what the sender sent. */
  onDeliver(roomId: string, text: string): void;
  /** The server acknowledged the send with this id. */
  onAck(id: string): void;
  /** The server refused the send with this id (targets without refusals never call it). */
  onRefused?(id: string, code: string): void;
  onClose(code: number): void;
}

/** Runs in load worker processes: one open client connection. */
export interface Conn {
  send(roomId: string, id: string, text: string): void;
  /** Closes the socket abruptly (no close handshake), as a dropped network would. */
  drop(): void;
  close(): Promise<void>;
}

/** Frames and payload bytes a worker's clients received, by frame type (cumulative). */
export type Traffic = Record<string, { frames: number; bytes: number }>;

export interface Driver {
  connect(url: string, spec: ClientSpec, handlers: ConnHandlers): Promise<Conn>;
  /** What this process's connections have received so far (drivers that count it). */
  traffic?(): Traffic;
}
