/** Shared by the HTTP API tests: a listening server, raw requests, and subscriptions the test can watch. */
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterEach, vi } from 'vitest';
import type { EventStore, RecordedEvent } from '../lib/index.js';
import { createServer, type ServerOptions } from '../lib/server/http-api.js';
import type { Subscription } from '../lib/subscription.js';

const servers: FastifyInstance[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

export async function serve(store: EventStore, options: ServerOptions = {}): Promise<string> {
  const app = createServer(store, options);
  servers.push(app);
  return app.listen({ port: 0, host: '127.0.0.1' });
}

export async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A request with the path sent exactly as given (fetch would normalize dot segments and the like).
 * An event stream is cut after its first bytes.
 */
export function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
          req.destroy();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface Watched {
  /** Events each subscription handed out so far, in the order the subscriptions were opened. */
  pulled: number[];
  /** Subscriptions whose iteration has finished (the server let go of them). */
  ended: number;
}

/** Counts, on the server side, what every subscription of `store` yields and when it is let go. */
export function watchSubscriptions(store: EventStore): Watched {
  const watched: Watched = { pulled: [], ended: 0 };
  const subscribe = store.subscribe.bind(store);
  vi.spyOn(store, 'subscribe').mockImplementation((options) => {
    const sub = subscribe(options);
    const slot = watched.pulled.push(0) - 1;
    async function* run(): AsyncGenerator<RecordedEvent> {
      try {
        for await (const e of sub) {
          watched.pulled[slot] = (watched.pulled[slot] ?? 0) + 1;
          yield e;
        }
      } finally {
        watched.ended++;
      }
    }
    const watchedSub: Subscription = { close: () => sub.close(), [Symbol.asyncIterator]: run };
    return watchedSub;
  });
  return watched;
}

/** Waits until `read()` gives the same value twice `ms` apart (at most `tries` times). */
export async function settled(read: () => number, ms = 150, tries = 100): Promise<number> {
  let last = read();
  for (let i = 0; i < tries; i++) {
    await new Promise((r) => setTimeout(r, ms));
    const now = read();
    if (now === last) return now;
    last = now;
  }
  throw new Error(`still moving after ${tries} polls: ${last}`);
}
