/**
 * The token check. It is decided on the route the router matched, not on the URL as sent: the
 * router decodes `%XX`, may drop duplicate or trailing slashes, and a prefix test on the raw URL
 * let `/%61pi/all` through. Deny by default: only routes declared with `config: { public: true }`
 * (the Stream Browser's static assets, which hold no data) are served without the token; every
 * other route, the page itself and the not-found handler need it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from './http-errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without the token. */
    public?: boolean;
  }
}

// Both sides hashed: equal-length buffers for timingSafeEqual, and the time taken says nothing
// about the token's length either.
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The tokens a request presents: `Authorization: Bearer <token>` and a single `?token=`. */
function presented(req: FastifyRequest): string[] {
  const out: string[] = [];
  const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  if (m?.[1]) out.push(m[1]);
  // EventSource cannot set headers: the page passes the token in the query. A repeated parameter
  // parses to an array and counts as no token.
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  if (typeof q === 'string' && q.length > 0) out.push(q);
  return out;
}

export function requireToken(app: FastifyInstance, token: string): void {
  const expected = digest(token);
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.config?.public === true) return;
    let ok = false;
    for (const t of presented(req)) ok = timingSafeEqual(digest(t), expected) || ok;
    if (ok) return;
    reply.header('www-authenticate', 'Bearer');
    return sendError(reply, 401, 'UNAUTHORIZED', 'a valid token is required: Authorization: Bearer <token> or ?token=<token>');
  });
}
