// app.js -- the KaiVox console: session, routing and the page shell.
//
// Pages live at /console/<page> (the gateway serves index.html for every
// such path): signin, set-password, settings (API & Integrations), calls,
// calls/<id>, appointments.  Navigation uses the History API; every page is
// a module with render(main, ctx).

import { api, setCsrf, onSessionLost } from './api.js';
import { clear, h, setTimeZone } from './dom.js';
import * as signin from './pages/signin.js';
import * as password from './pages/password.js';
import * as settings from './pages/settings.js';
import * as calls from './pages/calls.js';
import * as appointments from './pages/appointments.js';

const BASE = '/console/';
const state = { session: null, cleanup: null };

const routes = [
  { re: /^signin$/, page: signin, open: true, title: 'Sign in' },
  { re: /^set-password$/, page: password, open: true, title: 'Set your password' },
  { re: /^settings$/, page: settings, nav: 'settings', title: 'API & Integrations' },
  { re: /^calls$/, page: calls, nav: 'calls', title: 'Calls' },
  { re: /^calls\/([^/]+)$/, page: calls, nav: 'calls', title: 'Call', detail: true },
  { re: /^appointments$/, page: appointments, nav: 'appointments', title: 'Appointments' },
];

export async function loadSession() {
  const res = await api('GET', '/console/api/session');
  state.session = res.data;
  setCsrf(res.data.csrf_token);
  setTimeZone(res.data.signed_in ? res.data.tenant.timezone : undefined);
  return state.session;
}

export function session() {
  return state.session;
}

export function navigate(path, replace = false) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function shell(signedIn) {
  const bar = document.getElementById('topbar');
  bar.hidden = !signedIn;
  if (signedIn) {
    const s = state.session;
    document.getElementById('account-who').textContent = `${s.tenant.name} · ${s.user.name || s.user.email}`;
  }
}

async function render() {
  if (state.cleanup) {
    state.cleanup();
    state.cleanup = null;
  }
  const main = document.getElementById('main');
  let rel = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
  rel = rel.replace(/\/+$/, '');
  const signedIn = state.session && state.session.signed_in;
  if (rel === '') return navigate(`${BASE}${signedIn ? 'settings' : 'signin'}`, true);
  let route = null, m = null;
  for (const r of routes) {
    m = r.re.exec(rel);
    if (m) { route = r; break; }
  }
  if (route && !route.open && !signedIn) {
    const next = encodeURIComponent(location.pathname + location.search);
    return navigate(`${BASE}signin?next=${next}`, true);
  }
  if (route && route.page === signin && signedIn) return navigate(`${BASE}settings`, true);
  shell(signedIn && !route?.open);
  for (const a of document.querySelectorAll('.mainnav a')) {
    if (route && a.dataset.nav === route.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clear(main);
  if (!route) {
    document.title = 'Not found · KaiVox';
    main.append(h('div', { class: 'page narrow' }, h('h1', {}, 'Page not found'),
      h('p', {}, 'There is no such page. ', h('a', { href: `${BASE}settings`, 'data-link': true }, 'Go to the console'), '.')));
    return;
  }
  document.title = `${route.title} · KaiVox`;
  const ctx = { params: m.slice(1), detail: !!route.detail, session: state.session, navigate, loadSession,
    onCleanup: (fn) => { state.cleanup = fn; } };
  try {
    await route.page.render(main, ctx);
  } catch (e) {
    main.append(h('p', { class: 'form-alert', role: 'alert' }, e.message || 'Something went wrong.'));
  }
  // focus the page's heading for screen reader and keyboard users
  const heading = main.querySelector('h1');
  if (heading && document.activeElement === document.body) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-link]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

onSessionLost(async () => {
  if (!state.session || !state.session.signed_in) return;
  await loadSession().catch(() => null);
  const next = encodeURIComponent(location.pathname + location.search);
  navigate(`${BASE}signin?expired=1&next=${next}`, true);
});

document.getElementById('signout').addEventListener('click', async () => {
  try {
    await api('DELETE', '/console/api/session');
  } catch (e) {
    // signed out anyway as far as this page is concerned
  }
  await loadSession().catch(() => null);
  navigate(`${BASE}signin?signedout=1`, true);
});

async function boot() {
  try {
    await loadSession();
  } catch (e) {
    const main = document.getElementById('main');
    clear(main).append(h('div', { class: 'page narrow' }, h('h1', {}, 'KaiVox console'),
      h('p', { class: 'form-alert', role: 'alert' }, e.message || 'The console cannot reach the server.')));
    return;
  }
  render();
}

boot();
