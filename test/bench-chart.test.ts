/** The benchmark summary chart: drawn from the e2e table, and the one in docs/ is the latest table's. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFigure, parseTable, summaryChartSvg, writeSummaryChart } from '../bench/summary-chart.js';
import { tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const LATEST = path.join(ROOT, 'bench', 'results', 'latest-e2e.md');

describe('benchmark summary chart', () => {
  it('parses the e2e table and draws one bar per contender and phase', () => {
    expect([parseFigure('137k (2.50x)'), parseFigure('9385 (0.06x)'), parseFigure('5.1'), parseFigure('2M'), parseFigure('—')]).toEqual([
      137_000,
      9385,
      5.1,
      2_000_000,
      null,
    ]);
    const md = fs.readFileSync(LATEST, 'utf8');
    const { contenders, rows } = parseTable(md);
    expect(contenders).toContain('annals-native');
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.some((r) => r.phase.startsWith('of it'))).toBe(false);
    const svg = summaryChartSvg(md, 'caption <&>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('caption &lt;&amp;&gt;');
    expect(svg.match(/<rect x="\d+" y="[\d.]+" width="[\d.]+" height="11"/g)).toHaveLength(rows.length * contenders.length);
  });

  it('docs/bench-summary.svg is the chart of bench/results/latest-e2e.md, and docs/benchmarks.md shows it', () => {
    const out = path.join(tempDir(), 'chart.svg');
    writeSummaryChart(LATEST, out);
    expect(fs.readFileSync(path.join(ROOT, 'docs', 'bench-summary.svg'), 'utf8')).toBe(fs.readFileSync(out, 'utf8'));
    expect(fs.readFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), 'utf8')).toContain('](bench-summary.svg)');
  });
});
