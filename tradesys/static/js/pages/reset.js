// 设置新密码: the holder of a one-time reset link (made by the admin in console.html) sets a new
// password. The token rides in the URL fragment, which the browser never sends to a server; the
// page takes it into memory and drops it from the address bar and the history at once.

import { post } from '../api.js';
import { initLayout } from '../layout.js';
import { $, busy, clearMessages, setControlMessage, showError } from '../ui.js';

const TOKEN = /^rst_[A-Za-z0-9_-]{43}$/;

function takeToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  return token && TOKEN.test(token) ? token : null;
}

let token = takeToken();

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const password = $('#new-password').value;
  const confirm = $('#confirm-password');
  clearMessages();
  if (confirm.value !== password) {
    setControlMessage(confirm, '两次输入的新密码不一致');
    confirm.focus();
    return;
  }
  const done = busy(form);
  try {
    await post('/auth/password-reset', { token, password });
    done();
    form.reset();
    form.hidden = true;
    $('#reset-done').hidden = false;
    $('#reset-done a').focus();
  } catch (error) {
    done();
    if (error.code === 'weak_password') {
      setControlMessage($('#new-password'), error.message);
      $('#new-password').focus();
    }
    showError(error);
  }
}

function show() {
  $('#reset-form').hidden = !token;
  $('#reset-missing').hidden = Boolean(token);
}

initLayout();
$('#reset-form').addEventListener('submit', submit);
// A second link pasted into this tab changes only the fragment: no reload, so take it here.
window.addEventListener('hashchange', () => {
  token = takeToken();
  clearMessages();
  $('#reset-done').hidden = true;
  show();
});
show();
