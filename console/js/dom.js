// dom.js -- small DOM helpers: an element builder (no HTML strings, so no
// markup injection from data), dialogs, the toast, formatting.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let toastTimer = null;
export function toast(message) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), 4000);
}

let dialogSeq = 0;
// A modal dialog: title, body nodes, and buttons [{label, kind, onClick}].
// onClick may return false to keep the dialog open.  Returns {dialog,
// close}.  Escape and Cancel close it; focus returns where it was.
export function openDialog({ title, body, buttons, onClose, wide }) {
  const id = `dlg-${++dialogSeq}`;
  const before = document.activeElement;
  const footer = h('div', { class: 'dialog-actions' });
  const dialog = h('dialog', { class: wide ? 'dialog dialog-wide' : 'dialog', 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title`, class: 'dialog-title' }, title),
    h('div', { class: 'dialog-body' }, body),
    footer);
  const close = () => {
    if (dialog.open) dialog.close();
  };
  for (const b of buttons || []) {
    const btn = h('button', { type: b.submit ? 'submit' : 'button', class: `btn ${b.kind ? `btn-${b.kind}` : ''}`, form: b.form }, b.label);
    btn.addEventListener('click', async (ev) => {
      if (b.submit) return;
      ev.preventDefault();
      if (!b.onClick) return close();
      btn.disabled = true;
      try {
        const keep = await b.onClick(btn);
        if (keep !== false) close();
      } finally {
        btn.disabled = false;
      }
    });
    footer.append(btn);
  }
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (before && before.isConnected) before.focus();
    if (onClose) onClose();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close };
}

// Asks to confirm; resolves true or false.
export function confirmDialog(title, text, action) {
  return new Promise((resolve) => {
    let answer = false;
    openDialog({
      title,
      body: h('p', {}, text),
      buttons: [
        { label: 'Cancel', kind: 'quiet' },
        { label: action, kind: 'danger', onClick: () => { answer = true; } },
      ],
      onClose: () => resolve(answer),
    });
  });
}

// Copies text; falls back to selecting the field when the Clipboard API is
// not there (an http:// origin other than localhost).
export async function copyText(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    if (field) {
      field.focus();
      field.select();
      try {
        return document.execCommand('copy');
      } catch (e2) {
        return false;
      }
    }
    return false;
  }
}

// A read-only secret with a Copy button.
export function secretBox(label, value) {
  const id = `secret-${++dialogSeq}`;
  const input = h('input', { id, class: 'secret', type: 'text', readonly: true, value, spellcheck: 'false', autocomplete: 'off' });
  const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
  const btn = h('button', { type: 'button', class: 'btn btn-primary' }, 'Copy');
  btn.addEventListener('click', async () => {
    const ok = await copyText(value, input);
    status.textContent = ok ? 'Copied to the clipboard.' : 'Select the text and copy it.';
  });
  return h('div', { class: 'secret-box' },
    h('label', { for: id }, label),
    h('div', { class: 'secret-row' }, input, btn),
    status);
}

// Field errors of a 422 next to their inputs; returns true when any shown.
export function showErrors(form, err) {
  for (const old of form.querySelectorAll('.field-error')) old.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  let any = false;
  for (const [field, msgs] of Object.entries(err.errors || {})) {
    const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
    const msg = h('p', { class: 'field-error', id: `${form.id || 'f'}-${field}-error` }, msgs.join(' '));
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', msg.id);
      (input.closest('.field') || input.parentElement).append(msg);
    } else {
      form.prepend(msg);
    }
    any = true;
  }
  return any;
}

export function formAlert(form, message) {
  let box = form.querySelector('.form-alert');
  if (!box) {
    box = h('p', { class: 'form-alert', role: 'alert' });
    form.prepend(box);
  }
  box.textContent = message || '';
  box.hidden = !message;
}

// ---- formatting ------------------------------------------------------------

let tz = undefined;
export function setTimeZone(zone) {
  tz = zone || undefined;
}
export function timeZone() {
  return tz;
}

export function fmtDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(undefined, { timeZone: tz, dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const m = Math.floor(seconds / 60), s = seconds % 60;
  return m ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`;
}

// Today's date (Y-m-d) in the tenant's time zone, plus n days.
export function tenantDate(n = 0) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date());
  const get = (t) => parts.find((p) => p.type === t).value;
  const d = new Date(Date.UTC(+get('year'), +get('month') - 1, +get('day') + n));
  return d.toISOString().slice(0, 10);
}

export function fmtDay(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long' })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind || 'neutral'}` }, text);
}

export function emptyRow(cols, text) {
  return h('tr', { class: 'empty' }, h('td', { colspan: cols }, text));
}

// A table with a caption (for screen readers) and data-label on cells (the
// narrow layout shows them as labels).
export function table(caption, headers, rows, opts = {}) {
  const thead = h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x))));
  const tbody = h('tbody', {}, rows.length ? rows : emptyRow(headers.length, opts.empty || 'Nothing here yet.'));
  for (const tr of [...tbody.children].filter((x) => !x.classList.contains('empty') && !x.classList.contains('detail-row'))) {
    [...tr.children].forEach((td, i) => { if (headers[i]) td.dataset.label = headers[i]; });
  }
  return h('div', { class: 'table-wrap' },
    h('table', { class: opts.fixed ? 'data fixed' : 'data' }, h('caption', { class: opts.showCaption ? '' : 'visually-hidden' }, caption), thead, tbody));
}
