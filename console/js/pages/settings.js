// settings.js -- Settings -> API & Integrations: API Keys, Webhook
// Endpoints and Delivery logs, on the public API's own routes
// (/api/v1/api-keys, /api/v1/webhooks..., /api/v1/webhooks/deliveries).

import { api, qs } from '../api.js';
import {
  badge, clear, confirmDialog, fmtDateTime, formAlert, h, openDialog, secretBox, showErrors,
  table, toast,
} from '../dom.js';

const EVENTS = [
  ['appointment.created', 'Appointment created'],
  ['appointment.cancelled', 'Appointment cancelled'],
  ['call.ended', 'Call ended'],
  ['call.missed', 'Call missed'],
];
const LOG_EVENTS = [...EVENTS, ['ping', 'Test event (ping)']];
const STATUSES = [['pending', 'Pending'], ['succeeded', 'Succeeded'], ['failed', 'Failed']];
const REFRESH_MS = 2000;

export async function render(main, ctx) {
  const keysBox = h('div', { id: 'keys' });
  const hooksBox = h('div', { id: 'endpoints' });
  const testStatus = h('p', { class: 'test-status', id: 'test-status', role: 'status', 'aria-live': 'polite' });
  const logBox = h('div', { id: 'deliveries' });
  const st = { endpoints: [], timer: null, expanded: new Set(), alive: true, seq: 0 };
  ctx.onCleanup(() => { st.alive = false; clearTimeout(st.timer); });

  main.append(h('div', { class: 'page' },
    h('p', { class: 'breadcrumb' }, 'Settings'),
    h('h1', {}, 'API & Integrations'),
    h('p', { class: 'lead' }, 'Connect KaiVox to your website, Zapier or CRM: API keys let them call the API, webhooks tell them when something happens.'),
    h('section', { class: 'card section', 'aria-labelledby': 'keys-title' },
      h('div', { class: 'section-head' },
        h('h2', { id: 'keys-title' }, 'API Keys'),
        h('button', { type: 'button', class: 'btn btn-primary', id: 'generate-key', onclick: () => generateKey(keysBox) }, 'Generate New Key')),
      h('p', { class: 'muted' }, 'A full-access key can read and change this salon’s data through the API; a read-only key can only read it. Give every integration its own key, named after it and with no more access than it needs, so you can delete one without breaking the others.'),
      keysBox),
    h('section', { class: 'card section', 'aria-labelledby': 'hooks-title' },
      h('div', { class: 'section-head' },
        h('h2', { id: 'hooks-title' }, 'Webhook Endpoints'),
        h('button', { type: 'button', class: 'btn btn-primary', id: 'add-endpoint', onclick: () => editEndpoint(null) }, 'Add Endpoint')),
      h('p', { class: 'muted' }, 'KaiVox sends a signed POST request to these URLs when the events they subscribe to happen.'),
      hooksBox, testStatus),
    h('section', { class: 'card section', 'aria-labelledby': 'log-title' },
      h('div', { class: 'section-head' },
        h('h2', { id: 'log-title' }, 'Delivery logs'),
        h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => loadLog() }, 'Refresh')),
      logBox)));

  await Promise.all([loadKeys(keysBox), loadEndpoints()]);
  await loadLog();

  // ---- webhook endpoints --------------------------------------------------

  async function loadEndpoints() {
    let list = [];
    try {
      list = (await api('GET', '/api/v1/webhooks?per_page=100')).data;
    } catch (e) {
      clear(hooksBox).append(h('p', { class: 'form-alert', role: 'alert' }, e.message));
      return;
    }
    st.endpoints = list;
    // the last delivery of each endpoint tells its failure state
    const last = await Promise.all(list.map((ep) =>
      api('GET', `/api/v1/webhooks/deliveries${qs({ endpoint_id: ep.id, per_page: 1 })}`)
        .then((r) => r.data[0] || null).catch(() => null)));
    const rows = list.map((ep, i) => h('tr', {},
      h('td', { class: 'url' }, h('span', { class: 'mono' }, ep.url), ep.description ? h('span', { class: 'sub' }, ep.description) : null),
      h('td', {}, h('ul', { class: 'tags' }, ep.events.map((e) => h('li', {}, e)))),
      h('td', {}, ep.active ? badge('Active', 'ok') : badge('Inactive', 'neutral')),
      h('td', {}, failureState(ep, last[i])),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'btn btn-small', onclick: () => sendTest(ep), 'aria-label': `Send test event to ${ep.url}` }, 'Send test event'),
        h('button', { type: 'button', class: 'btn btn-small btn-quiet', onclick: () => editEndpoint(ep), 'aria-label': `Edit ${ep.url}` }, 'Edit'),
        h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => deleteEndpoint(ep), 'aria-label': `Delete ${ep.url}` }, 'Delete'))));
    clear(hooksBox).append(table('Webhook endpoints', ['URL', 'Events', 'Active', 'State', 'Actions'], rows,
      { empty: 'No endpoints yet. Add one to receive events.' }));
  }

  function failureState(ep, d) {
    if (ep.disabled_reason) return badge(`Turned off: ${ep.disabled_reason}`, 'danger');
    if (!d) return badge('No deliveries yet', 'neutral');
    const a = d.attempts[d.attempts.length - 1];
    if (d.status === 'succeeded') return badge('Delivering', 'ok');
    if (d.status === 'failed') return badge(`Failing${a && a.status_code ? `: HTTP ${a.status_code}` : ''}`, 'danger');
    if (a) return badge(`Retrying${a.status_code ? `: HTTP ${a.status_code}` : ''}`, 'warn');
    return badge('Sending…', 'neutral');
  }

  function endpointForm(ep) {
    const chosen = new Set(ep ? ep.events : EVENTS.map((e) => e[0]));
    return h('form', { id: 'endpoint-form', class: 'form', novalidate: true },
      h('div', { class: 'field' },
        h('label', { for: 'ep-url' }, 'URL'),
        h('input', { id: 'ep-url', name: 'url', type: 'url', required: true, value: ep ? ep.url : '', placeholder: 'https://example.com/kaivox/webhook', autocomplete: 'off' })),
      h('fieldset', { class: 'field' },
        h('legend', {}, 'Events'),
        h('div', { class: 'checks', 'data-name': 'events' }, EVENTS.map(([v, label]) => h('label', { class: 'check' },
          h('input', { type: 'checkbox', name: 'events', value: v, checked: chosen.has(v) }), ` ${label} `, h('code', {}, v))))),
      h('div', { class: 'field' },
        h('label', { for: 'ep-desc' }, 'Description (optional)'),
        h('input', { id: 'ep-desc', name: 'description', type: 'text', value: ep && ep.description ? ep.description : '', maxlength: 1000 })),
      ep ? h('div', { class: 'field' }, h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'active', checked: ep.active }), ' Active (deliver events to this URL)')) : null);
  }

  function editEndpoint(ep) {
    const form = endpointForm(ep);
    let created = null;
    const save = async () => {
      formAlert(form, '');
      const events = [...form.querySelectorAll('input[name=events]:checked')].map((x) => x.value);
      const body = { url: form.url.value.trim(), events };
      const desc = form.description.value.trim();
      if (ep) {
        body.description = desc || null;
        body.active = form.active.checked;
      } else if (desc) {
        body.description = desc;
      }
      try {
        const res = ep ? await api('PATCH', `/api/v1/webhooks/${ep.id}`, body) : await api('POST', '/api/v1/webhooks', body);
        if (!ep) created = res.data;
        else toast('Endpoint saved.');
        await loadEndpoints();
        await loadLog();
        return true;
      } catch (e) {
        if (!showErrors(form, e)) formAlert(form, e.message);
        return false;
      }
    };
    const dlg = openDialog({
      title: ep ? 'Edit endpoint' : 'Add endpoint',
      body: form,
      buttons: [{ label: 'Cancel', kind: 'quiet' }, { label: ep ? 'Save' : 'Add endpoint', kind: 'primary', onClick: save }],
      onClose: () => { if (created) revealSecret(created); },
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (await save()) dlg.close();
    });
    form.url.focus();
  }

  function revealSecret(ep) {
    openDialog({
      title: 'Endpoint added',
      body: [
        h('p', {}, 'Deliveries to ', h('span', { class: 'mono' }, ep.url), ' are signed with this secret. Use it to verify the X-KaiVox-Signature header.'),
        secretBox('Signing secret', ep.secret),
        h('p', { class: 'warning', role: 'note' }, 'Copy the secret now: it will not be shown again.'),
      ],
      buttons: [{ label: 'Done', kind: 'primary' }],
    });
  }

  async function deleteEndpoint(ep) {
    if (!await confirmDialog('Delete endpoint?', `Events will no longer be sent to ${ep.url}, and its delivery log is deleted too.`, 'Delete endpoint')) return;
    try {
      await api('DELETE', `/api/v1/webhooks/${ep.id}`);
      toast('Endpoint deleted.');
    } catch (e) {
      toast(e.message);
    }
    await loadEndpoints();
    await loadLog();
  }

  async function sendTest(ep) {
    testStatus.className = 'test-status';
    testStatus.textContent = `Sending a test event to ${ep.url}…`;
    let d;
    try {
      d = (await api('POST', `/api/v1/webhooks/${ep.id}/test`)).data;
    } catch (e) {
      testStatus.textContent = `Test event not sent: ${e.message}`;
      testStatus.classList.add('bad');
      return;
    }
    await loadLog();
    for (let i = 0; i < 60 && st.alive; i++) {
      const r = await api('GET', `/api/v1/webhooks/deliveries${qs({ endpoint_id: ep.id, event: 'ping', per_page: 5 })}`).catch(() => null);
      const cur = r && r.data.find((x) => x.id === d.id);
      if (cur && cur.attempts.length > 0) {
        const a = cur.attempts[cur.attempts.length - 1];
        const ok = cur.status === 'succeeded';
        testStatus.textContent = ok
          ? `Test event delivered to ${ep.url}: HTTP ${a.status_code} in ${a.duration_ms} ms.`
          : `Test event to ${ep.url} failed: ${a.status_code ? `HTTP ${a.status_code}` : a.error || 'no answer'} (${a.duration_ms} ms).${cur.status === 'pending' ? ' KaiVox will retry it.' : ''}`;
        testStatus.classList.add(ok ? 'good' : 'bad');
        await loadEndpoints();
        await loadLog();
        return;
      }
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  // ---- delivery logs --------------------------------------------------------

  function filters() {
    const p = new URLSearchParams(location.search);
    return { endpoint_id: p.get('endpoint') || '', event: p.get('event') || '', status: p.get('status') || '', page: Math.max(1, parseInt(p.get('page') || '1', 10) || 1) };
  }

  function setFilters(f) {
    const p = new URLSearchParams();
    if (f.endpoint_id) p.set('endpoint', f.endpoint_id);
    if (f.event) p.set('event', f.event);
    if (f.status) p.set('status', f.status);
    if (f.page > 1) p.set('page', f.page);
    const s = p.toString();
    history.replaceState(null, '', `${location.pathname}${s ? `?${s}` : ''}`);
  }

  function select(id, label, name, options, value) {
    return h('div', { class: 'field field-inline' },
      h('label', { for: id }, label),
      h('select', { id, name }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
  }

  async function loadLog() {
    clearTimeout(st.timer);
    if (!st.alive) return;
    const seq = ++st.seq;           // only the latest load may draw
    logBox.setAttribute('aria-busy', 'true');
    const f = filters();
    const form = h('form', { class: 'filters', id: 'log-filters', 'aria-label': 'Filter deliveries' },
      select('f-endpoint', 'Endpoint', 'endpoint_id', [['', 'All endpoints'], ...st.endpoints.map((e) => [String(e.id), e.url])], f.endpoint_id),
      select('f-event', 'Event', 'event', [['', 'Any event'], ...LOG_EVENTS], f.event),
      select('f-status', 'Status', 'status', [['', 'Any status'], ...STATUSES], f.status));
    form.addEventListener('change', () => {
      setFilters({ endpoint_id: form.endpoint_id.value, event: form.event.value, status: form.status.value, page: 1 });
      loadLog();
    });
    let res;
    try {
      res = await api('GET', `/api/v1/webhooks/deliveries${qs({ endpoint_id: f.endpoint_id, event: f.event, status: f.status, page: f.page, per_page: 20 })}`);
    } catch (e) {
      if (seq === st.seq) clear(logBox).append(form, h('p', { class: 'form-alert', role: 'alert' }, e.message));
      return;
    }
    if (seq !== st.seq || !st.alive) return;
    const urlOf = new Map(st.endpoints.map((e) => [e.id, e.url]));
    const rows = [];
    for (const d of res.data) {
      const last = d.attempts[d.attempts.length - 1];
      const open = st.expanded.has(d.id);
      const toggle = h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-expanded': String(open), 'aria-controls': `attempts-${d.id}` }, open ? 'Hide attempts' : 'Attempts');
      toggle.addEventListener('click', () => {
        if (st.expanded.has(d.id)) st.expanded.delete(d.id);
        else st.expanded.add(d.id);
        loadLog();
      });
      rows.push(h('tr', { dataset: { delivery: d.id } },
        h('td', {}, h('code', {}, d.event)),
        h('td', { class: 'url' }, h('span', { class: 'mono' }, urlOf.get(d.endpoint_id) || `#${d.endpoint_id}`)),
        h('td', {}, statusBadge(d)),
        h('td', {}, String(d.attempts.length)),
        h('td', {}, last ? (last.status_code ? `HTTP ${last.status_code}` : last.error || '—') : '—'),
        h('td', {}, last ? `${last.duration_ms} ms` : '—'),
        h('td', {}, fmtDateTime(d.created_at)),
        h('td', { class: 'actions' }, toggle,
          h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Redeliver delivery ${d.id}`, onclick: () => redeliver(d) }, 'Redeliver'))));
      if (open) {
        rows.push(h('tr', { class: 'detail-row', id: `attempts-${d.id}` }, h('td', { colspan: 8 },
          table(`Attempts of delivery ${d.id}`, ['Time', 'Status code', 'Duration', 'Error'],
            d.attempts.map((a) => h('tr', {},
              h('td', {}, fmtDateTime(a.attempted_at)),
              h('td', {}, a.status_code === null ? '—' : String(a.status_code)),
              h('td', {}, `${a.duration_ms} ms`),
              h('td', {}, a.error || '—'))),
            { empty: d.next_attempt_at ? `No attempt yet: due ${fmtDateTime(d.next_attempt_at)}.` : 'No attempt yet.' }))));
      }
    }
    const pages = Math.max(1, Math.ceil(res.meta.total / res.meta.per_page));
    const pager = h('div', { class: 'pager' },
      h('button', { type: 'button', class: 'btn btn-small btn-quiet', disabled: f.page <= 1, onclick: () => { setFilters({ ...f, page: f.page - 1 }); loadLog(); } }, 'Newer'),
      h('span', {}, `Page ${f.page} of ${pages} · ${res.meta.total} deliveries`),
      h('button', { type: 'button', class: 'btn btn-small btn-quiet', disabled: f.page >= pages, onclick: () => { setFilters({ ...f, page: f.page + 1 }); loadLog(); } }, 'Older'));
    const focused = document.activeElement && logBox.contains(document.activeElement) ? document.activeElement.id : null;
    clear(logBox).append(form, table('Webhook deliveries, newest first',
      ['Event', 'Endpoint', 'Status', 'Attempts', 'Last response', 'Duration', 'Created', 'Actions'], rows,
      { empty: 'No deliveries match.' }), pager);
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
    logBox.dataset.seq = String(seq);
    logBox.setAttribute('aria-busy', 'false');
    // a delivery that settled may change an endpoint's state: redraw those too
    const states = res.data.map((d) => `${d.id}:${d.status}:${d.attempts.length}`).join(',');
    if (st.states !== undefined && st.states !== states) loadEndpoints();
    st.states = states;
    if (res.data.some((d) => d.status === 'pending')) st.timer = setTimeout(loadLog, REFRESH_MS);
  }

  function statusBadge(d) {
    if (d.status === 'succeeded') return badge('Succeeded', 'ok');
    if (d.status === 'failed') return badge('Failed', 'danger');
    return badge(d.attempts.length ? 'Retrying' : 'Pending', 'warn');
  }

  async function redeliver(d) {
    try {
      await api('POST', `/api/v1/webhooks/deliveries/${d.id}/redeliver`);
      toast('Delivery queued again.');
    } catch (e) {
      toast(e.message);
    }
    await loadLog();
  }
}

// ---- API keys ------------------------------------------------------------------

// A key's scope as the table shows it (api_keys.scope).
const SCOPES = { full: 'Full access', read: 'Read only' };

async function loadKeys(box) {
  let list = [];
  try {
    list = (await api('GET', '/api/v1/api-keys?per_page=100')).data;
  } catch (e) {
    clear(box).append(h('p', { class: 'form-alert', role: 'alert' }, e.message));
    return;
  }
  const rows = list.map((k) => h('tr', {},
    h('td', {}, k.name),
    h('td', {}, SCOPES[k.scope] || k.scope),
    h('td', {}, h('code', {}, `${k.prefix}…`)),
    h('td', {}, fmtDateTime(k.created_at)),
    h('td', {}, k.last_used_at ? fmtDateTime(k.last_used_at) : 'Never'),
    h('td', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', 'aria-label': `Delete key ${k.name}`, onclick: () => deleteKey(box, k) }, 'Delete'))));
  clear(box).append(table('API keys', ['Name', 'Access', 'Key prefix', 'Created', 'Last used', 'Actions'], rows,
    { empty: 'No API keys yet.' }));
}

function generateKey(box) {
  const form = h('form', { id: 'key-form', class: 'form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'key-name' }, 'Key name'),
      h('input', { id: 'key-name', name: 'name', type: 'text', required: true, maxlength: 200, autocomplete: 'off', 'aria-describedby': 'key-name-hint' }),
      h('p', { class: 'hint', id: 'key-name-hint' }, 'Say where it is used, e.g. Zapier, Website Widget, CRM Sync.')),
    h('fieldset', { class: 'field' },
      h('legend', {}, 'Access'),
      h('div', { class: 'checks', 'data-name': 'scope' },
        h('label', { class: 'check' }, h('input', { type: 'radio', name: 'scope', value: 'full', checked: true }), ' Full access (read and change data)'),
        h('label', { class: 'check' }, h('input', { type: 'radio', name: 'scope', value: 'read' }), ' Read only (every change is refused)'))));
  let created = null;
  const reveal = () => openDialog({
    title: 'Your new API key',
    body: [
      h('p', {}, 'The ', created.scope === 'read' ? 'read-only ' : '', 'key “', created.name, '” is ready.'),
      secretBox('API key', created.key),
      h('p', { class: 'warning', role: 'note' }, 'Copy the key now: it is shown only once and will not be shown again. If you lose it, delete it and generate a new one.'),
    ],
    buttons: [{ label: 'Done', kind: 'primary' }],
    onClose: () => { created = null; },
  });
  const create = async () => {
    formAlert(form, '');
    try {
      // scope only when it is not the default: a gateway of the version
      // before read-only console keys refuses the field (422), which is
      // right for a read-only key and needless for a full one.
      const body = { name: form.name.value };
      if (form.scope.value !== 'full') body.scope = form.scope.value;
      const res = await api('POST', '/api/v1/api-keys', body);
      created = res.data;
      await loadKeys(box);
      return true;
    } catch (e) {
      if (!showErrors(form, e)) formAlert(form, e.message);
      return false;
    }
  };
  const dlg = openDialog({
    title: 'Generate New Key',
    body: form,
    buttons: [{ label: 'Cancel', kind: 'quiet' }, { label: 'Generate key', kind: 'primary', onClick: create }],
    onClose: () => { if (created) reveal(); },
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (await create()) dlg.close();
  });
  form.name.focus();
}

async function deleteKey(box, k) {
  if (!await confirmDialog(`Delete the key “${k.name}”?`, 'Anything that uses it stops working within a few seconds. This cannot be undone.', 'Delete key')) return;
  try {
    await api('DELETE', `/api/v1/api-keys/${k.id}`);
    toast(`Key “${k.name}” deleted.`);
  } catch (e) {
    toast(e.message);
  }
  await loadKeys(box);
}
