// password.js -- set a password with the one-time link an operator made
// (kaivoxctl user create / user password-link).  The token travels in the
// URL fragment, which no server ever sees.

import { api } from '../api.js';
import { formAlert, h, showErrors } from '../dom.js';

export async function render(main, ctx) {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
  const form = h('form', { id: 'password-form', class: 'card form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'new-password' }, 'New password'),
      h('input', { id: 'new-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10, 'aria-describedby': 'password-hint' }),
      h('p', { class: 'hint', id: 'password-hint' }, 'At least 10 characters. A few unrelated words make a good one.')),
    h('div', { class: 'field' },
      h('label', { for: 'confirm-password' }, 'Repeat the password'),
      h('input', { id: 'confirm-password', name: 'confirm', type: 'password', autocomplete: 'new-password', required: true })),
    h('input', { type: 'hidden', name: 'token', value: token }),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Set password'));
  main.append(h('div', { class: 'auth' },
    h('div', { class: 'auth-brand' }, h('img', { src: '/console/favicon.svg', alt: '', width: 40, height: 40 }), h('span', {}, 'KaiVox')),
    h('h1', {}, 'Set your password'),
    token ? null : h('p', { class: 'form-alert', role: 'alert' }, 'This page needs the link from your invitation. Ask your KaiVox operator for a new one.'),
    form));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    formAlert(form, '');
    if (form.password.value !== form.confirm.value) {
      showErrors(form, { errors: { confirm: ['The two passwords differ.'] } });
      form.confirm.focus();
      return;
    }
    try {
      await api('POST', '/console/api/password', { token, password: form.password.value });
      await ctx.loadSession();
      ctx.navigate('/console/signin?password=1', true);
    } catch (e) {
      if (!showErrors(form, e)) formAlert(form, e.message);
      if (e.errors && e.errors.token) formAlert(form, e.errors.token.join(' '));
      await ctx.loadSession().catch(() => null);
    }
  });
}
