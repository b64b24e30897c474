// The Stream Browser: a small single-page app over the HTTP API (lib/server/http-api.ts). Hash
// routes: #/ recent streams and the append form, #/stream/<id>, #/event/<id>/<version>,
// #/command/<id>, #/live, #/stats. A ?token= in the page address is passed on to every request.
'use strict';

const token = new URLSearchParams(location.search).get('token');
const view = document.getElementById('view');
let liveSource = null;

function api(path, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(path, { ...init, headers }).then(async (res) => {
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
    return body;
  });
}

// List endpoints answer one page at a time (the server's default page size, capped by its
// maximum) with `next`, the value of `cursor` that reads on: follow it until `want` events are in.
// The first page's other fields (a stream's version) come along; `more` tells what was left.
async function collectPages(path, params, cursor, want = Number.POSITIVE_INFINITY) {
  let first = null;
  const events = [];
  let next = null;
  do {
    const q = new URLSearchParams(params);
    if (next !== null) q.set(cursor, String(next));
    const r = await api(`${path}?${q}`);
    first = first || r;
    events.push(...r.events);
    next = r.next ?? null;
  } while (next !== null && events.length < want);
  return { ...first, events: events.slice(0, want), more: next !== null || events.length > want };
}

function subscribe(params) {
  const q = new URLSearchParams(params);
  if (token) q.set('token', token);
  return new EventSource(`/api/subscribe?${q}`);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'onclick' || k === 'onsubmit') node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function hex(base64) {
  const bin = atob(base64);
  let out = '';
  for (let i = 0; i < bin.length; i++) out += bin.charCodeAt(i).toString(16).padStart(2, '0') + (i % 16 === 15 ? '\n' : ' ');
  return out.trim();
}

function payload(v) {
  if (v === undefined) return el('span', { class: 'muted' }, '—');
  if (v && typeof v === 'object' && typeof v.$bytes === 'string') return el('pre', { class: 'bytes' }, hex(v.$bytes));
  return el('pre', {}, JSON.stringify(v, null, 2));
}

const streamLink = (id) => el('a', { href: `#/stream/${encodeURIComponent(id)}` }, id);
const eventLink = (e) => el('a', { href: `#/event/${encodeURIComponent(e.streamId)}/${e.version}` }, String(e.version));
const time = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

function eventRow(e, showStream) {
  return el(
    'tr',
    { 'data-position': String(e.position) },
    showStream ? el('td', {}, streamLink(e.streamId)) : '',
    el('td', {}, eventLink(e)),
    el('td', {}, e.type),
    el('td', {}, time(e.timestamp)),
    el('td', {}, payload(e.data)),
  );
}

function eventTable(events, showStream) {
  return el(
    'table',
    { class: 'events' },
    el('thead', {}, el('tr', {}, showStream ? el('th', {}, 'stream') : '', el('th', {}, 'version'), el('th', {}, 'type'), el('th', {}, 'time'), el('th', {}, 'data'))),
    el('tbody', {}, events.map((e) => eventRow(e, showStream))),
  );
}

async function home() {
  const { streams } = await api('/api/streams?limit=100');
  const status = el('p', { id: 'append-status', class: 'muted' });
  const form = el(
    'form',
    { class: 'append', id: 'append-form' },
    el('label', { for: 'f-stream' }, 'Stream'),
    el('input', { id: 'f-stream', name: 'stream', required: '' }),
    el('label', { for: 'f-type' }, 'Event type'),
    el('input', { id: 'f-type', name: 'type', required: '' }),
    el('label', { for: 'f-data' }, 'Data (JSON)'),
    el('textarea', { id: 'f-data', name: 'data' }),
    el('label', { for: 'f-expected' }, 'Expected version'),
    el('input', { id: 'f-expected', name: 'expected', placeholder: 'any' }),
    el('span'),
    el('button', { type: 'submit' }, 'Append'),
  );
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      const text = String(f.get('data') || '').trim();
      const body = { events: [{ type: String(f.get('type')), data: text ? JSON.parse(text) : undefined }] };
      const expected = String(f.get('expected') || '').trim();
      if (expected) body.expectedVersion = /^\d+$/.test(expected) ? Number(expected) : expected;
      const r = await api(`/api/streams/${encodeURIComponent(String(f.get('stream')))}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      status.className = 'muted';
      status.textContent = `appended ${r.streamId} version ${r.lastVersion} at position ${r.position}`;
    } catch (err) {
      status.className = 'error';
      status.textContent = err.message;
    }
  };
  view.replaceChildren(
    el('h1', {}, 'Recent streams'),
    streams.length === 0
      ? el('p', { class: 'muted' }, 'No stream written since the store was opened. Search for one above.')
      : el(
          'table',
          { id: 'recent-streams' },
          el('thead', {}, el('tr', {}, el('th', {}, 'stream'), el('th', {}, 'version'))),
          el('tbody', {}, streams.map((s) => el('tr', {}, el('td', {}, streamLink(s.streamId)), el('td', {}, String(s.version))))),
        ),
    el('h2', {}, 'Append an event'),
    form,
    status,
  );
}

async function stream(id) {
  const r = await collectPages(`/api/streams/${encodeURIComponent(id)}`, { direction: 'backward' }, 'fromVersion', 200);
  const table = eventTable(r.events, false);
  const tbody = table.querySelector('tbody');
  const heading = el('h1', {}, `Stream ${id} `, el('span', { class: 'muted', id: 'stream-version' }, `version ${r.version}`));
  const older = r.more ? el('p', { class: 'muted' }, `Showing the newest ${r.events.length} events; older ones are not listed.`) : '';
  view.replaceChildren(heading, r.events.length === 0 ? el('p', { class: 'muted' }, 'No events yet; new ones appear here live.') : '', older, table);
  const last = r.events[0];
  liveSource = subscribe(last ? { streamId: id, after: last.position } : { streamId: id });
  liveSource.onmessage = (m) => {
    const e = JSON.parse(m.data);
    const row = eventRow(e, false);
    row.classList.add('new');
    tbody.prepend(row);
    document.getElementById('stream-version').textContent = `version ${e.version}`;
  };
}

async function event(id, version) {
  const e = await api(`/api/streams/${encodeURIComponent(id)}/${version}`);
  const row = (k, v) => el('tr', {}, el('th', {}, k), el('td', {}, v));
  view.replaceChildren(
    el('h1', {}, `Event ${id} @ ${version}`),
    el(
      'table',
      { id: 'event-detail' },
      el(
        'tbody',
        {},
        row('stream', streamLink(e.streamId)),
        row('version', String(e.version)),
        row('type', e.type),
        row('id', e.id),
        row('command', e.commandId ? el('a', { href: `#/command/${encodeURIComponent(e.commandId)}` }, e.commandId) : '—'),
        row('time', time(e.timestamp)),
        row('position', String(e.position)),
        row('data', payload(e.data)),
        row('metadata', payload(e.metadata)),
      ),
    ),
  );
}

async function command(id) {
  const { events } = await collectPages(`/api/commands/${encodeURIComponent(id)}`, {}, 'after');
  view.replaceChildren(el('h1', {}, `Command ${id}`), eventTable(events, true));
}

async function live() {
  const table = eventTable([], true);
  const tbody = table.querySelector('tbody');
  view.replaceChildren(el('h1', {}, 'Live: new events as they are appended'), table);
  liveSource = subscribe({ from: 'end' });
  liveSource.onmessage = (m) => {
    const row = eventRow(JSON.parse(m.data), true);
    row.classList.add('new');
    tbody.prepend(row);
  };
}

async function stats() {
  view.replaceChildren(el('h1', {}, 'Store statistics'), el('pre', { id: 'stats' }, JSON.stringify(await api('/api/stats'), null, 2)));
}

async function route() {
  if (liveSource) liveSource.close();
  liveSource = null;
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  try {
    if (parts[0] === 'stream' && parts[1]) await stream(parts[1]);
    else if (parts[0] === 'event' && parts[1]) await event(parts[1], parts[2]);
    else if (parts[0] === 'command' && parts[1]) await command(parts[1]);
    else if (parts[0] === 'live') await live();
    else if (parts[0] === 'stats') await stats();
    else await home();
  } catch (err) {
    view.replaceChildren(el('p', { class: 'error' }, err.message));
  }
}

document.getElementById('search').onsubmit = async (ev) => {
  ev.preventDefault();
  const q = document.getElementById('search-input').value.trim();
  if (!q) return;
  const cmd = await api(`/api/commands/${encodeURIComponent(q)}?limit=1`).catch(() => null);
  location.hash = cmd ? `#/command/${encodeURIComponent(q)}` : `#/stream/${encodeURIComponent(q)}`;
};
window.addEventListener('hashchange', route);
route();
