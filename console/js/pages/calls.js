// calls.js -- Calls: the recent calls (GET /api/v1/calls, filters missed
// and sentiment), and one call with its summary and transcript
// (GET /api/v1/calls/{id}).  Read-only.

import { api, qs } from '../api.js';
import { badge, clear, fmtDateTime, fmtDuration, h, table } from '../dom.js';

const SENTIMENTS = [['', 'Any sentiment'], ['positive', 'Positive'], ['neutral', 'Neutral'], ['negative', 'Negative']];
const MISSED = [['', 'All calls'], ['true', 'Missed only'], ['false', 'Answered only']];

export async function render(main, ctx) {
  if (ctx.detail) return renderOne(main, ctx.params[0]);
  const p = new URLSearchParams(location.search);
  const f = { missed: p.get('missed') || '', sentiment: p.get('sentiment') || '', page: Math.max(1, parseInt(p.get('page') || '1', 10) || 1) };
  const box = h('div', { id: 'calls' });
  const form = h('form', { class: 'filters', id: 'call-filters', 'aria-label': 'Filter calls' },
    h('div', { class: 'field field-inline' }, h('label', { for: 'f-missed' }, 'Calls'),
      h('select', { id: 'f-missed', name: 'missed' }, MISSED.map(([v, t]) => h('option', { value: v, selected: v === f.missed }, t)))),
    h('div', { class: 'field field-inline' }, h('label', { for: 'f-sentiment' }, 'Sentiment'),
      h('select', { id: 'f-sentiment', name: 'sentiment' }, SENTIMENTS.map(([v, t]) => h('option', { value: v, selected: v === f.sentiment }, t)))));
  main.append(h('div', { class: 'page' },
    h('h1', {}, 'Calls'),
    h('p', { class: 'lead' }, 'Every call your AI receptionist took, newest first. Open one for its summary and transcript.'),
    h('section', { class: 'card section', 'aria-label': 'Calls' }, form, box)));
  form.addEventListener('change', () => {
    f.missed = form.missed.value;
    f.sentiment = form.sentiment.value;
    f.page = 1;
    load();
  });
  await load();

  async function load() {
    const s = qs({ missed: f.missed, sentiment: f.sentiment, page: f.page > 1 ? f.page : '' });
    history.replaceState(null, '', `/console/calls${s}`);
    let res;
    try {
      res = await api('GET', `/api/v1/calls${qs({ missed: f.missed, sentiment: f.sentiment, page: f.page, per_page: 20 })}`);
    } catch (e) {
      clear(box).append(h('p', { class: 'form-alert', role: 'alert' }, e.message));
      return;
    }
    const rows = res.data.map((c) => h('tr', {},
      h('td', {}, fmtDateTime(c.started_at)),
      h('td', {}, h('a', { href: `/console/calls/${c.id}`, 'data-link': true }, c.caller_name || c.caller_phone),
        c.caller_name ? h('span', { class: 'sub mono' }, c.caller_phone) : null),
      h('td', {}, fmtDuration(c.duration_seconds)),
      h('td', {}, c.missed ? badge('Missed', 'danger') : (c.outcome ? c.outcome.replace('_', ' ') : '—')),
      h('td', {}, sentimentBadge(c.sentiment))));
    const pages = Math.max(1, Math.ceil(res.meta.total / res.meta.per_page));
    clear(box).append(table('Calls, newest first', ['Started', 'Caller', 'Duration', 'Outcome', 'Sentiment'], rows,
      { empty: 'No calls match.' }),
    h('div', { class: 'pager' },
      h('button', { type: 'button', class: 'btn btn-small btn-quiet', disabled: f.page <= 1, onclick: () => { f.page--; load(); } }, 'Newer'),
      h('span', {}, `Page ${f.page} of ${pages} · ${res.meta.total} calls`),
      h('button', { type: 'button', class: 'btn btn-small btn-quiet', disabled: f.page >= pages, onclick: () => { f.page++; load(); } }, 'Older')));
  }
}

function sentimentBadge(s) {
  if (!s) return '—';
  return badge(s[0].toUpperCase() + s.slice(1), s === 'positive' ? 'ok' : s === 'negative' ? 'danger' : 'neutral');
}

async function renderOne(main, id) {
  const page = h('div', { class: 'page' }, h('p', { class: 'breadcrumb' }, h('a', { href: '/console/calls', 'data-link': true }, '← All calls')));
  main.append(page);
  let c;
  try {
    c = (await api('GET', `/api/v1/calls/${encodeURIComponent(id)}`)).data;
  } catch (e) {
    page.append(h('h1', {}, 'Call not found'), h('p', {}, e.status === 404
      ? 'There is no such call in your account.' : e.message));
    return;
  }
  const who = c.caller_name || c.caller_phone;
  page.append(
    h('h1', {}, `Call with ${who}`),
    h('section', { class: 'card section', 'aria-labelledby': 'call-details' },
      h('h2', { id: 'call-details' }, 'Details'),
      h('dl', { class: 'details' },
        dt('Caller', c.caller_name ? `${c.caller_name} (${c.caller_phone})` : c.caller_phone),
        dt('Started', fmtDateTime(c.started_at)),
        dt('Duration', fmtDuration(c.duration_seconds)),
        dt('Direction', c.direction),
        dt('Outcome', c.missed ? 'Missed' : (c.outcome || '—')),
        dt('Sentiment', c.sentiment || '—'),
        dt('Quality score', c.quality_score === null ? '—' : `${c.quality_score} / 100`))),
    h('section', { class: 'card section', 'aria-labelledby': 'call-summary' },
      h('h2', { id: 'call-summary' }, 'Summary'),
      h('p', { class: 'prewrap' }, c.summary || 'No summary for this call.')),
    h('section', { class: 'card section', 'aria-labelledby': 'call-transcript' },
      h('h2', { id: 'call-transcript' }, 'Transcript'),
      c.transcript && c.transcript.length
        ? h('ol', { class: 'transcript' }, c.transcript.map((t) => h('li', { class: `turn turn-${t.speaker}` },
          h('span', { class: 'speaker' }, t.speaker === 'agent' ? 'Receptionist' : 'Caller'),
          h('span', { class: 'offset' }, fmtOffset(t.offset_seconds)),
          h('p', { class: 'prewrap' }, t.text))))
        : h('p', {}, 'No transcript for this call.')));
}

function dt(term, value) {
  return [h('dt', {}, term), h('dd', {}, value)];
}

function fmtOffset(s) {
  const n = Math.floor(Number(s) || 0);
  return `${Math.floor(n / 60)}:${String(n % 60).padStart(2, '0')}`;
}
