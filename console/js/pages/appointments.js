// appointments.js -- Appointments: today and the next seven days, by staff,
// with their status (GET /api/v1/appointments?date=..., /api/v1/staff,
// /api/v1/customers/{id} for the names).  Read-only.

import { api, qs } from '../api.js';
import { badge, clear, fmtDay, h, table, tenantDate } from '../dom.js';

const DAYS = 8;   // today and the next 7
const STATUS = { scheduled: ['Scheduled', 'neutral'], completed: ['Completed', 'ok'], cancelled: ['Cancelled', 'danger'], no_show: ['No-show', 'warn'] };

export async function render(main) {
  const p = new URLSearchParams(location.search);
  const f = { staff_id: p.get('staff') || '', status: p.get('status') || '' };
  let staff = [];
  try {
    staff = (await api('GET', '/api/v1/staff?per_page=100')).data;
  } catch (e) {
    staff = [];
  }
  const box = h('div', { id: 'appointments' });
  const form = h('form', { class: 'filters', id: 'appt-filters', 'aria-label': 'Filter appointments' },
    h('div', { class: 'field field-inline' }, h('label', { for: 'f-staff' }, 'Staff'),
      h('select', { id: 'f-staff', name: 'staff' }, [['', 'All staff'], ...staff.map((s) => [String(s.id), s.name])]
        .map(([v, t]) => h('option', { value: v, selected: v === f.staff_id }, t)))),
    h('div', { class: 'field field-inline' }, h('label', { for: 'f-astatus' }, 'Status'),
      h('select', { id: 'f-astatus', name: 'status' }, [['', 'Any status'], ...Object.entries(STATUS).map(([k, v]) => [k, v[0]])]
        .map(([v, t]) => h('option', { value: v, selected: v === f.status }, t)))));
  main.append(h('div', { class: 'page' },
    h('h1', {}, 'Appointments'),
    h('p', { class: 'lead' }, 'Today and the coming week, in your salon’s time zone.'),
    h('section', { class: 'card section', 'aria-label': 'Appointments' }, form, box)));
  form.addEventListener('change', () => {
    f.staff_id = form.staff.value;
    f.status = form.status.value;
    load();
  });
  await load();

  async function load() {
    history.replaceState(null, '', `/console/appointments${qs({ staff: f.staff_id, status: f.status })}`);
    const dates = Array.from({ length: DAYS }, (_, i) => tenantDate(i));
    let days;
    try {
      days = await Promise.all(dates.map((d) =>
        api('GET', `/api/v1/appointments${qs({ date: d, staff_id: f.staff_id, status: f.status, per_page: 100 })}`).then((r) => r.data)));
    } catch (e) {
      clear(box).append(h('p', { class: 'form-alert', role: 'alert' }, e.message));
      return;
    }
    const ids = [...new Set(days.flat().map((a) => a.customer_id))].slice(0, 50);
    const names = new Map();
    await Promise.all(ids.map((id) => api('GET', `/api/v1/customers/${id}`)
      .then((r) => names.set(id, r.data.name)).catch(() => null)));
    clear(box);
    days.forEach((list, i) => {
      const title = i === 0 ? `Today · ${fmtDay(dates[i])}` : fmtDay(dates[i]);
      if (i > 0 && list.length === 0) return;
      if (i === 1) box.append(h('h2', { class: 'group-title' }, 'Upcoming'));
      const rows = list.map((a) => h('tr', {},
        h('td', { class: 'nowrap' }, `${a.appointment_time}–${a.end_time}`),
        h('td', {}, names.get(a.customer_id) || `Customer #${a.customer_id}`),
        h('td', {}, a.service_name || '—'),
        h('td', {}, a.staff_name || '—'),
        h('td', {}, badge(...(STATUS[a.status] || [a.status, 'neutral'])))));
      box.append(h(i === 0 ? 'h2' : 'h3', { class: 'day-title' }, title),
        table(title, ['Time', 'Customer', 'Service', 'Staff', 'Status'], rows, { empty: 'No appointments today.', fixed: true }));
    });
    if (days.slice(1).every((l) => l.length === 0)) box.append(h('p', { class: 'muted' }, 'Nothing booked for the next seven days.'));
  }
}
