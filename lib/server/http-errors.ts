/**
 * Every error the HTTP API sends is JSON `{ error: { code, message, … } }`: the store's typed
 * errors with a status chosen by their code, fastify's own (bad JSON, body too large, unknown
 * route) mapped to the same shape. Messages never carry a server file path: a store message that
 * names a file of the store names it relative to `<store>`, and an untyped server error says only
 * that it failed.
 */
import path from 'node:path';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AnnalsError, type ErrorCode } from '../errors.js';
import { PACKAGE_ROOT } from '../native.js';

/** Every code has its status (the Record is exhaustive over ErrorCode). */
const STATUS: Record<ErrorCode, number> = {
  WRONG_EXPECTED_VERSION: 409,
  DUPLICATE_COMMAND: 409,
  CONSUMER_BUSY: 409,
  STREAM_DELETED: 410,
  UNAVAILABLE: 503,
  ENGINE_UNAVAILABLE: 500,
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

/** What ajv reports of a request that does not match its route's schema. */
interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

const PART: Record<string, string> = { querystring: 'query', params: 'path', body: 'body', headers: 'header' };

/** The value a request sent at `instancePath` of one of its parts, as sent (before coercion). */
function sentValue(req: FastifyRequest, context: string | undefined, instancePath: string): unknown {
  const parts: Record<string, unknown> = { querystring: req.query, params: req.params, body: req.body, headers: req.headers };
  let v = parts[context ?? ''];
  for (const key of instancePath.split('/').slice(1)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** One sentence naming the field, what it must be and what was sent, with its type. */
export function validationMessage(issues: ValidationIssue[], context: string | undefined, req: FastifyRequest): string {
  const issue = issues[0];
  const part = PART[context ?? ''] ?? context ?? 'request';
  if (!issue) return `the ${part} is not valid`;
  const field = issue.instancePath.split('/').slice(1).join('.');
  if (issue.keyword === 'additionalProperty' || issue.keyword === 'additionalProperties') {
    const extra = String(issue.params.additionalProperty);
    return `unknown ${part} field '${extra}'${field ? ` in ${field}` : ''}`;
  }
  if (issue.keyword === 'required') return `${part} field '${[field, issue.params.missingProperty].filter(Boolean).join('.')}' is required`;
  const v = sentValue(req, context, issue.instancePath);
  const shown = v === undefined ? 'nothing' : `${Array.isArray(v) ? 'array' : typeof v} ${JSON.stringify(v)?.slice(0, 60)}`;
  return `${part} field '${field || '(the whole)'}' ${issue.message ?? 'is not valid'}, got ${shown}`;
}

/** Fastify's `frameworkErrors`: a URL the router cannot take, before any route or hook runs. */
export function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') void sendError(reply, 414, 'LIMIT_EXCEEDED', 'a path parameter is too long');
  else if (err.code === 'FST_ERR_BAD_URL') void sendError(reply, 400, 'INVALID_ARGUMENT', 'the URL is not valid (bad percent-encoding)');
  else void sendError(reply, 500, 'IO', 'internal server error');
}

export function installErrorHandlers(app: FastifyInstance, redact: (message: string) => string): void {
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: ValidationIssue[]; validationContext?: string }, req, reply) => {
    if (err.validation)
      return sendError(reply, 400, 'INVALID_ARGUMENT', redact(validationMessage(err.validation, err.validationContext, req)));
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
