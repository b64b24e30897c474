/**
 * The HTTP API and the Stream Browser, on fastify, over the public EventStore API:
 *
 *   POST /api/streams/:id            append  { events, expectedVersion?, commandId? } → 201 AppendResult
 *   GET  /api/streams                recently written streams
 *   GET  /api/streams/:id            read a stream  ?fromVersion&direction&limit
 *   GET  /api/streams/:id/:version   one event
 *   GET  /api/commands/:id           a command's events
 *   GET  /api/all                    the global log  ?after&limit
 *   GET  /api/stats                  stats
 *   GET  /api/subscribe              Server-Sent Events  ?after&streamId, or ?from=end for new events only
 *   GET  /                           the Stream Browser (static files from browser/)
 *
 * Errors are JSON `{ error: { code, message, … } }` (http-errors.ts). With a token, every route but
 * the page and its assets needs `Authorization: Bearer <token>` or `?token=` (http-auth.ts); the
 * page is opened as `/?token=<token>`.
 */
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { InvalidArgumentError } from '../errors.js';
import type { EventStore } from '../event-store.js';
import { PACKAGE_ROOT } from '../native.js';
import type { EventData, ReadStreamOptions } from '../types.js';
import { requireToken } from './http-auth.js';
import { frameworkError, installErrorHandlers, pathRedactor, sendError } from './http-errors.js';
import { eventToJson, unwrapBytes } from './json-codec.js';

export interface ServerOptions {
  /** Required on every API request when set (a non-empty string). */
  token?: string;
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
}

const STATIC: Record<string, string> = { 'index.html': 'text/html', 'app.js': 'text/javascript', 'style.css': 'text/css' };

function num(v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : Number.NaN;
}

function expectedVersion(v: unknown): unknown {
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : (v as string | number);
}

export function createServer(store: EventStore, options: ServerOptions = {}): FastifyInstance {
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0)) {
    throw new InvalidArgumentError('token must be a non-empty string');
  }
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 17 << 20,
    forceCloseConnections: true,
    frameworkErrors: frameworkError,
    // Lenient on slashes, strict on case; the token check does not depend on either (http-auth.ts).
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  });
  installErrorHandlers(app, pathRedactor(store.directory));
  if (options.token !== undefined) requireToken(app, options.token);

  app.post('/api/streams/:id', async (req: FastifyRequest<{ Params: { id: string }; Body: unknown }>, reply) => {
    const body = (req.body ?? {}) as { events?: unknown; expectedVersion?: unknown; commandId?: string };
    const events = Array.isArray(body.events)
      ? body.events.map((e: Record<string, unknown>) =>
          e && typeof e === 'object' ? { ...e, data: unwrapBytes(e.data), metadata: unwrapBytes(e.metadata) } : e,
        )
      : body.events;
    const result = await store.append(req.params.id, events as EventData[], {
      expectedVersion: expectedVersion(body.expectedVersion) as number | undefined,
      commandId: body.commandId,
    });
    return reply.code(201).send(result);
  });

  app.get('/api/streams', async (req: FastifyRequest<{ Querystring: { limit?: string } }>) => ({
    streams: await store.recentStreams(num(req.query.limit) ?? 50),
  }));

  app.get('/api/streams/:id', async (req: FastifyRequest<{ Params: { id: string }; Querystring: Record<string, string> }>) => {
    const q = req.query;
    const opts: ReadStreamOptions = {};
    if (q.fromVersion !== undefined) opts.fromVersion = num(q.fromVersion) as number;
    if (q.limit !== undefined) opts.limit = num(q.limit) as number;
    if (q.direction !== undefined) opts.direction = q.direction as 'forward' | 'backward';
    const events = await store.readStream(req.params.id, opts);
    return { streamId: req.params.id, version: await store.streamVersion(req.params.id), events: events.map(eventToJson) };
  });

  app.get('/api/streams/:id/:version', async (req: FastifyRequest<{ Params: { id: string; version: string } }>, reply) => {
    const e = await store.readEvent(req.params.id, num(req.params.version) as number);
    if (!e) return sendError(reply, 404, 'NOT_FOUND', `no event ${req.params.id}@${req.params.version}`);
    return eventToJson(e);
  });

  app.get('/api/commands/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const events = await store.readCommand(req.params.id);
    if (!events) return sendError(reply, 404, 'NOT_FOUND', `no command ${req.params.id}`);
    return { commandId: req.params.id, events: events.map(eventToJson) };
  });

  app.get('/api/all', async (req: FastifyRequest<{ Querystring: Record<string, string> }>) => {
    const events = [];
    for await (const e of store.readAll({ after: num(req.query.after), limit: num(req.query.limit) ?? 100 })) events.push(eventToJson(e));
    return { events };
  });

  app.get('/api/stats', async () => store.stats());

  app.get('/api/subscribe', async (req: FastifyRequest<{ Querystring: Record<string, string> }>, reply: FastifyReply) => {
    const fromEnd = req.query.from === 'end';
    const sub = store.subscribe({ after: fromEnd ? undefined : num(req.query.after), fromEnd, streamId: req.query.streamId || undefined });
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    reply.raw.write(': subscribed\n\n');
    req.raw.on('close', () => sub.close());
    for await (const e of sub) {
      if (!reply.raw.write(`id: ${e.position}\ndata: ${JSON.stringify(eventToJson(e))}\n\n`)) {
        await new Promise((r) => reply.raw.once('drain', r));
      }
    }
    reply.raw.end();
  });

  const browserDir = path.join(PACKAGE_ROOT, 'browser');
  const sendStatic = (name: string, reply: FastifyReply) => {
    const type = STATIC[name];
    if (!type) return sendError(reply, 404, 'NOT_FOUND', 'no such file');
    let body: Buffer;
    try {
      body = fs.readFileSync(path.join(browserDir, name));
    } catch {
      return sendError(reply, 404, 'NOT_FOUND', 'no such file');
    }
    return reply.type(type).send(body);
  };
  // The page and its assets hold no data: the only routes served without the token.
  const config = { public: true };
  app.get('/', { config }, (_req, reply) => sendStatic('index.html', reply));
  app.get('/ui/:file', { config }, (req: FastifyRequest<{ Params: { file: string } }>, reply) => sendStatic(req.params.file, reply));
  return app;
}
