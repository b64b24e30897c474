/**
 * The writer lock of a store directory: one protocol for every process, with or without the addon.
 *
 * Node has no flock, so the protocol every process follows is in plain files; flock(2) on
 * `<dir>/LOCK` (native/dir_lock.h) is an extra among processes that have the addon: it refuses a
 * second flock holder at once, and tells exactly that a holder which took it has died.
 *
 * Tickets. `<dir>/LOCK.<n>` (n = 1, 2, …), each holding a JSON record of its creator
 * (lib/lock-holder.ts: pid, host, boot id, pid namespace, process start time, flock and the file
 * locked, token) or, once its holder released it, a released marker. The lock's holder is the
 * creator of the highest ticket, unless that ticket is released or its creator is dead. A ticket is
 * created exclusively and whole: its text goes to `LOCK.<n>.<token>.tmp`, which is then hard-linked
 * to `LOCK.<n>` (EEXIST: someone else has n; a link count of 2 on the tmp after EEXIST means our
 * own link went through, the NFS lockfile rule). Where hard links are unsupported, `open(O_EXCL)` +
 * write, and an unparsable ticket younger than YOUNG_MS counts as being written (creator alive).
 *
 * Acquire (acquireDirLock): take flock(LOCK) when the addon loads (held: STORE_LOCKED at once);
 * refuse when a legacy `LOCK.pid` (builds before this protocol) names a live pid; then ticketSteps:
 *   1. list the tickets; top = the highest. None: n = 1. Else read it: released, or its creator
 *      dead → n = top + 1; alive or undecidable → STORE_LOCKED naming holder and file; gone (it
 *      was deleted since the listing) → back to 1.
 *   2. create ticket n; EEXIST → back to 1.
 *   3. list again: a ticket above n → we lost: delete ours, back to 1.
 *   4. won: delete every ticket below n (and tmp files of crashed openers).
 * Release: replace the ticket's text by the released marker (tmp + rename, atomic for readers),
 * then drop flock. The ticket itself stays: the highest ticket is never deleted, by anyone.
 *
 * Why at most one holder, given that 'dead' is only said of a dead process, and of the file system
 * that link/O_EXCL are exclusive and a listing returns every file present throughout it (true on
 * one kernel; not of another machine's cached listing of a network file system):
 * (a) A ticket j is deleted only by someone who saw a ticket above j exist (the winner's cleanup, a
 *     loser's step 3). So the highest ticket ever created is never deleted: the highest number
 *     present never goes down.
 * (b) Let H win with ticket k (its step 3 at time t). Every ticket above k is created after t:
 *     one created before would still be there, or a higher one would (a), and H would have lost.
 *     The first ticket created above k is k + 1, so its creator read top = k. That was H's ticket:
 *     the number k was not in use by another ticket between H's creation and that read (a reuse of
 *     k needs its earlier ticket deleted, which needs a ticket above k, which comes after t). So
 *     it judged H released or dead. Released: H's hold is over. Dead: H is dead.
 * (c) A ticket below k created by an opener P: P's step 3 after H created k sees k (or above, (a))
 *     and P loses; P's step 3 before that means P won first, and (b) with P for H applies to k.
 * (d) Why release never deletes the top ticket: with a deleted top, an opener O that read an older
 *     dead top m - 1 and is slow to create m finds m free after the holder of m released and
 *     deleted it, while a new opener, seeing no ticket at all, took LOCK.1: both win. With the
 *     released marker kept, O's create of m fails with EEXIST. A number freed by cleanup (below
 *     the top) is harmless: whoever creates it sees the top in step 3 and loses.
 * (e) flock says dead only on the same kernel, of a holder that took flock on the very file we hold
 *     it on now: it took flock before creating its ticket and drops it only after its ticket is
 *     released (or by dying).
 * Liveness is judged by lib/lock-holder.ts; anything it cannot see (another machine, another pid
 * namespace without flock) counts as alive, so a wrong 'dead' needs a broken identity (duplicate
 * host names across machines on one network file system, a hand-edited ticket).
 *
 * In one process, a second writable open of the same directory (by realpath) is refused before any
 * of this (heldHere). The steps are a generator (ticketSteps) so that tests can interleave openers
 * deterministically, any number of them, in any order (hooks could only nest one opener inside
 * another's step); acquireDirLock runs them straight through.
 *
 * Details that close holes in the scheme above: the ticket records which file the holder flocked
 * ("<dev>:<ino>", from the addon), and flock's "dead" counts only for that file (a LOCK deleted and
 * created again while held would otherwise make a live holder look dead); same kernel is judged by
 * boot id rather than host name (containers sharing a volume differ in host name, not in kernel),
 * and a pid namespace or boot id known to one side only is undecidable; a zombie counts as dead (an
 * unreaped holder would otherwise block a JS-only machine for good); an EEXIST from link is checked
 * against the tmp's link count (NFS retransmits). lib/lock-holder.ts gives the reasons in full.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StoreLockedError, toAnnalsError } from './errors.js';
import { describeHolder, type Holder, judgeHolder, parseHolder, pidExists, selfHolder, type Verdict } from './lock-holder.js';
import { nativeAddon } from './native.js';

export interface HeldLock {
  release(): void;
}

const heldHere = new Set<string>();
const TICKET = /^LOCK\.(\d{1,15})$/;
const TMP = /^LOCK\..*\.tmp$/;
const MAX_ATTEMPTS = 16;
/** An unparsable ticket younger than this may be one being written (no hard links). */
const YOUNG_MS = 5_000;
/** A tmp file of a ticket older than this was left by an opener that crashed. */
const STALE_TMP_MS = 60_000;
const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

const newToken = () => crypto.randomBytes(12).toString('hex');
const ticketPath = (dir: string, n: number) => path.join(dir, `LOCK.${n}`);
const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** The numbers of the tickets present. */
function tickets(dir: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = TICKET.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

const highest = (dir: string) => Math.max(0, ...tickets(dir));

type TicketState = { kind: 'gone' } | { kind: 'released' } | { kind: 'unreadable'; young: boolean } | { kind: 'held'; holder: Holder };

function readTicket(file: string): TicketState {
  let text: string;
  let mtime: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtime = fs.statSync(file).mtimeMs;
  } catch (err) {
    if (code(err) === 'ENOENT') return { kind: 'gone' };
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {}
  if ((parsed as { released?: unknown } | undefined)?.released === true) return { kind: 'released' };
  const holder = parseHolder(parsed);
  return holder ? { kind: 'held', holder } : { kind: 'unreadable', young: Date.now() - mtime < YOUNG_MS };
}

/**
 * Writes `text` to a new file and syncs it before the caller links or renames it into place: after
 * a power cut a ticket is then whole or absent, never an empty name that reads as a ticket being
 * written (which would hold the lock until it is old enough to be judged dead).
 */
function writeSynced(file: string, text: string, flag: 'w' | 'wx'): void {
  const fd = fs.openSync(file, flag);
  try {
    fs.writeSync(fd, text);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates ticket n holding `text`, exclusively and whole; false when it exists already. */
function createTicket(file: string, text: string, token: string): boolean {
  const tmp = `${file}.${token}.tmp`;
  writeSynced(tmp, text, 'wx');
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if (code(err) === 'EEXIST') return fs.statSync(tmp).nlink === 2;
    if (!LINK_UNSUPPORTED.has(code(err) ?? '')) throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (err) {
    if (code(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** After winning with ticket n: deletes the tickets below it and tmp files of crashed openers. */
function cleanUp(dir: string, n: number): void {
  for (const m of tickets(dir)) if (m < n) fs.rmSync(ticketPath(dir, m), { force: true });
  for (const name of fs.readdirSync(dir)) {
    if (!TMP.test(name)) continue;
    const file = path.join(dir, name);
    const mtime = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;
    if (mtime !== undefined && Date.now() - mtime > STALE_TMP_MS) fs.rmSync(file, { force: true });
  }
}

function lockedBy(holder: Holder, verdict: Verdict, file: string): StoreLockedError {
  const who = describeHolder(holder);
  if (verdict === 'alive') return new StoreLockedError(`the store is locked by ${who} (${file})`);
  return new StoreLockedError(
    `the store is locked by ${who}, which annals cannot check from here (another machine or pid namespace); if that process is gone, remove ${file}`,
  );
}

export interface TicketOptions {
  /** The file this process holds flock on ("<dev>:<ino>"), if it does: recorded, and used to judge. */
  lockFile?: string;
  /** Liveness of a ticket's holder (lib/lock-holder.ts judgeHolder by default; tests inject). */
  judge?: (holder: Holder, lockFile: string | undefined) => Verdict;
  /** This opener's record (selfHolder by default). */
  self?: Holder;
}

/** Where ticketSteps pauses: after listing, after judging the top, after creating, after checking. */
export type TicketPause = 'listed' | 'judged' | 'created' | 'checked';

/** The number of the ticket to create after `top`, or undefined to start over; throws when held. */
function nextNumber(dir: string, top: number, o: TicketOptions): number | undefined {
  if (top === 0) return 1;
  const file = ticketPath(dir, top);
  const t = readTicket(file);
  if (t.kind === 'gone') return undefined;
  if (t.kind === 'unreadable') {
    if (t.young) throw new StoreLockedError(`the store's lock is being taken by another process (${file})`);
    return top + 1;
  }
  if (t.kind === 'held') {
    const verdict = (o.judge ?? judgeHolder)(t.holder, o.lockFile);
    if (verdict !== 'dead') throw lockedBy(t.holder, verdict, file);
  }
  return top + 1;
}

/** The acquire protocol (header comment), pausing between its steps; returns the ticket won. */
export function* ticketSteps(dir: string, o: TicketOptions): Generator<TicketPause, number, void> {
  const me = o.self ?? selfHolder(o.lockFile, newToken());
  const text = JSON.stringify(me);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const top = highest(dir);
    yield 'listed';
    const n = nextNumber(dir, top, o);
    if (n === undefined) continue;
    yield 'judged';
    if (!createTicket(ticketPath(dir, n), text, me.token)) continue;
    yield 'created';
    if (highest(dir) > n) {
      fs.rmSync(ticketPath(dir, n), { force: true });
      continue;
    }
    yield 'checked';
    cleanUp(dir, n);
    return n;
  }
  throw new StoreLockedError(`could not take the writer lock of ${dir}: ${MAX_ATTEMPTS} attempts lost to other openers`);
}

export function acquireTicket(dir: string, o: TicketOptions): number {
  const steps = ticketSteps(dir, o);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Marks ticket n released (if it is still ours): atomically where rename works, else in place. */
export function releaseTicket(dir: string, n: number, token: string): void {
  const file = ticketPath(dir, n);
  const t = readTicket(file);
  if (t.kind !== 'held' || t.holder.token !== token) return;
  const text = JSON.stringify({ released: true, pid: t.holder.pid, token });
  const tmp = `${file}.${token}.released.tmp`;
  try {
    writeSynced(tmp, text, 'w');
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
    fs.writeFileSync(file, text);
  }
}

/** Refuses while a `LOCK.pid` of a build before tickets names a live process. */
function refuseLegacyHolder(dir: string): void {
  const file = path.join(dir, 'LOCK.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && pidExists(pid)) {
    throw new StoreLockedError(
      `the store is locked by process ${pid} of an older annals (${file}); if that process is gone, remove ${file}`,
    );
  }
}

export function acquireDirLock(dir: string): HeldLock {
  const key = fs.realpathSync(dir);
  if (heldHere.has(key)) {
    throw new StoreLockedError(`the store is already open for writing in this process (${dir})`);
  }
  const addon = nativeAddon();
  const token = newToken();
  let flock: { release(): void; fileId(): string } | undefined;
  let n: number;
  try {
    flock = addon ? new addon.DirLock(path.join(dir, 'LOCK')) : undefined;
    refuseLegacyHolder(dir);
    const lockFile = flock?.fileId() || undefined;
    n = acquireTicket(dir, { lockFile, self: selfHolder(lockFile, token) });
  } catch (err) {
    flock?.release();
    throw toAnnalsError(err);
  }
  heldHere.add(key);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      heldHere.delete(key);
      try {
        releaseTicket(dir, n, token);
      } catch {
        // Left as it is, the ticket names this process: others take over once it has exited.
      } finally {
        flock?.release();
      }
    },
  };
}
