import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './redis-server.js';
import { until } from './wait.js';

/*
 * A private PostgreSQL cluster for tests that must stop and restart the
 * database for real: created with initdb in a temporary directory, run with
 * `postgres` on a free loopback port, removed at the end. The machine's own
 * PostgreSQL is never touched. PostgreSQL refuses to run as root, so under
 * root the binaries run as the `postgres` OS user, in a directory it owns.
 */

export interface PostgresServer {
  port: number;
  /** The temporary directory (the cluster's data is in `data` under it). */
  dir: string;
  url: string;
  /** The running postmaster, or null while stopped. */
  child: ChildProcess | null;
}

/** Where initdb and postgres are: $CONFAB_TEST_PG_BINDIR when set (and only there), else `pg_config --bindir`, the newest /usr/lib/postgresql/<v>/bin, or PATH; null if nowhere. */
export function findPostgresBinaries(): string | null {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  if (process.env.CONFAB_TEST_PG_BINDIR) return has(process.env.CONFAB_TEST_PG_BINDIR) ? process.env.CONFAB_TEST_PG_BINDIR : null;
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no pg_config (it comes with the client libraries, not always with the server)
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v));
    versions.sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // not a Debian-style layout
  }
  candidates.push(...(process.env.PATH ?? '').split(':').filter(Boolean));
  return candidates.find(has) ?? null;
}

/** The uid/gid to run PostgreSQL as: ourselves, or the `postgres` user when we are root. */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root, and there is no `postgres` OS user to run PostgreSQL as (initdb refuses root)');
  }
}

/** Whether a private PostgreSQL can be run here; with a reason when not. */
export function postgresRunnable(): { ok: true } | { ok: false; reason: string } {
  if (!findPostgresBinaries()) return { ok: false, reason: 'no PostgreSQL server binaries (initdb, postgres) were found (set CONFAB_TEST_PG_BINDIR)' };
  try {
    runAs();
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  return { ok: true };
}

/** initdb in a fresh temporary directory, then start it on a free port (or `port`). */
export async function createPostgresServer(opts: { port?: number } = {}): Promise<PostgresServer> {
  const bindir = findPostgresBinaries();
  if (!bindir) throw new Error('PostgreSQL server binaries (initdb, postgres) not found; set CONFAB_TEST_PG_BINDIR');
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'confab-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const port = opts.port ?? (await freePort());
  const server: PostgresServer = { port, dir, url: `postgres://postgres@127.0.0.1:${port}/postgres`, child: null };
  try {
    // --no-sync: the cluster is thrown away, initdb's own fsyncs only cost time. The server itself runs with fsync on.
    execFileSync(join(bindir, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(user && user),
    });
    await startPostgres(server);
  } catch (err) {
    await destroyPostgresServer(server);
    throw err;
  }
  return server;
}

/** Starts (or restarts) the postmaster on the server's directory and port; resolves once it answers a query. */
export async function startPostgres(server: PostgresServer): Promise<void> {
  if (server.child) throw new Error('PostgreSQL is already running');
  const bindir = findPostgresBinaries()!;
  const user = runAs();
  let log = '';
  // The postmaster is our direct child (no pg_ctl daemon), so it can be signalled and is never left behind unnoticed.
  const child = spawn(
    join(bindir, 'postgres'),
    ['-D', join(server.dir, 'data'), '-p', String(server.port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${server.dir}`, '-c', 'max_connections=200'],
    { cwd: server.dir, stdio: ['ignore', 'ignore', 'pipe'], ...(user && user) },
  );
  child.stderr!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4_000)));
  server.child = child;
  const killOnExit = () => child.kill('SIGQUIT');
  process.once('exit', killOnExit);
  child.once('exit', () => {
    process.off('exit', killOnExit);
    if (server.child === child) server.child = null;
  });
  try {
    // Generous: after an immediate stop the postmaster first replays the WAL.
    await until(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`postgres exited with ${child.exitCode ?? child.signalCode}:\n${log}`);
        return answers(server.url);
      },
      30_000,
      `PostgreSQL on port ${server.port}`,
      50,
    );
  } catch (err) {
    await stopPostgres(server, 'immediate');
    throw err;
  }
}

/**
 * Stops the postmaster. `immediate` (SIGQUIT) ends every backend at once
 * without a checkpoint, as a crash would: the next start replays the WAL.
 * `fast` (SIGINT) rolls back open transactions and checkpoints.
 */
export async function stopPostgres(server: PostgresServer, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  const child = server.child;
  if (!child) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
    if (!stopped) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  server.child = null;
}

/** Stops the server (immediately) and removes its directory. */
export async function destroyPostgresServer(server: PostgresServer | undefined): Promise<void> {
  if (!server) return;
  await stopPostgres(server, 'immediate');
  rmSync(server.dir, { recursive: true, force: true });
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
