// The Stream Browser's views of streams: every stream (paged, prefix search) with the append form,
// one stream paged back from its newest event (live on its first page), one event, one command.
import { api, categoryLink, el, empty, eventTable, eventRow, href, PAGE, pager, payload, streamLink, subscribe, time, typeLink } from './ui.js';

function appendForm() {
  const status = el('p', { id: 'append-status', class: 'muted' });
  const form = el(
    'form',
    { class: 'append', id: 'append-form' },
    el('label', { for: 'f-stream' }, 'Stream'),
    el('input', { id: 'f-stream', name: 'stream', required: true }),
    el('label', { for: 'f-type' }, 'Event type'),
    el('input', { id: 'f-type', name: 'type', required: true }),
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
  return [el('h2', {}, 'Append an event'), form, status];
}

/** `#/` and `#/streams?prefix&after`: every stream of the store, a page at a time. */
export async function streams(view, q) {
  const prefix = q.get('prefix') || '';
  const after = q.get('after') || '';
  const r = await api(`/api/streams?${new URLSearchParams({ limit: String(PAGE), ...(prefix ? { prefix } : {}), ...(after ? { after } : {}) })}`);
  const search = el(
    'form',
    { id: 'prefix-form', class: 'inline' },
    el('input', { id: 'prefix-input', name: 'prefix', placeholder: 'stream id prefix, e.g. order-', value: prefix }),
    el('button', { type: 'submit' }, 'Search'),
  );
  search.onsubmit = (ev) => {
    ev.preventDefault();
    location.hash = href(['streams'], { prefix: search.prefix.value.trim() });
  };
  const rows = r.streams.map((s) =>
    el(
      'tr',
      {},
      el('td', {}, streamLink(s.streamId)),
      el('td', {}, categoryLink(s.streamId.indexOf('-') > 0 ? s.streamId.slice(0, s.streamId.indexOf('-')) : null)),
      el('td', { class: 'num' }, String(s.version)),
      el('td', { class: 'num' }, `${s.firstPosition} … ${s.lastPosition}`),
    ),
  );
  const th = (t, cls) => el('th', { class: cls }, t);
  const head = el('tr', {}, th('stream'), th('category'), th('version', 'num'), th('positions', 'num'));
  const table = el('table', { id: 'streams' }, el('thead', {}, head), el('tbody', {}, rows));
  const where = prefix ? `starting with “${prefix}”` : 'in the store';
  const summary = `${r.streams.length} streams ${after ? `after ${after}` : 'from the first'}, by id`;
  view.replaceChildren(
    el('h1', {}, 'Streams ', el('span', { class: 'muted' }, where)),
    search,
    r.streams.length === 0 ? empty(prefix ? `No stream starts with “${prefix}”.` : 'The store holds no stream yet.') : table,
    pager(href(['streams'], { prefix }), r.next === null ? null : href(['streams'], { prefix, after: r.next }), summary),
    ...appendForm(),
  );
}

/** `#/stream/<id>?before=V`: a page of the stream, newest first; the first page follows new events live. */
export async function stream(view, id, q) {
  const before = q.get('before');
  const r = await api(`/api/streams/${encodeURIComponent(id)}/events?${new URLSearchParams({ limit: String(PAGE), ...(before ? { before } : {}) })}`);
  const table = eventTable(r.events, false);
  const tbody = table.querySelector('tbody');
  const first = r.events[0];
  const last = r.events[r.events.length - 1];
  const range = first ? `versions ${first.version} to ${last.version} of ${r.version}` : `none of ${r.version}`;
  // The newer page ends right above this one's newest event: before = its version + 1 + a page.
  const newer = before && first ? (first.version + PAGE >= r.version ? href(['stream', id]) : href(['stream', id], { before: first.version + 1 + PAGE })) : null;
  const next = r.next === null ? null : href(['stream', id], { before: r.next });
  view.replaceChildren(
    el(
      'h1',
      {},
      `Stream ${id} `,
      el('span', { class: 'muted', id: 'stream-version' }, `version ${r.version}`),
      ' ',
      categoryLink(id.indexOf('-') > 0 ? id.slice(0, id.indexOf('-')) : null),
    ),
    r.events.length === 0 && !before ? empty('No events yet; new ones appear here live.') : '',
    pager(href(['stream', id]), next, `Newest first: ${range}`, newer),
    table,
    pager(href(['stream', id]), next, `Newest first: ${range}`, newer),
  );
  if (before) return null;
  const source = subscribe(first ? { streamId: id, after: first.position } : { streamId: id });
  source.onmessage = (m) => {
    const e = JSON.parse(m.data);
    const row = eventRow(e, false);
    row.classList.add('new');
    tbody.prepend(row);
    document.getElementById('stream-version').textContent = `version ${e.version}`;
  };
  return source;
}

export async function event(view, id, version) {
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
        row('type', typeLink(e.type)),
        row('id', e.id),
        row('command', e.commandId ? el('a', { href: href(['command', e.commandId]) }, e.commandId) : '—'),
        row('time', time(e.timestamp)),
        row('position', String(e.position)),
        row('data', payload(e.data)),
        row('metadata', payload(e.metadata)),
      ),
    ),
  );
}

export async function command(view, id, q) {
  const after = q.get('after');
  const r = await api(`/api/commands/${encodeURIComponent(id)}?${new URLSearchParams({ limit: String(PAGE), ...(after ? { after } : {}) })}`);
  view.replaceChildren(
    el('h1', {}, `Command ${id}`),
    eventTable(r.events, true),
    pager(href(['command', id]), r.next === null ? null : href(['command', id], { after: r.next }), `${r.events.length} events`),
  );
}

export function live(view) {
  const table = eventTable([], true);
  const tbody = table.querySelector('tbody');
  view.replaceChildren(el('h1', {}, 'Live: new events as they are appended'), table);
  const source = subscribe({ from: 'end' });
  source.onmessage = (m) => {
    const row = eventRow(JSON.parse(m.data), true);
    row.classList.add('new');
    tbody.prepend(row);
  };
  return source;
}
