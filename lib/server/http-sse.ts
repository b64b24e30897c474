/**
 * `GET /api/subscribe`: Server-Sent Events, one event per message. A subscription pulls from the
 * store's log without waiting on I/O, so a send loop that only waited for a full socket would run
 * a whole catch-up in one turn of the event loop and keep every other client waiting. The loop
 * below hands the event loop back every few events, waits for the socket to drain once this
 * connection holds `subscriberBufferBytes` unsent, and lets go of the subscription as soon as the
 * client leaves, whatever it was waiting for. At most `maxSubscribers` run at once.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AnnalsError } from '../errors.js';
import type { EventFilter } from '../event-filter.js';
import type { EventStore } from '../event-store.js';
import type { Subscription } from '../subscription.js';
import { sendError } from './http-errors.js';
import { errors, list, position, query } from './http-schemas.js';
import { eventToJson } from './json-codec.js';

export interface SubscriberOptions {
  maxSubscribers: number;
  subscriberBufferBytes: number;
}

/** Events, or bytes, sent before the loop gives other work a turn. */
const YIELD_EVENTS = 64;
const YIELD_BYTES = 64 << 10;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves on 'drain', or on 'close' when the client is gone. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function errorMessage(err: unknown, redact: (m: string) => string): string {
  const error =
    err instanceof AnnalsError ? { code: err.code, message: redact(err.message) } : { code: 'IO', message: 'internal server error' };
  return `event: error\ndata: ${JSON.stringify({ error })}\n\n`;
}

async function pump(sub: Subscription, res: ServerResponse, o: SubscriberOptions, redact: (m: string) => string): Promise<void> {
  let gone = false;
  const leave = () => {
    gone = true;
    sub.close();
  };
  res.once('close', leave);
  // A failed write means the client is gone too; without a listener it would be thrown.
  res.on('error', leave);
  try {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': subscribed\n\n');
    let events = 0;
    let bytes = 0;
    for await (const e of sub) {
      if (gone) break;
      const message = `id: ${e.position}\ndata: ${JSON.stringify(eventToJson(e))}\n\n`;
      // write() turns false past the socket's high-water mark; the loop goes on until this
      // connection holds subscriberBufferBytes (a 'drain' is then due, as that write was refused).
      const accepted = res.write(message);
      events++;
      bytes += message.length;
      if (!accepted && res.writableLength >= o.subscriberBufferBytes) await drainedOrClosed(res);
      else if (events < YIELD_EVENTS && bytes < YIELD_BYTES) continue;
      else await nextTurn();
      events = 0;
      bytes = 0;
      if (gone) break;
    }
  } catch (err) {
    if (!gone) res.write(errorMessage(err, redact));
  } finally {
    res.off('close', leave);
    res.off('error', leave);
    sub.close();
    if (!gone) res.end();
  }
}

interface SubscribeQuery {
  after?: number;
  from?: 'end';
  streamId?: string;
  streamPrefix?: string[];
  category?: string[];
  types?: string[];
}

export function subscribeRoute(app: FastifyInstance, store: EventStore, o: SubscriberOptions, redact: (m: string) => string): void {
  let active = 0;
  const schema = {
    summary: 'Server-Sent Events: each event as a message (id: its position), catching up after a position, then live',
    querystring: query({
      after: position('only events after this position'),
      from: { type: 'string', enum: ['end'], description: 'end: only events appended from now on' },
      streamId: { type: 'string', description: 'one stream only' },
      streamPrefix: list('global log filter: stream ids starting with (one of) these'),
      category: list('global log filter: (one of) these categories'),
      types: list('global log filter: (one of) these event types'),
    }),
    response: { 200: { description: 'text/event-stream', type: 'string' }, ...errors(503) },
  };
  app.get('/api/subscribe', { schema }, async (req: FastifyRequest<{ Querystring: SubscribeQuery }>, reply: FastifyReply) => {
    if (active >= o.maxSubscribers) {
      reply.header('retry-after', '5');
      return sendError(reply, 503, 'LIMIT_EXCEEDED', `the server takes at most ${o.maxSubscribers} subscribers at once; try again later`);
    }
    const { after, streamPrefix, category, types } = req.query;
    const filter: EventFilter = {};
    if (streamPrefix) filter.streamPrefix = streamPrefix;
    if (category) filter.category = category;
    if (types) filter.types = types;
    const options = { after, fromEnd: req.query.from === 'end', streamId: req.query.streamId || undefined };
    // Bad options throw here, before anything is sent: a 400 like any other request.
    const sub = store.subscribe(Object.keys(filter).length > 0 ? { ...options, filter } : options);
    active++;
    reply.hijack();
    try {
      await pump(sub, reply.raw, o, redact);
    } finally {
      active--;
    }
  });
}
