// 登录: a browser session (HttpOnly cookie) plus the readable CSRF cookie for writes.

import { post } from '../api.js';
import { initLayout } from '../layout.js';
import { $, busy, clearMessages, showError, showStatus } from '../ui.js';

const DEFAULT_PAGE = 'projects.html';
/** Where a role lands when no next= page is asked for: the operator on its console. */
const ROLE_PAGE = { admin: 'console.html' };
/** One of this site's pages, by its relative name, with any query: "hall.html?section=1". */
const PAGE = /^[A-Za-z0-9][\w-]*\.html(?:[?#][^\s\\]*)?$/;

/**
 * Where to go after logging in: any page of this site named relatively (what showError's
 * 前往登录 link builds), never another site. A scheme ("https:", "javascript:"), a leading
 * "/" or "\\" (protocol-relative), "..", white space or control characters, or a name that
 * resolves elsewhere all mean the default page (the role's own: console.html for the admin,
 * 我的项目 for everyone else); so does login.html itself.
 */
export function nextPage(next, role) {
  const fallback = Object.prototype.hasOwnProperty.call(ROLE_PAGE, role)
    ? ROLE_PAGE[role] : DEFAULT_PAGE;
  if (!next || !PAGE.test(next) || next.includes('..') || /[\u0000-\u001f\u007f]/.test(next)) {
    return fallback;
  }
  const url = new URL(next, location.href);
  const here = new URL('.', location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(here.pathname)
      || url.pathname.endsWith('/login.html')) {
    return fallback;
  }
  return next;
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
    location.assign(nextPage(new URLSearchParams(location.search).get('next'), answer.user.role));
  } catch (error) {
    done();
    showError(error);
    $('#password').value = '';
    $('#password').focus();
  }
}

initLayout();
$('#login-form').addEventListener('submit', submit);
