// 登录: a browser session (HttpOnly cookie) plus the readable CSRF cookie for writes.

import { post } from '../api.js';
import { initLayout } from '../layout.js';
import { $, busy, clearMessages, showError, showStatus } from '../ui.js';

const DEFAULT_PAGE = 'projects.html';
/** One of this site's pages, by its relative name, with any query: "hall.html?section=1". */
const PAGE = /^[A-Za-z0-9][\w-]*\.html(?:[?#][^\s\\]*)?$/;

/**
 * Where to go after logging in: any page of this site named relatively (what showError's
 * 前往登录 link builds), never another site. A scheme ("https:", "javascript:"), a leading
 * "/" or "\\" (protocol-relative), "..", white space or control characters, or a name that
 * resolves elsewhere all mean the default page; so does login.html itself.
 */
export function nextPage(next) {
  if (!next || !PAGE.test(next) || next.includes('..') || /[\u0000-\u001f\u007f]/.test(next)) {
    return DEFAULT_PAGE;
  }
  const url = new URL(next, location.href);
  const here = new URL('.', location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(here.pathname)
      || url.pathname.endsWith('/login.html')) {
    return DEFAULT_PAGE;
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
    location.assign(nextPage(new URLSearchParams(location.search).get('next')));
  } catch (error) {
    done();
    showError(error);
    $('#password').value = '';
    $('#password').focus();
  }
}

initLayout();
$('#login-form').addEventListener('submit', submit);
