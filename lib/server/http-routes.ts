/** The HTTP API's append and stream and command read routes, each declared with its schemas (http-schemas.ts). */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ExpectedVersion } from '../errors.js';
import { InvalidArgumentError } from '../errors.js';
import type { EventStore } from '../event-store.js';
import type { EventData } from '../types.js';
import { sendError } from './http-errors.js';
import { listPage, Page, streamPage } from './http-pages.js';
import { direction, errors, limit, nonEmpty, params, position, query, ref, strictValidator } from './http-schemas.js';
import { eventToJson, unwrapBytes } from './json-codec.js';

export interface PageOptions {
  maxPageSize: number;
  maxPageBytes: number;
}

/** Page size when the request gives no `limit`. */
export const DEFAULT_PAGE = 100;

export function sendPage(reply: FastifyReply, body: string) {
  return reply.type('application/json; charset=utf-8').send(body);
}

const streamId = params({ id: nonEmpty('the stream id') });

const appendBody = {
  type: 'object',
  required: ['events'],
  additionalProperties: false,
  properties: {
    events: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['type'],
        additionalProperties: false,
        properties: { type: { type: 'string' }, data: {}, metadata: {}, id: { type: 'string' } },
      },
    },
    expectedVersion: {
      description: "a version (0: the stream must not exist), or 'any', 'no_stream', 'stream_exists'",
      anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', enum: ['any', 'no_stream', 'stream_exists'] }, { type: 'null' }],
    },
    commandId: { type: 'string' },
  },
};

const appendResult = {
  type: 'object',
  properties: {
    streamId: { type: 'string' },
    firstVersion: { type: 'integer' },
    lastVersion: { type: 'integer' },
    position: { type: 'integer' },
    positions: { type: 'array', items: { type: 'integer' } },
    duplicate: { type: 'boolean' },
  },
  additionalProperties: true,
};

export function appendRoute(app: FastifyInstance, store: EventStore): void {
  const schema = {
    summary: 'append events to a stream',
    params: streamId,
    body: appendBody,
    response: { 201: appendResult, ...errors(409, 413) },
  };
  app.post<{
    Params: { id: string };
    Body: { events: Record<string, unknown>[]; expectedVersion?: ExpectedVersion | null; commandId?: string };
  }>('/api/streams/:id', { schema, validatorCompiler: strictValidator }, async (req, reply) => {
    const { events, expectedVersion, commandId } = req.body;
    const data = events.map((e) => ({ ...e, data: unwrapBytes(e.data), metadata: unwrapBytes(e.metadata) }) as EventData);
    const result = await store.append(req.params.id, data, { expectedVersion: expectedVersion ?? undefined, commandId });
    return reply.code(201).send(result);
  });
}

const scavengeReport = {
  type: 'object',
  properties: Object.fromEntries(
    ['chunksExamined', 'chunksRewritten', 'chunksSkipped', 'eventsRemoved', 'bytesBefore', 'bytesAfter', 'bytesReclaimed', 'durationMs']
      .map((k) => [k, { type: 'integer' }] as [string, object])
      .concat([['aborted', { type: 'boolean' }]]),
  ),
};

/** A scavenge (lib/scavenge.ts), answered with its report once it ends; a request while one runs
 * joins it. A write like an append: with a token, it needs the token. */
export function scavengeRoute(app: FastifyInstance, store: EventStore): void {
  const schema = {
    summary: 'rewrites sealed chunks without the events reads no longer return (positions never change); answers when it ends',
    querystring: query({}),
    response: { 200: scavengeReport, ...errors(403) },
  };
  app.post('/api/scavenge', { schema }, async () => store.scavenge());
}

interface StreamQuery {
  before?: number;
  after?: number;
  limit?: number;
  direction?: 'forward' | 'backward';
}

/** The stream routes: one page of a stream, either cursor style, and one event. */
export function streamRoutes(app: FastifyInstance, store: EventStore, o: PageOptions): void {
  const pageOf = (n: number | undefined) => new Page(n ?? Math.min(DEFAULT_PAGE, o.maxPageSize), o.maxPageBytes);
  const streamPageSchema = {
    type: 'object',
    allOf: [ref('EventPage')],
    properties: { streamId: { type: 'string' }, version: { type: 'integer' } },
  };

  app.get<{ Params: { id: string }; Querystring: { fromVersion?: number; direction?: 'forward' | 'backward'; limit?: number } }>(
    '/api/streams/:id',
    {
      schema: {
        summary: 'one page of a stream from a version; next is the fromVersion of the following page',
        params: streamId,
        querystring: query({ fromVersion: { type: 'integer', minimum: 1 }, direction, limit: limit(o.maxPageSize, DEFAULT_PAGE) }),
        response: { 200: streamPageSchema, ...errors() },
      },
    },
    async (req, reply) => {
      const p = pageOf(req.query.limit);
      const next = await streamPage(store, req.params.id, { fromVersion: req.query.fromVersion, direction: req.query.direction }, p);
      const version = await store.streamVersion(req.params.id);
      return sendPage(reply, p.json({ streamId: req.params.id, version }, next));
    },
  );

  app.get<{ Params: { id: string }; Querystring: StreamQuery }>(
    '/api/streams/:id/events',
    {
      schema: {
        summary:
          'one page of a stream: newest first before a version (or from the end), oldest first after one; next is the before (backward) or after (forward) of the following page',
        params: streamId,
        querystring: query({
          before: { type: 'integer', minimum: 1, description: 'versions below this, newest first' },
          after: position('versions above this, oldest first'),
          direction: { ...direction, description: 'without before or after: backward from the end [default] or forward from 1' },
          limit: limit(o.maxPageSize, DEFAULT_PAGE),
        }),
        response: { 200: streamPageSchema, ...errors() },
      },
    },
    async (req, reply) => {
      const { before, after } = req.query;
      if (before !== undefined && after !== undefined) throw new InvalidArgumentError('give before or after, not both');
      const backward = before !== undefined || (after === undefined && req.query.direction !== 'forward');
      if (req.query.direction !== undefined && req.query.direction !== (backward ? 'backward' : 'forward')) {
        throw new InvalidArgumentError(`direction ${req.query.direction} contradicts ${before !== undefined ? 'before' : 'after'}`);
      }
      const p = pageOf(req.query.limit);
      const version = await store.streamVersion(req.params.id);
      const from = before !== undefined ? before - 1 : after !== undefined ? after + 1 : undefined;
      let next: number | null = null;
      if (from === undefined || (from >= 1 && (backward || from <= version))) {
        const nextFrom = await streamPage(store, req.params.id, { fromVersion: from, direction: backward ? 'backward' : 'forward' }, p);
        next = nextFrom === null ? null : backward ? nextFrom + 1 : nextFrom - 1;
      }
      return sendPage(reply, p.json({ streamId: req.params.id, version }, next));
    },
  );

  eventRoute(app, store);
}

function eventRoute(app: FastifyInstance, store: EventStore): void {
  app.get<{ Params: { id: string; version: number } }>(
    '/api/streams/:id/:version',
    {
      schema: {
        summary: 'one event',
        params: params({ id: nonEmpty('the stream id'), version: { type: 'integer', minimum: 1 } }),
        response: { 200: ref('Event'), ...errors(404) },
      },
    },
    async (req, reply) => {
      const e = await store.readEvent(req.params.id, req.params.version);
      if (!e) return sendError(reply, 404, 'NOT_FOUND', `no event ${req.params.id}@${req.params.version}`);
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(eventToJson(e)));
    },
  );
}

export function commandRoute(app: FastifyInstance, store: EventStore, o: PageOptions): void {
  app.get<{ Params: { id: string }; Querystring: { after?: number; limit?: number } }>(
    '/api/commands/:id',
    {
      schema: {
        summary: "one page of a command's events after a position; next is the after of the following page",
        params: params({ id: nonEmpty('the command id') }),
        querystring: query({ after: position('only events after this position'), limit: limit(o.maxPageSize, DEFAULT_PAGE) }),
        response: { 200: { type: 'object', allOf: [ref('EventPage')], properties: { commandId: { type: 'string' } } }, ...errors(404) },
      },
    },
    async (req, reply) => {
      const p = new Page(req.query.limit ?? Math.min(DEFAULT_PAGE, o.maxPageSize), o.maxPageBytes);
      const events = await store.readCommand(req.params.id);
      if (!events) return sendError(reply, 404, 'NOT_FOUND', `no command ${req.params.id}`);
      return sendPage(reply, p.json({ commandId: req.params.id }, listPage(events, req.query.after, p)));
    },
  );
}
