/**
 * Who holds a store's writer lock, and whether that holder is still alive: the record an opener
 * writes into its lock ticket (lib/dir-lock.ts), and the judgment another opener makes of it.
 *
 * The record: pid; host (os.hostname()); on Linux also bootId (/proc/sys/kernel/random/boot_id,
 * random at every boot of a kernel), pidNamespace (readlink /proc/self/ns/pid) and startTime (field
 * 22 of /proc/self/stat: clock ticks from boot to the process's start, which tells a reused pid from
 * the holder); flock: whether the holder also holds flock(LOCK) through the addon, and lockFile,
 * "<dev>:<ino>" of the file it locked; a random token.
 *
 * The judgment, in this order:
 * 1. Same kernel: the same bootId when both records have one, the same host name when neither has
 *    (no /proc: macOS, Windows); not when only one has. (Containers on one machine have host names
 *    of their own but share the kernel, so the boot id is the better test.)
 * 2. The holder took flock, this process holds flock on the same file now (same lockFile: a LOCK
 *    deleted and created again while held would be another file), same kernel → dead: the kernel
 *    drops a flock when its process dies, and a live holder keeps its flock until after its ticket
 *    says released. Exact, across pid namespaces too. Trusted on one kernel only: between machines
 *    on a network file system flock may not exclude at all.
 * 3. Another kernel: same host name but another bootId → the machine rebooted since → dead; another
 *    host name → another machine, whose processes cannot be seen from here → unknown.
 * 4. Another pid namespace, or a namespace known on one side only → unknown (its pids mean nothing
 *    here).
 * 5. kill(pid, 0) fails with ESRCH → dead; /proc/<pid>/stat says zombie (it has exited and holds no
 *    file) → dead; a recorded startTime that differs → dead (the pid was reused); else alive.
 * 'unknown' is treated as alive: the opener is refused with a message naming the ticket to remove
 * once the operator has made sure that process is gone. Only 'dead' lets an opener take over.
 */
import fs from 'node:fs';
import os from 'node:os';

export interface Holder {
  pid: number;
  host: string;
  bootId?: string;
  pidNamespace?: string;
  startTime?: number;
  flock: boolean;
  lockFile?: string;
  token: string;
}

export type Verdict = 'alive' | 'dead' | 'unknown';

function readOrUndefined(read: () => string): string | undefined {
  try {
    return read().trim() || undefined;
  } catch {
    return undefined;
  }
}

/** State (field 3) and start time (field 22) of /proc/<pid>/stat; undefined without /proc. */
function procStat(pid: number | 'self'): { state: string; startTime: number } | undefined {
  const text = readOrUndefined(() => fs.readFileSync(`/proc/${pid}/stat`, 'latin1'));
  if (!text) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const startTime = Number(fields[19]);
  return fields[0] && Number.isSafeInteger(startTime) ? { state: fields[0], startTime } : undefined;
}

let identity: Omit<Holder, 'flock' | 'lockFile' | 'token'> | undefined;

/** This process's identity (computed once). */
function self(): Omit<Holder, 'flock' | 'lockFile' | 'token'> {
  identity ??= {
    pid: process.pid,
    host: os.hostname(),
    bootId: readOrUndefined(() => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'latin1')),
    pidNamespace: readOrUndefined(() => fs.readlinkSync('/proc/self/ns/pid')),
    startTime: procStat('self')?.startTime,
  };
  return identity;
}

/** The record this process writes into its ticket; `lockFile`: the file of the flock it holds. */
export function selfHolder(lockFile: string | undefined, token: string): Holder {
  return lockFile ? { ...self(), flock: true, lockFile, token } : { ...self(), flock: false, token };
}

const optionalString = (v: unknown) => v === undefined || typeof v === 'string';

/** The holder record in a ticket's parsed JSON, or undefined when it is not one. */
export function parseHolder(json: unknown): Holder | undefined {
  const h = json as Partial<Holder> | null | undefined;
  const valid =
    typeof h === 'object' &&
    h !== null &&
    Number.isSafeInteger(h.pid) &&
    (h.pid as number) > 0 &&
    typeof h.host === 'string' &&
    typeof h.flock === 'boolean' &&
    typeof h.token === 'string' &&
    optionalString(h.bootId) &&
    optionalString(h.pidNamespace) &&
    optionalString(h.lockFile) &&
    (h.startTime === undefined || Number.isSafeInteger(h.startTime));
  return valid ? (h as Holder) : undefined;
}

/** Whether a process of this pid exists here (a zombie does not count: it holds no files). */
export function pidExists(pid: number, startTime?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const stat = procStat(pid);
  if (stat && (stat.state === 'Z' || stat.state === 'X')) return false;
  return !(stat && startTime !== undefined && stat.startTime !== startTime);
}

/** Whether the holder of a ticket is alive; `lockFile`: the file this process holds flock on now. */
export function judgeHolder(h: Holder, lockFile: string | undefined): Verdict {
  const me = self();
  const bothBootIds = h.bootId !== undefined && me.bootId !== undefined;
  const sameKernel = h.bootId === me.bootId && (bothBootIds || h.host === me.host);
  if (h.flock && lockFile !== undefined && h.lockFile === lockFile && sameKernel) return 'dead';
  if (!sameKernel) return bothBootIds && h.host === me.host ? 'dead' : 'unknown';
  // Pids are compared only within one namespace (or where neither side has namespaces to name).
  if (h.pidNamespace !== me.pidNamespace) return 'unknown';
  return pidExists(h.pid, h.startTime) ? 'alive' : 'dead';
}

/** Who the holder is, for messages. */
export function describeHolder(h: Holder): string {
  return `process ${h.pid} on ${h.host}`;
}
