// 加密密钥: the organisation's registered public keys, a new key pair made in this browser
// (private key non-extractable in IndexedDB, password-protected backup file), its registration,
// and the import of a backup file.

import { ApiError, get, post } from '../api.js';
import { generateBidderKey, importBackup } from '../envelope.js';
import {
  keyIdOf, localKeyIds, loadLocal, publicKeyText, purposeFor, PURPOSES, storeLocal,
} from '../keyring.js';
import { canHoldKeys, initLayout } from '../layout.js';
import {
  $, append, busy, clear, clearMessages, el, label, showError, showStatus, timeEl,
} from '../ui.js';

const MAX_BACKUP_BYTES = 64 * 1024;

let user = null;
let purpose = null;
let generated = null; // {publicKey, privateKey, backup, id, url}

function backupName(id) {
  return `密钥备份-${id.slice(0, 12)}.json`;
}

// ---------------------------------------------------------------------------- the list

async function load() {
  let list;
  let local;
  try {
    [list, local] = await Promise.all([get('/keys'), localKeyIds()]);
  } catch (error) {
    showError(error);
    return;
  }
  const registered = new Set(list.items.map((key) => key.key_id));
  clear($('#key-rows')).append(...list.items.map((key) => el('tr', {},
    el('td', {}, label(PURPOSES, key.purpose)),
    el('td', {}, el('code', { class: 'hash' }, key.key_id)),
    el('td', {}, key.user_id === user.id ? '本人' : `同机构用户（编号 ${key.user_id}）`),
    el('td', {}, timeEl(key.created_at)),
    el('td', {}, key.revoked_at ? append(el('span', {}, '已撤销 '), timeEl(key.revoked_at)) : '有效'),
    el('td', {}, local.has(key.key_id) ? '已保存在本浏览器' : '本浏览器中没有'))));
  $('#keys-table').hidden = list.items.length === 0;
  $('#keys-empty').hidden = list.items.length > 0;

  const pending = Array.from(local).filter((id) => !registered.has(id)
    && !(generated && generated.id === id));
  const items = [];
  for (const id of pending) {
    const button = el('button', { type: 'button', 'aria-label': `登记密钥 ${id.slice(0, 16)}` },
      '登记此公钥');
    button.addEventListener('click', () => registerLocal(id, button));
    items.push(el('li', {}, el('code', { class: 'hash' }, id), ' ', button));
  }
  clear($('#local-keys')).append(...items);
  $('#local-section').hidden = items.length === 0;
}

async function register(publicKey) {
  try {
    return await post('/keys', { purpose, public_key: publicKeyText(publicKey) });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'key_registered') return null;
    throw error;
  }
}

async function registerLocal(id, button) {
  clearMessages();
  button.disabled = true;
  try {
    const pair = await loadLocal(id);
    if (!pair) throw new Error('本浏览器中没有该密钥 (the key is not in this browser)');
    await register(pair.publicKey);
    showStatus(`公钥已登记，密钥编号 ${id.slice(0, 16)}…。`);
    await load();
  } catch (error) {
    button.disabled = false;
    showError(error);
  }
}

// ---------------------------------------------------------------------------- generate

function forgetGenerated() {
  if (generated && generated.url) URL.revokeObjectURL(generated.url);
  generated = null;
}

async function generate(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearMessages();
  const password = $('#g-password').value;
  const again = $('#g-password2');
  again.removeAttribute('aria-invalid');
  if (password !== again.value) {
    again.setAttribute('aria-invalid', 'true');
    showError(new Error('两次输入的备份密码不一致 (the passwords differ)'));
    again.focus();
    return;
  }
  const done = busy(form);
  showStatus('正在生成密钥对并加密备份…');
  try {
    const pair = await generateBidderKey(password);
    forgetGenerated();
    const id = await keyIdOf(pair.publicKey);
    const text = JSON.stringify(pair.backup, null, 2);
    const url = URL.createObjectURL(new Blob([`${text}\n`], { type: 'application/json' }));
    generated = { ...pair, id, url };
    form.reset();
    $('#generated-id').textContent = id;
    const link = $('#backup-link');
    link.href = url;
    link.download = backupName(id);
    $('#register-generated').disabled = true;
    $('#generated').hidden = false;
    showStatus('密钥对已生成。请先下载备份文件，再登记公钥。');
    $('#generated-heading').focus();
  } catch (error) {
    showError(error);
  } finally {
    done();
  }
}

function backupDownloaded() {
  if (!generated) return;
  generated.downloaded = true;
  $('#register-generated').disabled = false;
  $('#register-hint').textContent = '备份文件已下载。登记后私钥保存在本浏览器中。';
}

async function registerGenerated() {
  if (!generated || !generated.downloaded) return;
  clearMessages();
  const button = $('#register-generated');
  button.disabled = true;
  try {
    // Kept here first: a key registered but not held anywhere would seal bids nobody opens.
    const id = await storeLocal(generated);
    await register(generated.publicKey);
    forgetGenerated();
    $('#generated').hidden = true;
    showStatus(`公钥已登记（${label(PURPOSES, purpose)}），密钥编号 ${id.slice(0, 16)}…；私钥已保存在本浏览器中。`);
    await load();
    $('#registered-heading').focus();
  } catch (error) {
    button.disabled = false;
    showError(error);
    await load();
  }
}

// ---------------------------------------------------------------------------- import

async function readBackup(file) {
  if (file.size > MAX_BACKUP_BYTES) {
    throw new Error('文件过大，不是密钥备份文件 (not a key backup: too large)');
  }
  try {
    return JSON.parse(await file.text());
  } catch (error) {
    throw new Error('文件不是 JSON 格式的密钥备份 (not a JSON key backup)');
  }
}

async function importFile(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearMessages();
  const input = $('#i-file');
  const file = input.files && input.files[0];
  if (!file) {
    showError(new Error('请选择备份文件 (choose the backup file)'));
    input.focus();
    return;
  }
  const done = busy(form);
  showStatus('正在用备份密码解密…');
  try {
    const backup = await readBackup(file);
    const pair = await importBackup(backup, $('#i-password').value);
    const id = await storeLocal(pair);
    form.reset();
    showStatus(`已导入密钥 ${id.slice(0, 16)}…，私钥已保存在本浏览器中。`);
    await load();
  } catch (error) {
    showError(error);
    $('#i-password').value = '';
    done();
    $('#i-password').focus();
    return;
  }
  done();
}

// ---------------------------------------------------------------------------- start

async function main() {
  user = await initLayout();
  if (!user) {
    $('#keys-login').hidden = false;
    return;
  }
  purpose = purposeFor(user.role);
  if (!canHoldKeys(user) || !purpose) {
    $('#keys-denied').hidden = false;
    return;
  }
  $('#purpose-text').textContent = purpose === 'bidder'
    ? '投标人的加密密钥：递交投标文件时，文件在本机用它和开标公钥加密；开标时须用本机私钥解开投标人份额。'
    : '开标密钥持有人的密钥：发布公告时，各标段开标私钥的一份份额用它加密后交给您；开标时须用本机私钥提交份额。';
  $('#registered-heading').setAttribute('tabindex', '-1');
  $('#generate-form').addEventListener('submit', generate);
  $('#backup-link').addEventListener('click', backupDownloaded);
  $('#register-generated').addEventListener('click', registerGenerated);
  $('#import-form').addEventListener('submit', importFile);
  $('#keys-page').hidden = false;
  await load();
}

main();
