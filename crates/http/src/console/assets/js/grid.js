// The result grid: one page of rows at a time, so a result of 100,000 rows costs the DOM no more
// than one of 100. Rows keep arriving while the first page is shown; the pager follows them.

import { $, h, clear, table, formatCount } from './dom.js';

export const PAGE_ROWS = 100;

export class Grid {
  constructor(container, pager) {
    this.container = container;
    this.pager = pager;
    this.result = null;
    this.page = 0;
  }

  // `result` is {columns, rows, done}; rows may still grow after this call.
  show(result) {
    this.result = result;
    this.page = 0;
    this.render();
  }

  clear() {
    this.result = null;
    clear(this.container);
    clear(this.pager);
  }

  // Re-renders the page only when it is not full yet, and the pager always: cheap enough to
  // call for every arriving chunk.
  grew() {
    if (!this.result) return;
    const shown = this.container.querySelectorAll('tbody tr').length;
    if (shown < PAGE_ROWS && this.pageCount() === this.page + 1) this.render();
    else this.renderPager();
  }

  pageCount() {
    return Math.max(1, Math.ceil(this.result.rows.length / PAGE_ROWS));
  }

  go(page) {
    this.page = Math.min(Math.max(0, page), this.pageCount() - 1);
    this.render();
  }

  render() {
    if (!this.result) return;
    const { columns, rows } = this.result;
    const start = this.page * PAGE_ROWS;
    const slice = rows.slice(start, start + PAGE_ROWS);
    clear(this.container);
    if (columns.length === 0) {
      this.container.append(h('p', { class: 'empty' }, this.result.done ? 'No rows.' : 'Waiting for rows…'));
    } else {
      this.container.append(table(columns, slice, { startIndex: start }));
    }
    this.container.scrollTop = 0;
    this.renderPager();
  }

  renderPager() {
    clear(this.pager);
    if (!this.result) return;
    const { rows } = this.result;
    if (rows.length <= PAGE_ROWS) return;
    const start = this.page * PAGE_ROWS;
    const end = Math.min(rows.length, start + PAGE_ROWS);
    const last = this.pageCount() - 1;
    this.pager.append(
      h('button', { class: 'small', disabled: this.page === 0, onclick: () => this.go(0), title: 'First page' }, '«'),
      h('button', { class: 'small', disabled: this.page === 0, onclick: () => this.go(this.page - 1), title: 'Previous page' }, '‹'),
      h('span', { class: 'muted', id: 'page-info' },
        `${formatCount(start + 1)}–${formatCount(end)} of ${formatCount(rows.length)}`),
      h('button', { class: 'small', id: 'page-next', disabled: this.page === last, onclick: () => this.go(this.page + 1), title: 'Next page' }, '›'),
      h('button', { class: 'small', disabled: this.page === last, onclick: () => this.go(last), title: 'Last page' }, '»'),
    );
  }
}

export function gridFor(id, pagerId) {
  return new Grid($(id), $(pagerId));
}
