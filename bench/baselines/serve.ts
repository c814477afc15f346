import type { Server } from 'node:http';

/*
 * How a baseline server runs under the harness: it prints its URL once
 * listening, and it ends on SIGTERM/SIGINT or, with EXIT_ON_STDIN_END=1 (set
 * by the bench target), when the controller that started it goes away.
 */
export function serve(http: Server, close: (done: () => void) => void): void {
  const shutdown = () => {
    close(() => process.exit(0));
    // Never hang on stragglers: every socket was already dropped.
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  if (process.env.EXIT_ON_STDIN_END === '1') process.stdin.on('end', shutdown).on('error', shutdown).resume();
  http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const addr = http.address();
    if (addr === null || typeof addr === 'string') throw new Error('unexpected listen address');
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${addr.port}` })}\n`);
  });
}
