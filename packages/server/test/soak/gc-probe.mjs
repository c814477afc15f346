// Loaded into the soak's server process (NODE_OPTIONS="--expose-gc --import=<this file>"):
// on SIGUSR2 it runs a full garbage collection and prints what is still live, so that
// memory growth is judged on what survives a collection, not on the garbage between two.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ gcProbe: { at: Date.now(), heapUsed: m.heapUsed, rss: m.rss, external: m.external } })}\n`);
});
