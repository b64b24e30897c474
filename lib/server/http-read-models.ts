/**
 * The HTTP API's read-model routes: every stream (listStreams, paged by id), a category's and an
 * event type's events (readCategory, readByType), the global log through a filter (readAll), and
 * the durable consumers with their lag (listConsumers, resetConsumer). Each page holds at most
 * `limit` events and about `maxPageBytes` of JSON, and `next` is the cursor of the page after it.
 */
import type { FastifyInstance } from 'fastify';
import type { EventFilter } from '../event-filter.js';
import type { EventStore } from '../event-store.js';
import type { RecordedEvent } from '../types.js';
import { Page } from './http-pages.js';
import { DEFAULT_PAGE, type PageOptions, sendPage } from './http-routes.js';
import { direction, errors, limit, list, nonEmpty, params, position, query, ref, strictValidator } from './http-schemas.js';

/** The most streams listStreams gives in one page. */
const MAX_LIST_PAGE = 1000;

/** Fills `page` from `events` (asked for one more than the page); `next` is the last position on it when more follow. */
async function fill(events: AsyncIterable<RecordedEvent>, page: Page): Promise<number | null> {
  let last: number | null = null;
  for await (const e of events) {
    if (page.full) return last;
    page.add(e);
    last = e.position;
  }
  return null;
}

interface ViewQuery {
  after?: number;
  limit?: number;
  direction?: 'forward' | 'backward';
}

function viewRoute(
  app: FastifyInstance,
  o: PageOptions,
  what: 'category' | 'type',
  read: (name: string, q: ViewQuery) => AsyncIterable<RecordedEvent>,
) {
  const url = what === 'category' ? '/api/categories/:category/events' : '/api/types/:type/events';
  app.get<{ Params: Record<string, string>; Querystring: ViewQuery }>(
    url,
    {
      schema: {
        summary:
          what === 'category'
            ? "one page of a category's events (streams whose id starts with <category>-), in global order; next is the after of the following page"
            : 'one page of the events of one type, in global order; next is the after of the following page',
        params: params({ [what]: nonEmpty(what === 'category' ? 'the category: a stream id before its first -' : 'the event type') }),
        querystring: query({
          after: position('only events after this position (backward: before it)'),
          limit: limit(o.maxPageSize, DEFAULT_PAGE),
          direction,
        }),
        response: { 200: { type: 'object', allOf: [ref('EventPage')], properties: { [what]: { type: 'string' } } }, ...errors() },
      },
    },
    async (req, reply) => {
      const p = new Page(req.query.limit ?? Math.min(DEFAULT_PAGE, o.maxPageSize), o.maxPageBytes);
      const name = req.params[what] as string;
      const events = read(name, { after: req.query.after, direction: req.query.direction, limit: p.limit + 1 });
      const next = await fill(events, p);
      return sendPage(reply, p.json({ [what]: name }, next));
    },
  );
}

interface AllQuery {
  after?: number;
  limit?: number;
  streamPrefix?: string[];
  category?: string[];
  types?: string[];
}

export function readModelRoutes(app: FastifyInstance, store: EventStore, o: PageOptions): void {
  const listMax = Math.min(o.maxPageSize, MAX_LIST_PAGE);
  app.get<{ Querystring: { prefix?: string; after?: string; limit?: number } }>(
    '/api/streams',
    {
      schema: {
        summary: 'every stream the store holds, in byte order of the id, one page at a time; next is the after of the following page',
        querystring: query({
          prefix: { type: 'string', description: 'only ids starting with this' },
          after: { type: 'string', description: 'only ids after this one (the next of the page before)' },
          limit: limit(listMax, DEFAULT_PAGE),
        }),
        response: {
          200: {
            type: 'object',
            required: ['streams', 'next'],
            properties: { streams: { type: 'array', items: ref('StreamInfo') }, next: { type: ['string', 'null'] } },
          },
          ...errors(),
        },
      },
    },
    async (req) => {
      const { prefix, after } = req.query;
      const r = await store.listStreams({
        prefix: prefix || undefined,
        after: after || undefined,
        limit: req.query.limit ?? Math.min(DEFAULT_PAGE, listMax),
      });
      return { streams: r.streams, next: r.next ?? null };
    },
  );

  viewRoute(app, o, 'category', (name, q) => store.readCategory(name, q));
  viewRoute(app, o, 'type', (name, q) => store.readByType(name, q));

  app.get<{ Querystring: AllQuery }>(
    '/api/all',
    {
      schema: {
        summary:
          'one page of the global log after a position, through an optional filter (fields AND, repeated values OR); next is the after of the following page',
        querystring: query({
          after: position('only events after this position'),
          limit: limit(o.maxPageSize, DEFAULT_PAGE),
          streamPrefix: list('stream ids starting with (one of) these'),
          category: list('streams of (one of) these categories'),
          types: list('events of (one of) these types'),
        }),
        response: { 200: ref('EventPage'), ...errors() },
      },
    },
    async (req, reply) => {
      const { after, streamPrefix, category, types } = req.query;
      const filter: EventFilter = {};
      if (streamPrefix) filter.streamPrefix = streamPrefix;
      if (category) filter.category = category;
      if (types) filter.types = types;
      const p = new Page(req.query.limit ?? Math.min(DEFAULT_PAGE, o.maxPageSize), o.maxPageBytes);
      const filtered = Object.keys(filter).length > 0;
      const next = await fill(store.readAll({ after, limit: p.limit + 1, ...(filtered ? { filter } : {}) }), p);
      return sendPage(reply, p.json({}, next));
    },
  );

  consumerRoutes(app, store);
}

function consumerRoutes(app: FastifyInstance, store: EventStore): void {
  app.get(
    '/api/consumers',
    {
      schema: {
        summary: 'every durable consumer with its position and lag (events its filter passes after its position)',
        querystring: query({}),
        response: {
          200: { type: 'object', required: ['consumers'], properties: { consumers: { type: 'array', items: ref('ConsumerInfo') } } },
          ...errors(),
        },
      },
    },
    async () => ({ consumers: await store.listConsumers() }),
  );

  app.post<{ Params: { name: string }; Body: { position: number } }>(
    '/api/consumers/:name/reset',
    {
      schema: {
        summary: "moves a durable consumer's checkpoint: it resumes after position (0: from the start)",
        params: params({ name: nonEmpty('the consumer name') }),
        body: {
          type: 'object',
          required: ['position'],
          additionalProperties: false,
          properties: { position: position('an event position, or 0') },
        },
        response: { 200: { type: 'object', properties: { name: { type: 'string' }, position: { type: 'integer' } } }, ...errors(403, 409) },
      },
      validatorCompiler: strictValidator,
    },
    async (req) => {
      await store.resetConsumer(req.params.name, req.body.position);
      return { name: req.params.name, position: req.body.position };
    },
  );
}
