/**
 * The file system a trace is replayed into: inodes with what the page cache holds (current) and
 * what a completed sync put on disk (durable), and the changes in between, which a power cut may
 * keep or drop.
 *
 * Files: a sync that began after change i and completed makes changes 0..i durable, contents and
 * size (fdatasync covers the size too: it is needed to read the data back). Directories: a change
 * of an entry (create, mkdir, rename, unlink, link) is durable once a sync of that directory that
 * began after it completed; a file's own sync does not make its name durable (POSIX promises no
 * more, and the product must not rely on more).
 */

/** One change of a file's bytes and size: `length` bytes at `offset` become `data` (zeroes when
 * undefined), then the size becomes `sizeAfter`. */
export interface FileChange {
  offset: number;
  length: number;
  data: Buffer | undefined;
  sizeAfter: number;
}

/** A file's bytes and size; bytes past the size are always zero. */
export class Content {
  constructor(
    public buf: Buffer = Buffer.alloc(0),
    public size = 0,
  ) {}

  clone(): Content {
    return new Content(Buffer.from(this.buf.subarray(0, this.size)), this.size);
  }

  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(n, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.size);
    this.buf = next;
  }

  /** Applies the bytes of `c` that fall in [from, to) (all of them by default). */
  applyBytes(c: FileChange, from = 0, to = Number.POSITIVE_INFINITY): void {
    const start = Math.max(c.offset, from);
    const end = Math.min(c.offset + c.length, to);
    if (start >= end) return;
    this.reserve(end);
    if (c.data) c.data.copy(this.buf, start, start - c.offset, end - c.offset);
    else this.buf.fill(0, start, end);
  }

  setSize(size: number): void {
    this.reserve(size);
    if (size < this.size) this.buf.fill(0, size, this.size);
    this.size = size;
  }

  apply(c: FileChange): void {
    this.applyBytes(c);
    this.setSize(c.sizeAfter);
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.size);
  }
}

export class FileNode {
  readonly kind = 'file';
  readonly current = new Content();
  readonly durable = new Content();
  /** Changes not yet durable, in order; `synced` changes before them are in `durable`. */
  pending: FileChange[] = [];
  synced = 0;

  constructor(readonly id: number) {}

  get changeCount(): number {
    return this.synced + this.pending.length;
  }

  change(c: FileChange): void {
    this.current.apply(c);
    this.pending.push(c);
  }

  write(offset: number, length: number, data: Buffer | undefined): void {
    this.change({ offset, length, data: data && Buffer.from(data), sizeAfter: Math.max(this.current.size, offset + length) });
  }

  /** ftruncate: a shrink zeroes what it cuts off, so a later growth reads zeroes there. */
  truncate(size: number): void {
    const old = this.current.size;
    this.change({ offset: size, length: Math.max(0, old - size), data: undefined, sizeAfter: size });
  }

  /** Makes the first `count` changes durable (a completed sync that began after them). */
  syncTo(count: number): void {
    const n = Math.min(count - this.synced, this.pending.length);
    if (n <= 0) return;
    for (const c of this.pending.splice(0, n)) this.durable.apply(c);
    this.synced += n;
  }
}

/** A change of directory entries: each name maps to a node, or is removed (undefined). */
export interface EntryChange {
  /** Global order of namespace changes (a journal commits them in this order). */
  seq: number;
  entries: [string, Node | undefined][];
  /** Made by mkdir: see ImageOptions.mkdirDurable. */
  mkdir: boolean;
}

export class DirNode {
  readonly kind = 'dir';
  readonly current = new Map<string, Node>();
  readonly durable = new Map<string, Node>();
  pending: EntryChange[] = [];
  synced = 0;

  constructor(readonly id: number) {}

  get changeCount(): number {
    return this.synced + this.pending.length;
  }

  change(c: EntryChange): void {
    for (const [name, node] of c.entries) {
      if (node) this.current.set(name, node);
      else this.current.delete(name);
    }
    this.pending.push(c);
  }

  syncTo(count: number): void {
    const n = Math.min(count - this.synced, this.pending.length);
    if (n <= 0) return;
    for (const c of this.pending.splice(0, n)) {
      for (const [name, node] of c.entries) {
        if (node) this.durable.set(name, node);
        else this.durable.delete(name);
      }
    }
    this.synced += n;
  }
}

export type Node = FileNode | DirNode;
