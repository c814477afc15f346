/** What the reconnect storm test and its load processes (storm-worker.ts) say to each other over IPC. */

export interface StormAccount {
  name: string;
  userId: string;
  token: string;
  /** The channels this device's user belongs to. */
  channels: string[];
}

/** Per phase: connection attempts, welcomes, and HTTP requests by kind (sync, history, me, connect, channels, other). */
export interface StormStats {
  wsAttempts: number;
  /** `sync` frames sent (syncs over the socket; `http.sync` counts those over HTTP). */
  wsSyncs: number;
  welcomes: number;
  http: Record<string, number>;
  /** Time spent in HTTP requests by kind: total and longest, ms. */
  latency: Record<string, { total: number; max: number }>;
  /** Failed connection attempts by error message. */
  failures: Record<string, number>;
  /** When each welcome came, in ms since the phase started. */
  welcomeOffsets: number[];
}

export type StormRequest =
  | { type: 'init'; baseUrl: string; accounts: StormAccount[] }
  | { type: 'phase'; name: string }
  | { type: 'send'; sends: { client: number; channelId: string; text: string }[] }
  | { type: 'stats' }
  | { type: 'converge'; lastSeq: Record<string, number>; timeoutMs: number }
  | { type: 'close' };

export type StormReply =
  | { type: 'ready'; from: Record<string, number>[] }
  | { type: 'phase-started' }
  | { type: 'sent' }
  /** Per client, in the current phase: connection attempts, when the first began and when the socket was lost (Date.now()). */
  | { type: 'stats'; stats: Record<string, StormStats>; attempts: number[]; firstAttemptAt: (number | null)[]; lostAt: (number | null)[] }
  | {
      type: 'converged';
      lagging: string[];
      laggingCount: number;
      logs: Record<string, string[]>[];
      acks: { client: number; channelId: string; clientId: string; text: string; seq: number; duplicate: boolean }[];
      refused: string[];
      stats: Record<string, StormStats>;
    }
  | { type: 'closed' }
  | { type: 'failed'; error: string };
