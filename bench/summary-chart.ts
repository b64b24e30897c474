/**
 * The benchmark summary as an SVG chart (docs/bench-summary.svg, embedded in docs/benchmarks.md):
 * for each phase of the end-to-end table, one bar per contender, its length the figure over the
 * phase's largest, its label the figure itself. Throughput phases first (longer is better), then
 * time and size (shorter is better). Drawn from the markdown table the e2e suite writes
 * (bench/results/latest-e2e.md), so `npm run bench` redraws it after a full run and
 * `node --import tsx bench/summary-chart.ts` redraws it from the latest table.
 */
import fs from 'node:fs';
import path from 'node:path';

interface Row {
  phase: string;
  unit: string;
  values: (number | null)[];
  labels: string[];
}

const COLORS = ['#2f6fdf', '#7aa7ff', '#d9822b', '#f0b86e', '#2f9e6f', '#8d6cc8', '#c0504d', '#7f8c8d'];
/** Units whose larger figure is better; every other row is a time or a size. */
const HIGHER_IS_BETTER = new Set(['events/s', 'ops/s']);

/** "137k (2.50x)" → 137000; "9385 (0.06x)" → 9385; "5.1" → 5.1. */
export function parseFigure(cell: string): number | null {
  const m = /^\s*([\d.]+)\s*([kM]?)/.exec(cell);
  if (!m) return null;
  const scale = m[2] === 'k' ? 1e3 : m[2] === 'M' ? 1e6 : 1;
  return Number(m[1]) * scale;
}

/** The contenders and rows of the e2e markdown table (the first table in `markdown`). */
export function parseTable(markdown: string): { contenders: string[]; rows: Row[] } {
  const lines = markdown.split('\n').filter((l) => l.startsWith('|'));
  const cells = (l: string) =>
    l
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
  const head = cells(lines[0] ?? '');
  const contenders = head.slice(2);
  const rows: Row[] = [];
  for (const line of lines.slice(2)) {
    const [phase = '', unit = '', ...rest] = cells(line);
    // Indented rows are details of the row above (a split of it, a latency): left out.
    if (!phase || line.startsWith('|  ') || phase.startsWith('of it')) continue;
    rows.push({ phase, unit, values: rest.map(parseFigure), labels: rest.map((c) => c.replace(/\s*\(.*\)$/, '')) });
  }
  return { contenders, rows };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function summaryChartSvg(markdown: string, caption: string): string {
  const { contenders, rows } = parseTable(markdown);
  const ordered = [...rows.filter((r) => HIGHER_IS_BETTER.has(r.unit)), ...rows.filter((r) => !HIGHER_IS_BETTER.has(r.unit))];
  const W = 900;
  const labelW = 320;
  const barH = 11;
  const gap = 2;
  const groupGap = 14;
  const top = 100;
  const plotW = W - labelW - 90;
  const groupH = contenders.length * (barH + gap) + groupGap;
  const firstLower = ordered.findIndex((r) => !HIGHER_IS_BETTER.has(r.unit));
  const sectionGap = firstLower > 0 ? 26 : 0;
  const H = top + 8 + ordered.length * groupH + sectionGap + 20;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="16" y="24" font-size="16" font-weight="600" fill="#1d2330">annals end-to-end benchmark</text>`);
  // The caption in two lines at a comma near its middle: one line of it overflows the width.
  const cut = caption.length > 100 ? caption.indexOf(', ', Math.floor(caption.length / 2) - 10) : -1;
  const captionLines = cut > 0 ? [caption.slice(0, cut + 1), caption.slice(cut + 2)] : [caption];
  for (const [i, l] of captionLines.entries()) out.push(`<text x="16" y="${42 + i * 15}" fill="#6b7385">${esc(l)}</text>`);
  contenders.forEach((c, i) => {
    const x = 16 + i * 145;
    out.push(`<rect x="${x}" y="68" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${x + 17}" y="78" fill="#1d2330">${esc(c)}</text>`);
  });
  let y = top + 8;
  ordered.forEach((r, gi) => {
    if (gi === firstLower && firstLower > 0) {
      out.push(`<text x="16" y="${y + 12}" font-weight="600" fill="#1d2330">Time and size: shorter is better</text>`);
      y += sectionGap;
    }
    if (gi === 0) out.push(`<text x="16" y="${top - 6}" font-weight="600" fill="#1d2330">Throughput: longer is better</text>`);
    const max = Math.max(...r.values.filter((v): v is number => v !== null), 1e-9);
    out.push(`<text x="16" y="${y + (contenders.length * (barH + gap)) / 2 + 4}" fill="#1d2330">${esc(r.phase)} (${esc(r.unit)})</text>`);
    r.values.forEach((v, i) => {
      const by = y + i * (barH + gap);
      const w = v === null ? 0 : Math.max(1, (v / max) * plotW);
      out.push(
        `<rect x="${labelW}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[i % COLORS.length]}"><title>${esc(contenders[i] ?? '')}: ${esc(r.labels[i] ?? '')}</title></rect>`,
      );
      out.push(
        `<text x="${(labelW + w + 4).toFixed(1)}" y="${by + barH - 2}" font-size="10" fill="#3b4252">${esc(r.labels[i] ?? '')}</text>`,
      );
    });
    y += groupH;
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Draws the chart of `resultsFile` (latest-e2e.md) into `svgFile`. */
export function writeSummaryChart(resultsFile: string, svgFile: string): void {
  const text = fs.readFileSync(resultsFile, 'utf8');
  const caption = (text.split('\n')[0] ?? '').replace(/^Measured /, 'Measured ').slice(0, 150);
  fs.writeFileSync(svgFile, summaryChartSvg(text, caption));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(import.meta.dirname, '..');
  const svg = path.join(root, 'docs', 'bench-summary.svg');
  writeSummaryChart(path.join(root, 'bench', 'results', 'latest-e2e.md'), svg);
  console.log(`wrote ${path.relative(process.cwd(), svg)}`);
}
