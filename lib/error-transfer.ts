/**
 * An error thrown in a worker thread, sent to the thread that asked for the work and thrown there
 * as the same typed error: an AnnalsError keeps its class (by its code), message, `fatal` and a
 * CorruptionError its position; another error becomes an Error with its name, message and code.
 */
import { AnnalsError, type ErrorCode, errorOfCode } from './errors.js';

/** What postMessage carries of an error (structured-clone safe). */
export interface ErrorParts {
  name: string;
  message: string;
  /** An AnnalsError's code, or an fs error's (ENOENT and the like). */
  code?: string;
  annals: boolean;
  fatal?: boolean;
  position?: number;
}

export function errorParts(err: unknown): ErrorParts {
  if (err instanceof AnnalsError) {
    const position = (err as { position?: unknown }).position;
    return {
      name: err.name,
      message: err.message,
      code: err.code,
      annals: true,
      fatal: err.fatal,
      ...(typeof position === 'number' ? { position } : {}),
    };
  }
  const e = err as { name?: unknown; message?: unknown; code?: unknown } | undefined;
  return {
    name: String(e?.name ?? 'Error'),
    message: String(e?.message ?? err),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    annals: false,
  };
}

export function errorFromParts(p: ErrorParts): Error {
  if (p.annals) return errorOfCode(p.code as ErrorCode, p.message, { fatal: p.fatal ?? false, position: p.position });
  const e = new Error(p.message) as Error & { code?: string };
  e.name = p.name;
  if (p.code !== undefined) e.code = p.code;
  return e;
}
