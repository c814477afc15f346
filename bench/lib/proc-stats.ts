import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';

/*
 * What a benchmark reports about the server processes, read from /proc:
 * CPU seconds (user + system) consumed, resident memory, and the kernel's
 * TCP buffer memory. Server CPU-seconds are the denominator of every
 * "per CPU-second" figure, because on two cores the load generators compete
 * with the server for the CPU and wall-clock rates alone would flatter or
 * punish it depending on the client.
 */

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
const PAGE_BYTES = (() => {
  try {
    return Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;
  } catch {
    return 4096;
  }
})();

/**
 * CPU seconds a process has used so far (user, system), and those of its
 * children that have ended and been waited for (`reaped`).
 */
export function cpuSeconds(pid: number): { user: number; system: number; total: number; reaped: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) in parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(fields[11]) / TICKS_PER_SECOND;
  const system = Number(fields[12]) / TICKS_PER_SECOND;
  const reaped = (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  return { user, system, total: user + system, reaped };
}

export function totalCpuSeconds(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuSeconds(pid).total;
    } catch {
      // a process that ended no longer counts
    }
  }
  return sum;
}

/**
 * CPU seconds used so far by a service whose processes come and go, such as
 * PostgreSQL's backends: the processes alive now, plus every ended child their
 * parents have reaped. The difference of two readings is then the service's
 * CPU in between, also when backends started or ended in between (summing a
 * fixed list of pids instead loses an ended backend's whole time, and can even
 * come out negative).
 */
export function serviceCpuSeconds(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const cpu = cpuSeconds(pid);
      sum += cpu.total + cpu.reaped;
    } catch {
      // ended since it was listed: its parent has it among the reaped
    }
  }
  return sum;
}

/** The processes of this machine whose command line matches `pattern` (pgrep -f); none when nothing matches. */
export function pidsMatching(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Every PostgreSQL process on this machine. */
export function postgresPids(): number[] {
  return pidsMatching('^(postgres|/usr/lib/postgresql/[0-9]+/bin/postgres)');
}

/** Every PostgreSQL and Redis process on this machine (their CPU is part of a cluster's cost). */
export function servicePids(): number[] {
  return [...postgresPids(), ...pidsMatching('^redis-server')];
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** Kernel memory held by TCP sockets machine-wide (both ends of loopback connections), in bytes. */
export function tcpKernelBytes(): number {
  const sockstat = readFileSync('/proc/net/sockstat', 'utf8');
  const pages = /TCP:.*\bmem (\d+)/.exec(sockstat)?.[1];
  return pages ? Number(pages) * PAGE_BYTES : 0;
}

/** Kernel slab memory of TCP socket objects (machine-wide), in bytes: the per-socket structures themselves. */
export function tcpSlabBytes(): number {
  try {
    const slab = readFileSync('/proc/slabinfo', 'utf8');
    let bytes = 0;
    for (const line of slab.split('\n')) {
      const [name, active, , size] = line.trim().split(/\s+/);
      if (name === 'TCP' || name === 'TCPv6' || name === 'sock_inode_cache' || name === 'tcp_bind_bucket') bytes += Number(active) * Number(size);
    }
    return bytes;
  } catch {
    return NaN; // slabinfo needs root
  }
}

export function machine(): Record<string, unknown> {
  const list = cpus();
  return {
    cores: list.length,
    cpu: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}
