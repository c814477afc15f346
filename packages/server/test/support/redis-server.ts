import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './wait.js';

/*
 * Private `redis-server` processes for tests that must stop, restart or
 * cluster Redis for real: on loopback, without persistence, each in a
 * temporary directory removed when it stops.
 */

export interface RedisServer {
  port: number;
  dir: string;
  child: ChildProcess;
}

/** Starts redis-server on `port` (extra arguments e.g. for cluster mode; `{dir}` stands for its directory) and waits until it answers PING. */
export async function startRedisServer(port: number, opts: { dir?: string; args?: string[] } = {}): Promise<RedisServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'confab-redis-'));
  const args = (opts.args ?? []).map((a) => a.replaceAll('{dir}', dir));
  const child = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const server = { port, dir, child };
  try {
    await until(
      () => {
        if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
        return redisPing(port);
      },
      5_000,
      `redis-server on port ${port}`,
      20,
    );
  } catch (err) {
    await stopRedisServer(server, { keepDir: opts.dir !== undefined });
    throw err;
  }
  return server;
}

/** Kills the server (SIGKILL, as a crash would) and, unless told to keep it, removes its directory. */
export async function stopRedisServer(server: RedisServer | undefined, opts: { keepDir?: boolean } = {}): Promise<void> {
  if (!server) return;
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
  }
  if (!opts.keepDir) rmSync(server.dir, { recursive: true, force: true });
}

/** Whether a Redis answers PING on this loopback port. */
export function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** Whether this loopback port can be listened on now. */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port the kernel says is free. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
