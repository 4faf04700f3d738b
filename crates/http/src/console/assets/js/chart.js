// Line charts with uPlot (vendored, global `uPlot`): zoom by dragging, double-click to reset, a
// readout of every series under the cursor. A result is chartable when it has a time column
// (a timestamp or ISO date text) and a numeric one; a text column with a few values can split
// one numeric column into a line per value (one line per dsn).

import { h, clear, parseTime, isTimeString } from './dom.js';

const PALETTE = ['#3b82f6', '#f97316', '#10b981', '#e11d48', '#8b5cf6', '#eab308', '#06b6d4',
  '#db2777', '#84cc16', '#64748b', '#a16207', '#0ea5e9'];
const MAX_SERIES = 12;
// Time-axis labels in UTC, 24-hour, dates in ISO order (uPlot's default is a US 12-hour clock
// in local time): the date is added under the first tick and wherever the day changes.
function timeTicks(u, splits, axisIdx, space, incr) {
  let previous = null;
  return splits.map((split) => {
    const iso = new Date(split * 1000).toISOString();
    const [day, year] = [iso.slice(0, 10), iso.slice(0, 4)];
    let label;
    let context;
    if (incr >= 86400 * 28) [label, context] = [iso.slice(0, 7), null];
    else if (incr >= 86400) [label, context] = [iso.slice(5, 10), year];
    else [label, context] = [iso.slice(11, incr < 60 ? 19 : 16), day];
    const changed = context !== null && context !== previous;
    previous = context;
    return changed ? `${label}\n${context}` : label;
  });
}
const SAMPLE_ROWS = 500;

// Integers that count or identify rather than measure: charting them swamps the scale.
const looksLikeKey = (name) => name === 'seq' || /_(seq|id)$/.test(name);

export function analyze(columns, rows) {
  const sample = rows.slice(0, SAMPLE_ROWS);
  const kinds = { time: [], num: [], text: [] };
  for (const c of columns) {
    const values = sample.map((r) => r[c]).filter((v) => v !== null && v !== undefined);
    if (values.length === 0) continue;
    if (values.every(isTimeString)) kinds.time.push(c);
    else if (values.every((v) => typeof v === 'number')) kinds.num.push(c);
    else if (values.every((v) => typeof v === 'string')) kinds.text.push(c);
  }
  return kinds;
}

export const isChartable = (kinds) => kinds.time.length > 0 && kinds.num.length > 0;

// The series of a result: per numeric column, or per value of `split` for column `y`.
export function seriesOf(rows, x, ys, split) {
  const keyed = [];
  for (const row of rows) {
    const t = parseTime(row[x]);
    if (Number.isFinite(t)) keyed.push([t / 1000, row]);
  }
  keyed.sort((a, b) => a[0] - b[0]);
  if (!split) {
    return {
      xs: keyed.map(([t]) => t),
      series: ys.map((y) => ({ label: y, values: keyed.map(([, r]) => numberOrNull(r[y])) })),
    };
  }
  const counts = new Map();
  for (const [, r] of keyed) counts.set(String(r[split]), (counts.get(String(r[split])) || 0) + 1);
  const names = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_SERIES)
    .map(([name]) => name).sort();
  const xs = [...new Set(keyed.map(([t]) => t))];
  const at = new Map(xs.map((t, i) => [t, i]));
  const series = names.map((name) => ({ label: name, values: new Array(xs.length).fill(null) }));
  const byName = new Map(names.map((name, i) => [name, series[i]]));
  for (const [t, r] of keyed) {
    const s = byName.get(String(r[split]));
    if (s) s.values[at.get(t)] = numberOrNull(r[ys[0]]);
  }
  return { xs, series, dropped: counts.size - names.length };
}

const numberOrNull = (v) => (typeof v === 'number' ? v : null);

function themeColors() {
  const style = getComputedStyle(document.documentElement);
  return { axis: style.getPropertyValue('--muted').trim(), grid: style.getPropertyValue('--grid').trim() };
}

// Draws `data` ({xs, series}) into `container`, sized to it and following its width.
// `xWindow` (seconds) pins the x axis to the last `xWindow` seconds up to the newest point;
// `fromZero` starts the y axis at 0 (rates).
export function lineChart(container, data, { height = 360, points = false, xWindow = 0, fromZero = false } = {}) {
  clear(container);
  const colors = themeColors();
  const axis = { stroke: colors.axis, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid } };
  const opts = {
    width: Math.max(container.clientWidth, 300),
    height,
    padding: [12, 40, 0, 4],
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    cursor: { drag: { x: true, y: false }, focus: { prox: 24 } },
    focus: { alpha: 0.35 },
    legend: { live: true },
    scales: {
      x: { time: true, ...(xWindow ? { range: (u, min, max) => [max - xWindow, max] } : {}) },
      ...(fromZero ? { y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } } : {}),
    },
    axes: [{ ...axis, values: timeTicks }, { ...axis, size: 60 }],
    series: [
      { label: 'time (UTC)', value: '{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}' },
      ...data.series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        spanGaps: true,
        points: { show: points || data.xs.length < 60 },
      })),
    ],
  };
  const plot = new uPlot(opts, [data.xs, ...data.series.map((s) => s.values)], container);
  const resize = new ResizeObserver(() => {
    if (container.clientWidth > 0) plot.setSize({ width: container.clientWidth, height });
  });
  resize.observe(container);
  const destroy = plot.destroy.bind(plot);
  plot.destroy = () => { resize.disconnect(); destroy(); };
  return plot;
}

// The Chart tab of a query result: picks sensible columns and lets the user change them.
export class ResultChart {
  constructor(container, controls) {
    this.container = container;
    this.controls = controls;
    this.plot = null;
    this.choice = null;
  }

  show(result) {
    this.result = result;
    this.kinds = analyze(result.columns, result.rows);
    const { time, num, text } = this.kinds;
    const measures = num.filter((c) => !looksLikeKey(c));
    const split = num.length >= 1 && text.find((c) => {
      const distinct = new Set(result.rows.slice(0, 5000).map((r) => r[c]));
      return distinct.size >= 2 && distinct.size <= MAX_SERIES * 4;
    });
    this.choice = {
      x: time[0],
      y: measures.length === 1 ? measures[0] : measures.length === 0 ? num[0] : '*',
      split: split && measures.length <= 1 ? split : '',
    };
    this.renderControls();
    this.draw();
  }

  renderControls() {
    const { time, num, text } = this.kinds;
    const select = (label, key, options) => h('label', {}, label, ' ', h('select', {
      onchange: (e) => { this.choice[key] = e.target.value; this.draw(); },
    }, options.map(([value, name]) => h('option', { value, selected: value === this.choice[key] }, name))));
    clear(this.controls).append(
      select('x', 'x', time.map((c) => [c, c])),
      select('y', 'y', [['*', 'every numeric column'], ...num.map((c) => [c, c])]),
      select('one line per', 'split', [['', 'column'], ...text.map((c) => [c, c])]),
    );
  }

  draw() {
    this.destroy();
    const { x, y, split } = this.choice;
    const ys = y === '*' ? this.kinds.num.filter((c) => !looksLikeKey(c)) : [y];
    const data = seriesOf(this.result.rows, x, ys.length ? ys : this.kinds.num, split && ys.length ? split : '');
    this.plot = lineChart(this.container, data, { height: Math.max(this.container.clientHeight - 40, 260) });
    if (data.dropped) {
      this.container.append(h('p', { class: 'muted small' },
        `Showing the ${MAX_SERIES} most frequent values of ${split}; ${data.dropped} more left out.`));
    }
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}
