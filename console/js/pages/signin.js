// signin.js -- the sign-in page: Email, Password, Sign in.  A failure says
// one thing whatever was wrong ("The email or password is incorrect.").

import { api } from '../api.js';
import { formAlert, h } from '../dom.js';

export async function render(main, ctx) {
  const params = new URLSearchParams(location.search);
  const form = h('form', { id: 'signin-form', class: 'card form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'signin-email' }, 'Email'),
      h('input', { id: 'signin-email', name: 'email', type: 'email', autocomplete: 'username', required: true, inputmode: 'email' })),
    h('div', { class: 'field' },
      h('label', { for: 'signin-password' }, 'Password'),
      h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in'));
  let notice = null;
  if (params.get('expired')) notice = 'Your session has ended. Sign in again.';
  else if (params.get('signedout')) notice = 'You are signed out.';
  else if (params.get('password')) notice = 'Your password is set. Sign in with it.';
  main.append(h('div', { class: 'auth' },
    h('div', { class: 'auth-brand' }, h('img', { src: '/console/favicon.svg', alt: '', width: 40, height: 40 }), h('span', {}, 'KaiVox')),
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Manage your API keys, webhooks, calls and appointments.'),
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    form,
    h('p', { class: 'muted small' }, 'No password yet? Use the set-password link your KaiVox operator sent you.')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const email = form.email.value.trim(), password = form.password.value;
    if (!email || !password) {
      formAlert(form, 'Enter your email and password.');
      (email ? form.password : form.email).focus();
      return;
    }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    btn.textContent = 'Signing in…';
    try {
      await api('POST', '/console/api/session', { email, password });
      await ctx.loadSession();
      let next = params.get('next') || '/console/settings';
      if (!next.startsWith('/console/') || next.startsWith('//')) next = '/console/settings';
      ctx.navigate(next, true);
    } catch (e) {
      formAlert(form, e.status === 401 ? 'The email or password is incorrect.'
        : e.status === 429 ? 'Too many failed attempts. Wait a few minutes and try again.'
          : e.status === 403 ? 'Your browser sent an outdated form. Reload the page and try again.'
            : e.message);
      form.password.value = '';
      form.password.focus();
      btn.disabled = false;
      btn.textContent = 'Sign in';
      await ctx.loadSession().catch(() => null);   // a fresh CSRF token
    }
  });
}
