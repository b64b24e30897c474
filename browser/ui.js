// The Stream Browser's shared pieces: requests to the HTTP API (with the page's ?token=), element
// building, hash links carrying a view's state (`#/path?cursor=…`), event tables and pagers.
// Every list is read one page at a time from the server (`next` is the cursor of the page after),
// so a view costs the same on a store of ten events as of ten million.

export const token = new URLSearchParams(location.search).get('token');

/** Events or streams a view asks for at once (the server caps it at its maxPageSize). */
export const PAGE = 100;

export function api(path, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(path, { ...init, headers }).then(async (res) => {
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
    return body;
  });
}

/** A query string of the defined, non-empty values; arrays repeat their key. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) if (one !== '') q.append(k, String(one));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function subscribe(params) {
  return new EventSource(`/api/subscribe${qs({ ...params, token })}`);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) node[k] = v;
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== '' && c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** `#/a/b?x=1` for the parts and params given (parts are encoded one by one). */
export function href(parts, params = {}) {
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}${qs(params)}`;
}

export const categoryOf = (streamId) => {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : null;
};

export const streamLink = (id) => el('a', { href: href(['stream', id]) }, id);
export const typeLink = (type) => el('a', { href: href(['type', type]), class: 'type' }, type);
export const categoryLink = (c) => (c ? el('a', { href: href(['category', c]) }, c) : el('span', { class: 'muted' }, '—'));
export const eventLink = (e) => el('a', { href: href(['event', e.streamId, e.version]) }, String(e.version));
export const time = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

function hex(base64) {
  const bin = atob(base64);
  let out = '';
  for (let i = 0; i < bin.length; i++) out += bin.charCodeAt(i).toString(16).padStart(2, '0') + (i % 16 === 15 ? '\n' : ' ');
  return out.trim();
}

/** An event's data or metadata: JSON (on one line in a table row), or bytes in hex. */
export function payload(v, compact = false) {
  if (v === undefined) return el('span', { class: 'muted' }, '—');
  if (v && typeof v === 'object' && typeof v.$bytes === 'string') return el('pre', { class: 'bytes' }, hex(v.$bytes));
  return el('pre', { class: compact ? 'compact' : undefined }, compact ? JSON.stringify(v) : JSON.stringify(v, null, 2));
}

export function eventRow(e, showStream) {
  return el(
    'tr',
    { 'data-position': String(e.position) },
    el('td', { class: 'num' }, String(e.position)),
    showStream ? el('td', {}, streamLink(e.streamId)) : '',
    el('td', { class: 'num' }, eventLink(e)),
    el('td', {}, typeLink(e.type)),
    el('td', {}, time(e.timestamp)),
    el('td', {}, payload(e.data, true)),
  );
}

export function eventTable(events, showStream, id = undefined) {
  const th = (t) => el('th', {}, t);
  return el(
    'table',
    { class: 'events', id },
    el('thead', {}, el('tr', {}, th('position'), showStream ? th('stream') : '', th('version'), th('type'), th('time'), th('data'))),
    el('tbody', {}, events.map((e) => eventRow(e, showStream))),
  );
}

/** The links of a paged list: its first page, the page before when known, and the next one when there is one. */
export function pager(firstHref, nextHref, summary, prevHref = null) {
  return el(
    'nav',
    { class: 'pager' },
    el('a', { href: firstHref, class: 'first' }, '⇤ first page'),
    prevHref ? el('a', { href: prevHref, class: 'prev' }, '← previous page') : '',
    el('span', { class: 'muted' }, summary),
    nextHref ? el('a', { href: nextHref, class: 'next' }, 'next page →') : el('span', { class: 'muted end' }, 'end'),
  );
}

export const empty = (text) => el('p', { class: 'muted empty' }, text);
