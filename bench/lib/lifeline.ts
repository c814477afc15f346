/*
 * Preloaded into every Confab server the benchmark starts. The controller
 * keeps the server's stdin open as a pipe; the pipe ends when the controller
 * does, however it ended (a signal, a crash), and the server then shuts down
 * as on SIGTERM. So a benchmark stopped halfway leaves no server running to
 * eat CPU in the next run's measurements.
 */
const shutdown = (): void => void process.kill(process.pid, 'SIGTERM');
process.stdin.on('end', shutdown).on('error', shutdown).resume();
