// The catalog sidebar: tables and views from GET /api/v1/tables with their columns and types.
// A table's name inserts a query over it; a column inserts its name at the cursor.

import { h, clear } from './dom.js';

// Arrow's type names, shortened the way a SQL user reads them.
export function shortType(dataType) {
  if (dataType.startsWith('Timestamp')) return 'timestamp';
  if (dataType.startsWith('List')) return 'list';
  const names = { Utf8: 'text', Utf8View: 'text', LargeUtf8: 'text', Int64: 'int64', Int32: 'int32',
    Float64: 'float64', Boolean: 'bool', Date32: 'date' };
  return names[dataType] ?? dataType.toLowerCase();
}

// The query a click on a table inserts: newest rows first when the table has a time to sort by.
function starterQuery(table) {
  const names = table.columns.map((c) => c.name);
  const order = ['received_at', 'detected_at', 'value_time', 'since', 'located_at'].find((c) => names.includes(c));
  return `SELECT *\nFROM ${table.name}${order ? `\nORDER BY ${order} DESC` : ''}\nLIMIT 100`;
}

export class Explorer {
  // `insert(text, {replace})` puts text into the editor; `run()` runs it.
  constructor(container, filter, { insert, run }) {
    this.container = container;
    this.filter = filter;
    this.insert = insert;
    this.run = run;
    this.tables = [];
    filter.addEventListener('input', () => this.render());
  }

  show(tables) {
    this.tables = tables;
    this.render();
  }

  render() {
    const needle = this.filter.value.trim().toLowerCase();
    clear(this.container);
    for (const table of this.tables) {
      const columns = needle
        ? table.columns.filter((c) => c.name.toLowerCase().includes(needle) || table.name.includes(needle))
        : table.columns;
      if (needle && columns.length === 0) continue;
      const summary = h('summary', {},
        h('span', { class: `badge badge-${table.kind}` }, table.kind === 'view' ? 'view' : 'table'),
        h('span', { class: 'table-name' }, table.name),
        h('button', {
          class: 'link-button small insert', title: `Query ${table.name}`,
          onclick: (e) => { e.preventDefault(); this.insert(starterQuery(table), { replace: true }); this.run(); },
        }, 'query'));
      const list = h('ul', { class: 'columns' }, columns.map((c) => h('li', {
        title: `${c.name}: ${c.data_type}${c.nullable ? '' : ', not null'} (click to insert)`,
        onclick: () => this.insert(c.name),
      }, h('span', { class: 'col-name' }, c.name), h('span', { class: 'col-type' }, shortType(c.data_type)))));
      this.container.append(h('details', { open: needle ? true : null, dataset: { table: table.name } }, summary, list));
    }
  }
}
