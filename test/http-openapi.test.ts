/** The OpenAPI document: every API route in it, with its parameters and responses, and every $ref resolving. */
import SwaggerParser from '@apidevtools/swagger-parser';
import type { RouteOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createServer } from '../lib/server/http-api.js';
import { openStore, tempDir } from './helpers.js';

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<
    string,
    Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, unknown>; requestBody?: unknown }>
  >;
  components: { schemas: Record<string, unknown> };
};

/** Every `$ref` in `node`, with where it was found. */
function refs(node: unknown, at = '#', out: [string, string][] = []): [string, string][] {
  if (Array.isArray(node)) {
    for (const [i, v] of node.entries()) refs(v, `${at}/${i}`, out);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push([at, v]);
      else refs(v, `${at}/${k}`, out);
    }
  }
  return out;
}

function resolve(doc: unknown, pointer: string): unknown {
  if (!pointer.startsWith('#/')) return undefined;
  let v: unknown = doc;
  for (const part of pointer.slice(2).split('/'))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return v;
}

describe('OpenAPI document', () => {
  it('lists every API route with its parameters and responses, and every $ref resolves', async () => {
    const store = await openStore(tempDir(), 'js');
    const app = createServer(store, { token: 't' });
    const routes: { method: string; url: string }[] = [];
    app.addHook('onRoute', (r: RouteOptions) => {
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      for (const m of methods) if (m !== 'HEAD' && r.url.startsWith('/api/')) routes.push({ method: m.toLowerCase(), url: r.url });
    });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect((await fetch(`${base}/api/openapi.json`)).status).toBe(401);
      const res = await fetch(`${base}/api/openapi.json`, { headers: { authorization: 'Bearer t' } });
      expect(res.status).toBe(200);
      const doc = (await res.json()) as Doc;
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.info.title).toBe('annals HTTP API');
      expect(routes.length).toBeGreaterThanOrEqual(14);
      for (const { method, url } of routes) {
        const path = url.replace(/:(\w+)/g, '{$1}');
        const op = doc.paths[path]?.[method];
        expect(op, `${method} ${path}`).toBeDefined();
        expect(Object.keys(op?.responses ?? {}), `${method} ${path}`).toEqual(expect.arrayContaining(['400', '401']));
        for (const name of url.match(/:(\w+)/g) ?? []) {
          expect(
            op?.parameters?.some((p) => p.in === 'path' && p.name === name.slice(1)),
            `${path} ${name}`,
          ).toBe(true);
        }
      }
      for (const path of [
        '/api/streams',
        '/api/streams/{id}/events',
        '/api/categories/{category}/events',
        '/api/types/{type}/events',
        '/api/all',
        '/api/consumers',
        '/api/consumers/{name}/reset',
        '/api/stats',
        '/api/stats/history',
      ]) {
        expect(doc.paths[path], path).toBeDefined();
      }
      const all = doc.paths['/api/all']?.get?.parameters?.map((p) => p.name);
      expect(all).toEqual(expect.arrayContaining(['after', 'limit', 'streamPrefix', 'category', 'types']));
      expect(doc.paths['/api/consumers/{name}/reset']?.post?.requestBody).toBeDefined();
      expect(Object.keys(doc.components.schemas)).toEqual(
        expect.arrayContaining(['Event', 'EventPage', 'StreamInfo', 'ConsumerInfo', 'Error']),
      );
      const found = refs(doc);
      expect(found.length).toBeGreaterThan(10);
      for (const [at, ref] of found) expect(resolve(doc, ref), `${ref} at ${at}`).toBeDefined();
      // Valid against the OpenAPI 3.1 schema, every $ref dereferenced by a validator of its own.
      await SwaggerParser.validate(structuredClone(doc) as never);
      // The page and its assets are not API routes.
      expect(doc.paths['/']).toBeUndefined();
      expect(Object.keys(doc.paths).some((p) => p.startsWith('/ui'))).toBe(false);
    } finally {
      await app.close();
    }
  });
});
