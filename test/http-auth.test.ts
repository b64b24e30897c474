import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { AnnalsError, NotAStoreError, PermissionDeniedError } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';
import { raw, serve } from './http-helpers.js';

const TOKEN = 's3cret-token';
const BEARER = { authorization: `Bearer ${TOKEN}` };

// Paths that name an API route in a way a check on the raw URL would miss, each with the status it
// gets with the token. The router decodes %XX, drops duplicate and trailing slashes, and is case
// sensitive; the token is checked on the route that runs, and an unknown route needs it too.
const VARIANTS: [method: string, path: string, withToken: number][] = [
  ['GET', '/%61pi/all', 200],
  ['GET', '/a%70i/all?limit=5', 200],
  ['GET', '/%61%70%69/stats', 200],
  ['GET', '/api/%73tats', 200],
  ['GET', '/%61pi/streams/x', 200],
  ['GET', '/%61pi/streams/x/1', 200],
  ['GET', '/%61pi/commands/c1', 200],
  ['GET', '/a%70i/subscribe', 200],
  ['GET', '//api/all', 200],
  ['GET', '/api//all', 200],
  ['GET', '//api//stats//', 200],
  ['GET', '/api/all/', 200],
  ['GET', '/api/stats/', 200],
  ['POST', '/%61pi/scavenge', 200],
  ['POST', '/api/scavenge', 200],
  ['HEAD', '/api/stats', 200],
  ['HEAD', '/%61pi/stats', 200],
  ['GET', '/API/all', 404],
  ['GET', '/Api/stats', 404],
  ['GET', '/api/ALL', 404],
  ['GET', '/%2561pi/all', 404],
  ['GET', '/api/./all', 404],
  ['GET', '/ui/../api/all', 404],
  ['GET', '/api/all;x', 404],
  ['GET', '/nope', 404],
  ['GET', '/api/nope', 404],
  ['OPTIONS', '/api/all', 404],
  ['DELETE', '/api/streams/x', 404],
];

describe.each(ENGINES)('HTTP API token (%s engine)', (engine) => {
  it('refuses every spelling of an API route, and any unknown route, without the token', async () => {
    const store = await openStore(tempDir(), engine);
    await store.append('x', [{ type: 'T' }], { commandId: 'c1' });
    const base = await serve(store, { token: TOKEN });
    for (const [method, p, withToken] of VARIANTS) {
      const without = await raw(base, method, p);
      expect(without.status, `${method} ${p} without the token`).toBe(401);
      expect(without.headers['www-authenticate'], `${method} ${p}`).toBe('Bearer');
      if (method !== 'HEAD')
        expect(JSON.parse(without.body), `${method} ${p}`).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
      const wrong = await raw(base, method, p, { authorization: 'Bearer s3cret-tokeN' });
      expect(wrong.status, `${method} ${p} with a wrong token`).toBe(401);
      const withBearer = await raw(base, method, p, BEARER);
      expect(withBearer.status, `${method} ${p} with the token`).toBe(withToken);
      if (withToken === 404) expect(JSON.parse(withBearer.body).error.code, `${method} ${p}`).toBe('NOT_FOUND');
      const sep = p.includes('?') ? '&' : '?';
      expect((await raw(base, method, `${p}${sep}token=${TOKEN}`)).status, `${method} ${p}?token=`).toBe(withToken);
    }
    const posted = await raw(base, 'POST', '/%61pi/streams/x', { 'content-type': 'application/json' }, '{"events":[{"type":"Sneaky"}]}');
    expect(posted.status).toBe(401);
    expect(await store.streamVersion('x')).toBe(1);
    const post = { 'content-type': 'application/json', ...BEARER };
    expect((await raw(base, 'POST', '/%61pi/streams/x', post, '{"events":[{"type":"Fine"}]}')).status).toBe(201);
    expect(await store.streamVersion('x')).toBe(2);
  });

  it('accepts only the exact token: other lengths, schemes and repeated query tokens are refused', async () => {
    const store = await openStore(tempDir(), engine);
    const base = await serve(store, { token: TOKEN });
    for (const headers of [
      { authorization: 'Bearer ' },
      { authorization: 'Bearer s3cret' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${TOKEN}` },
      { authorization: TOKEN },
      { authorization: `Bearer ${TOKEN.toUpperCase()}` },
    ]) {
      expect((await raw(base, 'GET', '/api/stats', headers)).status, headers.authorization).toBe(401);
    }
    expect((await raw(base, 'GET', '/api/stats?token=')).status).toBe(401);
    expect((await raw(base, 'GET', `/api/stats?token=${TOKEN}&token=${TOKEN}`)).status).toBe(401);
    expect((await raw(base, 'GET', '/api/stats', { authorization: `bearer ${TOKEN}` })).status).toBe(200);
    expect((await raw(base, 'GET', `/api/stats?token=${encodeURIComponent(TOKEN)}`)).status).toBe(200);
  });

  it('serves the page only with the token, and its static scripts without it', async () => {
    const store = await openStore(tempDir(), engine);
    const base = await serve(store, { token: TOKEN });
    for (const p of ['/', '/?token=wrong', '//', '/?token=']) {
      const refused = await raw(base, 'GET', p);
      expect(refused.status, p).toBe(401);
      expect(JSON.parse(refused.body), p).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
      expect(refused.body, p).not.toContain('Stream Browser');
    }
    for (const [p, headers] of [
      [`/?token=${TOKEN}`, {}],
      ['/', BEARER],
    ] as const) {
      const page = await raw(base, 'GET', p, headers);
      expect(page.status, p).toBe(200);
      expect(page.body).toContain('Stream Browser');
    }
    const open = await serve(await openStore(tempDir(), engine));
    expect((await raw(open, 'GET', '/')).status).toBe(200);
    for (const f of ['app.js', 'style.css', 'index.html', '%61pp.js']) expect((await raw(base, 'GET', `/ui/${f}`)).status, f).toBe(200);
    expect((await raw(base, 'GET', '/ui/')).status).toBe(401);
    // The asset route is public, but serves its three files only.
    for (const f of ['secret.txt', '..%2f..%2fpackage.json', '%2e%2e%2fREADME.md']) {
      const other = await raw(base, 'GET', `/ui/${f}`);
      expect(other.status, f).toBe(404);
      expect(JSON.parse(other.body), f).toEqual({ error: { code: 'NOT_FOUND', message: 'no such file' } });
    }
  });

  it('answers unknown routes with the JSON error shape, and sends no server path in an error', async () => {
    const dir = tempDir();
    const store = await openStore(dir, engine);
    const base = await serve(store);
    const missing = await raw(base, 'GET', '/api/nope');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    expect(JSON.parse((await raw(base, 'GET', '/ui/nope.js')).body).error.code).toBe('NOT_FOUND');
    const badUrl = await raw(base, 'GET', '/api/streams/%ZZ');
    expect(badUrl.status).toBe(400);
    expect(JSON.parse(badUrl.body)).toEqual({ error: { code: 'INVALID_ARGUMENT', message: expect.any(String) } });

    let fsError: unknown;
    try {
      fs.readFileSync(path.join(dir, 'chunks', 'missing.chunk'));
    } catch (err) {
      fsError = err;
    }
    const spy = vi.spyOn(store, 'stats').mockRejectedValueOnce(fsError);
    const plain = await raw(base, 'GET', '/api/stats');
    expect(plain.status).toBe(500);
    expect(JSON.parse(plain.body).error.code).toBe('IO');
    spy.mockRejectedValueOnce(new AnnalsError('IO', `cannot read ${path.join(dir, 'chunks', '00000000.chunk')}: gone`, { cause: fsError }));
    const typed = await raw(base, 'GET', '/api/stats');
    expect(typed.status).toBe(500);
    expect(JSON.parse(typed.body).error).toMatchObject({ code: 'IO', message: expect.stringContaining('00000000.chunk') });
    spy.mockRejectedValueOnce(
      new PermissionDeniedError(
        `cannot open the store at ${dir}: EACCES: permission denied, open '${path.join(dir, 'chunks', 'writer.chk')}'`,
      ),
    );
    const denied = await raw(base, 'GET', '/api/stats');
    expect(denied.status).toBe(500);
    expect(JSON.parse(denied.body).error).toMatchObject({ code: 'PERMISSION_DENIED', message: expect.stringContaining('<store>') });
    spy.mockRejectedValueOnce(new NotAStoreError(`no store at ${dir}: no such directory`));
    const gone = await raw(base, 'GET', '/api/stats');
    expect(JSON.parse(gone.body).error.code).toBe('NOT_A_STORE');
    for (const body of [plain.body, typed.body, denied.body, gone.body]) {
      expect(body).not.toContain(dir);
      expect(body).not.toContain(path.dirname(dir));
    }
  });
});
