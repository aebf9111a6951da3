// lib.mjs -- what the browser tests share: PASS/FAIL lines (counted by
// tests/run.sh like every other test), the stack's admin and public APIs,
// Debian's chromium driven by puppeteer-core, the contract log of the
// answers the browser received, and a webhook receiver process.

import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

export const env = (name, def) => process.env[name] ?? def;
export const BASE = env('KVT_BASE_URL', 'http://127.0.0.1:18080');
export const ADMIN = env('KVT_ADMIN_URL', 'http://127.0.0.1:18081');
export const ROOT = env('KVT_ROOT', process.cwd());
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let passed = 0, failed = 0;
export function check(ok, name, why) {
  if (ok) {
    passed++;
    console.log(`PASS ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${why ? `: ${String(why).replace(/\s+/g, ' ').slice(0, 400)}` : ''}`);
  }
  return !!ok;
}
export function done() {
  console.log(`# ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

// Polls fn until it returns something truthy (or timeout_ms); returns it.
export async function until(fn, timeoutMs = 10000, stepMs = 200) {
  const t0 = Date.now();
  for (;;) {
    let v;
    try {
      v = await fn();
    } catch (e) {
      v = null;
    }
    if (v || Date.now() - t0 > timeoutMs) return v;
    await sleep(stepMs);
  }
}

// ---- HTTP ----------------------------------------------------------------------

export async function admin(method, p, body) {
  const res = await fetch(`${ADMIN}${p}`, {
    method,
    headers: { Authorization: `Bearer ${env('KVT_ADMIN_TOKEN', '')}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`admin ${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

// The public API with a key; records the answer for the contract check.
export async function apiKey(key, method, p, body, base = BASE) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${base}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (base === BASE) record(method, p, res.status, [...res.headers.entries()], text, body === undefined ? null : JSON.stringify(body));
  let json = null;
  try { json = JSON.parse(text); } catch (e) { json = null; }
  return { status: res.status, json, headers: res.headers };
}

// ---- the contract log (tests/contract/validate.mjs) ----------------------------

const LOG = env('KVT_CONTRACT_LOG', '');
export function record(method, target, status, headers, body, requestBody) {
  if (!LOG) return;
  const rec = { src: 'api', test: 'browser/console', method, target, status, headers, body, request_body: requestBody ?? null };
  appendFileSync(LOG, `${JSON.stringify(rec)}\n`);
}

// Records every answer of the gateway a page receives (not the ones the
// browser took from its cache).
export function recordPage(page) {
  page.on('response', async (res) => {
    const url = res.url();
    if (!url.startsWith(`${BASE}/`) || res.fromCache() || res.fromServiceWorker()) return;
    const req = res.request();
    const status = res.status();
    const headers = [];
    for (const [k, v] of Object.entries(res.headers())) {
      for (const one of String(v).split('\n')) headers.push([k, one]);
    }
    let body = '';
    if (status !== 204 && status !== 304 && status !== 301 && req.method() !== 'HEAD') {
      try { body = await res.text(); } catch (e) { return; }   // gone with its page
    }
    if (status === 301) body = null;
    const u = new URL(url);
    record(req.method(), u.pathname + u.search, status, headers, body ?? '', req.postData() ?? null);
  });
}

// ---- the browser ------------------------------------------------------------------

export async function launch() {
  const dir = mkdtempSync(path.join(tmpdir(), 'kvt-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: env('KVT_CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', '--hide-scrollbars', '--font-render-hinting=none',
      `--user-data-dir=${dir}`],
    protocolTimeout: 120000,
  });
  browser.on('disconnected', () => {
    // chromium may still be writing its profile as it exits: best effort
    setTimeout(() => {
      try { rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }); } catch (e) { /* left in /tmp */ }
    }, 500).unref();
  });
  return browser;
}

// A fresh context (its own cookies) and page, recording answers and
// collecting the page's errors (CSP violations included).
export async function newPage(browser, errors) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  page.setDefaultTimeout(20000);
  recordPage(page);
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[13]|Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
    if (/Content Security Policy|Refused to/.test(m.text())) errors.push(`csp: ${m.text()}`);
  });
  return { ctx, page };
}

// The text of the element matching sel (trimmed), or null.
export async function text(page, sel) {
  return page.$eval(sel, (e) => e.textContent.trim()).catch(() => null);
}

// Clicks the button (or link) whose accessible label or text is label.
export async function clickLabel(page, label, root = 'body') {
  const ok = await page.evaluate((lbl, r) => {
    const scope = document.querySelector(r) || document.body;
    const els = [...scope.querySelectorAll('button, a')];
    const el = els.find((e) => e.getAttribute('aria-label') === lbl) || els.find((e) => e.textContent.trim() === lbl);
    if (!el || el.disabled) return false;
    el.click();
    return true;
  }, label, root);
  if (!ok) throw new Error(`no enabled button or link "${label}"`);
}

// ---- axe-core ------------------------------------------------------------------------

const AXE = readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
// The serious and critical violations on the page (evaluated through the
// DevTools protocol, so the page's CSP stays as strict as it is).
export async function axeSerious(page) {
  await page.evaluate(AXE);
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, n: v.nodes.length, target: v.nodes[0]?.target?.join(' ') }));
  });
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

// ---- the webhook receiver (tests/tools/webhook_receiver) ------------------------------

export async function startReceiver() {
  const dir = mkdtempSync(path.join(tmpdir(), 'kvt-webhooks-'));
  const bin = path.join(env('KVT_BUILD', path.join(ROOT, 'build/release')), 'tests/tools/webhook_receiver');
  const child = spawn(bin, ['--dir', dir, '--port-file', `${dir}/port`, '--quiet', '--max-seconds', '600'], { stdio: 'ignore' });
  const port = await until(() => existsSync(`${dir}/port`) && parseInt(readFileSync(`${dir}/port`, 'utf8'), 10), 5000, 50);
  if (!port) throw new Error('the webhook receiver did not start');
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    // request n (1-based) of path: {body, headers: {lower name: value}}, or null
    request(p, n) {
      const d = path.join(dir, p.slice(1).replace(/[/.]/g, '_'));
      const f = path.join(d, `${String(n).padStart(6, '0')}`);
      if (!existsSync(`${f}.headers`)) return null;
      const headers = {};
      for (const line of readFileSync(`${f}.headers`, 'utf8').split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      return { body: readFileSync(`${f}.body`), headers };
    },
    stop() {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- a gateway of its own (ports KVT_PORT_BASE+90.., as gw_e2e.h's) ----------------------

export async function startGateway(extraEnv) {
  // a port of the layout may be busy for a moment (another program's
  // outgoing connection): a gateway that exits at start-up is started again
  for (let attempt = 1; ; attempt++) {
    try {
      return await startGatewayOnce(extraEnv);
    } catch (e) {
      if (attempt >= 3) throw e;
      await sleep(2000);
    }
  }
}

async function startGatewayOnce(extraEnv) {
  const base = parseInt(env('KVT_PORT_BASE', '18000'), 10);
  const bin = path.join(env('KAIVOX_BIN_DIR', path.join(ROOT, 'bin')), 'kaivox-gateway');
  const logf = path.join(env('KAIVOX_VAR_DIR', path.join(ROOT, 'var')), 'log', 'gateway-browser.log');
  const { openSync } = await import('node:fs');
  const fd = openSync(logf, 'a');
  const child = spawn(bin, [], {
    cwd: ROOT,
    stdio: ['ignore', fd, fd],
    env: {
      ...process.env,
      KAIVOX_HTTP_PORT: String(base + 90), KAIVOX_ADMIN_PORT: String(base + 91),
      KAIVOX_BUS_ENDPOINT: `tcp://127.0.0.1:${base + 93}`,
      KAIVOX_EVENTS_IN_ENDPOINT: `tcp://127.0.0.1:${base + 94}`,
      KAIVOX_EVENTS_OUT_ENDPOINT: `tcp://127.0.0.1:${base + 95}`,
      KAIVOX_ADMIN_TOKEN: env('KVT_ADMIN_TOKEN', ''), KAIVOX_DRAIN_S: '1',
      ...extraEnv,
    },
  });
  const url = `http://127.0.0.1:${base + 90}`;
  let exited = false;
  child.on('exit', () => { exited = true; });
  const up = await until(async () => exited || (await fetch(`${url}/healthz`)).ok, 20000, 100);
  if (exited) throw new Error('the private gateway exited at start-up (see gateway-browser.log)');
  if (!up) {
    child.kill('SIGKILL');
    throw new Error('the private gateway did not start (see gateway-browser.log)');
  }
  return {
    url,
    stop: () => new Promise((resolve) => {
      child.on('exit', resolve);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10000).unref();
    }),
  };
}
