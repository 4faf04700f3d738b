// The console's entry point: tabs, theme, the token prompt, and loading the catalog. Each view
// lives in its own module; this one only wires them together.

import * as api from './api.js';
import { $ } from './dom.js';
import { Explorer } from './explore.js';
import { QueryView } from './query.js';
import { DeviceView } from './device.js';
import { LiveView } from './live.js';

const THEME_KEY = 'dss-lake-theme';

const query = new QueryView();
const openQuery = (sql) => {
  select('query');
  query.insert(sql, { replace: true });
  query.run();
};
const explorer = new Explorer($('tables'), $('table-filter'), {
  insert: (text, opts) => query.insert(text, opts),
  run: () => query.run(),
});
const device = new DeviceView({ openQuery });
const live = new LiveView({ openQuery });
let current = 'query';
let connected = false;

function select(view) {
  current = view;
  for (const tab of document.querySelectorAll('[role=tab][data-view]')) {
    tab.setAttribute('aria-selected', String(tab.dataset.view === view));
  }
  for (const name of ['query', 'device', 'live']) $(`view-${name}`).hidden = name !== view;
  if (view === 'live' && connected) live.start();
  else live.stop();
  if (view === 'device' && connected && device.devices.length === 0) device.load();
  history.replaceState(null, '', `#${view}`);
}

for (const tab of document.querySelectorAll('[role=tab][data-view]')) {
  tab.addEventListener('click', () => select(tab.dataset.view));
}

// Light or dark: the system's choice until the user picks one, then theirs (kept locally).
function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
  document.dispatchEvent(new Event('themechange'));
}
$('theme').addEventListener('click', () => {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === 'dark'
    : matchMedia('(prefers-color-scheme: dark)').matches;
  const theme = dark ? 'light' : 'dark';
  localStorage.setItem(THEME_KEY, theme);
  applyTheme(theme);
});
document.addEventListener('themechange', () => {
  query.redraw();
  device.redraw();
  live.redraw();
});
applyTheme(localStorage.getItem(THEME_KEY));

// The token prompt: shown whenever the API answers 401, wherever the call came from.
const login = $('login');
function askForToken(message) {
  connected = false;
  live.stop();
  $('login-error').textContent = message;
  if (!login.open) login.showModal();
  $('login-token').focus();
}
api.whenUnauthorized(() => {
  askForToken(api.token() ? 'The server refused that token.' : '');
});
$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const value = $('login-token').value.trim();
  if (!value) {
    $('login-error').textContent = 'Enter the token the server was started with.';
    return;
  }
  api.setToken(value);
  $('login-error').textContent = 'Checking…';
  connect();
});
login.addEventListener('cancel', (e) => e.preventDefault());
$('signout').addEventListener('click', () => {
  api.setToken(null);
  $('login-token').value = '';
  askForToken('');
});

async function connect() {
  let tables;
  try {
    tables = await api.tables();
  } catch (err) {
    if (err.status !== 401) $('status').textContent = `Cannot reach the server: ${err.message}`;
    return;
  }
  connected = true;
  if (login.open) login.close();
  $('login-token').value = '';
  $('signout').hidden = !api.token();
  $('server').textContent = location.host;
  explorer.show(tables);
  query.showExamples(await api.examples());
  select(current);
}

const initial = location.hash.slice(1);
select(['query', 'device', 'live'].includes(initial) ? initial : 'query');
connect();
