// DOM building and value formatting. Everything the console shows passes through `h`, which
// sets text with textContent and attributes one by one: no HTML string is ever parsed, so an
// event value such as `<img src=x onerror=alert(1)>` stays text.

export const $ = (id) => document.getElementById(id);

// h('td', {class: 'num', title: v}, 'text', child, ...): props become attributes (or, for
// `on*` functions, listeners); string children become text nodes.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?)?$/;

// Milliseconds since the epoch for an ISO date or timestamp string, else NaN. Fractions past
// milliseconds are cut here because not every engine's Date.parse accepts microseconds.
export function parseTime(value) {
  if (typeof value !== 'string') return NaN;
  const m = ISO.exec(value);
  if (!m) return NaN;
  if (!m[2]) return Date.parse(`${m[1]}T00:00:00Z`);
  const frac = m[3] ? `.${m[3].slice(0, 3).padEnd(3, '0')}` : '';
  return Date.parse(`${m[1]}T${m[2]}${frac}${m[4] || 'Z'}`);
}

export function isTimeString(value) {
  return typeof value === 'string' && ISO.test(value);
}

const numberFormat = new Intl.NumberFormat('en-US');
export const formatCount = (n) => numberFormat.format(n);

export function formatMs(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

// A cell's text: NULL for null, JSON for lists and structs, the value otherwise.
export function cellText(value) {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function ago(ms) {
  if (!Number.isFinite(ms)) return '';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 0) return 'in the future';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 172800) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

// A SQL string literal: the one way the console puts a value it read back into SQL.
export const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;

// A table of rows (objects with the same keys) with `columns` in order; numbers align right.
export function table(columns, rows, { startIndex = null, onRowClick = null } = {}) {
  const head = h('tr', {}, startIndex === null ? null : h('th', { class: 'rownum' }, '#'),
    columns.map((c) => h('th', { title: c }, c)));
  const body = h('tbody');
  rows.forEach((row, i) => {
    const tr = h('tr', { class: onRowClick ? 'clickable' : null },
      startIndex === null ? null : h('td', { class: 'rownum' }, String(startIndex + i + 1)),
      columns.map((c) => cell(row[c])));
    if (onRowClick) tr.addEventListener('click', () => onRowClick(row));
    body.append(tr);
  });
  return h('table', {}, h('thead', {}, head), body);
}

function cell(value) {
  const text = cellText(value);
  const cls = value === null || value === undefined ? 'null'
    : typeof value === 'number' ? 'num'
    : typeof value === 'boolean' ? 'bool' : null;
  return h('td', { class: cls, title: text.length > 40 ? text.slice(0, 2000) : null }, text);
}
