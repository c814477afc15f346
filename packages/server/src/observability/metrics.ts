import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, one registry per server instance (several may share a process in tests). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'confab_process_' });
  const connections = new Gauge({ name: 'confab_connections', help: 'Open WebSocket connections on this node.', registers: [registry] });
  const connectionsTotal = new Counter({ name: 'confab_connections_total', help: 'WebSocket connections accepted.', registers: [registry] });
  const messages = new Counter({ name: 'confab_messages_committed_total', help: 'Messages committed (duplicates not counted).', registers: [registry] });
  const batchSize = new Histogram({
    name: 'confab_commit_batch_size', help: 'Sends per group commit.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registers: [registry],
  });
  const commitSeconds = new Histogram({
    name: 'confab_commit_seconds', help: 'Duration of one group commit.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry],
  });
  const ackSeconds = new Histogram({
    name: 'confab_send_ack_seconds', help: 'Time from receiving a send frame to writing its durable ack.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry],
  });
  const bytesOut = new Counter({ name: 'confab_ws_bytes_written_total', help: 'Payload bytes of frames written to WebSockets.', registers: [registry] });
  const framesOut = new Counter({ name: 'confab_ws_frames_written_total', help: 'Frames written to WebSockets (deliveries).', registers: [registry] });

  const pushes = new Counter({
    name: 'confab_push_attempts_total', help: 'Push notification attempts by push service and outcome (sent, gone, retry, rejected).',
    labelNames: ['service', 'outcome'] as const, registers: [registry],
  });

  return {
    registry,
    push: {
      attempt: (service: string, outcome: string) => pushes.inc({ service, outcome }),
    },
    gateway: {
      connectionOpened: () => {
        connections.inc();
        connectionsTotal.inc();
      },
      connectionClosed: () => connections.dec(),
      bytesWritten: (bytes: number) => {
        bytesOut.inc(bytes);
        framesOut.inc();
      },
      sendAck: (seconds: number) => ackSeconds.observe(seconds),
    },
    messages: {
      committed: (count: number) => messages.inc(count),
      batch: (size: number, seconds: number) => {
        batchSize.observe(size);
        commitSeconds.observe(seconds);
      },
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
