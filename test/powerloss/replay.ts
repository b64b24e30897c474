/**
 * Replays a trace of test/powerloss/trace.c into the file-system model (fs-model.ts), record by
 * record, so that the state after any prefix of the trace (a power cut there) can be turned into
 * a disk image (image.ts). It also collects the acknowledgements the workload wrote to its ack
 * file, each with its place in the trace.
 */
import { DirNode, FileNode, type Node } from './fs-model.js';
import { Op, type OpCode, SYNC_DROPPED, type TraceRecord } from './trace-format.js';

const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const FALLOC_FL_KEEP_SIZE = 1;
const RENAME_EXCHANGE = 2;

export interface Ack {
  /** The trace record of the ack line: a cut after it must keep the append. */
  index: number;
  commandId: string;
  streamId: string;
  lastVersion: number;
  count: number;
}

interface PendingSync {
  targets: { node: Node; upto: number }[];
}

export class Replayer {
  readonly root = new DirNode(0);
  readonly nodes: Node[] = [this.root];
  readonly acks: Ack[] = [];
  /** Records applied: the model is the state after a cut at this index. */
  position = 0;
  private namespaceSeq = 0;
  private readonly fds = new Map<string, Node>();
  private readonly syncs = new Map<string, PendingSync>();
  private readonly ackNodes = new Set<Node>();

  /** `rootPath`: POWERLOSS_ROOT, empty when the trace began; `ackPath`: the workload's ack file. */
  constructor(
    readonly rootPath: string,
    private readonly ackPath: string,
  ) {}

  /** The next namespace sequence number: the order in which a journal would commit changes. */
  nextSeq(): number {
    return this.namespaceSeq;
  }

  /** Directories made by mkdir whose entry in their parent no completed sync covered yet. */
  undurableMkdirs(): string[] {
    const out: string[] = [];
    const walk = (dir: DirNode, at: string) => {
      for (const c of dir.pending) if (c.mkdir) for (const [name] of c.entries) out.push(`${at}${name}`);
      for (const [name, node] of dir.current) if (node instanceof DirNode) walk(node, `${at}${name}/`);
    };
    walk(this.root, '');
    return out;
  }

  applyAll(records: TraceRecord[], to: number): void {
    for (; this.position < to; this.position++) this.apply(records[this.position] as TraceRecord);
  }

  private apply(r: TraceRecord): void {
    const fdKey = `${r.pid}:${r.fd}`;
    const handlers: Partial<Record<OpCode, () => void>> = {
      [Op.open]: () => this.open(r, fdKey),
      [Op.close]: () => this.fds.delete(fdKey),
      [Op.dup]: () => this.fds.set(`${r.pid}:${r.fd2}`, this.fd(r)),
      [Op.write]: () => this.write(r),
      [Op.trunc]: () => this.file(this.fd(r), r).truncate(r.offset),
      [Op.truncPath]: () => this.file(this.lookup(r.path).node, r).truncate(r.offset),
      [Op.fallocate]: () => this.fallocate(r),
      [Op.syncBegin]: () => this.syncBegin(r),
      [Op.syncAllBegin]: () => this.syncBegin(r),
      [Op.syncEnd]: () => this.syncEnd(r),
      [Op.syncAllEnd]: () => this.syncEnd(r),
      [Op.rename]: () => this.rename(r),
      [Op.unlink]: () => this.unlink(r),
      [Op.rmdir]: () => this.unlink(r),
      [Op.mkdir]: () => this.mkdir(r),
      [Op.link]: () => this.link(r),
    };
    const handler = handlers[r.op];
    // A raw system call that changed a traced file went around the tracer's decoding.
    if (!handler) throw new Error(`trace record ${r.index}: op ${r.op} (raw system call ${r.flags}) cannot be replayed`);
    handler();
  }

  private fd(r: TraceRecord): Node {
    const node = this.fds.get(`${r.pid}:${r.fd}`);
    if (!node) throw new Error(`trace record ${r.index}: descriptor ${r.fd} of process ${r.pid} is not open in the model`);
    return node;
  }

  private file(node: Node | undefined, r: TraceRecord): FileNode {
    if (!(node instanceof FileNode)) throw new Error(`trace record ${r.index}: ${r.path} is not a known file`);
    return node;
  }

  /** The parent directory and name of `path`, and the node there if any (current state). */
  lookup(path: string): { parent: DirNode | undefined; name: string; node: Node | undefined } {
    if (path === this.rootPath) return { parent: undefined, name: '', node: this.root };
    if (!path.startsWith(`${this.rootPath}/`)) throw new Error(`path ${path} lies outside the traced root`);
    const parts = path
      .slice(this.rootPath.length + 1)
      .split('/')
      .filter((p) => p !== '' && p !== '.');
    let dir = this.root;
    for (const part of parts.slice(0, -1)) {
      const next = dir.current.get(part);
      if (!(next instanceof DirNode)) throw new Error(`path ${path}: ${part} is not a known directory`);
      dir = next;
    }
    const name = parts.at(-1) as string;
    return { parent: dir, name, node: dir.current.get(name) };
  }

  private newNode<T extends Node>(make: (id: number) => T): T {
    const node = make(this.nodes.length);
    this.nodes.push(node);
    return node;
  }

  private changeEntries(dir: DirNode, entries: [string, Node | undefined][], mkdir = false): void {
    dir.change({ seq: this.namespaceSeq++, entries, mkdir });
  }

  private open(r: TraceRecord, fdKey: string): void {
    let { parent, name, node } = this.lookup(r.path);
    if (!node) {
      if (!(r.flags & O_CREAT) || !parent) throw new Error(`trace record ${r.index}: ${r.path} opened but unknown to the model`);
      node = this.newNode((id) => new FileNode(id));
      this.changeEntries(parent, [[name, node]]);
    } else if (r.flags & O_TRUNC && node instanceof FileNode && node.current.size > 0) {
      node.truncate(0);
    }
    this.fds.set(fdKey, node);
    if (r.path === this.ackPath) this.ackNodes.add(node);
  }

  private write(r: TraceRecord): void {
    const node = this.file(this.fd(r), r);
    node.write(r.offset, r.length, r.data);
    if (!this.ackNodes.has(node) || !r.data) return;
    for (const line of r.data.toString('utf8').split('\n')) {
      const [kind, commandId, streamId, lastVersion, count] = line.split(' ');
      if (kind !== 'ack') continue;
      this.acks.push({
        index: r.index,
        commandId: commandId as string,
        streamId: streamId as string,
        lastVersion: Number(lastVersion),
        count: Number(count),
      });
    }
  }

  private fallocate(r: TraceRecord): void {
    const node = this.file(this.fd(r), r);
    if (r.flags & ~FALLOC_FL_KEEP_SIZE) throw new Error(`trace record ${r.index}: fallocate mode ${r.flags} is not modelled`);
    if (r.flags & FALLOC_FL_KEEP_SIZE || r.offset + r.length <= node.current.size) return;
    node.change({ offset: r.offset, length: 0, data: undefined, sizeAfter: r.offset + r.length });
  }

  private syncBegin(r: TraceRecord): void {
    if (r.flags & SYNC_DROPPED) return; // as if the product had not called it
    const targets = r.op === Op.syncAllBegin ? this.nodes : [this.fd(r)];
    this.syncs.set(`${r.pid}:${r.tid}`, { targets: targets.map((node) => ({ node, upto: node.changeCount })) });
  }

  /** A sync that completed makes durable what was recorded before it began. */
  private syncEnd(r: TraceRecord): void {
    const key = `${r.pid}:${r.tid}`;
    const pending = this.syncs.get(key);
    this.syncs.delete(key);
    if (!pending || r.result < 0 || r.flags & SYNC_DROPPED) return;
    for (const { node, upto } of pending.targets) node.syncTo(upto);
  }

  private rename(r: TraceRecord): void {
    const from = this.lookup(r.path);
    const to = this.lookup(r.path2);
    if (!from.node || !from.parent || !to.parent) throw new Error(`trace record ${r.index}: rename of unknown ${r.path}`);
    if (r.flags & RENAME_EXCHANGE) throw new Error(`trace record ${r.index}: renameat2 RENAME_EXCHANGE is not modelled`);
    if (from.node === to.node) return;
    if (from.parent === to.parent) {
      this.changeEntries(from.parent, [
        [from.name, undefined],
        [to.name, from.node],
      ]);
      return;
    }
    // Across directories: two entries in two directories, each durable with its own directory.
    const seq = this.namespaceSeq++;
    from.parent.change({ seq, entries: [[from.name, undefined]], mkdir: false });
    to.parent.change({ seq, entries: [[to.name, from.node]], mkdir: false });
  }

  private unlink(r: TraceRecord): void {
    const { parent, name, node } = this.lookup(r.path);
    if (!node || !parent) throw new Error(`trace record ${r.index}: unlink of unknown ${r.path}`);
    this.changeEntries(parent, [[name, undefined]]);
  }

  private mkdir(r: TraceRecord): void {
    const { parent, name, node } = this.lookup(r.path);
    if (node || !parent) throw new Error(`trace record ${r.index}: mkdir of existing ${r.path}`);
    this.changeEntries(parent, [[name, this.newNode((id) => new DirNode(id))]], true);
  }

  private link(r: TraceRecord): void {
    const from = this.lookup(r.path);
    const to = this.lookup(r.path2);
    if (!from.node || !to.parent) throw new Error(`trace record ${r.index}: link of unknown ${r.path}`);
    this.changeEntries(to.parent, [[to.name, from.node]]);
  }
}
