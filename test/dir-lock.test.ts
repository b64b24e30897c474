import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { releaseTicket, type TicketPause, ticketSteps } from '../lib/dir-lock.js';
import { EventStore, StoreLockedError } from '../lib/index.js';
import { type Holder, judgeHolder, pidExists, selfHolder, type Verdict } from '../lib/lock-holder.js';
import { nativeAddon } from '../lib/native.js';
import { MiB, tempDir } from './helpers.js';

const WRITER = path.join(import.meta.dirname, 'fixtures', 'lock-writer.ts');
/** "js" is a process with ANNALS_DISABLE_NATIVE=1: no addon at all, so no flock. */
type Side = 'native' | 'js';
const SIDES: Side[] = nativeAddon() ? ['native', 'js'] : ['js'];
const ROUNDS = Number(process.env.ANNALS_LOCK_ROUNDS ?? 3);

/** One test/fixtures/lock-writer.ts process, with its stdout as a queue of lines. */
class Writer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly acks: number[] = [];
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  private stderr = '';

  constructor(
    dir: string,
    readonly tag: string,
    readonly side: Side,
    count: number,
    go = false,
  ) {
    const env: NodeJS.ProcessEnv = { ...process.env, ANNALS_DISABLE_NATIVE: side === 'js' ? '1' : '0' };
    this.child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, tag, String(count), ...(go ? ['go'] : [])], { env });
    let buffered = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        if (line.startsWith('ack ')) this.acks.push(Number(line.slice(4)));
        else this.lines.push(line);
      }
      this.wake?.();
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => this.wake?.());
  }

  /** The next line of stdout other than acks; throws when the process exits first. */
  async next(): Promise<string> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return line;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`writer ${this.tag} (${this.side}) exited without a line: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Opens (expecting to win), appends, waits until all its events are acknowledged. */
  async opened(): Promise<void> {
    expect(await this.next()).toBe(`open ${this.side}`);
    expect(await this.next()).toBe('ready');
  }

  async closed(): Promise<void> {
    this.send('close');
    expect(await this.next()).toBe('closed');
    await this.exited;
  }

  async killed(): Promise<void> {
    this.child.kill('SIGKILL');
    expect((await this.exited).signal).toBe('SIGKILL');
  }
}

/** The events of the stream "shared", checked to be contiguous, as [tag, i] pairs. */
async function sharedEvents(dir: string): Promise<[string, number][]> {
  const s = await EventStore.open(dir, { readOnly: true });
  try {
    const events = await s.readStream('shared');
    expect(events.map((e) => e.version)).toEqual(events.map((_, k) => k + 1));
    return events.map((e) => {
      const d = e.data as { tag: string; i: number };
      return [d.tag, d.i];
    });
  } finally {
    await s.close();
  }
}

const run = (tag: string, n: number): [string, number][] => Array.from({ length: n }, (_, i) => [tag, i]);

describe('the writer lock between processes', () => {
  const pairs = SIDES.flatMap((a) => SIDES.map((b) => [a, b] as const));
  it.each(pairs)(
    '%s holder, %s opener: refused while held, opens after close, takes over after SIGKILL',
    { timeout: 120_000 },
    async (a, b) => {
      const dir = tempDir();
      const first = new Writer(dir, 'A', a, 20);
      await first.opened();
      const refused = new Writer(dir, 'B', b, 5);
      expect(await refused.next()).toBe('refused STORE_LOCKED');
      await refused.exited;
      await first.closed();

      const second = new Writer(dir, 'B', b, 5);
      await second.opened();
      await second.closed();

      const victim = new Writer(dir, 'A2', a, 20);
      await victim.opened();
      const refusedAgain = new Writer(dir, 'B2', b, 5);
      expect(await refusedAgain.next()).toBe('refused STORE_LOCKED');
      await victim.killed();
      const heir = new Writer(dir, 'B3', b, 5);
      await heir.opened();
      await heir.closed();

      expect(victim.acks).toEqual(Array.from({ length: 20 }, (_, i) => 26 + i));
      expect(await sharedEvents(dir)).toEqual([...run('A', 20), ...run('B', 5), ...run('A2', 20), ...run('B3', 5)]);
    },
  );
});

describe('the takeover race between processes', () => {
  const mixes: [string, (i: number) => Side][] = [
    ['js', () => 'js'],
    ...(SIDES.length > 1
      ? ([
          ['native', () => 'native'],
          ['mixed', (i: number) => (i % 2 === 0 ? 'js' : 'native')],
        ] as [string, (i: number) => Side][])
      : []),
  ];
  it.each(mixes)(
    `a dead holder's lock and 6 %s openers at once, ${ROUNDS} rounds: exactly one opens each time, and only its events are stored`,
    { timeout: 60_000 + ROUNDS * 30_000 },
    async (_mix, sideOf) => {
      const dir = tempDir();
      const first = new Writer(dir, 'v', sideOf(1), 3);
      await first.opened();
      await first.killed();
      const expected = run('v', 3);
      for (let round = 0; round < ROUNDS; round++) {
        const openers = Array.from({ length: 6 }, (_, i) => new Writer(dir, `r${round}-${i}`, sideOf(i + round), 10, true));
        for (const w of openers) expect(await w.next()).toBe('waiting');
        for (const w of openers) w.send('go');
        const outcomes = await Promise.all(openers.map((w) => w.next()));
        const winners = openers.filter((_, i) => outcomes[i]?.startsWith('open'));
        expect(outcomes.filter((o) => o === 'refused STORE_LOCKED').length, `round ${round}: ${outcomes.join(', ')}`).toBe(5);
        expect(winners).toHaveLength(1);
        const winner = winners[0] as Writer;
        expect(await winner.next()).toBe('ready');
        await Promise.all(openers.map((w) => w !== winner && w.exited));
        // The winner dies holding the lock: the next round starts from its dead ticket.
        await winner.killed();
        expected.push(...run(winner.tag, 10));
      }
      expect(await sharedEvents(dir)).toEqual(expected);
    },
  );
});

/** In-process openers over one directory, with a judge that knows which tokens are dead. */
class World {
  readonly dead = new Set<string>();
  /** Tokens of the openers holding the lock now. */
  readonly holding = new Set<string>();
  maxHolding = 0;
  constructor(readonly dir: string) {}

  judge = (h: Holder): Verdict => (this.dead.has(h.token) ? 'dead' : 'alive');

  ticket(n: number, content: object): void {
    fs.writeFileSync(path.join(this.dir, `LOCK.${n}`), JSON.stringify(content));
  }

  /** Ticket n of a holder that has died. */
  deadTicket(n: number): void {
    this.dead.add(`dead-${n}`);
    this.ticket(n, record(`dead-${n}`));
  }

  /** Ticket n of a live holder, who is then holding. */
  liveTicket(n: number, token: string): void {
    this.ticket(n, record(token));
    this.held(token);
  }

  held(token: string): void {
    this.holding.add(token);
    this.maxHolding = Math.max(this.maxHolding, this.holding.size);
  }

  release(token: string, n: number): void {
    releaseTicket(this.dir, n, token);
    this.holding.delete(token);
  }

  tickets(): string[] {
    return fs
      .readdirSync(this.dir)
      .filter((f) => /^LOCK\.\d+$/.test(f))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
      .map((f) => {
        const t = JSON.parse(fs.readFileSync(path.join(this.dir, f), 'utf8')) as { token: string; released?: boolean };
        return `${f}:${t.token}${t.released ? ':released' : ''}`;
      });
  }
}

/** The pid of a process that has exited (and been reaped). */
const exitedPid = () => Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout);

const record = (token: string): Holder => ({ pid: 1, host: 'test', flock: false, token });

/** One opener running ticketSteps a pause at a time. */
class Opener {
  private readonly steps: Generator<TicketPause, number, void>;
  readonly pauses: TicketPause[] = [];
  outcome: 'running' | 'refused' | number = 'running';

  constructor(
    readonly world: World,
    readonly token: string,
  ) {
    this.steps = ticketSteps(world.dir, { judge: world.judge, self: record(token) });
  }

  get done(): boolean {
    return this.outcome !== 'running';
  }

  step(): void {
    try {
      const r = this.steps.next();
      if (!r.done) this.pauses.push(r.value);
      else {
        this.outcome = r.value;
        this.world.held(this.token);
      }
    } catch (err) {
      if (!(err instanceof StoreLockedError)) throw err;
      this.outcome = 'refused';
    }
  }

  until(pause: TicketPause): this {
    const seen = this.pauses.length;
    while (!this.done && !this.pauses.slice(seen).includes(pause)) this.step();
    return this;
  }

  finish(): this {
    while (!this.done) this.step();
    return this;
  }
}

interface Scenario {
  /** Writes the tickets found at the start; returns the live holder's ticket, if there is one. */
  setup(w: World): { token: string; n: number } | undefined;
  /** How many openers start (2 unless given). */
  openers?: number;
  /** Whether a winner releases again (one more step) when it is done. */
  releaseAfterWin?: boolean;
}

/**
 * Runs one interleaving of the scenario's actors (its openers, and the live holder's release when it
 * has one): `choose(k)` picks which of the k actors still running takes the next step. Checks after
 * every step that at most one holds, and at the end that each winner's ticket was the top one.
 */
function runSchedule(dir: string, scenario: Scenario, choose: (k: number) => number): { winners: number; trace: string } {
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
  const w = new World(dir);
  const live = scenario.setup(w);
  const openers = Array.from({ length: scenario.openers ?? 2 }, (_, i) => new Opener(w, `o${i}`));
  const actors: { done(): boolean; step(): void }[] = [];
  const tops = new Map<Opener, string | undefined>();
  for (const o of openers) {
    let released = false;
    actors.push({
      done: () => o.outcome === 'refused' || (typeof o.outcome === 'number' && (released || !scenario.releaseAfterWin)),
      step: () => {
        if (o.done) {
          w.release(o.token, o.outcome as number);
          released = true;
        } else {
          o.step();
          if (o.done) tops.set(o, w.tickets().at(-1));
        }
      },
    });
  }
  if (live) {
    let released = false;
    actors.push({
      done: () => released,
      step: () => {
        w.release(live.token, live.n);
        released = true;
      },
    });
  }
  let trace = '';
  for (;;) {
    const running = actors.filter((a) => !a.done());
    if (running.length === 0) break;
    const pick = choose(running.length);
    trace += pick;
    (running[pick] as { step(): void }).step();
    expect(w.holding.size, `schedule ${trace}`).toBeLessThanOrEqual(1);
  }
  const winners = openers.filter((o) => typeof o.outcome === 'number');
  for (const o of winners) expect(tops.get(o), `schedule ${trace}`).toBe(`LOCK.${o.outcome}:${o.token}`);
  if (!live && !scenario.releaseAfterWin) expect(winners.length, `schedule ${trace}`).toBe(1);
  return { winners: winners.length, trace };
}

/** Every interleaving, depth first: each run replays the choices of the one before up to its last untried branch. */
function exploreAll(scenario: Scenario): { schedules: number; wins: number } {
  const dir = tempDir();
  const choices: { pick: number; of: number }[] = [];
  let schedules = 0;
  let wins = 0;
  do {
    let depth = 0;
    wins += runSchedule(dir, scenario, (k) => {
      if (depth === choices.length) choices.push({ pick: 0, of: k });
      return choices[depth++]?.pick ?? 0;
    }).winners;
    schedules++;
    let last = choices.pop();
    while (last && last.pick + 1 === last.of) last = choices.pop();
    if (last) choices.push({ pick: last.pick + 1, of: last.of });
  } while (choices.length > 0);
  return { schedules, wins };
}

/** `count` interleavings picked by a seeded generator. */
function exploreRandom(scenario: Scenario, count: number, seed: number): { schedules: number; wins: number } {
  const dir = tempDir();
  let wins = 0;
  for (let i = 0; i < count; i++) {
    wins += runSchedule(dir, scenario, (k) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    }).winners;
  }
  return { schedules: count, wins };
}

describe('the lock protocol, interleaved step by step in one process', () => {
  it('two openers judging the same dead ticket: one creates the next ticket, the other finds it taken and is refused', () => {
    const w = new World(tempDir());
    w.deadTicket(3);
    const a = new Opener(w, 'a').until('judged');
    const b = new Opener(w, 'b').until('judged');
    a.finish();
    b.finish();
    expect([a.outcome, b.outcome]).toEqual([4, 'refused']);
    expect(b.pauses).not.toContain('created');
    expect(w.tickets()).toEqual(['LOCK.4:a']);
    expect(w.maxHolding).toBe(1);
  });

  it('a slow opener creating a number that cleanup freed sees the higher ticket and backs off', () => {
    const w = new World(tempDir());
    w.deadTicket(2);
    const slow = new Opener(w, 'slow').until('judged'); // read top 2, dead: will create 3
    const x = new Opener(w, 'x').finish();
    expect(x.outcome).toBe(3);
    w.release('x', 3);
    const y = new Opener(w, 'y').finish(); // 3 released: creates 4 and deletes 3
    expect(y.outcome).toBe(4);
    expect(w.tickets()).toEqual(['LOCK.4:y']);
    slow.until('created');
    expect(w.tickets()).toEqual(['LOCK.3:slow', 'LOCK.4:y']);
    slow.finish();
    expect(slow.outcome).toBe('refused');
    expect(w.tickets()).toEqual(['LOCK.4:y']);
    expect(w.maxHolding).toBe(1);
  });

  it('release keeps the top ticket: deleting it instead would let a slow opener and a new one both hold', () => {
    for (const releaseBy of ['marker', 'deleting'] as const) {
      const w = new World(tempDir());
      w.deadTicket(2);
      const slow = new Opener(w, 'slow').until('judged'); // will create 3
      expect(new Opener(w, 'h').finish().outcome).toBe(3);
      if (releaseBy === 'marker') w.release('h', 3);
      else {
        fs.rmSync(path.join(w.dir, 'LOCK.3'));
        w.holding.delete('h');
      }
      const z = new Opener(w, 'z').finish();
      slow.finish();
      if (releaseBy === 'marker') {
        expect([z.outcome, slow.outcome]).toEqual([4, 'refused']);
        expect(w.maxHolding).toBe(1);
      } else {
        expect([z.outcome, slow.outcome]).toEqual([1, 3]);
        expect(w.maxHolding).toBe(2);
      }
    }
  });

  it('a release while another opener reads: it sees the holder or the released marker, never both holding', () => {
    const before = new World(tempDir());
    before.liveTicket(1, 'h');
    const early = new Opener(before, 'o').until('listed');
    early.step(); // reads ticket 1 before the release: held
    before.release('h', 1);
    expect(early.outcome).toBe('refused');

    const after = new World(tempDir());
    after.liveTicket(1, 'h');
    const late = new Opener(after, 'o').until('listed'); // listed top 1 while h held it
    after.release('h', 1);
    late.finish();
    expect(late.outcome).toBe(2);
    expect(after.tickets()).toEqual(['LOCK.2:o']);
    expect(after.maxHolding).toBe(1);
  });

  it.each<[string, Scenario]>([
    ['no ticket yet', { setup: () => undefined }],
    [
      'a dead holder on top (and an older ticket)',
      {
        setup: (w) => {
          w.deadTicket(2);
          w.deadTicket(3);
          return undefined;
        },
      },
    ],
    [
      'a released top ticket',
      {
        setup: (w) => {
          w.ticket(5, { released: true, pid: 1, token: 'old' });
          return undefined;
        },
      },
    ],
    [
      'a live holder that releases at some point',
      {
        setup: (w) => {
          w.liveTicket(3, 'h');
          return { token: 'h', n: 3 };
        },
      },
    ],
  ])('every interleaving of two openers from %s: never two holders', (_name, scenario) => {
    const { schedules, wins } = exploreAll(scenario);
    console.log(`${_name}: ${schedules} schedules, ${wins} wins`);
    expect(schedules).toBeGreaterThan(100);
    expect(wins).toBeGreaterThan(0);
  });

  it('1,000 random interleavings of three openers that release again after winning, from a dead holder: never two holders', () => {
    const scenario: Scenario = { setup: (w) => void w.deadTicket(2), openers: 3, releaseAfterWin: true };
    const { wins } = exploreRandom(scenario, 1_000, 17);
    console.log(`three openers: 1000 schedules, ${wins} wins`);
    expect(wins).toBeGreaterThan(1_000);
  });
});

describe('judging a holder', () => {
  const me = selfHolder(undefined, 't');

  it('this process is alive; an exited process, or this pid with another start time, is dead', () => {
    expect(judgeHolder(me, undefined)).toBe('alive');
    expect(judgeHolder({ ...me, pid: exitedPid() }, undefined)).toBe('dead');
    if (me.startTime !== undefined) expect(judgeHolder({ ...me, startTime: me.startTime + 1 }, undefined)).toBe('dead');
  });

  it('another machine or pid namespace cannot be judged; a reboot of this machine can', () => {
    expect(judgeHolder({ ...me, host: `not-${os.hostname()}`, bootId: 'another-boot' }, undefined)).toBe('unknown');
    if (me.pidNamespace) expect(judgeHolder({ ...me, pidNamespace: 'pid:[1]' }, undefined)).toBe('unknown');
    if (me.pidNamespace) expect(judgeHolder({ ...me, pidNamespace: undefined }, undefined)).toBe('unknown');
    if (me.bootId) expect(judgeHolder({ ...me, bootId: 'another-boot' }, undefined)).toBe('dead');
    if (me.bootId) expect(judgeHolder({ ...me, bootId: undefined }, undefined)).toBe('unknown');
  });

  it('a flock holder is dead when this process holds flock on the same file on the same kernel, and only then', () => {
    // Another container on this machine: its own host name and pid namespace, the same kernel.
    const other: Holder = { ...me, flock: true, lockFile: '1:2', pidNamespace: 'pid:[1]', host: 'a-container' };
    expect(judgeHolder(other, undefined)).toBe('unknown');
    expect(judgeHolder(other, '1:2')).toBe(me.bootId ? 'dead' : 'unknown');
    expect(judgeHolder(other, '1:3')).toBe('unknown'); // LOCK deleted and created again since
    expect(judgeHolder({ ...other, bootId: 'another-boot' }, '1:2')).toBe('unknown');
    expect(judgeHolder(me, '1:2')).toBe('alive');
  });

  it.skipIf(!fs.existsSync('/proc/self/stat'))('a zombie (exited, not yet reaped) is dead', async () => {
    // sh starts a child that exits at once, then becomes `sleep`, which never reaps it.
    const sh = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5']);
    const pid = Number(await new Promise<string>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    try {
      for (let i = 0; i < 200 && !fs.readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z '); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(pidExists(pid)).toBe(false);
    } finally {
      sh.kill('SIGKILL');
    }
  });
});

describe('acquiring in one process', () => {
  it('refuses while a LOCK.pid of an older build names a live process, and ignores a dead one', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'LOCK.pid'), String(process.ppid));
    await expect(EventStore.open(dir, { chunkSize: MiB })).rejects.toThrow(/older annals .*LOCK\.pid/);
    fs.writeFileSync(path.join(dir, 'LOCK.pid'), String(exitedPid()));
    const s = await EventStore.open(dir, { chunkSize: MiB });
    await s.close();
  });

  it('an unparsable ticket is taken to be one being written while it is young, and taken over once old', async () => {
    const dir = tempDir();
    const ticket = path.join(dir, 'LOCK.7');
    fs.writeFileSync(ticket, '{"pid":');
    await expect(EventStore.open(dir, { chunkSize: MiB })).rejects.toThrow(/being taken by another process .*LOCK\.7/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(ticket, old, old);
    const s = await EventStore.open(dir, { chunkSize: MiB });
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('LOCK.'))).toEqual(['LOCK.8']);
    await s.close();
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK.8'), 'utf8'))).toMatchObject({ released: true, pid: process.pid });
  });

  it('a second writable open in this process is refused; after close the same process opens again', async () => {
    const dir = tempDir();
    const s = await EventStore.open(dir, { chunkSize: MiB });
    await expect(EventStore.open(dir, { chunkSize: MiB })).rejects.toThrow(/already open for writing in this process/);
    await s.close();
    const t = await EventStore.open(dir, { chunkSize: MiB });
    await t.close();
    expect(fs.readdirSync(dir).filter((f) => /^LOCK\.\d+$/.test(f))).toEqual(['LOCK.2']);
  });
});
