/**
 * PostgreSQL's and the client's errors as annals' typed errors, and which of them mean the
 * connection is gone (worth reconnecting) rather than a fault of the request.
 */
import { AnnalsError, DiskFullError, InvalidArgumentError, LimitExceededError, UnavailableError } from '../errors.js';

interface PgLikeError {
  code?: string;
  message?: string;
}

/** SQLSTATE classes and client codes that mean the server is (for now) out of reach. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof UnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as PgLikeError).code ?? '';
  if (code.startsWith('08')) return true; // connection exception
  if (code === '57P01' || code === '57P02' || code === '57P03') return true; // admin/crash shutdown, cannot connect now
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH', 'ENOENT'].includes(code)) return true;
  const m = err.message;
  return (
    m.includes('Connection terminated') ||
    m.includes('connection terminated') ||
    m.includes('Client has encountered a connection error') ||
    m.includes('Client was closed') ||
    m.includes('timeout exceeded when trying to connect') ||
    m.includes('the database system is')
  );
}

/** The typed error for a failed query. */
export function toStoreError(err: unknown, context: string): Error {
  if (err instanceof AnnalsError) return err;
  const e = err as PgLikeError;
  const msg = `${context}: ${e.message ?? String(err)}`;
  if (isConnectionError(err)) return new UnavailableError(msg, 'not_written', err);
  switch (e.code) {
    case '53100': // disk_full
      return new DiskFullError(msg);
    case '54000': // program_limit_exceeded (a value too large for a field or an index row)
    case '54001':
      return new LimitExceededError(msg);
    case '22021': // character_not_in_repertoire: U+0000 in text
    case '22P05':
      return new InvalidArgumentError(msg);
    default:
      return new AnnalsError('IO', msg, { cause: err });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` again while the server is out of reach, for up to `timeoutMs`; then UNAVAILABLE.
 * Other errors become the store's own (toStoreError). */
export async function retrying<T>(timeoutMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(1000, delay * 2)) {
    try {
      return await fn();
    } catch (err) {
      if (!isConnectionError(err)) throw toStoreError(err, what);
      if (Date.now() + delay > deadline) {
        throw new UnavailableError(`${what}: the database is out of reach: ${(err as Error).message}`, 'not_written', err);
      }
      await sleep(delay);
    }
  }
}
