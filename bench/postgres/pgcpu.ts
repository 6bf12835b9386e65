/**
 * CPU time of ONE PostgreSQL cluster: its postmaster (own time plus that of the backends it has
 * reaped, cutime/cstime) and every live child (backends, walwriter, checkpointer, autovacuum).
 * Only this cluster's processes count, not other clusters' on a shared machine.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const HZ = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface Stat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, ticks */
  own: number;
  /** cutime + cstime, ticks */
  reaped: number;
}

function stat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = text.indexOf('(');
    const close = text.lastIndexOf(')');
    const f = text.slice(close + 2).split(' ');
    // f[0] = state (field 3), so field n is f[n - 3].
    return {
      pid,
      comm: text.slice(open + 1, close),
      ppid: Number(f[1]),
      own: Number(f[11]) + Number(f[12]),
      reaped: Number(f[13]) + Number(f[14]),
    };
  } catch {
    return null; // exited
  }
}

function all(): Stat[] {
  const out: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** pids of the postgres postmasters this process started. */
export function ownPostmasters(): Set<number> {
  return new Set(
    all()
      .filter((s) => s.ppid === process.pid && s.comm === 'postgres')
      .map((s) => s.pid),
  );
}

/** Call around startCluster(): the postmaster that appeared in between. */
export function newPostmaster(before: Set<number>): number {
  const fresh = [...ownPostmasters()].filter((p) => !before.has(p));
  if (fresh.length !== 1) throw new Error(`expected one new postmaster, found ${fresh.length}`);
  return fresh[0]!;
}

/** CPU seconds (user + system) used so far by the cluster whose postmaster is `postmaster`. */
export function clusterCpuSeconds(postmaster: number): number {
  let ticks = 0;
  for (const s of all()) {
    if (s.pid === postmaster) ticks += s.own + s.reaped;
    else if (s.ppid === postmaster) ticks += s.own;
  }
  return ticks / HZ;
}
