// 登录: a browser session (HttpOnly cookie) plus the readable CSRF cookie for writes.

import { post } from '../api.js';
import { initLayout } from '../layout.js';
import { $, busy, clearMessages, showError, showStatus } from '../ui.js';

const PAGES = /^(index|projects|agency|notice|keys|bid)\.html(\?[\w=&%.-]*)?$/;

/** Where to go after logging in: only one of our own pages, never another site. */
function nextPage() {
  const next = new URLSearchParams(location.search).get('next') || '';
  return PAGES.test(next) ? next : 'projects.html';
}

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const username = $('#username').value.trim();
  const password = $('#password').value;
  clearMessages();
  const done = busy(form);
  try {
    const answer = await post('/auth/login', { username, password });
    showStatus(`登录成功，欢迎 ${answer.user.display_name}。正在跳转…`);
    location.assign(nextPage());
  } catch (error) {
    done();
    showError(error);
    $('#password').value = '';
    $('#password').focus();
  }
}

initLayout();
$('#login-form').addEventListener('submit', submit);
