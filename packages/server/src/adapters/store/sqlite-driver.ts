import { createRequire } from 'node:module';
import type BetterSqlite from 'better-sqlite3';

/**
 * The slice of a synchronous SQLite driver the embedded store uses. On Node it
 * is better-sqlite3 itself (no wrapper on the hot path); on Bun it is
 * `bun:sqlite`, whose API is close to it, adapted where they differ (`null`
 * for no row, no `pluck`, no `pragma`).
 */
export interface SqliteStatement<P extends unknown[], R> {
  run(...params: P): { changes: number };
  /** The first row, or undefined when there is none. */
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

export interface SqliteDatabase {
  prepare<P extends unknown[], R = unknown>(sql: string): SqliteStatement<P, R>;
  /** A statement whose rows are reduced to their first column's value. */
  preparePluck<P extends unknown[], V>(sql: string): SqliteStatement<P, V>;
  exec(sql: string): void;
  /** Runs `PRAGMA <text>`; returns the first column of the first row (if any). */
  pragma(text: string): unknown;
  /** Runs `fn` in one transaction: IMMEDIATE takes the write lock up front, DEFERRED on first write. */
  transaction<T>(mode: 'immediate' | 'deferred', fn: () => T): T;
  close(): void;
}

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';

/** Which driver `openSqlite` uses in this process. */
export const SQLITE_DRIVER: 'better-sqlite3' | 'bun:sqlite' = isBun ? 'bun:sqlite' : 'better-sqlite3';

// Loaded on demand so each runtime only ever loads its own driver (better-sqlite3
// is a Node addon that Bun cannot load; bun:sqlite does not exist on Node).
const require = createRequire(import.meta.url);

export function openSqlite(path: string): SqliteDatabase {
  return isBun ? openBun(path) : openBetterSqlite(path);
}

function openBetterSqlite(path: string): SqliteDatabase {
  const Database = require('better-sqlite3') as typeof BetterSqlite;
  const db = new Database(path);
  // One transaction wrapper, built once, that runs the function it is given:
  // db.transaction() builds five wrapper functions per call, which cost more
  // than a small read inside it.
  const run = db.transaction((fn: () => unknown) => fn());
  return {
    prepare: <P extends unknown[], R>(sql: string) => db.prepare<P, R>(sql) as unknown as SqliteStatement<P, R>,
    preparePluck: <P extends unknown[], V>(sql: string) => db.prepare<P, V>(sql).pluck() as unknown as SqliteStatement<P, V>,
    exec: (sql) => void db.exec(sql),
    pragma: (text) => db.pragma(text, { simple: true }),
    transaction: <T>(mode: 'immediate' | 'deferred', fn: () => T) => (mode === 'immediate' ? run.immediate(fn) : run.deferred(fn)) as T,
    close: () => db.close(),
  };
}

/** The part of bun:sqlite used here (Bun's own type declarations are not a dependency). */
interface BunStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): Record<string, unknown> | null;
  all(...params: unknown[]): Record<string, unknown>[];
  values(...params: unknown[]): unknown[][];
}
interface BunDatabase {
  prepare(sql: string): BunStatement;
  exec(sql: string): void;
  transaction<A extends unknown[], T>(fn: (...args: A) => T): { immediate(...args: A): T; deferred(...args: A): T };
  close(): void;
}

function openBun(path: string): SqliteDatabase {
  const { Database } = require('bun:sqlite') as { Database: new (path: string, options: { strict: boolean; create: boolean }) => BunDatabase };
  // strict: named parameters bind without their `@` prefix, as in better-sqlite3.
  const db = new Database(path, { strict: true, create: true });
  const run = db.transaction((fn: () => unknown) => fn());
  const firstColumn = (row: Record<string, unknown> | null | undefined): unknown => {
    if (row) for (const key in row) return row[key];
    return undefined;
  };
  return {
    prepare: <P extends unknown[], R>(sql: string) => {
      const s = db.prepare(sql);
      return {
        run: (...p: P) => s.run(...p),
        get: (...p: P) => (s.get(...p) ?? undefined) as R | undefined,
        all: (...p: P) => s.all(...p) as R[],
      };
    },
    preparePluck: <P extends unknown[], V>(sql: string) => {
      const s = db.prepare(sql);
      return {
        run: (...p: P) => s.run(...p),
        get: (...p: P) => firstColumn(s.get(...p)) as V | undefined,
        all: (...p: P) => s.values(...p).map((row) => row[0]) as V[],
      };
    },
    exec: (sql) => db.exec(sql),
    pragma: (text) => firstColumn(db.prepare(`PRAGMA ${text}`).get()),
    transaction: <T>(mode: 'immediate' | 'deferred', fn: () => T) => (mode === 'immediate' ? run.immediate(fn) : run.deferred(fn)) as T,
    close: () => db.close(),
  };
}
