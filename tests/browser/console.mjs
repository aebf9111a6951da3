#!/usr/bin/env node
// console.mjs -- the web console in a real browser (Debian's chromium,
// headless, driven by puppeteer-core), against the test stack of
// tests/run.sh:
//   - set a password from the invitation link, sign in (and a wrong
//     password), sign out, a session that expires (a gateway of its own
//     with short lifetimes);
//   - generate an API key: shown once, it works against the API; delete it
//     in the page: 401;
//   - add a webhook endpoint at a local receiver, Send test event: the
//     receiver got a correctly signed request and the delivery log shows it
//     succeeded with its attempt; an endpoint whose receiver answers 500
//     shows failed attempts; Redeliver works; the log's filters;
//   - a user of tenant A sees nothing of tenant B, also by typing B's ids
//     into URLs; a cross-site and a cross-origin form post are refused; an
//     API key on the key routes gets 403;
//   - keyboard only: sign in and generate a key;
//   - axe-core finds no serious or critical violation on any page, light
//     and dark;
//   - a screenshot of each page at 1280 and 360 px (and dark at 1280) under
//     build/console-screenshots/.
// Every answer of the gateway the browser received is recorded for the
// contract check (KVT_CONTRACT_LOG).  Prints PASS/FAIL lines.

import { mkdirSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import {
  BASE, ROOT, admin, apiKey, axeSerious, check, clickLabel, done, launch, newPage, sleep,
  startGateway, startReceiver, text, until,
} from './lib.mjs';

const PW = 'correct horse battery staple';
const SHOTS = path.join(ROOT, 'build', 'console-screenshots');
const stamp = `${process.pid}-${Date.now()}`;
const errors = [];

function uniq(tag) {
  return `${tag}-${stamp}@example.com`;
}

// ---- data --------------------------------------------------------------------------

function tenantToday(tz, plus = 0) {
  const p = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date());
  const g = (t) => +p.find((x) => x.type === t).value;
  return new Date(Date.UTC(g('year'), g('month') - 1, g('day') + plus)).toISOString().slice(0, 10);
}

async function seedTenant(name, tz, keyName) {
  const t = await admin('POST', '/admin/v1/tenants', { name, timezone: tz });
  const k = await admin('POST', `/admin/v1/tenants/${t.id}/keys`, { name: keyName });
  return { id: t.id, key: k.key, keyId: k.id, tz };
}

async function seedShop(t) {
  const svc = [];
  for (const [name, duration, price] of [['Haircut', 30, '25.00'], ['Colour & Cut', 90, '80.00'], ['Beard Trim', 15, '12.50']])
    svc.push(await admin('POST', `/admin/v1/tenants/${t.id}/services`, { name, duration, price, active: true }));
  const week = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [['07:00', '22:45']]]));
  const staff = [];
  for (const name of ['Alex Morgan', 'Sam Taylor'])
    staff.push(await admin('POST', `/admin/v1/tenants/${t.id}/staff`, { name, specialties: ['haircut'], hours: week, active: true }));
  const people = [['Olivia Bennett', '+447700900101'], ['Noah Clarke', '+447700900102'], ['Amelia Hughes', '+447700900103'], ['Jack Wilson', '+447700900104']];
  const cust = [];
  for (const [name, phone] of people)
    cust.push((await apiKey(t.key, 'POST', '/api/v1/customers', { name, phone, email: `${name.split(' ')[0].toLowerCase()}@example.com` })).json.data);
  // a few bookings today (when slots are left) and in the coming days
  let n = 0;
  for (let day = 0; day <= 5; day++) {
    const date = tenantToday(t.tz, day);
    const s = svc[day % 2];
    const slots = (await apiKey(t.key, 'GET', `/api/v1/appointments/slots?date=${date}&service_id=${s.id}`)).json?.data || [];
    for (const pick of [slots[Math.floor(slots.length / 3)], slots[Math.floor((2 * slots.length) / 3)]]) {
      if (!pick) continue;
      await apiKey(t.key, 'POST', '/api/v1/appointments', {
        customer_id: cust[n % cust.length].id, service_id: s.id, appointment_date: date,
        appointment_time: pick.time, staff_id: pick.staff_ids[n % pick.staff_ids.length], source: 'web_form',
      });
      n++;
    }
  }
  // calls: answered and missed, every sentiment, with transcripts
  const now = Date.now();
  const calls = [
    ['Olivia Bennett', '+447700900101', 185, 'booked', 'positive', 'Olivia booked a haircut for Friday at 10:00 with Alex and asked for a reminder the day before.',
      [['agent', 'Hello, Bella Salon, this is the KaiVox receptionist. How can I help?'], ['caller', 'Hi, I would like to book a haircut this Friday morning.'], ['agent', 'Alex is free at 10:00 on Friday. Shall I book it?'], ['caller', 'Yes please, that would be great.'], ['agent', 'Done: a haircut with Alex on Friday at 10:00. We will text you a reminder.']]],
    ['Noah Clarke', '+447700900102', 9, 'missed', 'neutral', null, []],
    ['Unknown caller', '+447700900199', 64, 'answered', 'negative', 'The caller complained about waiting time last Saturday and asked to speak to the owner.',
      [['agent', 'Hello, Bella Salon. How can I help?'], ['caller', 'I waited forty minutes on Saturday, it is not acceptable.'], ['agent', 'I am sorry. I will ask the owner to call you back today.']]],
    ['Amelia Hughes', '+447700900103', 122, 'answered', 'positive', 'Amelia asked about colour prices; the receptionist quoted £80 for colour and cut.',
      [['caller', 'How much is a colour and cut?'], ['agent', 'It is £80 and takes about ninety minutes.']]],
  ];
  const ids = [];
  for (let i = 0; i < calls.length; i++) {
    const [name, phone, dur, outcome, sentiment, summary, turns] = calls[i];
    const started = new Date(now - (i + 1) * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
    const r = await apiKey(t.key, 'POST', '/api/v1/calls', {
      caller_phone: phone, caller_name: name === 'Unknown caller' ? null : name, started_at: started,
      duration_seconds: dur, outcome, sentiment, quality_score: 70 + i * 5, summary,
      transcript: turns.map(([speaker, txt], j) => ({ speaker, text: txt, offset_seconds: j * 6 })),
      external_id: `browser-${stamp}-${i}`,
    });
    ids.push(r.json?.data?.id);
  }
  return { calls: ids };
}

async function inviteUser(t, email, name) {
  const u = await admin('POST', `/admin/v1/tenants/${t.id}/users`, { email, name });
  return u;
}

// Sets the password through the page of the invitation link.
async function setPasswordInPage(page, link, shot) {
  const u = new URL(link);
  await page.goto(`${BASE}${u.pathname}${u.hash}`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#new-password');
  if (shot) await shot('set-password');
  await page.type('#new-password', PW);
  await page.type('#confirm-password', PW);
  await Promise.all([page.waitForSelector('#signin-form'), clickLabel(page, 'Set password')]);
  return text(page, '.notice');
}

async function signIn(page, email, password, base = BASE) {
  await page.goto(`${base}/console/signin`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#signin-email');
  await page.type('#signin-email', email);
  await page.type('#signin-password', password);
  await clickLabel(page, 'Sign in');
}

// ---- screenshots and accessibility --------------------------------------------------

const axeSeen = new Set();
async function audit(page, name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
    const v = await axeSerious(page);
    check(v.length === 0, `axe: no serious or critical violation on ${name} (${scheme})`,
      v.map((x) => `${x.id} (${x.impact}, ${x.n}x, ${x.target})`).join('; '));
  }
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  axeSeen.add(name);
}

async function screenshots(page, name, fullPage = true) {
  mkdirSync(SHOTS, { recursive: true });
  await page.evaluate(() => { const t = document.getElementById('toast'); if (t) { t.classList.remove('show'); t.textContent = ''; } });
  for (const [w, h, scheme, suffix] of [[1280, 900, 'light', '1280'], [360, 780, 'light', '360'], [1280, 900, 'dark', '1280-dark']]) {
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
    await page.setViewport({ width: w, height: h });
    await sleep(150);
    await page.screenshot({ path: path.join(SHOTS, `${name}-${suffix}.png`), fullPage });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (w === 360) check(overflow <= 0, `layout: ${name} fits 360 px without sideways scrolling`, `${overflow} px too wide`);
  }
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  await page.setViewport({ width: 1280, height: 900 });
}

// Picks value in the log filter sel and waits until the log is drawn again.
async function filter(page, sel, value) {
  const before = await page.$eval('#deliveries', (d) => d.dataset.seq);
  await page.select(sel, value);
  await page.waitForFunction((b) => {
    const d = document.querySelector('#deliveries');
    return d.dataset.seq !== b && d.getAttribute('aria-busy') === 'false';
  }, {}, before);
}

// Opens the attempts of delivery id in the log; their rows' text.
async function openAttempts(page, id) {
  await page.evaluate((i) => document.querySelector(`#deliveries tr[data-delivery="${i}"] button[aria-expanded]`).click(), id);
  await page.waitForSelector(`#attempts-${id} table`);
  return page.$$eval(`#attempts-${id} tbody tr`, (rows) => rows.map((x) => [...x.children].map((c) => c.textContent).join(' ')));
}

// ---- the tests -------------------------------------------------------------------------

async function main() {
  const A = await seedTenant('Bella Salon', 'Europe/London', 'Booking widget');
  const B = await seedTenant(`Other Salon ${stamp}`, 'UTC', 'Tenant B integration');
  const seeded = await seedShop(A);
  const bCall = (await apiKey(B.key, 'POST', '/api/v1/calls', {
    caller_phone: '+15550009999', caller_name: 'Tenant B Caller', started_at: new Date(Date.now() - 600e3).toISOString().replace(/\.\d+Z$/, 'Z'),
    duration_seconds: 40, summary: 'Only tenant B may see this.', external_id: `b-${stamp}`,
  })).json.data;
  const emailA = uniq('owner-a'), emailB = uniq('owner-b');
  const userA = await inviteUser(A, emailA, 'Maria Rossi');
  const userB = await inviteUser(B, emailB, 'Tenant B Owner');
  const rcv = await startReceiver();
  const bEndpoint = (await apiKey(B.key, 'POST', '/api/v1/webhooks', { url: rcv.url('/ok/tenant-b'), events: ['call.missed'] })).json.data;

  const browser = await launch();
  try {
    const { page } = await newPage(browser, errors);
    await page.setViewport({ width: 1280, height: 900 });

    // -- set the password from the link, then a wrong one, then sign in
    const notice = await setPasswordInPage(page, userA.set_password_url, (n) => screenshots(page, n).then(() => audit(page, n)));
    check(notice && /password is set/i.test(notice), 'set password: the link page sets the password and leads to sign-in', notice);
    await screenshots(page, 'signin');
    await audit(page, 'sign-in');
    const labels = await page.evaluate(() => [...document.querySelectorAll('label')].map((l) => l.textContent.trim()));
    check(labels.includes('Email') && labels.includes('Password'), 'sign in: fields labelled Email and Password', labels.join(','));
    await signIn(page, emailA, 'not the password');
    const alert = await until(() => text(page, '.form-alert'), 10000);
    check(alert === 'The email or password is incorrect.', 'sign in: a wrong password gives one message', alert);
    const cookies0 = await page.cookies(BASE);
    check(!cookies0.some((c) => c.name === 'kv_session'), 'sign in: ... and no session cookie');
    await signIn(page, uniq('nobody'), PW);
    const alert2 = await until(() => text(page, '.form-alert'), 10000);
    check(alert2 === alert, 'sign in: an unknown e-mail gives the very same message', alert2);
    await signIn(page, emailA, PW);
    await page.waitForSelector('#keys table', { timeout: 20000 });
    check(page.url() === `${BASE}/console/settings`, 'sign in: lands on Settings -> API & Integrations', page.url());
    const cookies = await page.cookies(BASE);
    const sess = cookies.find((c) => c.name === 'kv_session');
    check(sess && sess.httpOnly && sess.sameSite === 'Strict', 'sign in: the session cookie is HttpOnly and SameSite=Strict', JSON.stringify(sess));
    check(await page.evaluate(() => !document.cookie.includes('kv_session')), 'sign in: scripts cannot read the session cookie');
    const h = await page.evaluate(() => [...document.querySelectorAll('h1, h2')].map((e) => e.textContent.trim()));
    check(h.includes('API & Integrations') && h.includes('API Keys') && h.includes('Webhook Endpoints') && h.includes('Delivery logs'),
      'settings: the three sections', h.join(' | '));

    // -- generate a key: shown once, works, delete it: 401
    await clickLabel(page, 'Generate New Key');
    await page.waitForSelector('dialog #key-name');
    await audit(page, 'the Generate New Key dialog');
    await page.type('#key-name', 'Zapier');
    await clickLabel(page, 'Generate key', 'dialog');
    await page.waitForFunction(() => document.querySelector('dialog .dialog-title')?.textContent === 'Your new API key');
    const key = await page.$eval('dialog input.secret', (e) => e.value);
    const warn = await text(page, 'dialog .warning');
    check(/^kv1_[0-9A-Za-z]{38}$/.test(key), 'keys: the new key is shown', key);
    check(warn && /shown only once/.test(warn) && /will not be shown again/.test(warn), 'keys: ... with the warning that it will not be shown again', warn);
    check(await page.$('dialog button.btn-primary') !== null && (await text(page, 'dialog .secret-row button')) === 'Copy', 'keys: ... and a copy button');
    await screenshots(page, 'settings-new-key', false);
    await clickLabel(page, 'Copy', 'dialog');
    const copied = await until(() => text(page, 'dialog .copy-status'), 3000);
    check(copied && copied.length > 0, 'keys: the copy button says what it did', copied);
    await clickLabel(page, 'Done', 'dialog');
    await page.waitForFunction(() => !document.querySelector('dialog'));
    const html = await page.content();
    check(!html.includes(key), 'keys: once the dialog is closed the key is nowhere in the page');
    const rowText = await page.$eval('#keys table', (t) => t.textContent);
    check(rowText.includes('Zapier') && rowText.includes(key.slice(0, 12)), 'keys: the list shows its name and prefix');
    check(rowText.includes('Full access') && !rowText.includes('Read only'), 'keys: ... and full access, the default', rowText.slice(0, 200));
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector('#keys table');
    check(!(await page.content()).includes(key), 'keys: after a reload it is not shown again');
    let r = await apiKey(key, 'GET', '/api/v1/services');
    check(r.status === 200, 'keys: the key works against the API', r.status);
    r = await apiKey(key, 'GET', '/api/v1/api-keys');
    check(r.status === 403, 'keys: an API key on the key routes gets 403', r.status);
    r = await apiKey(key, 'POST', '/api/v1/api-keys', { name: 'minted by a key' });
    check(r.status === 403, 'keys: an API key cannot mint a key (403)', r.status);
    await clickLabel(page, 'Delete key Zapier');
    await page.waitForSelector('dialog');
    const confirmText = await text(page, 'dialog .dialog-body');
    check(/stops working/.test(confirmText || ''), 'keys: delete asks for confirmation', confirmText);
    await clickLabel(page, 'Delete key', 'dialog');
    await page.waitForFunction(() => !document.querySelector('#keys table')?.textContent.includes('Zapier'));
    check(true, 'keys: the deleted key leaves the list');
    const st = await until(async () => (await apiKey(key, 'GET', '/api/v1/services')).status === 401 && 401, 6000);
    check(st === 401, 'keys: the deleted key is refused (401) within the cache TTL', st);

    // -- a read-only key: reads, every write refused (403), the list says so
    await clickLabel(page, 'Generate New Key');
    await page.waitForSelector('dialog #key-name');
    check(await page.$eval('dialog input[name=scope][value=full]', (e) => e.checked), 'keys: the dialog offers full access by default');
    await page.type('#key-name', 'Website Widget');
    await page.click('dialog input[name=scope][value=read]');
    await clickLabel(page, 'Generate key', 'dialog');
    await page.waitForFunction(() => document.querySelector('dialog .dialog-title')?.textContent === 'Your new API key');
    const roKey = await page.$eval('dialog input.secret', (e) => e.value);
    const roText = await text(page, 'dialog .dialog-body');
    check(/read-only key/.test(roText || ''), 'keys: the new key is said to be read-only', roText);
    await clickLabel(page, 'Done', 'dialog');
    await page.waitForFunction(() => !document.querySelector('dialog'));
    const roRow = await page.$$eval('#keys table tr', (rows) => rows.map((r) => r.textContent).find((t) => t.includes('Website Widget')));
    check(roRow && roRow.includes('Read only'), 'keys: the list shows it as read only', roRow);
    r = await apiKey(roKey, 'GET', '/api/v1/services');
    check(r.status === 200, 'keys: a read-only key reads', r.status);
    r = await apiKey(roKey, 'POST', '/api/v1/customers', { name: 'Not made', phone: '+447700900124' });
    check(r.status === 403, 'keys: a read-only key cannot write (403)', r.status);

    // -- webhooks: an endpoint that answers 200
    await clickLabel(page, 'Add Endpoint');
    await page.waitForSelector('dialog #ep-url');
    await audit(page, 'the Add endpoint dialog');
    await page.type('#ep-url', rcv.url('/ok/browser'));
    await page.click('input[name=events][value="call.ended"]');        // unchecks one
    await clickLabel(page, 'Add endpoint', 'dialog');
    await page.waitForFunction(() => document.querySelector('dialog .dialog-title')?.textContent === 'Endpoint added');
    const secret = await page.$eval('dialog input.secret', (e) => e.value);
    check(/^whsec_/.test(secret), 'webhooks: adding an endpoint shows its signing secret', secret.slice(0, 10));
    check(/will not be shown again/.test(await text(page, 'dialog .warning') || ''), 'webhooks: ... once');
    await clickLabel(page, 'Done', 'dialog');
    await page.waitForFunction(() => !document.querySelector('dialog'));
    const epRow = await page.$eval('#endpoints table', (t) => t.textContent);
    check(epRow.includes(rcv.url('/ok/browser')) && epRow.includes('call.missed') && !epRow.includes('call.ended'),
      'webhooks: the list shows its URL and events', epRow.slice(0, 200));
    await clickLabel(page, `Send test event to ${rcv.url('/ok/browser')}`);
    const ok = await until(async () => (await page.$eval('#test-status', (e) => e.className)).includes('good') && text(page, '#test-status'), 20000);
    check(ok && /delivered/.test(ok) && /HTTP 200/.test(ok), 'webhooks: Send test event reports the delivery', ok);
    const got = rcv.request('/ok/browser', 1);
    check(got !== null, 'webhooks: the receiver got the test event');
    if (got) {
      const hex = createHmac('sha256', secret).update(got.body).digest('hex');
      check(got.headers['x-kaivox-signature'] === hex, 'webhooks: X-KaiVox-Signature is the HMAC-SHA256 of the body under the secret');
      const keyBytes = Buffer.from(secret.slice(6), 'base64');
      const std = createHmac('sha256', keyBytes).update(`${got.headers['webhook-id']}.${got.headers['webhook-timestamp']}.`).update(got.body).digest('base64');
      check(got.headers['webhook-signature'] === `v1,${std}`, 'webhooks: the Standard Webhooks signature verifies');
      const ev = JSON.parse(got.body.toString('utf8'));
      check(ev.event === 'ping' && got.headers['x-kaivox-event'] === 'ping', 'webhooks: it is a ping event', ev.event);
    }
    await page.waitForFunction(() => [...document.querySelectorAll('#deliveries tbody tr')].some((tr) => tr.textContent.includes('ping') && tr.textContent.includes('Succeeded')), { timeout: 15000 });
    const okRow = await page.evaluate(() => [...document.querySelectorAll('#deliveries tbody tr')].find((tr) => tr.textContent.includes('Succeeded'))?.textContent);
    check(/HTTP 200/.test(okRow || '') && /\d+ ms/.test(okRow || ''), 'delivery log: the test shows as succeeded, with the response code and duration', okRow);
    const okId = await page.evaluate(() => [...document.querySelectorAll('#deliveries tbody tr')].find((tr) => tr.textContent.includes('Succeeded')).dataset.delivery);
    const attempts = await openAttempts(page, okId);
    check(attempts.length === 1 && attempts[0].includes('200'), 'delivery log: the row opens its one attempt (200)', attempts.join(' | '));

    // -- an endpoint whose receiver answers 500 (4 times: every attempt of a series)
    const failUrl = rcv.url('/fail-then-ok/4/browser');
    await clickLabel(page, 'Add Endpoint');
    await page.waitForSelector('dialog #ep-url');
    await page.type('#ep-url', failUrl);
    await clickLabel(page, 'Add endpoint', 'dialog');
    await page.waitForFunction(() => document.querySelector('dialog .dialog-title')?.textContent === 'Endpoint added');
    await clickLabel(page, 'Done', 'dialog');
    await page.waitForFunction(() => !document.querySelector('dialog'));
    await clickLabel(page, `Send test event to ${failUrl}`);
    const bad = await until(async () => (await page.$eval('#test-status', (e) => e.className)).includes('bad') && text(page, '#test-status'), 20000);
    check(bad && /failed/.test(bad) && /HTTP 500/.test(bad), 'webhooks: a failing receiver is reported', bad);
    // the log refreshes itself while deliveries are pending: wait without reloading
    const failedRow = await until(() => page.evaluate((u) => [...document.querySelectorAll('#deliveries tbody tr')]
      .find((tr) => tr.textContent.includes(u) && tr.textContent.includes('Failed'))?.textContent, failUrl), 30000, 500);
    check(failedRow && /HTTP 500/.test(failedRow), 'delivery log: it refreshes itself and shows the delivery failed (HTTP 500)', failedRow);
    await screenshots(page, 'settings');
    // filters
    await filter(page, '#f-status', 'failed');
    const onlyFailed = await page.evaluate(() => {
      const rows = [...document.querySelectorAll('#deliveries > .table-wrap > table > tbody > tr:not(.detail-row)')];
      return rows.length > 0 && rows.every((tr) => tr.textContent.includes('Failed'));
    });
    check(onlyFailed && new URL(page.url()).searchParams.get('status') === 'failed', 'delivery log: the status filter (and the URL keeps it)');
    await filter(page, '#f-status', '');
    await filter(page, '#f-event', 'call.missed');
    check(await page.$('#deliveries tbody tr.empty') !== null, 'delivery log: the event filter');
    await filter(page, '#f-event', '');
    const okEp = await page.$$eval('#f-endpoint option', (o, u) => o.find((x) => x.textContent === u)?.value, rcv.url('/ok/browser'));
    await filter(page, '#f-endpoint', okEp);
    const onlyOk = await until(() => page.evaluate((u) => {
      const rows = [...document.querySelectorAll('#deliveries > .table-wrap > table > tbody > tr:not(.detail-row)')];
      return rows.length > 0 && rows.every((tr) => tr.textContent.includes(u));
    }, rcv.url('/ok/browser')), 15000);
    check(onlyOk, 'delivery log: the endpoint filter', `${okEp} ${page.url()} ` + await page.$eval('#deliveries tbody', (d) => d.textContent.slice(0, 300)));
    await filter(page, '#f-endpoint', '');
    const failId = await page.evaluate((u) => [...document.querySelectorAll('#deliveries tbody tr')].find((tr) => tr.textContent.includes(u))?.dataset.delivery, failUrl);
    const failAttempts = await openAttempts(page, failId);
    check(failAttempts.length === 4 && failAttempts.every((a) => a.includes('500')), 'delivery log: it shows the 4 failed attempts (500)', failAttempts.join(' | '));
    await page.evaluate((u) => [...document.querySelectorAll('#deliveries tbody tr')].find((tr) => tr.textContent.includes(u) && tr.textContent.includes('Failed')).querySelector('button[aria-label^="Redeliver"]').click(), failUrl);
    const redone = await until(() => page.evaluate((u) => [...document.querySelectorAll('#deliveries tbody tr')]
      .find((tr) => tr.textContent.includes(u) && tr.textContent.includes('Succeeded'))?.textContent, failUrl), 30000, 500);
    check(redone && /HTTP 200/.test(redone), 'delivery log: Redeliver sends it again, and it succeeds', redone);
    await audit(page, 'Settings -> API & Integrations');

    // -- edit an endpoint: turn it off
    await clickLabel(page, `Edit ${failUrl}`);
    await page.waitForSelector('dialog input[name=active]');
    await page.click('dialog input[name=active]');
    await clickLabel(page, 'Save', 'dialog');
    await page.waitForFunction((u) => [...document.querySelectorAll('#endpoints tbody tr')].some((tr) => tr.textContent.includes(u) && tr.textContent.includes('Inactive')), {}, failUrl);
    check(true, 'webhooks: edit turns an endpoint off');

    // -- calls and appointments
    await clickLabel(page, 'Calls');
    await page.waitForSelector('#calls table');
    const callRows = await page.$$eval('#calls tbody tr', (rows) => rows.map((x) => x.textContent));
    check(callRows.length === 4 && callRows.some((x) => x.includes('Olivia Bennett')), 'calls: the recent calls', callRows.length);
    await page.select('#f-missed', 'true');
    await page.waitForFunction(() => document.querySelectorAll('#calls tbody tr').length === 1);
    check((await page.$eval('#calls tbody', (t) => t.textContent)).includes('Missed'), 'calls: the missed filter');
    await page.select('#f-missed', '');
    await page.select('#f-sentiment', 'negative');
    await page.waitForFunction(() => document.querySelectorAll('#calls tbody tr').length === 1);
    check(true, 'calls: the sentiment filter');
    await page.select('#f-sentiment', '');
    await page.waitForFunction(() => document.querySelectorAll('#calls tbody tr').length === 4);
    await screenshots(page, 'calls');
    await audit(page, 'Calls');
    await clickLabel(page, 'Olivia Bennett');
    await page.waitForSelector('.transcript');
    const heading = await text(page, 'h1');
    const turns = await page.$$eval('.transcript li', (l) => l.length);
    check(heading === 'Call with Olivia Bennett' && turns === 5, 'calls: a call opens its summary and transcript', `${heading}, ${turns} turns`);
    check((await page.$eval('main', (m) => m.textContent)).includes('Olivia booked a haircut'), 'calls: ... the summary');
    await screenshots(page, 'call');
    await audit(page, 'a call');
    await clickLabel(page, 'Appointments');
    await page.waitForSelector('#appointments table');
    const appt = await page.$eval('#appointments', (a) => a.textContent);
    check(/Today/.test(appt) && /Upcoming/.test(appt) && /Alex Morgan|Sam Taylor/.test(appt) && /Scheduled/.test(appt),
      'appointments: today and upcoming, with staff and status', appt.slice(0, 160));
    const staffOpts = await page.$$eval('#f-staff option', (o) => o.map((x) => [x.value, x.textContent]));
    const alex = staffOpts.find((o) => o[1] === 'Alex Morgan');
    await page.select('#f-staff', alex[0]);
    await page.waitForFunction(() => !document.querySelector('#appointments')?.textContent.includes('Sam Taylor'));
    check(true, 'appointments: by staff');
    await page.select('#f-staff', '');
    await page.waitForFunction(() => document.querySelector('#appointments table'));
    await screenshots(page, 'appointments');
    await audit(page, 'Appointments');

    // -- cross-site and cross-origin form posts are refused
    const keysBefore = (await page.evaluate(() => fetch('/api/v1/api-keys').then((x) => x.json()))).meta.total;
    await page.setRequestInterception(true);
    const evil = (action) => `<!doctype html><title>evil</title><form id="f" method="POST" action="${action}" enctype="text/plain"><input name='{"name":"evil","x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`;
    const intercept = (req) => {
      if (req.isInterceptResolutionHandled()) return;
      if (req.url().startsWith('http://attacker.example/') || req.url().startsWith('http://127.0.0.1:9/'))
        req.respond({ status: 200, contentType: 'text/html', body: evil(`${BASE}/api/v1/api-keys`) });
      else req.continue();
    };
    page.on('request', intercept);
    let nav = page.waitForNavigation({ waitUntil: 'load' });
    await page.goto('http://attacker.example/');
    let resp = await nav.catch(() => null);
    check(resp && resp.status() === 401, 'csrf: a form posted from another site carries no session (SameSite=Strict): 401', resp && resp.status());
    nav = page.waitForNavigation({ waitUntil: 'load' });
    await page.goto('http://127.0.0.1:9/');
    resp = await nav.catch(() => null);
    check(resp && resp.status() === 403, 'csrf: a form posted from another origin of the same site is refused by the origin check: 403', resp && resp.status());
    page.off('request', intercept);
    await page.setRequestInterception(false);
    await page.goto(`${BASE}/console/settings`, { waitUntil: 'networkidle0' });
    const keysAfter = (await page.evaluate(() => fetch('/api/v1/api-keys').then((x) => x.json()))).meta.total;
    check(keysAfter === keysBefore, 'csrf: ... and no key was made', `${keysBefore} -> ${keysAfter}`);

    // -- tenant B sees nothing of A, even by typing A's ids
    const { page: pb } = await newPage(browser, errors);
    await pb.setViewport({ width: 1280, height: 900 });
    const noticeB = await setPasswordInPage(pb, userB.set_password_url);
    check(!!noticeB, 'tenant B: its user sets a password');
    await signIn(pb, emailB, PW);
    await pb.waitForSelector('#keys table');
    await pb.waitForSelector('#endpoints table');
    const bText = await pb.$eval('main', (m) => m.textContent);
    check(!bText.includes('Booking widget') && bText.includes('Tenant B integration') &&
      !bText.includes(rcv.url('/ok/browser')) && bText.includes(rcv.url('/ok/tenant-b')),
      'tenant B: its settings show its own keys and endpoints only', bText.slice(0, 600));
    await pb.goto(`${BASE}/console/calls`, { waitUntil: 'networkidle0' });
    await pb.waitForSelector('#calls table');
    const bCalls = await pb.$eval('#calls', (c) => c.textContent);
    check(bCalls.includes('Tenant B Caller') && !bCalls.includes('Olivia'), 'tenant B: its calls only');
    await pb.goto(`${BASE}/console/calls/${seeded.calls[0]}`, { waitUntil: 'networkidle0' });
    await pb.waitForSelector('h1');
    check((await text(pb, 'h1')) === 'Call not found', 'tenant B: A\'s call id typed into the URL: "Call not found"', await text(pb, 'h1'));
    const aEndpoints = (await apiKey(A.key, 'GET', '/api/v1/webhooks')).json.data;
    await pb.goto(`${BASE}/console/settings?endpoint=${aEndpoints[0].id}`, { waitUntil: 'networkidle0' });
    await pb.waitForSelector('#deliveries table');
    check((await pb.$eval('#deliveries', (d) => d.textContent)).includes('No deliveries match.'), 'tenant B: A\'s endpoint id typed into the URL shows no delivery');
    const probe = await pb.evaluate(async (epId, keyId) => {
      const s = await fetch('/console/api/session').then((x) => x.json());
      const h = { 'X-CSRF-Token': s.data.csrf_token, 'Content-Type': 'application/json' };
      return {
        get: (await fetch(`/api/v1/webhooks/${epId}`)).status,
        patch: (await fetch(`/api/v1/webhooks/${epId}`, { method: 'PATCH', headers: h, body: '{"active":false}' })).status,
        del: (await fetch(`/api/v1/api-keys/${keyId}`, { method: 'DELETE', headers: h })).status,
      };
    }, aEndpoints[0].id, A.keyId);
    check(probe.get === 404 && probe.patch === 404 && probe.del === 404, 'tenant B: A\'s endpoint and key ids through the API are 404', JSON.stringify(probe));
    check((await apiKey(A.key, 'GET', '/api/v1/services')).status === 200, 'tenant B: ... and A\'s key still works');
    await pb.goto(`${BASE}/console/calls/${bCall.id}`, { waitUntil: 'networkidle0' });
    await pb.waitForSelector('h1');
    check((await text(pb, 'h1')) === 'Call with Tenant B Caller', 'tenant B: its own call opens');

    // -- sign out
    const old = (await page.cookies(BASE)).find((c) => c.name === 'kv_session').value;
    await clickLabel(page, 'Sign out');
    await page.waitForSelector('#signin-form');
    check((await text(page, '.notice')) === 'You are signed out.', 'sign out: back to the sign-in page');
    const afterOut = await fetch(`${BASE}/api/v1/services`, { headers: { Cookie: `kv_session=${old}` } });
    check(afterOut.status === 401, 'sign out: the old session no longer works', afterOut.status);
    await page.goto(`${BASE}/console/settings`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#signin-form');
    check(page.url().startsWith(`${BASE}/console/signin`), 'sign out: the settings page asks to sign in again');

    // -- keyboard only: sign in, generate a key, close the dialog
    await page.goto(`${BASE}/console/signin`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#signin-email');
    let tabs = 0;
    while (tabs++ < 8 && await page.evaluate(() => document.activeElement?.id) !== 'signin-email') await page.keyboard.press('Tab');
    await page.keyboard.type(emailA);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PW);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#keys table');
    check(true, 'keyboard: sign in with the keyboard alone');
    tabs = 0;
    while (tabs++ < 40 && await page.evaluate(() => document.activeElement?.textContent?.trim()) !== 'Generate New Key') await page.keyboard.press('Tab');
    const focusVisible = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle !== 'none');
    check(tabs < 40 && focusVisible, 'keyboard: Tab reaches Generate New Key, with a visible focus ring', `${tabs} tabs`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog #key-name');
    check(await page.evaluate(() => document.activeElement?.id) === 'key-name', 'keyboard: the dialog opens with the focus in its field');
    await page.keyboard.type('Keyboard key');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('dialog .dialog-title')?.textContent === 'Your new API key');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('dialog'));
    check(await page.evaluate(() => document.activeElement?.textContent?.trim()) === 'Generate New Key', 'keyboard: Escape closes the dialog and the focus goes back');

    // -- a session that expires (a gateway of its own: idle 3 s)
    const gw = await startGateway({ KAIVOX_SESSION_IDLE_S: '3', KAIVOX_SESSION_MAX_S: '60' });
    try {
      const { page: pe } = await newPage(browser, errors);
      await pe.setViewport({ width: 1280, height: 900 });
      await signIn(pe, emailA, PW, gw.url);
      await pe.waitForSelector('#keys table');
      check(true, 'expiry: signed in on a gateway with a 3 s idle time');
      await sleep(4500);
      await pe.evaluate(() => document.querySelector('a[data-nav="calls"]').click());
      await pe.waitForSelector('#signin-form', { timeout: 15000 });
      const n = await text(pe, '.notice');
      check(n === 'Your session has ended. Sign in again.', 'expiry: an idle session ends and the page says so', n);
      check(new URL(pe.url()).searchParams.get('next') === '/console/calls', 'expiry: ... and comes back where it was after sign-in', pe.url());
      await pe.type('#signin-email', emailA);
      await pe.type('#signin-password', PW);
      await clickLabel(pe, 'Sign in');
      await pe.waitForFunction(() => location.pathname === '/console/calls');
      check(true, 'expiry: signing in again returns to the page');
    } finally {
      await gw.stop();
    }

    check(errors.length === 0, 'the pages ran without a script error or a Content-Security-Policy violation', errors.slice(0, 5).join(' | '));
  } finally {
    await browser.close();
    rcv.stop();
  }
}

const watchdog = setTimeout(() => {
  check(false, 'browser tests finished within 8 minutes');
  process.exit(done());
}, 8 * 60 * 1000);
try {
  await main();
} catch (e) {
  check(false, 'browser tests ran to the end', e.stack || e.message);
}
clearTimeout(watchdog);
process.exit(done());
