// 加密密钥与签名密钥: the organisation's registered public keys; a new key pair made in this
// browser (private key non-extractable in IndexedDB, password-protected backup file), its
// registration, and the import of a backup file. Two kinds: the encryption key a role needs
// (bidder: seals bids; agency, procurer, supervisor: holds opening-key shares), and a signing
// key (signing.js: ECDSA P-256, signs what the organisation confirms, e.g. the opening record).

import { ApiError, get, post } from '../api.js';
import { generateBidderKey, importBackup } from '../envelope.js';
import {
  keyIdOf, kindOf, localKeyIds, loadLocal, publicKeyText, purposeFor, PURPOSES, storeLocal,
} from '../keyring.js';
import { canHoldKeys, canSign, initLayout } from '../layout.js';
import {
  generateSigningKey, importSigningBackup, isSigningBackup, SIGNING_PURPOSE,
} from '../signing.js';
import {
  $, append, busy, clear, clearMessages, el, label, showError, showStatus, timeEl,
} from '../ui.js';

const MAX_BACKUP_BYTES = 64 * 1024;

const KIND_LABELS = { encryption: '加密密钥', signing: '签名密钥' };

let user = null;
/** The encryption key's purpose for this role ("bidder" or "holder"). */
let purpose = null;
/** The two generate forms by kind: {kind, make, generated, and their elements' selectors}. */
const generators = {};

function backupName(kind, id) {
  return `${kind === 'signing' ? '签名密钥备份' : '密钥备份'}-${id.slice(0, 12)}.json`;
}

function purposeOfKind(kind) {
  return kind === 'signing' ? SIGNING_PURPOSE : purpose;
}

function generatedIds() {
  return new Set(Object.values(generators).filter((g) => g.generated).map((g) => g.generated.id));
}

// ---------------------------------------------------------------------------- the list

async function load() {
  let list;
  let local;
  try {
    const [answer, encryption, signing] = await Promise.all([
      get('/keys'), localKeyIds('encryption'), localKeyIds('signing')]);
    list = answer;
    local = { encryption, signing };
  } catch (error) {
    showError(error);
    return;
  }
  const registered = new Set(list.items.map((key) => `${kindOf(key.purpose)}:${key.key_id}`));
  clear($('#key-rows')).append(...list.items.map((key) => el('tr', {},
    el('td', {}, label(PURPOSES, key.purpose)),
    el('td', {}, el('code', { class: 'hash' }, key.key_id)),
    el('td', {}, key.user_id === user.id ? '本人' : `同机构用户（编号 ${key.user_id}）`),
    el('td', {}, timeEl(key.created_at)),
    el('td', {}, key.revoked_at ? append(el('span', {}, '已撤销 '), timeEl(key.revoked_at)) : '有效'),
    el('td', {}, local[kindOf(key.purpose)].has(key.key_id) ? '已保存在本浏览器' : '本浏览器中没有'),
    el('td', {}, revokeCell(key)))));
  $('#keys-table').hidden = list.items.length === 0;
  $('#keys-empty').hidden = list.items.length > 0;

  const fresh = generatedIds();
  const items = [];
  for (const kind of ['encryption', 'signing']) {
    const pending = Array.from(local[kind]).filter((id) => !registered.has(`${kind}:${id}`)
      && !fresh.has(id));
    for (const id of pending) {
      const button = el('button', { type: 'button',
        'aria-label': `登记${KIND_LABELS[kind]} ${id.slice(0, 16)}` }, '登记此公钥');
      button.addEventListener('click', () => registerLocal(kind, id, button));
      items.push(el('li', {}, `${KIND_LABELS[kind]} `, el('code', { class: 'hash' }, id), ' ', button));
    }
  }
  clear($('#local-keys')).append(...items);
  $('#local-section').hidden = items.length === 0;
}

/**
 * 撤销: needs only the login, never the private half — a key whose private half is lost or
 * kept in another browser must still be revocable. A holder key only by its own user. Revoking
 * is final: it asks once more in the row itself (no browser dialog).
 */
function revokeCell(key) {
  if (key.revoked_at || (key.purpose === 'holder' && key.user_id !== user.id)) return '—';
  const name = `${label(PURPOSES, key.purpose)} ${key.key_id.slice(0, 16)}`;
  const start = el('button', { type: 'button', 'aria-label': `撤销${name}` }, '撤销');
  const confirm = el('button', { type: 'button', class: 'danger',
    'aria-label': `确认撤销${name}` }, '确认撤销（不可恢复）');
  const cancel = el('button', { type: 'button' }, '取消');
  const confirming = el('span', { hidden: '' }, confirm, ' ', cancel);
  start.addEventListener('click', () => {
    start.hidden = true;
    confirming.hidden = false;
    confirm.focus();
  });
  cancel.addEventListener('click', () => {
    confirming.hidden = true;
    start.hidden = false;
    start.focus();
  });
  confirm.addEventListener('click', async () => {
    clearMessages();
    confirm.disabled = true;
    cancel.disabled = true;
    try {
      await post(`/keys/${key.id}/revoke`);
      showStatus(`已撤销${name}…，此后不能再用它${key.purpose === 'bidder' ? '加密投标文件'
        : key.purpose === 'holder' ? '接收开标密钥份额' : '签名确认'}。`);
      await load();
    } catch (error) {
      confirm.disabled = false;
      cancel.disabled = false;
      showError(error);
    }
  });
  return el('span', {}, start, confirming);
}

async function register(kind, publicKey) {
  try {
    return await post('/keys', { purpose: purposeOfKind(kind), public_key: publicKeyText(publicKey) });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'key_registered') return null;
    throw error;
  }
}

async function registerLocal(kind, id, button) {
  clearMessages();
  button.disabled = true;
  try {
    const pair = await loadLocal(id, kind);
    if (!pair) throw new Error('本浏览器中没有该密钥 (the key is not in this browser)');
    await register(kind, pair.publicKey);
    showStatus(`公钥已登记（${label(PURPOSES, purposeOfKind(kind))}），密钥编号 ${id.slice(0, 16)}…。`);
    await load();
  } catch (error) {
    button.disabled = false;
    showError(error);
  }
}

// ---------------------------------------------------------------------------- generate

function forgetGenerated(g) {
  if (g.generated && g.generated.url) URL.revokeObjectURL(g.generated.url);
  g.generated = null;
}

async function generate(g, event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearMessages();
  const password = $(g.password).value;
  const again = $(g.password2);
  again.removeAttribute('aria-invalid');
  if (password !== again.value) {
    again.setAttribute('aria-invalid', 'true');
    showError(new Error('两次输入的备份密码不一致 (the passwords differ)'));
    again.focus();
    return;
  }
  const done = busy(form);
  showStatus(`正在生成${KIND_LABELS[g.kind]}对并加密备份…`);
  try {
    const pair = await g.make(password);
    forgetGenerated(g);
    const id = await keyIdOf(pair.publicKey);
    const text = JSON.stringify(pair.backup, null, 2);
    const url = URL.createObjectURL(new Blob([`${text}\n`], { type: 'application/json' }));
    g.generated = { ...pair, id, url };
    form.reset();
    $(g.id).textContent = id;
    const link = $(g.link);
    link.href = url;
    link.download = backupName(g.kind, id);
    $(g.register).disabled = true;
    $(g.hint).textContent = '下载备份文件后才能登记。登记后私钥保存在本浏览器中。';
    $(g.card).hidden = false;
    showStatus(`${KIND_LABELS[g.kind]}对已生成。请先下载备份文件，再登记公钥。`);
    $(g.heading).focus();
  } catch (error) {
    showError(error);
  } finally {
    done();
  }
}

function backupDownloaded(g) {
  if (!g.generated) return;
  g.generated.downloaded = true;
  $(g.register).disabled = false;
  $(g.hint).textContent = '备份文件已下载。登记后私钥保存在本浏览器中。';
}

async function registerGenerated(g) {
  if (!g.generated || !g.generated.downloaded) return;
  clearMessages();
  const button = $(g.register);
  button.disabled = true;
  try {
    // Kept here first: a key registered but not held anywhere would seal bids nobody opens
    // (or stand for signatures nobody can make).
    const id = await storeLocal(g.generated, g.kind);
    await register(g.kind, g.generated.publicKey);
    forgetGenerated(g);
    $(g.card).hidden = true;
    showStatus(`公钥已登记（${label(PURPOSES, purposeOfKind(g.kind))}），密钥编号 ${id.slice(0, 16)}…；私钥已保存在本浏览器中。`);
    await load();
    $('#registered-heading').focus();
  } catch (error) {
    button.disabled = false;
    showError(error);
    await load();
  }
}

function bindGenerator(g, formSelector) {
  generators[g.kind] = g;
  $(formSelector).addEventListener('submit', (event) => generate(g, event));
  $(g.link).addEventListener('click', () => backupDownloaded(g));
  $(g.register).addEventListener('click', () => registerGenerated(g));
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
    const kind = isSigningBackup(backup) ? 'signing' : 'encryption';
    const password = $('#i-password').value;
    const pair = kind === 'signing'
      ? await importSigningBackup(backup, password)
      : await importBackup(backup, password);
    const id = await storeLocal(pair, kind);
    form.reset();
    showStatus(`已导入密钥 ${id.slice(0, 16)}…（${KIND_LABELS[kind]}），私钥已保存在本浏览器中。`);
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
  // An expert signs score sheets and holds no encryption key: only the signing key parts.
  const signingOnly = canSign(user) && !canHoldKeys(user);
  if (!canSign(user) || (!purpose && !signingOnly)) {
    $('#keys-denied').hidden = false;
    return;
  }
  if (signingOnly) $('#generate-form').closest('section').hidden = true;
  $('#purpose-text').textContent = purpose === 'bidder'
    ? '投标人的加密密钥：递交投标文件时，文件在本机用它和开标公钥加密；开标时须用本机私钥解开投标人份额。'
    : '开标密钥持有人的密钥：发布公告时，各标段开标私钥的一份份额用它加密后交给您；开标时须用本机私钥提交份额。';
  $('#registered-heading').setAttribute('tabindex', '-1');
  bindGenerator({
    kind: 'encryption', make: (password) => generateBidderKey(password), generated: null,
    password: '#g-password', password2: '#g-password2', card: '#generated',
    heading: '#generated-heading', id: '#generated-id', link: '#backup-link',
    register: '#register-generated', hint: '#register-hint',
  }, '#generate-form');
  bindGenerator({
    kind: 'signing', make: (password) => generateSigningKey(password), generated: null,
    password: '#s-password', password2: '#s-password2', card: '#s-generated',
    heading: '#s-generated-heading', id: '#s-generated-id', link: '#s-backup-link',
    register: '#s-register-generated', hint: '#s-register-hint',
  }, '#sign-form');
  $('#import-form').addEventListener('submit', importFile);
  $('#keys-page').hidden = false;
  await load();
}

main();
