// The Query view: the editor, the examples, the history (localStorage), running and cancelling
// a query, the streamed result in the grid or the chart, and downloads.

import * as api from './api.js';
import { $, h, clear, formatCount, formatMs } from './dom.js';
import { Grid } from './grid.js';
import { ResultChart, analyze, isChartable } from './chart.js';

const HISTORY_KEY = 'dss-lake-history';
const HISTORY_SIZE = 50;
// Past this many rows the browser stops reading: the grid pages through what it holds and a
// download (which the server streams to disk) gets the rest.
const MAX_ROWS = 100_000;

const rowsText = (n) => `${formatCount(n)} ${n === 1 ? 'row' : 'rows'}`;

export class QueryView {
  constructor() {
    this.editor = $('editor');
    this.grid = new Grid($('grid'), $('pager'));
    this.chart = new ResultChart($('chart'), $('chart-controls'));
    this.controller = null;
    this.result = null;
    this.mode = 'grid';
    this.bind();
    this.renderHistory();
  }

  bind() {
    $('run').addEventListener('click', () => this.run());
    $('cancel').addEventListener('click', () => this.cancel());
    $('show-grid').addEventListener('click', () => this.showMode('grid'));
    $('show-chart').addEventListener('click', () => this.showMode('chart'));
    $('history-clear').addEventListener('click', () => { localStorage.removeItem(HISTORY_KEY); this.renderHistory(); });
    for (const button of document.querySelectorAll('button.download')) {
      button.addEventListener('click', () => this.download(button.dataset.format, button));
    }
    const mac = /Mac|iPhone|iPad/.test(navigator.platform);
    $('run').querySelector('kbd').textContent = mac ? '⌘↵' : 'Ctrl↵';
    this.editor.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.run();
      } else if (e.key === 'Tab' && !e.shiftKey) {
        e.preventDefault();
        this.insert('  ');
      } else if (e.key === 'Escape' && this.controller) {
        this.cancel();
      }
    });
  }

  // Puts text at the cursor, or replaces the whole editor.
  insert(text, { replace = false } = {}) {
    const ed = this.editor;
    if (replace) {
      ed.value = text;
      ed.setSelectionRange(text.length, text.length);
    } else {
      ed.setRangeText(text, ed.selectionStart, ed.selectionEnd, 'end');
    }
    ed.focus();
  }

  // The selection when there is one (run part of a script), else the whole editor.
  sqlToRun() {
    const ed = this.editor;
    const selected = ed.value.slice(ed.selectionStart, ed.selectionEnd);
    return (selected.trim() ? selected : ed.value).trim();
  }

  showExamples(examples) {
    const list = clear($('examples'));
    for (const ex of examples) {
      list.append(h('li', {
        title: ex.title, dataset: { example: ex.name },
        onclick: () => { this.insert(ex.sql.trim(), { replace: true }); this.run(); },
      }, h('span', { class: 'item-name' }, ex.name.replaceAll('_', ' ')), h('span', { class: 'item-sub' }, ex.title)));
    }
  }

  async run(sql = this.sqlToRun()) {
    if (!sql) return;
    this.cancel();
    const controller = new AbortController();
    this.controller = controller;
    const started = performance.now();
    const result = { sql, columns: [], rows: [], done: false, truncated: false };
    this.result = result;
    this.remember(sql);
    this.setRunning(true);
    this.setError(null);
    this.setStatus('Running…');
    this.grid.show(result);
    this.setChartable(false);
    let firstAt = null;
    try {
      for await (const chunk of api.streamRows(sql, controller.signal)) {
        if (chunk.length === 0) continue;
        if (firstAt === null) {
          firstAt = performance.now() - started;
          result.columns = Object.keys(chunk[0]);
        }
        const room = MAX_ROWS - result.rows.length;
        for (let i = 0; i < Math.min(room, chunk.length); i++) result.rows.push(chunk[i]);
        if (this.result !== result) return;
        this.grid.grew();
        this.setStatus(`${rowsText(result.rows.length)} so far…`);
        if (chunk.length >= room) {
          result.truncated = true;
          break;
        }
      }
      result.done = true;
      const total = performance.now() - started;
      const more = result.truncated ? ` (stopped reading at ${formatCount(MAX_ROWS)}; download for all)` : '';
      this.setStatus(`${rowsText(result.rows.length)}${more} · ${formatMs(total)}`
        + (firstAt !== null && total - firstAt > 200 ? ` · first rows in ${formatMs(firstAt)}` : ''), 'ok');
    } catch (err) {
      // A run replaced by a newer one was cancelled by it, and says nothing over it.
      if (this.result !== result) return;
      if (controller.signal.aborted) {
        this.setStatus(`Cancelled after ${formatCount(result.rows.length)} rows · ${formatMs(performance.now() - started)}`);
      } else if (err instanceof api.ApiError) {
        this.setStatus(`${err.status} ${err.kind} · ${formatMs(performance.now() - started)}`, 'bad');
        this.setError(err.message);
        this.grid.clear();
      } else {
        this.setStatus(`Failed after ${formatCount(result.rows.length)} rows`, 'bad');
        this.setError(`The result stopped before its end: ${err.message}`);
      }
    } finally {
      if (this.controller === controller) {
        this.controller = null;
        this.setRunning(false);
      }
    }
    if (this.result !== result) return;
    result.done = true;
    this.grid.render();
    const kinds = analyze(result.columns, result.rows);
    this.setChartable(isChartable(kinds));
    if (this.mode === 'chart') this.showMode(isChartable(kinds) ? 'chart' : 'grid');
  }

  cancel() {
    if (this.controller) this.controller.abort();
  }

  setRunning(running) {
    $('run').disabled = false;
    $('cancel').disabled = !running;
    for (const b of document.querySelectorAll('button.download')) b.disabled = running || !this.result;
  }

  setStatus(text, tone = '') {
    const el = $('status');
    el.textContent = text;
    el.dataset.tone = tone;
  }

  setError(message) {
    const el = $('error');
    el.hidden = !message;
    el.textContent = message || '';
  }

  setChartable(yes) {
    $('show-chart').disabled = !yes;
    $('show-chart').title = yes ? 'Chart the result' : 'A chart needs a time column and a numeric one';
  }

  showMode(mode) {
    this.mode = mode;
    $('show-grid').setAttribute('aria-selected', String(mode === 'grid'));
    $('show-chart').setAttribute('aria-selected', String(mode === 'chart'));
    $('grid').hidden = mode !== 'grid';
    $('pager').hidden = mode !== 'grid';
    $('chart').hidden = mode !== 'chart';
    $('chart-controls').hidden = mode !== 'chart';
    if (mode === 'chart' && this.result) this.chart.show(this.result);
    else this.chart.destroy();
  }

  redraw() {
    if (this.mode === 'chart' && this.result) this.chart.show(this.result);
  }

  // Runs the same SQL again in a download format and saves what comes back.
  async download(format, button) {
    if (!this.result) return;
    const label = button.textContent;
    button.disabled = true;
    button.textContent = '…';
    try {
      const blob = await api.blob(this.result.sql, format);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `result.${format === 'arrow' ? 'arrows' : format}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      this.setError(err.message);
    } finally {
      button.textContent = label;
      button.disabled = false;
    }
  }

  remember(sql) {
    const history = this.history().filter((item) => item.sql !== sql);
    history.unshift({ sql, at: new Date().toISOString() });
    localStorage.setItem(HISTORY_KEY, JSON.stringify(history.slice(0, HISTORY_SIZE)));
    this.renderHistory();
  }

  history() {
    try {
      const items = JSON.parse(localStorage.getItem(HISTORY_KEY) || '[]');
      return Array.isArray(items) ? items.filter((i) => typeof i?.sql === 'string') : [];
    } catch {
      return [];
    }
  }

  renderHistory() {
    const list = clear($('history'));
    const items = this.history();
    if (items.length === 0) list.append(h('li', { class: 'muted empty-item' }, 'Queries you run appear here.'));
    for (const item of items) {
      list.append(h('li', { title: item.sql, onclick: () => this.insert(item.sql, { replace: true }) },
        h('span', { class: 'item-name mono' }, item.sql.replace(/\s+/g, ' ').slice(0, 80)),
        h('span', { class: 'item-sub' }, String(item.at).replace('T', ' ').slice(0, 19))));
    }
  }
}
