// The Stream Browser's stats page: the store's counts, its disk use per chunk, and charts of the
// last minutes (appends per second, mean flush latency, index segment builds) drawn as inline SVG
// from `/api/stats/history`. The page refreshes itself every few seconds while it is shown.
import { api, el } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';
const REFRESH_MS = 2000;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** 1234 → "1.23k": axis labels stay short. */
function short(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  return v >= 10 || v === 0 ? String(Math.round(v)) : v.toFixed(2);
}

const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;

/**
 * A chart of `values` (one per point, null: no value) over the points' times: a line, or bars for
 * counts per interval. Axes: 0 and the maximum, and the time as minutes before the newest point.
 */
export function chart(id, title, unit, points, value, kind = 'line') {
  const W = 560;
  const H = 180;
  const m = { l: 48, r: 12, t: 26, b: 24 };
  const iw = W - m.l - m.r;
  const ih = H - m.t - m.b;
  const t1 = points.length ? points[points.length - 1].at : Date.now();
  const t0 = Math.min(points.length ? points[0].at : t1, t1 - 60_000);
  const vals = points.map(value);
  // An idle interval has a maximum of 0: the axis then goes to 1, not to a tiny fraction.
  const max = Math.max(0, ...vals.filter((v) => v !== null)) || 1;
  const top = max * 1.15;
  const x = (t) => m.l + ((t - t0) / (t1 - t0 || 1)) * iw;
  const y = (v) => m.t + ih - (v / top) * ih;
  const root = svg('svg', { id, class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  root.append(svg('text', { x: m.l, y: 16, class: 'chart-title' }, `${title} (${unit})`));
  for (const v of [0, max / 2, max]) {
    root.append(svg('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: 'grid' }));
    root.append(svg('text', { x: m.l - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, short(v)));
  }
  const minutes = Math.max(1, Math.round((t1 - t0) / 60_000));
  for (let i = 0; i <= minutes; i += Math.max(1, Math.ceil(minutes / 5))) {
    const t = t1 - i * 60_000;
    root.append(svg('text', { x: x(t), y: H - 6, class: 'axis', 'text-anchor': 'middle' }, i === 0 ? 'now' : `-${i}m`));
  }
  if (kind === 'bars') {
    const bw = Math.max(2, iw / Math.max(30, points.length) - 1);
    points.forEach((p, i) => {
      const v = vals[i];
      if (v) root.append(svg('rect', { x: x(p.at) - bw, y: y(v), width: bw, height: m.t + ih - y(v), class: 'bar' }, svg('title', {}, `${v} at ${new Date(p.at).toLocaleTimeString()}`)));
    });
  } else {
    let d = '';
    points.forEach((p, i) => {
      const v = vals[i];
      if (v === null) return;
      d += `${d && vals[i - 1] !== null ? 'L' : 'M'}${x(p.at).toFixed(1)},${y(v).toFixed(1)}`;
    });
    if (d) root.append(svg('path', { d, class: 'line' }));
    const last = [...vals].reverse().find((v) => v !== null);
    root.append(svg('text', { x: W - m.r, y: 16, class: 'axis', 'text-anchor': 'end' }, last === undefined ? 'no data yet' : `now ${short(last)}`));
  }
  if (points.length === 0) root.append(svg('text', { x: m.l + iw / 2, y: m.t + ih / 2, class: 'axis', 'text-anchor': 'middle' }, 'collecting…'));
  return root;
}

function cards(s) {
  const meanFlush = s.flushes > 0 ? `${(s.flushTimeMs / s.flushes).toFixed(2)} ms` : '—';
  const card = (label, value, id) => el('div', { class: 'card', id }, el('div', { class: 'value' }, value), el('div', { class: 'label' }, label));
  return el(
    'div',
    { class: 'cards', id: 'stat-cards' },
    card('events', s.eventCount.toLocaleString('en'), 'stat-events'),
    card('streams', s.streamCount.toLocaleString('en'), 'stat-streams'),
    card('commands', s.commandCount.toLocaleString('en')),
    card('on disk', mb(s.bytesOnDisk), 'stat-disk'),
    card('chunks', String(s.chunkCount)),
    card('end position', s.endPosition.toLocaleString('en')),
    card('flushes (mean latency)', `${s.flushes.toLocaleString('en')} (${meanFlush})`),
    card('index segments', `${s.index.streamSegments} stream, ${s.index.commandSegments} command`),
    card('segment builds / merges since open', `${s.index.segmentBuilds} / ${s.index.segmentMerges}`),
    card('engine, durability', `${s.engine}, ${s.durability}`),
    card('recovery', s.recovery.torn ? `torn tail cut (${s.recovery.discardedBytes} bytes)` : 'clean', 'stat-recovery'),
    card('damaged records', String(s.recovery.damaged.length + s.recovery.damagedUnlisted)),
  );
}

function chunkTable(chunks) {
  const most = Math.max(1, ...chunks.map((c) => c.bytesOnDisk));
  const th = (t) => el('th', {}, t);
  return el(
    'table',
    { id: 'chunk-usage' },
    el('thead', {}, el('tr', {}, th('chunk file'), th('on disk'), th(''))),
    el(
      'tbody',
      {},
      chunks.map((c) =>
        el(
          'tr',
          {},
          el('td', {}, el('code', {}, c.file)),
          el('td', { class: 'num' }, mb(c.bytesOnDisk)),
          el('td', { class: 'barcell' }, el('div', { class: 'hbar', style: `width:${((c.bytesOnDisk / most) * 100).toFixed(1)}%` })),
        ),
      ),
    ),
  );
}

async function render(view) {
  const [s, h] = await Promise.all([api('/api/stats'), api('/api/stats/history')]);
  const p = h.points;
  view.replaceChildren(
    el('h1', {}, 'Store statistics'),
    cards(s),
    el('h2', {}, `Activity, the last ${Math.max(1, Math.round((h.intervalMs * 300) / 60_000))} minutes (one point per ${h.intervalMs / 1000} s)`),
    el(
      'div',
      { class: 'charts' },
      chart('chart-appends', 'Appends per second', 'events/s', p, (x) => x.appendsPerSec),
      chart('chart-flush', 'Mean flush latency', 'ms', p, (x) => x.flushMs),
      chart('chart-builds', 'Index segment builds and merges', 'per interval', p, (x) => x.segmentBuilds + x.segmentMerges, 'bars'),
    ),
    el('h2', {}, 'Disk use per chunk ', el('span', { class: 'muted' }, '(allocated blocks: a chunk file is sparse until written)')),
    chunkTable(s.chunks),
    el('details', {}, el('summary', {}, 'All statistics as JSON'), el('pre', { id: 'stats' }, JSON.stringify(s, null, 2))),
  );
}

/** Shows the page and refreshes it; the returned object's close() stops the refresh. */
export async function stats(view) {
  await render(view);
  let open = true;
  const timer = setInterval(() => {
    // A closed <details> stays closed across refreshes.
    if (open && !view.querySelector('details[open]')) render(view).catch(() => {});
  }, REFRESH_MS);
  return {
    close() {
      open = false;
      clearInterval(timer);
    },
  };
}
