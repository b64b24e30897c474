/** The native engine's stream directory backend: thin adapters over the addon's NativeDirectory
 * and its builders (native/directory_binding.cc). */
import { InvalidArgumentError, toAnnalsError } from '../errors.js';
import { utf8Text } from '../format/text.js';
import type { NativeAddon, NativeDirectoryAnswer, NativeDirectoryHandle } from '../native.js';
import type { DirectoryBackend, DirectoryEntry, DirectoryInput, DirectoryReader, DirectorySpec } from './directory-backend.js';

/** Values per entry of an answer (see NativeDirectoryAnswer). */
const ANSWER_VALUES = 5;

function entriesOf([ids, values]: NativeDirectoryAnswer): DirectoryEntry[] {
  const out: DirectoryEntry[] = new Array(values.length / ANSWER_VALUES);
  let start = 0;
  for (let i = 0, v = 0; v < values.length; i++, v += ANSWER_VALUES) {
    const end = values[v] as number;
    out[i] = {
      streamId: utf8Text(ids, start, end),
      firstVersion: values[v + 1] as number,
      lastVersion: values[v + 2] as number,
      firstPosition: values[v + 3] as number,
      lastPosition: values[v + 4] as number,
    };
    start = end;
  }
  return out;
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toAnnalsError(err);
  }
}

class NativeDirectoryReader implements DirectoryReader {
  readonly header: DirectoryReader['header'];
  constructor(
    readonly path: string,
    readonly handle: NativeDirectoryHandle,
  ) {
    this.header = handle.header();
  }
  page(after: string | undefined, prefix: string | undefined, limit: number): DirectoryEntry[] {
    return entriesOf(wrap(() => this.handle.page(after, prefix, limit)));
  }
  get(streamId: string): DirectoryEntry | undefined {
    const answer = wrap(() => this.handle.get(streamId));
    return answer && entriesOf(answer)[0];
  }
  close(): void {
    this.handle.close();
  }
}

export class NativeDirectoryBackend implements DirectoryBackend {
  constructor(private readonly addon: NativeAddon) {}

  open(path: string): DirectoryReader {
    return new NativeDirectoryReader(
      path,
      wrap(() => new this.addon.NativeDirectory(path)),
    );
  }

  async build(dir: string, name: string, spec: DirectorySpec, input: DirectoryInput): Promise<void> {
    try {
      await this.addon.buildDirectory(
        dir,
        name,
        spec.fromPosition,
        spec.toPosition,
        input.ids,
        input.idEnds,
        input.firstVersion,
        input.lastVersion,
        input.firstPosition,
        input.lastPosition,
      );
    } catch (err) {
      throw toAnnalsError(err);
    }
  }

  async merge(dir: string, name: string, spec: DirectorySpec, inputs: DirectoryReader[]): Promise<void> {
    const handles = inputs.map((r) => {
      if (!(r instanceof NativeDirectoryReader)) throw new InvalidArgumentError('inputs must be directories opened by this backend');
      return r.handle;
    });
    try {
      await this.addon.mergeDirectories(dir, name, spec.fromPosition, spec.toPosition, handles);
    } catch (err) {
      throw toAnnalsError(err);
    }
  }
}
