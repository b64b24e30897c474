// The Stream Browser: a small single-page app over the HTTP API (lib/server/http-api.ts), in ES
// modules: ui.js (requests, elements, tables, pagers), views.js (streams, a stream, an event, a
// command, live), reads.js (global log, category, event type, consumers), stats.js (counts, disk
// use, SVG charts). Hash routes, each view's state in its query so links and Back work:
//   #/ or #/streams?prefix&after   #/stream/<id>?before   #/event/<id>/<version>   #/command/<id>
//   #/log?after&streamPrefix&category&types   #/category/<name>   #/type/<name>   #/consumers
//   #/live   #/stats
// A ?token= in the page address is passed on to every request.
import { consumers, log, readView } from './reads.js';
import { stats } from './stats.js';
import { api, el, href } from './ui.js';
import { command, event, live, stream, streams } from './views.js';

const view = document.getElementById('view');
/** What the current view keeps open (an EventSource, a refresh timer): closed on leaving it. */
let open = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const cut = raw.indexOf('?');
  const path = cut < 0 ? raw : raw.slice(0, cut);
  const q = new URLSearchParams(cut < 0 ? '' : raw.slice(cut + 1));
  return { parts: path.split('/').map(decodeURIComponent), q };
}

async function show(parts, q) {
  switch (parts[0]) {
    case 'stream':
      return parts[1] ? stream(view, parts[1], q) : streams(view, q);
    case 'event':
      return event(view, parts[1], parts[2]);
    case 'command':
      return command(view, parts[1], q);
    case 'log':
      return log(view, q);
    case 'category':
    case 'type':
      return readView(view, parts[0], parts[1], q);
    case 'consumers':
      return consumers(view);
    case 'live':
      return live(view);
    case 'stats':
      return stats(view);
    default:
      return streams(view, q);
  }
}

async function route() {
  open?.close();
  open = null;
  const { parts, q } = parseHash();
  for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('active', a.dataset.view === (parts[0] || 'streams'));
  try {
    open = (await show(parts, q)) || null;
  } catch (err) {
    view.replaceChildren(el('p', { class: 'error' }, err.message));
  }
}

document.getElementById('search').onsubmit = async (ev) => {
  ev.preventDefault();
  const q = document.getElementById('search-input').value.trim();
  if (!q) return;
  const cmd = await api(`/api/commands/${encodeURIComponent(q)}?limit=1`).catch(() => null);
  location.hash = cmd ? href(['command', q]) : href(['stream', q]);
};
window.addEventListener('hashchange', route);
route();
