// The Stream Browser's read-model views: the global log through a filter, a category's and an
// event type's events (each a page at a time, `after` the last position shown), and the durable
// consumers with their lag.
import { api, el, empty, eventTable, href, PAGE, pager } from './ui.js';

/** Comma-separated names from a form field: a list for the API's repeated query fields. */
const names = (s) =>
  String(s || '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function field(id, label, value, placeholder) {
  return [el('label', { for: id }, label), el('input', { id, name: id, value: value || '', placeholder })];
}

/** `#/log?after&streamPrefix&category&types`: the global log, one page at a time. */
export async function log(view, q) {
  const filter = { streamPrefix: q.get('streamPrefix') || '', category: q.get('category') || '', types: q.get('types') || '' };
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (q.get('after')) params.set('after', q.get('after'));
  for (const [k, v] of Object.entries(filter)) for (const n of names(v)) params.append(k, n);
  const r = await api(`/api/all?${params}`);
  const form = el(
    'form',
    { id: 'log-filter', class: 'filter' },
    ...field('streamPrefix', 'Stream prefix', filter.streamPrefix, 'order-, cart-'),
    ...field('category', 'Category', filter.category, 'order'),
    ...field('types', 'Event types', filter.types, 'OrderPlaced, OrderPaid'),
    el('button', { type: 'submit' }, 'Filter'),
  );
  form.onsubmit = (ev) => {
    ev.preventDefault();
    location.hash = href(['log'], { streamPrefix: form.streamPrefix.value.trim(), category: form.category.value.trim(), types: form.types.value.trim() });
  };
  const at = q.get('after') ? `after position ${q.get('after')}` : 'from the start';
  view.replaceChildren(
    el('h1', {}, 'Global log ', el('span', { class: 'muted' }, 'every event in append order')),
    form,
    r.events.length === 0 ? empty('No event matches here.') : eventTable(r.events, true, 'log-events'),
    pager(href(['log'], filter), r.next === null ? null : href(['log'], { ...filter, after: r.next }), `${r.events.length} events ${at}`),
  );
}

/** `#/category/<name>` or `#/type/<name>` (`?after&backward`); without a name, a form asking for one. */
export async function readView(view, kind, name, q) {
  const what = kind === 'category' ? 'Category' : 'Event type';
  const form = el(
    'form',
    { id: `${kind}-form`, class: 'inline' },
    el('input', { id: `${kind}-input`, name: 'name', value: name || '', placeholder: kind === 'category' ? 'order' : 'OrderPlaced' }),
    el('button', { type: 'submit' }, 'Show'),
  );
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const v = form.name.value.trim();
    if (v) location.hash = href([kind, v]);
  };
  if (!name) {
    const hint =
      kind === 'category'
        ? "A stream's category is its id before the first '-': order-42 is in category order."
        : 'Every event of one type, across all streams, in global order.';
    view.replaceChildren(el('h1', {}, what), el('p', { class: 'muted' }, hint), form);
    return;
  }
  const backward = q.get('backward') === '1';
  const after = q.get('after');
  const params = new URLSearchParams({ limit: String(PAGE), ...(after ? { after } : {}), ...(backward ? { direction: 'backward' } : {}) });
  const r = await api(`/api/${kind === 'category' ? 'categories' : 'types'}/${encodeURIComponent(name)}/events?${params}`);
  const order = { ...(backward ? { backward: '1' } : {}) };
  const toggle = el('a', { href: href([kind, name], backward ? {} : { backward: '1' }), id: 'direction' }, backward ? 'oldest first' : 'newest first');
  view.replaceChildren(
    el('h1', {}, `${what} ${name} `, el('span', { class: 'muted' }, backward ? 'newest first' : 'in global order')),
    form,
    el('p', {}, 'Show ', toggle),
    r.events.length === 0 ? empty(`No ${kind === 'category' ? 'stream of this category holds events' : 'event of this type'} here.`) : eventTable(r.events, true, `${kind}-events`),
    pager(href([kind, name], order), r.next === null ? null : href([kind, name], { ...order, after: r.next }), `${r.events.length} events`),
  );
}

/** `#/consumers`: each durable consumer, its position, its lag, and a reset. */
export async function consumers(view) {
  const { consumers: list } = await api('/api/consumers');
  const status = el('p', { id: 'consumer-status', class: 'muted' });
  const reset = (name) => {
    const input = el('input', { class: 'position', value: '0', 'aria-label': `new position of ${name}` });
    const button = el('button', { type: 'button' }, 'reset');
    button.onclick = async () => {
      try {
        await api(`/api/consumers/${encodeURIComponent(name)}/reset`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ position: Number(input.value) }),
        });
        await consumers(view);
      } catch (err) {
        status.className = 'error';
        status.textContent = err.message;
      }
    };
    return el('span', { class: 'inline' }, input, button);
  };
  const th = (t) => el('th', {}, t);
  const rows = list.map((c) =>
    el(
      'tr',
      { 'data-consumer': c.name },
      el('td', {}, c.name),
      el('td', { class: 'num' }, String(c.position)),
      el('td', { class: `num lag${c.lag > 0 ? ' behind' : ''}` }, `${c.lagCapped ? '≥ ' : ''}${c.lag}`),
      el('td', {}, c.live ? 'live' : '—'),
      el('td', {}, c.filter ? el('code', {}, JSON.stringify(c.filter)) : el('span', { class: 'muted' }, 'none')),
      el('td', {}, reset(c.name)),
    ),
  );
  view.replaceChildren(
    el('h1', {}, 'Durable consumers ', el('span', { class: 'muted' }, 'checkpoints kept by the store')),
    list.length === 0
      ? empty('No durable consumer yet: subscribe({ consumer: "name" }) creates one.')
      : el(
          'table',
          { id: 'consumers' },
          el('thead', {}, el('tr', {}, th('consumer'), th('position'), th('lag (events behind)'), th('subscription'), th('filter'), th('move to position'))),
          el('tbody', {}, rows),
        ),
    status,
  );
}
