/** The HTTP API's request/response routes over the public EventStore API (see http-api.ts). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EventStore } from '../event-store.js';
import type { EventData } from '../types.js';
import { sendError } from './http-errors.js';
import { listPage, logPage, Page, pageLimit, queryCount, streamPage } from './http-pages.js';
import { eventToJson, unwrapBytes } from './json-codec.js';

export interface PageOptions {
  maxPageSize: number;
  maxPageBytes: number;
}

/** Page size when the request gives no `limit`. */
export const DEFAULT_PAGE = 100;
/** Streams `/api/streams` lists when the request gives no `limit` (the store's own default). */
const DEFAULT_RECENT = 50;

type Query = Record<string, unknown>;

function num(v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : Number.NaN;
}

function expectedVersion(v: unknown): unknown {
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : (v as string | number);
}

function sendPage(reply: FastifyReply, body: string) {
  return reply.type('application/json; charset=utf-8').send(body);
}

export function appendRoute(app: FastifyInstance, store: EventStore): void {
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
}

/** A scavenge (lib/scavenge.ts), answered with its report once it ends; a request while one runs
 * joins it. A write like an append: with a token, it needs the token. */
export function scavengeRoute(app: FastifyInstance, store: EventStore): void {
  app.post('/api/scavenge', async () => store.scavenge());
}

export function readRoutes(app: FastifyInstance, store: EventStore, o: PageOptions): void {
  const page = (limit: unknown) => new Page(pageLimit(limit, DEFAULT_PAGE, o.maxPageSize), o.maxPageBytes);

  app.get('/api/streams', async (req: FastifyRequest<{ Querystring: Query }>) => ({
    streams: await store.recentStreams(pageLimit(req.query.limit, DEFAULT_RECENT, o.maxPageSize)),
  }));

  app.get('/api/streams/:id', async (req: FastifyRequest<{ Params: { id: string }; Querystring: Query }>, reply) => {
    const q = req.query;
    const p = page(q.limit);
    const direction = q.direction as 'forward' | 'backward' | undefined;
    const next = await streamPage(store, req.params.id, { fromVersion: num(q.fromVersion), direction }, p);
    const version = await store.streamVersion(req.params.id);
    return sendPage(reply, p.json({ streamId: req.params.id, version }, next));
  });

  app.get('/api/streams/:id/:version', async (req: FastifyRequest<{ Params: { id: string; version: string } }>, reply) => {
    const e = await store.readEvent(req.params.id, num(req.params.version) as number);
    if (!e) return sendError(reply, 404, 'NOT_FOUND', `no event ${req.params.id}@${req.params.version}`);
    return eventToJson(e);
  });

  app.get('/api/commands/:id', async (req: FastifyRequest<{ Params: { id: string }; Querystring: Query }>, reply) => {
    const p = page(req.query.limit);
    const after = queryCount('after', req.query.after);
    const events = await store.readCommand(req.params.id);
    if (!events) return sendError(reply, 404, 'NOT_FOUND', `no command ${req.params.id}`);
    return sendPage(reply, p.json({ commandId: req.params.id }, listPage(events, after, p)));
  });

  app.get('/api/all', async (req: FastifyRequest<{ Querystring: Query }>, reply) => {
    const p = page(req.query.limit);
    const next = await logPage(store, num(req.query.after), p);
    return sendPage(reply, p.json({}, next));
  });

  app.get('/api/stats', async () => store.stats());
}
