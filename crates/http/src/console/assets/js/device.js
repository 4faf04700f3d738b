// The Device view: a device list, then one device's twin (twin_latest), connectivity
// (device_status), last location (device_location) and a chart of one property over a range
// ending at its latest reading, so a device that went quiet a week ago still shows its data.

import * as api from './api.js';
import { $, h, clear, table, parseTime, ago, formatCount, sqlString } from './dom.js';
import { lineChart } from './chart.js';

const LIST_SQL = `SELECT d.dsn, s.status, coalesce(s.oem_model, d.oem_model) AS oem_model
FROM (SELECT dsn, max(oem_model) AS oem_model
      FROM (SELECT dsn, oem_model FROM datapoint UNION ALL SELECT dsn, oem_model FROM connectivity)
      GROUP BY dsn) d
LEFT JOIN device_status s ON s.dsn = d.dsn
ORDER BY d.dsn
LIMIT 5000`;

const RANGES = [
  ['3600', 'last hour'], ['21600', 'last 6 hours'], ['86400', 'last day'],
  ['604800', 'last 7 days'], ['all', 'all of it'],
];
const MAX_POINTS = 20_000;

export class DeviceView {
  constructor({ openQuery }) {
    this.openQuery = openQuery;
    this.devices = [];
    this.dsn = null;
    this.plot = null;
    this.range = '86400';
    $('device-filter').addEventListener('input', () => this.renderList());
  }

  async load() {
    try {
      this.devices = await api.rows(LIST_SQL);
    } catch (err) {
      this.devices = [];
      clear($('devices')).append(h('li', { class: 'error-text' }, err.message));
      return;
    }
    this.renderList();
  }

  renderList() {
    const needle = $('device-filter').value.trim().toLowerCase();
    const shown = this.devices.filter((d) => !needle || `${d.dsn} ${d.oem_model ?? ''}`.toLowerCase().includes(needle));
    $('device-count').textContent = formatCount(this.devices.length);
    const list = clear($('devices'));
    for (const d of shown.slice(0, 1000)) {
      list.append(h('li', {
        class: d.dsn === this.dsn ? 'selected' : null, dataset: { dsn: d.dsn },
        onclick: () => this.open(d.dsn),
      }, h('span', { class: `dot ${statusClass(d.status)}`, title: d.status ?? 'no connectivity events' }),
      h('span', { class: 'item-name mono' }, d.dsn), h('span', { class: 'item-sub' }, d.oem_model ?? '')));
    }
    if (shown.length === 0) list.append(h('li', { class: 'muted empty-item' }, 'No devices.'));
  }

  async open(dsn) {
    this.dsn = dsn;
    this.renderList();
    const detail = clear($('device-detail'));
    detail.append(h('p', { class: 'muted' }, 'Loading…'));
    const where = `WHERE dsn = ${sqlString(dsn)}`;
    let twin, status, location;
    try {
      [twin, status, location] = await Promise.all([
        api.rows(`SELECT property_name, value_json, value_num, base_type, value_time, oem_model FROM twin_latest ${where} ORDER BY property_name`),
        api.rows(`SELECT status, since, last_event_at, oem_model FROM device_status ${where}`),
        api.rows(`SELECT lat, long, provider, ip, located_at FROM device_location ${where}`),
      ]);
    } catch (err) {
      clear(detail).append(h('p', { class: 'error' }, err.message));
      return;
    }
    if (this.dsn !== dsn) return;
    this.twin = twin;
    this.renderDetail(dsn, twin, status[0], location[0]);
  }

  renderDetail(dsn, twin, status, location) {
    const detail = clear($('device-detail'));
    const model = status?.oem_model ?? twin.find((t) => t.oem_model)?.oem_model ?? '';
    detail.append(h('div', { class: 'device-head' },
      h('h1', { class: 'mono', id: 'device-title' }, dsn),
      h('span', { class: 'muted' }, model),
      h('span', { class: 'spacer' }),
      h('button', { class: 'small', onclick: () => this.openQuery(`SELECT *\nFROM datapoint\n${'WHERE dsn = '}${sqlString(dsn)}\nORDER BY created_at DESC\nLIMIT 500`) }, 'Its datapoints in Query')));

    const cards = h('div', { class: 'cards' });
    cards.append(card('Connectivity', status
      ? [h('div', { class: 'big' }, h('span', { class: `dot ${statusClass(status.status)}` }), status.status ?? 'unknown'),
        h('div', { class: 'muted' }, 'since ', timeText(status.since)),
        h('div', { class: 'muted small' }, 'last event ', timeText(status.last_event_at))]
      : [h('div', { class: 'muted' }, 'No connectivity events.')], 'card-status'));
    cards.append(card('Last location', location
      ? [h('div', { class: 'big mono' }, `${fmtCoord(location.lat)}, ${fmtCoord(location.long)}`),
        h('div', { class: 'muted' }, location.provider ?? '', location.ip ? ` · ${location.ip}` : ''),
        h('div', { class: 'muted small' }, timeText(location.located_at))]
      : [h('div', { class: 'muted' }, 'No location events.')], 'card-location'));
    const newest = Math.max(...twin.map((t) => parseTime(t.value_time)).filter(Number.isFinite));
    cards.append(card('Twin', [h('div', { class: 'big' }, `${twin.length} ${twin.length === 1 ? 'property' : 'properties'}`),
      h('div', { class: 'muted small' }, Number.isFinite(newest) ? `newest ${ago(newest)}` : '')], 'card-twin'));
    detail.append(cards);

    const numeric = twin.filter((t) => typeof t.value_num === 'number');
    const chartPanel = h('div', { class: 'panel' });
    if (numeric.length) {
      // Measurements before flags: a temperature says more over time than a door's 0/1.
      const measured = numeric.find((t) => t.base_type !== 'boolean') ?? numeric[0];
      this.property = numeric.some((t) => t.property_name === this.property) ? this.property : measured.property_name;
      chartPanel.append(h('div', { class: 'panel-head' }, h('h2', {}, 'History'),
        h('select', { id: 'device-property', onchange: (e) => { this.property = e.target.value; this.drawHistory(); } },
          numeric.map((t) => h('option', { value: t.property_name, selected: t.property_name === this.property }, t.property_name))),
        h('select', { id: 'device-range', onchange: (e) => { this.range = e.target.value; this.drawHistory(); } },
          RANGES.map(([value, name]) => h('option', { value, selected: value === this.range }, name))),
        h('span', { class: 'muted small', id: 'device-history-status' })),
      h('div', { id: 'device-chart', class: 'chart device-chart' }));
    } else {
      chartPanel.append(h('h2', {}, 'History'), h('p', { class: 'muted' }, 'No numeric properties to chart.'));
    }
    const twinPanel = h('div', { class: 'panel' }, h('h2', {}, 'Twin: the latest value of each property'),
      h('div', { class: 'grid compact', id: 'device-twin' },
        twin.length ? table(['property_name', 'value_json', 'value_time'], twin)
          : h('p', { class: 'muted' }, 'No datapoints.')));
    // Side by side when there is a chart; the twin alone takes the width.
    detail.append(numeric.length ? h('div', { class: 'device-panels' }, twinPanel, chartPanel) : twinPanel);
    if (numeric.length) this.drawHistory();
  }

  async drawHistory() {
    const dsn = this.dsn;
    const latest = this.twin.find((t) => t.property_name === this.property);
    const end = parseTime(latest?.value_time);
    const t = 'coalesce(created_at, updated_at, received_at)';
    let range = '';
    if (this.range !== 'all' && Number.isFinite(end)) {
      const start = new Date(end - Number(this.range) * 1000);
      // The partition filter lets the engine skip whole days; the partition is the event's date.
      const day = new Date(start.getTime() - 86400_000).toISOString().slice(0, 10);
      range = `\n  AND date >= ${sqlString(day)} AND ${t} >= ${sqlString(start.toISOString())}`;
    }
    const sql = `SELECT ${t} AS t, value_num\nFROM datapoint\nWHERE dsn = ${sqlString(dsn)} AND property_name = ${sqlString(this.property)}
  AND value_num IS NOT NULL${range}\nORDER BY t\nLIMIT ${MAX_POINTS}`;
    const status = $('device-history-status');
    status.textContent = 'Loading…';
    let rows;
    try {
      rows = await api.rows(sql);
    } catch (err) {
      status.textContent = err.message;
      return;
    }
    if (this.dsn !== dsn || !$('device-chart')) return;
    status.textContent = `${formatCount(rows.length)} readings${rows.length === MAX_POINTS ? ' (the first)' : ''}, ending at its latest`;
    if (this.plot) this.plot.destroy();
    const xs = rows.map((r) => parseTime(r.t) / 1000);
    this.plot = lineChart($('device-chart'), { xs, series: [{ label: this.property, values: rows.map((r) => r.value_num) }] }, { height: 260 });
  }

  redraw() {
    if (this.dsn && $('device-chart')) this.drawHistory();
  }
}

function card(title, body, id) {
  return h('div', { class: 'card', id }, h('h3', {}, title), body);
}

function statusClass(status) {
  if (status === 'Online') return 'online';
  if (status === 'Offline') return 'offline';
  return 'unknown';
}

function timeText(value) {
  if (!value) return '—';
  const ms = parseTime(value);
  return h('span', { title: value }, `${String(value).replace('T', ' ').replace('Z', ' UTC')} (${ago(ms)})`);
}

const fmtCoord = (v) => (typeof v === 'number' ? v.toFixed(5) : '—');
