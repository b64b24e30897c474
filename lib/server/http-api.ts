/**
 * The HTTP API and the Stream Browser, on fastify, over the public EventStore API:
 *
 *   POST /api/streams/:id                 append  { events, expectedVersion?, commandId? } → 201 AppendResult
 *   GET  /api/streams                     every stream, by id, one page  ?prefix&after&limit → { streams, next }
 *   GET  /api/streams/:id                 a stream, one page  ?fromVersion&direction&limit → { …, events, next }
 *   GET  /api/streams/:id/events          a stream, one page  ?before|after&direction&limit → { …, events, next }
 *   GET  /api/streams/:id/:version        one event
 *   GET  /api/commands/:id                a command's events, one page  ?after&limit
 *   GET  /api/categories/:category/events     a category's events, one page  ?after&limit&direction
 *   GET  /api/types/:type/events          one type's events, one page  ?after&limit&direction
 *   GET  /api/all                         the global log, one page  ?after&limit&streamPrefix&category&types
 *   GET  /api/consumers                   durable consumers with position and lag
 *   POST /api/consumers/:name/reset       { position }
 *   GET  /api/stats, /api/stats/history   stats, and activity over the last minutes (http-stats.ts)
 *   POST /api/scavenge                  scavenge the store → ScavengeReport (when it ends)
 *   GET  /api/subscribe                   Server-Sent Events  ?after&streamId, or ?from=end for new events only
 *   GET  /api/openapi.json                the OpenAPI document of all of the above
 *   GET  /                                the Stream Browser (static files from browser/)
 *
 * Every route declares its query, parameters, body and responses as JSON schemas (http-schemas.ts):
 * fastify validates requests with them and the OpenAPI document is generated from them. Errors
 * are JSON `{ error: { code, message, … } }` (http-errors.ts), a failed validation a 400
 * INVALID_ARGUMENT. With a token, every route but the page's assets needs `Authorization: Bearer
 * <token>` or `?token=` (http-auth.ts). Every response is bounded: lists by page (http-pages.ts),
 * subscribers in number and in what each buffers (http-sse.ts), the stats history by its ring.
 */
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { InvalidArgumentError } from '../errors.js';
import type { EventStore } from '../event-store.js';
import { PACKAGE_ROOT } from '../native.js';
import { requireToken } from './http-auth.js';
import { frameworkError, installErrorHandlers, pathRedactor, sendError } from './http-errors.js';
import { openApi } from './http-openapi.js';
import { readModelRoutes } from './http-read-models.js';
import { appendRoute, commandRoute, scavengeRoute, streamRoutes } from './http-routes.js';
import { addSharedSchemas, params } from './http-schemas.js';
import { subscribeRoute } from './http-sse.js';
import { ActivitySampler, statsRoutes } from './http-stats.js';

export interface ServerOptions {
  /** Required on every API request when set (a non-empty string). */
  token?: string;
  /** Largest request body accepted, in bytes [17 MiB]. */
  bodyLimit?: number;
  /** Largest `limit` a list request may ask for; more is a 400 INVALID_ARGUMENT [1000]. */
  maxPageSize?: number;
  /** A page ends once its events' JSON reaches this many bytes (it holds at least one event) [4 MiB]. */
  maxPageBytes?: number;
  /** Server-Sent Events subscribers served at once; more get 503 LIMIT_EXCEEDED [64]. */
  maxSubscribers?: number;
  /** Unsent bytes one subscriber's connection may hold before its send loop waits for the client
   * (at least the socket's own high-water mark, 16 KiB) [256 KiB]. */
  subscriberBufferBytes?: number;
}

export const SERVER_DEFAULTS = {
  bodyLimit: 17 << 20,
  maxPageSize: 1000,
  maxPageBytes: 4 << 20,
  maxSubscribers: 64,
  subscriberBufferBytes: 256 << 10,
} as const;

type Resolved = { token?: string } & { -readonly [K in keyof typeof SERVER_DEFAULTS]: number };

function resolveServerOptions(options: ServerOptions): Resolved {
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0)) {
    throw new InvalidArgumentError('token must be a non-empty string');
  }
  const out: Resolved = { ...SERVER_DEFAULTS, token: options.token };
  for (const key of Object.keys(SERVER_DEFAULTS) as (keyof typeof SERVER_DEFAULTS)[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`${key} must be a positive integer, got ${String(v)}`);
    out[key] = v;
  }
  return out;
}

const STATIC: Record<string, string> = {
  'index.html': 'text/html',
  'app.js': 'text/javascript',
  'ui.js': 'text/javascript',
  'views.js': 'text/javascript',
  'reads.js': 'text/javascript',
  'stats.js': 'text/javascript',
  'style.css': 'text/css',
};

function staticRoutes(app: FastifyInstance): void {
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
  // The page's assets are the package's own static code, holding no data: the only route served
  // without the token. The page itself needs it (`/?token=`), so that a server reachable by others
  // shows them nothing of the store, not even that a Stream Browser runs there.
  app.get('/', { schema: { hide: true } }, (_req, reply) => sendStatic('index.html', reply));
  const config = { public: true };
  const schema = { hide: true, params: params({ file: { type: 'string' } }) };
  app.get<{ Params: { file: string } }>('/ui/:file', { config, schema }, (req, reply) => sendStatic(req.params.file, reply));
}

export function createServer(store: EventStore, options: ServerOptions = {}): FastifyInstance {
  const o = resolveServerOptions(options);
  const app = Fastify({
    bodyLimit: o.bodyLimit,
    forceCloseConnections: true,
    frameworkErrors: frameworkError,
    // Lenient on slashes, strict on case; the token check does not depend on either (http-auth.ts).
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    // Unknown fields are refused, not dropped; query strings are coerced to the schema's types
    // (`?types=A` is a list of one).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });
  const redact = pathRedactor(store.directory);
  installErrorHandlers(app, redact);
  if (o.token !== undefined) requireToken(app, o.token);
  addSharedSchemas(app);
  const sampler = new ActivitySampler(store);
  app.addHook('onReady', async () => sampler.start());
  app.addHook('onClose', async () => sampler.stop());
  // The routes go in a plugin registered after the OpenAPI one, so that it sees each of them.
  openApi(app);
  app.register(async (api) => {
    appendRoute(api, store);
    scavengeRoute(api, store);
    streamRoutes(api, store, o);
    commandRoute(api, store, o);
    readModelRoutes(api, store, o);
    statsRoutes(api, store, sampler);
    subscribeRoute(api, store, o, redact);
    staticRoutes(api);
  });
  return app;
}
