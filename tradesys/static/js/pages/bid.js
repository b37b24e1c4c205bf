// 递交投标文件: a bidder seals its bid file and bid summary (开标一览表) IN THIS BROWSER with
// envelope.js, then uploads only the envelope, resumably, and keeps the signed receipt. The
// plaintext never leaves the page: the file is read chunk by chunk into WebCrypto and the
// summary is encrypted into the envelope's header.

import { ApiError, get, post } from '../api.js';
import { serverNow, whenSynced } from '../clock.js';
import { encodeSummary, seal, unb64u } from '../envelope.js';
import { keyIdOf, localKeyIds, loadLocal, shortKeyId } from '../keyring.js';
import { initLayout } from '../layout.js';
import { completeUpload, sendSlices, startUpload } from '../resumable.js';
import {
  $, append, BID_STATES, busy, clear, clearInvalid, clearMessages, creditCodeEl, el, fieldLabelIn,
  formatBeijing, formatSize, idParam, label, loginHref, markInvalid, parseInstant, showError,
  showStatus, timeEl,
} from '../ui.js';

let sectionId = null;
let sealing = null; // GET /sections/{id}/sealing
let deadline = null; // Date
let bidderKey = null; // the registered bidder key whose private half is in this browser
let closed = false;
let receiptUrl = null;
let hasValidBid = false;

// ---------------------------------------------------------------------------- facts

function facts(target, pairs) {
  clear(target);
  for (const [term, value, id] of pairs) {
    target.append(el('dt', {}, term), append(el('dd', id ? { id } : {}), value));
  }
}

async function showSection(notice) {
  const section = notice ? notice.sections.find((s) => s.id === sectionId) : null;
  const openingId = await keyIdOf(unb64u(sealing.opening_public_key, 'opening_public_key'));
  const pairs = [];
  if (notice) {
    pairs.push(['项目名称', notice.project_name], ['项目编号', notice.project_code]);
  }
  pairs.push(['标段编号', sealing.section_code, 'section-code']);
  if (section) pairs.push(['标段名称', section.name]);
  pairs.push(
    ['投标截止时间（开标时间）', timeEl(sealing.bid_deadline), 'bid-deadline'],
    ['投标人统一社会信用代码', sealing.bidder_code || '—', 'bidder-code'],
    ['开标公钥编号', el('code', { class: 'hash' }, shortKeyId(openingId)), 'opening-key'],
    ['加密后文件大小上限', formatSize(sealing.max_bid_bytes)],
  );
  facts($('#section-facts'), pairs);
  $('#b-file-hint').textContent = `任意格式的单个文件（如 PDF 或 ZIP），加密后不超过 ${formatSize(sealing.max_bid_bytes)}。`
    + '文件只在本机读取和加密。';
  if (section) document.title = `递交投标文件：${section.name} — 电子招标投标交易平台`;
}

// ---------------------------------------------------------------------------- countdown

function pad(n) {
  return String(n).padStart(2, '0');
}

function describeRemaining(ms) {
  const total = Math.floor(ms / 1000);
  const days = Math.floor(total / 86400);
  const clock = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days > 0 ? `${days} 天 ${clock}` : clock;
}

function setClosed() {
  for (const control of $('#bid-form').querySelectorAll('button, input')) control.disabled = true;
  $('#withdraw').hidden = true;
}

function tick() {
  const now = serverNow();
  const countdown = $('#countdown');
  if (!now || !deadline) return;
  const left = deadline.getTime() - now.getTime();
  if (left > 0) {
    countdown.textContent = describeRemaining(left);
    return;
  }
  countdown.textContent = '投标已截止';
  countdown.classList.add('passed');
  if (!closed) {
    closed = true;
    setClosed();
    showStatus(`投标截止时间 ${formatBeijing(deadline)}（北京时间）已到，不再接收投标文件。`);
  } else {
    setClosed(); // a finished request may have re-enabled the form
  }
}

// ---------------------------------------------------------------------------- key

async function findKey() {
  const [list, local] = await Promise.all([get('/keys'), localKeyIds()]);
  const active = list.items.filter((key) => key.purpose === 'bidder' && !key.revoked_at);
  const usable = active.filter((key) => local.has(key.key_id)).sort((a, b) => b.id - a.id);
  bidderKey = usable[0] || null;
  const state = clear($('#key-state'));
  const keysLink = el('a', { href: 'keys.html' }, '加密密钥');
  if (bidderKey) {
    append(state, '使用本浏览器中的投标密钥 ', el('code', { class: 'hash' }, shortKeyId(bidderKey.key_id)),
      '（', timeEl(bidderKey.created_at), ' 登记）加密。开标时须用该密钥解开投标人份额，请保管好它的备份文件。');
    state.className = '';
  } else if (active.length) {
    append(state, '本浏览器中没有本单位已登记投标密钥的私钥，无法加密。请在', keysLink,
      '页导入备份文件，或生成并登记新密钥。');
    state.className = 'warning';
  } else {
    append(state, '本单位尚未登记投标加密密钥。请先在', keysLink, '页生成密钥并登记公钥。');
    state.className = 'warning';
  }
  $('#bid-submit').disabled = !bidderKey;
}

// ---------------------------------------------------------------------------- progress

function progress(phase, done, total) {
  $('#progress-box').hidden = false;
  $('#progress-label').textContent = phase;
  const bar = $('#b-progress');
  if (total > 0) {
    bar.max = total;
    bar.value = done;
    const percent = Math.floor((done / total) * 100);
    $('#progress-text').textContent = `${formatSize(done)} / ${formatSize(total)}（${percent}%）`;
  } else {
    bar.removeAttribute('value'); // indeterminate
    $('#progress-text').textContent = '';
  }
}

function onRetry(attempt) {
  showStatus(`网络连接中断，正在向服务器查询已收到的位置并续传（第 ${attempt} 次重试）…`);
}

// ---------------------------------------------------------------------------- submit

function summaryFromForm() {
  const duration = $('#b-duration').value.trim();
  return {
    price: $('#b-price').value.trim(),
    currency: $('#b-currency').value.trim().toUpperCase(),
    duration_days: /^\d{1,5}$/.test(duration) ? Number(duration) : NaN,
    quality: $('#b-quality').value.trim(),
    project_manager: $('#b-manager').value.trim(),
  };
}

/** Which summary field an encodeSummary error names (its message says so in English). */
function summaryField(error) {
  const match = /\b(price|currency|duration_days|quality|project_manager)\b/.exec(error.message || '');
  return match ? match[1] : null;
}

function fail(form, error) {
  clearInvalid(form);
  let first = markInvalid(form, error.details);
  const field = error.code === 'bad_summary' ? summaryField(error) : null;
  if (!first && field) first = markInvalid(form, [{ loc: [field] }]);
  if (error instanceof ApiError && error.code === 'upload_closed') {
    error.message += '。如果回执没有显示，请查看下方“我的投标”确认是否已递交。';
  }
  showError(error, { fieldLabel: fieldLabelIn(form) });
  if (first) first.focus();
}

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearMessages();
  clearInvalid(form);
  const now = serverNow();
  if (closed || (now && deadline && now >= deadline)) {
    showError(new Error('已过投标截止时间（以服务器时间为准），不能递交 (the bid deadline has passed)'));
    return;
  }
  const input = $('#b-file');
  const file = input.files && input.files[0];
  if (!file || file.size === 0) {
    input.setAttribute('aria-invalid', 'true');
    showError(new Error(file ? '投标文件为空 (the bid file is empty)' : '请选择投标文件 (choose the bid file)'));
    input.focus();
    return;
  }
  if (file.size >= sealing.max_bid_bytes) {
    input.setAttribute('aria-invalid', 'true');
    showError(new Error(`投标文件超过 ${formatSize(sealing.max_bid_bytes)} 上限 (the bid file is too large)`));
    input.focus();
    return;
  }
  const summary = summaryFromForm();
  try {
    encodeSummary(summary);
  } catch (error) {
    fail(form, error);
    return;
  }
  if (!bidderKey) {
    showError(new Error('没有可用的投标加密密钥 (no bidder key in this browser)'));
    return;
  }
  const done = busy(form);
  $('#receipt-section').hidden = true;
  try {
    const pair = await loadLocal(bidderKey.key_id);
    if (!pair) throw new Error('本浏览器中没有该投标密钥的私钥 (the bidder key is not in this browser)');
    showStatus('正在本机加密投标文件与开标一览表…');
    const sealed = await seal(file, summary, {
      sectionCode: sealing.section_code,
      bidderCode: sealing.bidder_code,
      bidderPublicKey: pair.publicKey,
      openingPublicKey: sealing.opening_public_key,
      progress: (n, total) => progress('正在本机加密', n, total),
    });
    if (sealed.size > sealing.max_bid_bytes) {
      throw new Error(`加密后的投标文件超过 ${formatSize(sealing.max_bid_bytes)} 上限 (the sealed bid is too large)`);
    }
    showStatus(`加密完成，正在上传密文（${formatSize(sealed.size)}）…`);
    progress('正在上传密文', 0, sealed.size);
    const upload = await startUpload(sectionId, sealed.size, { onRetry });
    await sendSlices(upload.id, sealed.blob, {
      offset: upload.offset,
      onProgress: (n, total) => progress('正在上传密文', n, total),
      onRetry,
    });
    progress('正在提交', 0, 0);
    const { file: receiptFile, bytes } = await completeUpload(upload.id, { onRetry });
    progress('已递交', sealed.size, sealed.size);
    input.value = '';
    showReceipt(receiptFile, bytes);
    showStatus(`投标文件已递交：平台已接收密文并签发回执，接收时间 ${formatBeijing(receiptFile.receipt.received_at, { seconds: true })}（北京时间）。`);
    $('#receipt-heading').focus();
  } catch (error) {
    $('#progress-box').hidden = true;
    fail(form, error);
  } finally {
    done();
    if (!bidderKey) $('#bid-submit').disabled = true;
    tick();
    await loadBids();
  }
}

// ---------------------------------------------------------------------------- receipt

function showReceipt(file, bytes) {
  const receipt = file.receipt;
  facts($('#receipt-facts'), [
    ['项目编号', receipt.project_code],
    ['标段编号', receipt.section_code, 'receipt-section-code'],
    ['投标人统一社会信用代码', creditCodeEl(receipt.bidder_credit_code)],
    ['密文大小', `${formatSize(receipt.size)}（${receipt.size} 字节）`, 'receipt-size'],
    ['密文 SHA-256', el('code', { class: 'hash' }, receipt.envelope_sha256), 'receipt-sha256'],
    ['接收时间（北京时间）', timeEl(receipt.received_at, { seconds: true }), 'receipt-time'],
    // Version 2 names its log entry by the entry's hash (a sequence number would count
    // others' bids); receipts issued before carry event_seq.
    receipt.event_hash
      ? ['日志条目哈希', el('code', { class: 'hash' }, receipt.event_hash)]
      : ['事件序号', String(receipt.event_seq)],
  ]);
  if (receiptUrl) URL.revokeObjectURL(receiptUrl);
  // The exact bytes the server signed and sent: any re-serialisation would break the check.
  receiptUrl = URL.createObjectURL(new Blob([bytes], { type: 'application/json' }));
  $('#receipt-download').href = receiptUrl;
  $('#receipt-section').hidden = false;
}

// ---------------------------------------------------------------------------- my bids

async function loadBids() {
  try {
    const list = await get(`/sections/${sectionId}/bids`);
    clear($('#bid-rows')).append(...list.items.map((bid) => el('tr', {},
      el('td', {}, label(BID_STATES, bid.status)),
      el('td', { class: 'num' }, formatSize(bid.size)),
      el('td', {}, el('code', { class: 'hash' }, bid.envelope_sha256)),
      el('td', {}, timeEl(bid.received_at, { seconds: true })),
      el('td', {}, bid.withdrawn_at ? timeEl(bid.withdrawn_at, { seconds: true }) : '—'))));
    hasValidBid = list.items.some((bid) => bid.status === 'valid');
    $('#bids-table').hidden = list.items.length === 0;
    $('#bids-empty').hidden = list.items.length > 0;
    $('#withdraw').hidden = !hasValidBid || closed;
    $('#bid-submit').textContent = hasValidBid ? '加密并递交（替换现有投标文件）' : '加密并递交';
  } catch (error) {
    showError(error);
  }
}

function askWithdraw() {
  clearMessages();
  $('#withdraw-dialog').showModal();
  $('#withdraw-cancel').focus();
}

async function withdraw() {
  const dialog = $('#withdraw-dialog');
  dialog.close();
  const button = $('#withdraw');
  button.disabled = true;
  try {
    await post(`/sections/${sectionId}/bids/withdraw`, undefined);
    $('#receipt-section').hidden = true;
    showStatus('投标文件已撤回。投标截止前仍可重新递交。');
    await loadBids();
    $('#bids-heading').focus();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------- start

async function main() {
  const user = await initLayout();
  sectionId = idParam('section');
  if (!user) {
    $('#bid-login-link').href = loginHref();
    $('#bid-login').hidden = false;
    return;
  }
  if (user.role !== 'bidder') {
    $('#bid-denied').hidden = false;
    return;
  }
  if (sectionId === null) {
    showError(new Error('未指定标段 (no section given)'));
    return;
  }
  $('#hall-link').href = `hall.html?section=${sectionId}`;
  const noticeId = idParam('notice');
  if (noticeId !== null) $('#notice-link').href = `notice.html?id=${noticeId}`;
  try {
    const [sealingAnswer, notice] = await Promise.all([
      get(`/sections/${sectionId}/sealing`),
      noticeId !== null ? get(`/notices/${noticeId}`).catch(() => null) : Promise.resolve(null),
    ]);
    sealing = sealingAnswer;
    deadline = parseInstant(sealing.bid_deadline);
    await showSection(notice);
  } catch (error) {
    showError(error);
    return;
  }
  for (const heading of ['#bids-heading']) $(heading).setAttribute('tabindex', '-1');
  $('#bid-form').addEventListener('submit', submit);
  $('#withdraw').addEventListener('click', askWithdraw);
  $('#withdraw-cancel').addEventListener('click', () => {
    $('#withdraw-dialog').close();
    $('#withdraw').focus();
  });
  $('#withdraw-confirm').addEventListener('click', withdraw);
  $('#bid-page').hidden = false;
  try {
    await findKey();
  } catch (error) {
    showError(error);
  }
  await loadBids();
  await whenSynced();
  tick();
  setInterval(tick, 1000);
}

main();
