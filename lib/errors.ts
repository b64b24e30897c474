/**
 * Every error annals throws on purpose extends {@link AnnalsError} and carries a stable `code`.
 * `fatal` errors (corruption met while writing, a failed flush) put the store in a failed state:
 * later writes reject with the same error, reads keep working where they can.
 */
export type ErrorCode =
  | 'WRONG_EXPECTED_VERSION'
  | 'DUPLICATE_COMMAND'
  | 'INVALID_ARGUMENT'
  | 'LIMIT_EXCEEDED'
  | 'STORE_LOCKED'
  | 'STORE_CLOSED'
  | 'READ_ONLY'
  | 'CORRUPTION'
  | 'DISK_FULL'
  | 'IO'
  | 'PERMISSION_DENIED'
  | 'NOT_A_STORE'
  | 'ENGINE_UNAVAILABLE'
  | 'CONSUMER_BUSY'
  | 'STREAM_DELETED'
  | 'UNAVAILABLE';

export class AnnalsError extends Error {
  readonly code: ErrorCode;
  readonly fatal: boolean;
  constructor(code: ErrorCode, message: string, options: { fatal?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.fatal = options.fatal ?? false;
  }
}

export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

export class WrongExpectedVersionError extends AnnalsError {
  constructor(
    readonly streamId: string,
    readonly expectedVersion: ExpectedVersion,
    readonly actualVersion: number,
  ) {
    super('WRONG_EXPECTED_VERSION', `stream '${streamId}' is at version ${actualVersion}, expected ${String(expectedVersion)}`);
  }
}

/** One event an append wrote: its id (the caller's, or the one the store gave it), its version
 * in the stream and its global position. */
export interface AppendedEvent {
  id: string;
  version: number;
  position: number;
}

export interface AppendResult {
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  /** Global position of the last event written. */
  position: number;
  commandId?: string;
  /** Each event written, in order (firstVersion..lastVersion). Every append's result has them;
   * the `original` of a DuplicateCommandError, rebuilt from the index, does not. */
  events?: AppendedEvent[];
  /** Only in DuplicateCommandError.original: the command's events were erased by a scavenge (its
   * stream id is then '' and its versions 0; its position is where one of its events was). */
  erased?: true;
}

export class DuplicateCommandError extends AnnalsError {
  constructor(
    readonly commandId: string,
    readonly original: AppendResult,
  ) {
    super('DUPLICATE_COMMAND', `command '${commandId}' was already stored`);
  }
}

export class InvalidArgumentError extends AnnalsError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

export class LimitExceededError extends AnnalsError {
  constructor(message: string) {
    super('LIMIT_EXCEEDED', message);
  }
}

export class StoreLockedError extends AnnalsError {
  constructor(message: string) {
    super('STORE_LOCKED', message);
  }
}

export class StoreClosedError extends AnnalsError {
  constructor() {
    super('STORE_CLOSED', 'the store is closed');
  }
}

export class ReadOnlyError extends AnnalsError {
  constructor() {
    super('READ_ONLY', 'the store was opened read-only');
  }
}

export class CorruptionError extends AnnalsError {
  /** The log position of the damaged record, when the error is about one. */
  readonly position?: number;
  constructor(message: string, fatal = false, position?: number) {
    super('CORRUPTION', message, { fatal });
    if (position !== undefined) this.position = position;
  }
}

export class DiskFullError extends AnnalsError {
  constructor(message: string) {
    super('DISK_FULL', message);
  }
}

/** An append to, or metadata change of, a hard-deleted stream. */
export class StreamDeletedError extends AnnalsError {
  constructor(readonly streamId: string) {
    super('STREAM_DELETED', `stream '${streamId}' was deleted for good (hard delete): nothing can be appended to it`);
  }
}

export class ConsumerBusyError extends AnnalsError {
  constructor(name: string) {
    super('CONSUMER_BUSY', `consumer '${name}' already has a live subscription (close it first)`);
  }
}

/** The process may not read or write a file or directory of the store (EACCES, EPERM, EROFS). */
export class PermissionDeniedError extends AnnalsError {
  constructor(message: string, cause?: unknown) {
    super('PERMISSION_DENIED', message, { cause });
  }
}

/** The path is not a store directory: missing (where it is not created), a file, or without the
 * store's `chunks` directory where one must exist. */
export class NotAStoreError extends AnnalsError {
  constructor(message: string, cause?: unknown) {
    super('NOT_A_STORE', message, { cause });
  }
}

export class EngineUnavailableError extends AnnalsError {
  constructor(message: string) {
    super('ENGINE_UNAVAILABLE', message);
  }
}

/**
 * The database server of a PostgreSQL store could not be reached, or the connection broke, for
 * longer than the store's `reconnectTimeoutMs`. For an append, `outcome` says what became of it:
 * `'not_written'` (nothing of it is stored) or `'unknown'` (its commit was under way when the
 * connection broke and the server could not be asked since: retry it with the same command id,
 * and a DuplicateCommandError says it was stored).
 */
export class UnavailableError extends AnnalsError {
  constructor(
    message: string,
    readonly outcome: 'not_written' | 'unknown' = 'not_written',
    cause?: unknown,
  ) {
    super('UNAVAILABLE', message, { cause });
  }
}

/**
 * The typed error of a code, for errors that cross a boundary as a code and a message (the native
 * addon, a worker thread): the class this process gives that code's errors, so `instanceof` holds
 * on either side; a plain AnnalsError for a code without one of its own, and for a fatal error of
 * another code than CORRUPTION (only the base class carries `fatal` for them).
 */
export function errorOfCode(
  code: ErrorCode,
  message: string,
  o: { fatal?: boolean; position?: number; cause?: unknown } = {},
): AnnalsError {
  if (o.fatal && code !== 'CORRUPTION') return new AnnalsError(code, message, { fatal: true, cause: o.cause });
  switch (code) {
    case 'CORRUPTION':
      return new CorruptionError(message, o.fatal ?? false, o.position);
    case 'DISK_FULL':
      return new DiskFullError(message);
    case 'PERMISSION_DENIED':
      return new PermissionDeniedError(message, o.cause);
    case 'NOT_A_STORE':
      return new NotAStoreError(message, o.cause);
    case 'STORE_LOCKED':
      return new StoreLockedError(message);
    case 'INVALID_ARGUMENT':
      return new InvalidArgumentError(message);
    case 'LIMIT_EXCEEDED':
      return new LimitExceededError(message);
    case 'READ_ONLY':
      return new ReadOnlyError();
    case 'STORE_CLOSED':
      return new StoreClosedError();
    case 'ENGINE_UNAVAILABLE':
      return new EngineUnavailableError(message);
    default:
      return new AnnalsError(code, message, { cause: o.cause });
  }
}

/** The codes the native addon throws with (native/store_error.h) that toAnnalsError takes as they are. */
const NATIVE_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'CORRUPTION',
  'DISK_FULL',
  'PERMISSION_DENIED',
  'STORE_LOCKED',
  'INVALID_ARGUMENT',
  'READ_ONLY',
  'STORE_CLOSED',
]);

/** `fs` error codes and the code annals reports them with. */
const FS_CODES: Readonly<Record<string, ErrorCode>> = {
  ENOSPC: 'DISK_FULL',
  EDQUOT: 'DISK_FULL',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  EROFS: 'PERMISSION_DENIED',
};

/** Maps an error from the native addon or from `fs` to the typed error it stands for; `context`
 * (say `open the store at /x: `) goes before its message, which names the file and the cause. */
export function toAnnalsError(err: unknown, context = ''): Error {
  if (err instanceof AnnalsError) return err;
  if (!(err instanceof Error)) return new AnnalsError('IO', `${context}${String(err)}`);
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const msg = context + err.message;
  if (code === 'ENOTDIR') return new NotAStoreError(`${msg} (a file stands where the store has a directory)`, err);
  if (FS_CODES[code] !== undefined) return errorOfCode(FS_CODES[code], msg, { cause: err });
  if (NATIVE_CODES.has(code)) {
    const position = (err as { position?: unknown }).position;
    return errorOfCode(code as ErrorCode, msg, { position: typeof position === 'number' ? position : undefined, cause: err });
  }
  return new AnnalsError('IO', msg, { cause: err });
}
