// The Live view: the newest events across the five event tables, row counts and event rates
// per table, and the quarantine and gap counts, polled every POLL_MS while the view is open.
// Rates come from the change in count(*) between polls, which Parquet footers answer without a
// scan, so polling costs the server little however large the lake grows.

import * as api from './api.js';
import { $, h, clear, table, formatCount, parseTime, ago } from './dom.js';
import { lineChart } from './chart.js';

const POLL_MS = 1500;
const RATE_POINTS = 200; // five minutes of history at POLL_MS
const EVENT_TABLES = ['datapoint', 'datapointack', 'connectivity', 'location', 'registration'];

const COUNTS_SQL = [
  ...EVENT_TABLES.map((t) => `SELECT '${t}' AS name, count(*) AS n, max(received_at) AS newest FROM ${t}`),
  "SELECT 'quarantine', count(*), max(received_at) FROM quarantine",
  "SELECT 'gaps', count(*), max(detected_at) FROM gaps",
  "SELECT 'missing', coalesce(sum(received_seq - expected_seq), 0), max(detected_at) FROM gaps",
].join('\nUNION ALL ');

const NEWEST_SQL = `SELECT received_at, source, dsn, summary, stream, seq FROM (
  SELECT received_at, 'datapoint' AS source, dsn, concat(property_name, ' = ', value_json) AS summary, stream, seq FROM datapoint
  UNION ALL SELECT received_at, 'datapointack', dsn, concat(property_name, ' ack ', CAST(ack_status AS VARCHAR)), stream, seq FROM datapointack
  UNION ALL SELECT received_at, 'connectivity', dsn, status, stream, seq FROM connectivity
  UNION ALL SELECT received_at, 'location', dsn, concat(CAST(lat AS VARCHAR), ', ', CAST(long AS VARCHAR)), stream, seq FROM location
  UNION ALL SELECT received_at, 'registration', dsn, CASE WHEN registered THEN 'registered' ELSE 'unregistered' END, stream, seq FROM registration
)
ORDER BY received_at DESC, seq DESC
LIMIT 25`;

export const QUARANTINE_SQL = `SELECT received_at, stream, source, error_kind, error_message, raw
FROM quarantine
ORDER BY received_at DESC
LIMIT 200`;

export const GAPS_SQL = `SELECT detected_at, stream, expected_seq, received_seq, received_seq - expected_seq AS missing
FROM gaps
ORDER BY detected_at DESC
LIMIT 200`;

export class LiveView {
  constructor({ openQuery }) {
    this.openQuery = openQuery;
    this.active = false;
    this.paused = false;
    this.timer = null;
    this.previous = null;
    this.rates = { xs: [], series: EVENT_TABLES.map((t) => ({ label: t, values: [] })) };
    this.plot = null;
    this.seen = new Set();
    $('live-pause').addEventListener('click', () => this.togglePause());
  }

  start() {
    this.active = true;
    if (!this.paused) this.poll();
  }

  stop() {
    this.active = false;
    clearTimeout(this.timer);
  }

  togglePause() {
    this.paused = !this.paused;
    $('live-pause').textContent = this.paused ? 'Resume' : 'Pause';
    $('live-pause').classList.toggle('primary', this.paused);
    if (this.paused) {
      clearTimeout(this.timer);
      this.setStatus('Paused');
    } else if (this.active) {
      this.poll();
    }
  }

  // One poll at a time: the next is scheduled only after this one answered, so a slow server
  // is never sent a queue of overlapping polls.
  async poll() {
    clearTimeout(this.timer);
    if (document.hidden) {
      // A tab in the background asks nothing; it catches up when shown again.
      this.timer = setTimeout(() => this.poll(), POLL_MS);
      return;
    }
    try {
      const [counts, newest] = await Promise.all([api.rows(COUNTS_SQL), api.rows(NEWEST_SQL)]);
      if (!this.active || this.paused) return;
      this.renderCounts(counts);
      this.renderNewest(newest);
      this.setStatus(`Updated ${new Date().toISOString().slice(11, 19)} UTC · every ${POLL_MS / 1000} s`);
    } catch (err) {
      this.setStatus(err.message, 'bad');
      if (err.status === 401) return;
    }
    if (this.active && !this.paused) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  setStatus(text, tone = '') {
    $('live-status').textContent = text;
    $('live-status').dataset.tone = tone;
  }

  renderCounts(rows) {
    const now = performance.now();
    const counts = Object.fromEntries(rows.map((r) => [r.name, r]));
    const rates = {};
    if (this.previous) {
      const seconds = (now - this.previous.at) / 1000;
      for (const t of EVENT_TABLES) {
        rates[t] = Math.max(0, ((counts[t]?.n ?? 0) - (this.previous.counts[t]?.n ?? 0)) / seconds);
      }
      this.pushRates(rates);
    }
    this.previous = { at: now, counts };

    const tiles = this.tiles();
    for (const t of EVENT_TABLES) {
      const c = counts[t];
      tiles[t].update(formatCount(c?.n ?? 0),
        `${t in rates ? rates[t].toFixed(1) : '…'} events/s${c?.newest ? ` · newest ${ago(parseTime(c.newest))}` : ''}`);
      tiles[t].value.dataset.count = c?.n ?? 0;
    }
    const q = counts.quarantine?.n ?? 0;
    const gaps = counts.gaps?.n ?? 0;
    tiles.quarantine.update(formatCount(q), 'undecodable frames', q > 0);
    tiles.gaps.update(formatCount(gaps), `${formatCount(counts.missing?.n ?? 0)} events missing`, gaps > 0);
  }

  // The tiles are built once and updated in place, so a click is never lost to a re-render.
  tiles() {
    if (this.tileParts) return this.tileParts;
    const container = clear($('live-tiles'));
    const parts = {};
    const make = (name, attrs, onclick) => {
      const value = h('div', { class: 'tile-value' });
      const sub = h('div', { class: 'tile-sub' });
      const tile = h('div', { class: 'tile', ...attrs, onclick }, h('div', { class: 'tile-name' }, name), value, sub);
      container.append(tile);
      parts[name] = {
        value,
        update(text, subText, alert = false) {
          value.textContent = text;
          sub.textContent = subText;
          tile.classList.toggle('alert', alert);
        },
      };
    };
    for (const t of EVENT_TABLES) {
      make(t, { dataset: { table: t }, title: `Query the newest ${t} rows` },
        () => this.openQuery(`SELECT *\nFROM ${t}\nORDER BY received_at DESC\nLIMIT 100`));
    }
    make('quarantine', { class: 'tile warn', id: 'tile-quarantine', title: 'Show the quarantined frames' },
      () => this.openQuery(QUARANTINE_SQL));
    make('gaps', { class: 'tile warn', id: 'tile-gaps', title: 'Show the seq gaps' },
      () => this.openQuery(GAPS_SQL));
    this.tileParts = parts;
    return parts;
  }

  pushRates(rates) {
    const r = this.rates;
    r.xs.push(Date.now() / 1000);
    EVENT_TABLES.forEach((t, i) => r.series[i].values.push(rates[t]));
    if (r.xs.length > RATE_POINTS) {
      r.xs.shift();
      r.series.forEach((s) => s.values.shift());
    }
    if (this.plot && this.plot.width > 0) {
      this.plot.setData([r.xs, ...r.series.map((s) => s.values)]);
    } else {
      this.drawRates();
    }
  }

  drawRates() {
    if (this.plot) this.plot.destroy();
    this.plot = lineChart($('live-rate'), this.rates, { height: 240, points: true, fromZero: true, xWindow: RATE_POINTS * POLL_MS / 1000 });
  }

  renderNewest(rows) {
    const container = clear($('live-events'));
    if (rows.length === 0) {
      container.append(h('p', { class: 'muted' }, 'No events yet.'));
      return;
    }
    const el = table(['received_at', 'source', 'dsn', 'summary', 'stream', 'seq'], rows);
    // Rows not in the previous poll are marked, so arrivals stand out while the list scrolls.
    const keys = rows.map((r) => `${r.stream}/${r.source}/${r.seq}`);
    const fresh = this.seen.size > 0;
    el.querySelectorAll('tbody tr').forEach((tr, i) => {
      if (fresh && !this.seen.has(keys[i])) tr.classList.add('fresh');
    });
    this.seen = new Set(keys);
    container.append(el);
  }

  redraw() {
    if (this.rates.xs.length) this.drawRates();
  }
}
