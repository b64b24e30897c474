/**
 * Every error the HTTP API sends is JSON `{ error: { code, message, … } }`: the store's typed
 * errors with a status chosen by their code, fastify's own (bad JSON, body too large, unknown
 * route) mapped to the same shape. Messages never carry a server file path: a store message that
 * names a file of the store names it relative to `<store>`, and an untyped server error says only
 * that it failed.
 */
import path from 'node:path';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AnnalsError } from '../errors.js';
import { PACKAGE_ROOT } from '../native.js';

const STATUS: Record<string, number> = {
  WRONG_EXPECTED_VERSION: 409,
  DUPLICATE_COMMAND: 409,
  INVALID_ARGUMENT: 400,
  LIMIT_EXCEEDED: 413,
  READ_ONLY: 403,
  STORE_CLOSED: 503,
  STORE_LOCKED: 503,
  DISK_FULL: 507,
  CORRUPTION: 500,
  IO: 500,
  PERMISSION_DENIED: 500,
  NOT_A_STORE: 500,
};

/** Codes only the HTTP API sends, besides the store's: 401 `UNAUTHORIZED`, 404 `NOT_FOUND`. */
export type HttpErrorCode = 'UNAUTHORIZED' | 'NOT_FOUND';

export function sendError(reply: FastifyReply, status: number, code: string, message: string, details: Record<string, unknown> = {}) {
  return reply.code(status).send({ error: { ...details, code, message } });
}

/** Replaces the store directory and the package's own directory in a message. */
export function pathRedactor(storeDir: string): (message: string) => string {
  const roots: [string, string][] = [
    [path.resolve(storeDir), '<store>'],
    [PACKAGE_ROOT, '<server>'],
  ];
  if (!path.isAbsolute(storeDir)) roots.push([`${storeDir}${path.sep}`, `<store>${path.sep}`]);
  roots.sort((a, b) => b[0].length - a[0].length);
  return (message) => roots.reduce((m, [root, name]) => (root.length > 1 ? m.split(root).join(name) : m), message);
}

/** Fastify's `frameworkErrors`: a URL the router cannot take, before any route or hook runs. */
export function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') void sendError(reply, 414, 'LIMIT_EXCEEDED', 'a path parameter is too long');
  else if (err.code === 'FST_ERR_BAD_URL') void sendError(reply, 400, 'INVALID_ARGUMENT', 'the URL is not valid (bad percent-encoding)');
  else void sendError(reply, 500, 'IO', 'internal server error');
}

export function installErrorHandlers(app: FastifyInstance, redact: (message: string) => string): void {
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof AnnalsError) {
      // `cause` stays out: an fs error's own fields include its path.
      const { name: _n, message, stack: _s, cause: _c, ...details } = err as AnnalsError & Record<string, unknown>;
      return sendError(reply, STATUS[err.code] ?? 500, err.code, redact(message), details);
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) return sendError(reply, status, 'IO', 'internal server error');
    return sendError(reply, status, status === 413 ? 'LIMIT_EXCEEDED' : 'INVALID_ARGUMENT', redact(err.message));
  });
}
