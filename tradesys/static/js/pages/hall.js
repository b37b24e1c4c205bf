// 开标大厅: the live bid opening of one section (docs/hall-protocol.md), for the host (agency),
// the bidders, the procurer, supervisors and the public. Everything shown comes from the room:
// the welcome's state, then the room events folded the same way as tradesys/opening/state.py.
// Shares are unwrapped IN THIS BROWSER with keys kept here (keyring.js); only the unwrapped
// share of the caller's own bid (or of its opening-key share) is sent, over the room. A bidder
// confirms the opening record with its own signature (signing.js), made here with its signing
// key kept here; every confirmation shown is checked here against the public key it names.

import { ApiError, get, hasSessionCookie } from '../api.js';
import {
  b64u, canonicalJson, concat, parseHeader, unb64u, unwrapShare,
} from '../envelope.js';
import { CONNECTION_LABELS, HallRoom } from '../hall-room.js';
import { keyIdOf, loadLocal, localKeyIds, shortKeyId } from '../keyring.js';
import { offset as headerOffset, sync as syncHeaderClock } from '../clock.js';
import { initLayout } from '../layout.js';
import { confirmationMessage, sign, verify } from '../signing.js';
import {
  $, append, clear, el, formatBeijing, formatMoney, idParam, label, parseInstant, ROLES, showError,
  showStatus, timeEl,
} from '../ui.js';

const PHASES = {
  waiting: '等待开标',
  published: '投标人名单已公布',
  too_few: '投标人不足（流标待宣布）',
  failed: '流标',
  decrypting: '解密中',
  decrypted: '解密结束',
  reading: '唱标',
  confirming: '开标记录确认中',
  closed: '开标结束',
};

const AUDIENCES = {
  host: '主持人',
  bidder: '投标人',
  procurer: '招标人',
  supervisor: '监督人员（只读）',
  observer: '公众旁听（只读）',
};

const SECURITY = {
  declared: '已申报（待确认）',
  confirmed: '已确认',
  rejected: '未通过',
};

const OUTCOMES = {
  decrypted: '已解密',
  revoked: '解密失败（撤销）',
  withdrawn: '撤回',
};

/** Where each command's error is shown: the element with data-error-for naming it. */
const ERROR_SLOTS = new Map();

let sectionId = null;
let room = null;
let user = null;
let audience = null;
let you = null;
let section = null;
let deadline = null;
let state = emptyState();
/** Opening-key share indices seen released (from every event, also the catch-up). */
const releasedIndices = new Set();
/** The published record's links (opening.closed, or opening.failed: 流标 has a record too). */
let recordLinks = null;
/** A bidder's sign-in before the list is published is private: only its ack says so. */
let signedInPrivately = false;
/** The caller's wrapped opening-key share, when it holds one. */
let myShare = null;
let myShareReleased = false;
const rows = new Map(); // bid id -> {tr, cells}
/** org id -> the signature of its confirmation {key_id, public_key, signature, record_sha256,
 *  valid: true | false | null (not checked yet, or nothing to check it with)}. */
const signatures = new Map();
const objectionItems = new Map(); // objection id -> li

// ---------------------------------------------------------------------------- state

function emptyState() {
  return {
    phase: 'waiting', paused: false, min_bids: 0, threshold: 0, holders: 0, holder_shares: 0,
    ceiling_price: null, bidders: [], window_ends_at: null, read: [], record_sha256: null,
    confirm_until: null, confirmations: [], objections: [], muted: [], failed_reason: null,
    closed: null,
  };
}

function fromWelcome(snapshot) {
  const next = { ...emptyState(), ...(snapshot && typeof snapshot === 'object' ? snapshot : {}) };
  next.bidders = Array.isArray(next.bidders) ? next.bidders.map((b) => ({ ...b })) : [];
  next.read = Array.isArray(next.read) ? [...next.read] : [];
  // Org ids; a confirmation given as an object (with its signature) is noted by its org id.
  next.confirmations = Array.isArray(next.confirmations)
    ? next.confirmations.map((item) => (item && typeof item === 'object' ? item.org_id : item))
    : [];
  next.objections = Array.isArray(next.objections) ? next.objections.map((o) => ({ ...o })) : [];
  next.muted = Array.isArray(next.muted) ? [...next.muted] : [];
  if (typeof next.holder_shares !== 'number') {
    next.holder_shares = Array.isArray(next.holder_shares) ? next.holder_shares.length : 0;
  }
  return next;
}

function bidderById(bidId) {
  return state.bidders.find((b) => b.bid_id === bidId) || null;
}

function bidderByOrg(orgId) {
  return state.bidders.find((b) => b.org_id === orgId) || null;
}

function myBidder() {
  return you && audience === 'bidder' ? bidderByOrg(you.org_id) : null;
}

function orderedBidders() {
  return [...state.bidders].sort((a, b) => (a.received_at < b.received_at ? -1
    : a.received_at > b.received_at ? 1 : a.bid_id < b.bid_id ? -1 : a.bid_id > b.bid_id ? 1 : 0));
}

/** Fold one room event into the state (as tradesys/opening/state.py does). */
function apply(event) {
  const data = event.data || {};
  switch (event.type) {
    case 'opening.bids_published':
      state.min_bids = data.min_bids ?? state.min_bids;
      state.threshold = data.threshold ?? state.threshold;
      state.holders = data.holders ?? state.holders;
      state.ceiling_price = data.ceiling_price ?? state.ceiling_price;
      state.bidders = (data.bidders || []).map((b) => ({
        ...b, signed_in: Boolean(b.signed_in), share_released: false, outcome: null, reason: null,
        reading: null,
      }));
      state.phase = data.outcome === 'proceed' ? 'published' : 'too_few';
      break;
    case 'opening.failed':
      state.phase = 'failed';
      state.failed_reason = data.reason ?? null;
      break;
    case 'opening.decryption_started':
      state.phase = 'decrypting';
      state.window_ends_at = data.window_ends_at ?? null;
      break;
    case 'opening_share.released':
      state.holder_shares = typeof data.released === 'number' ? data.released : state.holder_shares + 1;
      if (data.threshold) state.threshold = data.threshold;
      break;
    case 'bid.share_released': {
      const bidder = bidderById(data.bid_id);
      if (bidder) bidder.share_released = true;
      break;
    }
    case 'bid.decrypted':
    case 'bid.revoked':
    case 'bid.withdrawn': {
      const bidder = bidderById(data.bid_id);
      if (bidder) {
        bidder.outcome = event.type.slice(4);
        bidder.reason = data.reason ?? null;
      }
      break;
    }
    case 'opening.decryption_ended':
      state.phase = 'decrypted';
      break;
    case 'opening.price_read': {
      if (!state.read.includes(data.bid_id)) state.read.push(data.bid_id);
      const bidder = bidderById(data.bid_id);
      if (bidder) {
        bidder.reading = {
          price: data.price, currency: data.currency, duration_days: data.duration_days,
          quality: data.quality, project_manager: data.project_manager,
        };
      }
      break;
    }
    case 'opening.record_generated':
      state.phase = 'confirming';
      state.record_sha256 = data.record_sha256 ?? null;
      state.confirm_until = data.confirm_until ?? null;
      break;
    case 'opening.record_confirmed':
      if (!state.confirmations.includes(data.org_id)) state.confirmations.push(data.org_id);
      break;
    case 'opening.objection_raised':
      if (!state.objections.some((o) => o.id === data.objection)) {
        state.objections.push({ id: data.objection, org_id: data.org_id, name: data.name,
          text: data.text, at: event.at, answer: null, answered_at: null });
      }
      break;
    case 'opening.objection_answered': {
      const objection = state.objections.find((o) => o.id === data.objection);
      if (objection) {
        objection.answer = data.text;
        objection.answered_at = event.at;
      }
      break;
    }
    case 'opening.paused':
      state.paused = true;
      break;
    case 'opening.resumed':
      state.paused = false;
      if (data.window_ends_at) state.window_ends_at = data.window_ends_at;
      if (data.confirm_until) state.confirm_until = data.confirm_until;
      break;
    case 'opening.signed_in': {
      const bidder = bidderByOrg(data.org_id);
      if (bidder) bidder.signed_in = true;
      break;
    }
    case 'chat.muted':
      if (!state.muted.includes(data.org_id)) state.muted.push(data.org_id);
      break;
    case 'chat.unmuted':
      state.muted = state.muted.filter((org) => org !== data.org_id);
      break;
    case 'opening.closed':
      state.phase = 'closed';
      state.closed = { ...data };
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------------------- text

function pad(n) {
  return String(n).padStart(2, '0');
}

function describeRemaining(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86400);
  const clock = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days > 0 ? `${days} 天 ${clock}` : clock;
}

/** "9,300,000.00 元" for CNY, "1,000.00 USD" otherwise: format.js, as in the PDF record. */
function formatPrice(amount, currency) {
  return formatMoney(amount === '' ? null : amount, currency);
}

function phaseKey() {
  if (state.phase === 'decrypted' && state.read.length > 0) return 'reading';
  return state.phase;
}

function nameOf(orgId, fallback) {
  if (fallback) return fallback;
  const bidder = bidderByOrg(orgId);
  return bidder ? bidder.name : '投标人';
}

function describe(event) {
  const data = event.data || {};
  switch (event.type) {
    case 'opening.bids_published': {
      const count = (data.bidders || []).length;
      const base = `投标截止，投标人名单已公布：共 ${count} 家投标人递交了有效投标文件`;
      return data.outcome === 'too_few'
        ? `${base}，少于 ${data.min_bids} 家，不予开标（流标待宣布）。`
        : `${base}。开标密钥份额门限 ${data.threshold} / ${data.holders}。`;
    }
    case 'opening.failed':
      return `主持人宣布流标。原因：${data.reason || '—'}`;
    case 'opening.decryption_started':
      return `主持人宣布开始解密，请各投标人在 ${formatBeijing(data.window_ends_at, { seconds: true })} 前完成解密。`;
    case 'opening_share.released':
      return `开标密钥持有人释放了第 ${data.share_index} 份开标密钥份额`
        + (typeof data.released === 'number' ? `（已释放 ${data.released} 份，需 ${data.threshold ?? state.threshold} 份）。` : '。');
    case 'bid.share_released':
      return `${nameOf(data.org_id, data.name)} 已解密（提交了投标人密钥份额）。`;
    case 'bid.decrypted':
      return `${nameOf(data.org_id, data.name)} 的投标文件开启成功。`;
    case 'bid.revoked':
      return `${nameOf(data.org_id, data.name)} 的投标文件解密失败，按撤销投标处理${data.reason ? `（${data.reason}）` : ''}。`;
    case 'bid.withdrawn':
      return `${nameOf(data.org_id, data.name)} 的投标文件按撤回投标处理${data.reason ? `（${data.reason}）` : ''}。`;
    case 'opening_shares.erased':
      return '每份投标文件均已有开启结果：已释放的开标密钥份额已从平台删除（仅保留加密的份额，供日后复核）。';
    case 'section.tender_list':
      return '投标文件开启结果已形成投标人名单，并报送公共服务平台。';
    case 'opening.decryption_ended': {
      const counts = ['decrypted', 'revoked', 'withdrawn']
        .filter((key) => typeof data[key] === 'number')
        .map((key) => `${OUTCOMES[key]} ${data[key]} 家`);
      return `解密结束${counts.length ? `：${counts.join('，')}` : ''}。`;
    }
    case 'opening.price_read':
      return `唱标（第 ${data.order ?? state.read.length} 家）：${data.name || nameOf(data.org_id)}，`
        + `投标报价 ${formatPrice(data.price, data.currency)}，工期 ${data.duration_days ?? '—'} 日历天，`
        + `质量 ${data.quality ?? '—'}，项目经理 ${data.project_manager ?? '—'}。`;
    case 'opening.record_generated':
      return `开标记录已生成（SHA-256 ${String(data.record_sha256 || '').slice(0, 16)}…），`
        + `请投标人在 ${formatBeijing(data.confirm_until, { seconds: true })} 前确认。`;
    case 'opening.record_confirmed':
      return `${nameOf(data.org_id, data.name)} 已确认开标记录`
        + (data.key_id ? `（已签名，签名密钥 ${shortKeyId(String(data.key_id))}）。` : '。');
    case 'opening.objection_raised':
      return `${nameOf(data.org_id, data.name)} 提出异议：${data.text}`;
    case 'opening.objection_answered':
      return `主持人答复异议：${data.text}`;
    case 'opening.announcement':
      return `主持人公告：${data.text}`;
    case 'opening.paused':
      return `开标暂停${data.reason ? `：${data.reason}` : '。'}`;
    case 'opening.resumed':
      return `开标恢复${data.reason ? `：${data.reason}` : '。'}`;
    case 'opening.signed_in':
      return `${nameOf(data.org_id, data.name)} 已签到。`;
    case 'chat.muted':
      return `主持人已禁言 ${nameOf(data.org_id, data.name)}。`;
    case 'chat.unmuted':
      return `主持人已解除 ${nameOf(data.org_id, data.name)} 的禁言。`;
    case 'opening.closed':
      return '开标结束，开标记录已公布。';
    default:
      return event.type;
  }
}

// ---------------------------------------------------------------------------- errors per control

function errorSlot(command) {
  return ERROR_SLOTS.get(command) || null;
}

function showControlError(command, error, slot = errorSlot(command)) {
  const message = error && error.message ? error.message : String(error);
  if (slot) {
    if (error && Array.isArray(error.content)) append(clear(slot), ...error.content);
    else slot.textContent = message;
  } else {
    showError(error);
  }
}

/**
 * Run one room command from a control: the button is disabled while it runs; an error is shown
 * next to it (role="alert"), as `explain(error)` puts it. `work()` gives the command's fields
 * made in the page (an unwrapped share, a signature). Resolves to the ack's result or null.
 */
async function run(command, fields = {}, {
  button = null, slot = null, work = null, explain = (error) => error,
} = {}) {
  const target = slot || errorSlot(command);
  if (target) clear(target);
  if (button) button.disabled = true;
  try {
    const extra = work ? await work() : {};
    return await room.send(command, { ...fields, ...extra });
  } catch (error) {
    showControlError(command, explain(error), target);
    return null;
  } finally {
    if (button) button.disabled = false;
    updateControls();
  }
}

// ---------------------------------------------------------------------------- rendering

function facts(target, pairs) {
  clear(target);
  for (const [term, value, id] of pairs) {
    target.append(el('dt', {}, term), append(el('dd', id ? { id } : {}), value));
  }
}

function showSection() {
  const ceiling = state.ceiling_price ?? section.ceiling_price;
  facts($('#section-facts'), [
    ['项目名称', section.project_name || '—', 'project-name'],
    ['项目编号', section.project_code || '—', 'project-code'],
    ['标段编号', section.code || '—', 'section-code'],
    ['标段名称', section.name || '—', 'section-name'],
    ['投标截止时间（开标时间）', timeEl(section.bid_deadline, { seconds: true }), 'bid-deadline'],
    ['最高投标限价', formatPrice(ceiling), 'ceiling-price'],
  ]);
  $('#hall-title').textContent = `开标大厅：${section.code} ${section.name}`;
  document.title = `开标大厅：${section.code} ${section.name} — 电子招标投标交易平台`;
  $('#ceiling').textContent = `最高投标限价：${formatPrice(ceiling)}`;
}

// A credit code never breaks across lines (css .credit-code, the rule of format.js).
const CELL_CLASSES = { credit: 'credit-code', security: 'nowrap', signed: 'nowrap' };

function cell(tr, className) {
  const td = el('td', className ? { class: className } : {});
  tr.append(td);
  return td;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function decryptStatus(bidder) {
  if (bidder.outcome) {
    const text = label(OUTCOMES, bidder.outcome);
    return bidder.reason && bidder.outcome !== 'decrypted' ? `${text}：${bidder.reason}` : text;
  }
  if (bidder.share_released) return '已提交密钥份额（待开启）';
  if (state.phase === 'decrypting') return '待解密';
  return '未开始';
}

function securityText(security) {
  if (security === null || security === undefined || security === '') return '未申报';
  if (typeof security === 'object') {
    const status = label(SECURITY, security.status);
    return security.amount ? `${status}（${formatPrice(security.amount)}）` : status;
  }
  return label(SECURITY, security);
}

function muteButton(bidder) {
  const button = el('button', { type: 'button', class: 'small' });
  button.addEventListener('click', () => {
    const muted = state.muted.includes(bidder.org_id);
    run(muted ? 'unmute' : 'mute', { org_id: bidder.org_id }, { button });
  });
  return button;
}

function renderBidders() {
  const list = orderedBidders();
  $('#bids-table').hidden = list.length === 0;
  $('#bids-empty').hidden = list.length > 0;
  if (state.phase !== 'waiting' && list.length === 0) {
    $('#bids-empty').textContent = '没有投标人递交有效投标文件。';
  }
  const reading = state.read.length > 0;
  for (const th of document.querySelectorAll('#bids-head [data-reading]')) th.hidden = !reading;
  for (const th of document.querySelectorAll('#bids-head [data-host]')) th.hidden = audience !== 'host';
  const body = $('#bid-rows');
  list.forEach((bidder, index) => {
    let row = rows.get(bidder.bid_id);
    if (!row) {
      const tr = el('tr', { dataset: { bid: String(bidder.bid_id) } });
      row = { tr, cells: {} };
      row.cells.order = cell(tr, 'num');
      row.cells.name = el('th', { scope: 'row' });
      tr.append(row.cells.name);
      for (const name of ['credit', 'sha', 'received', 'security', 'signed', 'status']) {
        row.cells[name] = cell(tr, CELL_CLASSES[name] || null);
      }
      row.cells.sha.append(el('code', { class: 'hash' }));
      row.cells.price = cell(tr, 'num price');
      row.cells.duration = cell(tr, 'num');
      row.cells.quality = cell(tr);
      row.cells.manager = cell(tr);
      row.cells.mute = cell(tr);
      row.mute = muteButton(bidder);
      row.cells.mute.append(row.mute);
      rows.set(bidder.bid_id, row);
    }
    const c = row.cells;
    setText(c.order, String(index + 1));
    setText(c.name, bidder.name);
    setText(c.credit, bidder.credit_code || '—');
    setText(c.sha.firstChild, bidder.envelope_sha256 || '—');
    if (c.received.dataset.at !== bidder.received_at) {
      c.received.dataset.at = bidder.received_at || '';
      clear(c.received).append(timeEl(bidder.received_at, { seconds: true }));
    }
    setText(c.security, securityText(bidder.security));
    setText(c.signed, bidder.signed_in ? '已签到' : '未签到');
    setText(c.status, decryptStatus(bidder));
    c.status.className = `nowrap outcome-${bidder.outcome || (bidder.share_released ? 'released' : 'pending')}`;
    const r = bidder.reading;
    for (const name of ['price', 'duration', 'quality', 'manager']) c[name].hidden = !reading;
    setText(c.price, r ? formatPrice(r.price, r.currency) : '—');
    setText(c.duration, r && r.duration_days !== undefined ? String(r.duration_days) : '—');
    setText(c.quality, r ? String(r.quality ?? '—') : '—');
    setText(c.manager, r ? String(r.project_manager ?? '—') : '—');
    c.mute.hidden = audience !== 'host';
    const muted = state.muted.includes(bidder.org_id);
    setText(row.mute, muted ? '解除禁言' : '禁言');
    row.mute.setAttribute('aria-label', `${muted ? '解除禁言' : '禁言'}：${bidder.name}`);
    row.mute.disabled = state.phase === 'closed';
    row.tr.classList.toggle('mine', Boolean(you) && audience === 'bidder' && bidder.org_id === you.org_id);
    if (body.children[index] !== row.tr) body.insertBefore(row.tr, body.children[index] || null);
  });
}

function renderProgress() {
  const total = state.bidders.length;
  const decrypted = state.bidders.filter((b) => b.outcome === 'decrypted').length;
  const released = state.bidders.filter((b) => b.share_released).length;
  const failed = state.bidders.filter((b) => b.outcome && b.outcome !== 'decrypted').length;
  let text = total ? `已开启 ${decrypted} / ${total} 家（已提交投标人密钥份额 ${released} 家）` : '—';
  if (failed) text += `，未能开启 ${failed} 家`;
  setText($('#decrypt-progress'), text);
  setText($('#holder-progress'), state.threshold
    ? `已释放 ${state.holder_shares} 份，需 ${state.threshold} 份（共 ${state.holders || '—'} 份）`
    : '—');
  const bar = $('#decrypt-bar');
  bar.max = Math.max(total, 1);
  bar.value = decrypted;
}

function renderRecord() {
  const hasRecord = Boolean(state.record_sha256);
  $('#record').hidden = !hasRecord;
  $('#record-empty').hidden = hasRecord || state.phase === 'failed';
  if (hasRecord) {
    setText($('#record-sha256'), state.record_sha256);
    const final = state.closed && state.closed.record_sha256;
    $('#final-label').hidden = !final;
    $('#final-value').hidden = !final;
    setText($('#final-sha256'), final || '');
    setText($('#record-label'), final ? '各投标人确认的开标记录（草稿）SHA-256' : '开标记录 SHA-256');
    const until = $('#confirm-until');
    if (until.dataset.at !== state.confirm_until) {
      until.dataset.at = state.confirm_until || '';
      clear(until).append(timeEl(state.confirm_until, { seconds: true }));
    }
    const decrypted = state.bidders.filter((b) => b.outcome === 'decrypted').length;
    setText($('#confirm-count'), `${state.confirmations.length} / ${decrypted || state.bidders.length} 家`);
    const list = $('#confirmations');
    const items = state.confirmations.map((org) => confirmationItem(org));
    const key = JSON.stringify(items.map((item) => item.key));
    if (list.dataset.items !== key) {
      list.dataset.items = key;
      clear(list).append(...items.map((item) => item.node));
    }
  }
  const failedText = $('#failed-reason-text');
  failedText.hidden = state.phase !== 'failed';
  if (state.phase === 'failed') setText(failedText, `本标段流标。原因：${state.failed_reason || '—'}`);
  const published = state.closed || recordLinks;
  const links = $('#record-links');
  const json = safeUrl(published && published.record_url);
  const pdf = safeUrl(published && published.pdf_url);
  links.hidden = !(json || pdf);
  $('#record-json').hidden = !json;
  $('#record-pdf').hidden = !pdf;
  if (json) $('#record-json').href = json;
  if (pdf) $('#record-pdf').href = pdf;
}

const VALIDITY = {
  true: '本页已核验签名',
  false: '签名核验未通过',
};

/** "甲公司 已确认，已签名（签名密钥 1a2b3c4d 5e6f7a8b，本页已核验签名）". */
function confirmationItem(org) {
  const signed = signatures.get(org);
  const name = nameOf(org);
  if (!signed || !signed.key_id) {
    return { key: [org], node: el('li', {}, `${name} 已确认`) };
  }
  const validity = signed.valid === null ? '' : `，${VALIDITY[signed.valid]}`;
  const node = el('li', { class: signed.valid === false ? 'warning' : null, dataset: { org: String(org) } },
    `${name} 已确认，`, el('strong', {}, '已签名'), '（签名密钥 ',
    el('code', { class: 'hash', title: signed.key_id }, shortKeyId(signed.key_id)), `${validity}）`);
  return { key: [org, signed.key_id, signed.valid], node };
}

/**
 * Checks a confirmation's signature here, as anyone can: the key id is the SHA-256 of the
 * public key, and the signature is over the message the bidder signed (signing.js).
 */
async function checkSignature(org, signed) {
  const bidder = bidderByOrg(org);
  if (!signed.public_key || !signed.signature || !bidder || !bidder.credit_code || !section) return;
  let valid = false;
  try {
    const message = confirmationMessage({ sectionCode: section.code, recordSha256: signed.record_sha256,
      bidderCreditCode: bidder.credit_code });
    valid = await keyIdOf(unb64u(signed.public_key, 'public_key')) === signed.key_id
      && await verify(signed.public_key, message, signed.signature);
  } catch (error) {
    valid = false;
  }
  if (signatures.get(org) !== signed) return; // replaced meanwhile
  signed.valid = valid;
  renderRecord();
}

function noteSignature(data) {
  if (data.org_id === undefined || !data.key_id) return;
  const signed = {
    key_id: String(data.key_id), public_key: data.public_key || null, signature: data.signature || null,
    record_sha256: data.record_sha256 || state.record_sha256, valid: null,
  };
  signatures.set(data.org_id, signed);
  checkSignature(data.org_id, signed);
}

/** Only http(s) links on this site's origin or the API's own paths are offered. */
function safeUrl(value) {
  if (typeof value !== 'string' || !value) return null;
  try {
    const url = new URL(value, document.baseURI);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.origin === location.origin ? url.pathname + url.search : url.href;
  } catch (error) {
    return null;
  }
}

function renderObjections() {
  const list = $('#objections');
  $('#objections-empty').hidden = state.objections.length > 0;
  for (const objection of state.objections) {
    let item = objectionItems.get(objection.id);
    if (!item) {
      item = el('li', { class: 'objection', dataset: { objection: String(objection.id) } },
        el('p', { class: 'objection-text' },
          el('strong', {}, `${objection.name || nameOf(objection.org_id)}：`), objection.text),
        el('p', { class: 'hint' }, '提出时间 ', timeEl(objection.at, { seconds: true })));
      objectionItems.set(objection.id, item);
      list.append(item);
    }
    const answered = objection.answer !== null && objection.answer !== undefined;
    const existing = item.querySelector('.objection-answer');
    if (answered && !existing) {
      const form = item.querySelector('form');
      if (form) form.remove();
      item.append(el('p', { class: 'objection-answer' }, el('strong', {}, '主持人答复：'),
        objection.answer, ' ', el('span', { class: 'hint' }, '（', timeEl(objection.answered_at, { seconds: true }), '）')));
    } else if (!answered && audience === 'host' && !item.querySelector('form')) {
      item.append(answerForm(objection));
    } else if (!answered && audience !== 'host') {
      const form = item.querySelector('form');
      if (form) form.remove();
    }
  }
}

function answerForm(objection) {
  const id = `answer-${objection.id}`;
  const text = el('textarea', { id, rows: '2', maxlength: '1000', required: true });
  const slot = el('p', { class: 'control-error', role: 'alert' });
  const button = el('button', { type: 'submit' }, '答复异议');
  const form = el('form', { class: 'inline-form answer-form', novalidate: true, 'data-checks': 'own',
    'aria-label': `答复${objection.name || ''}的异议` },
    el('div', { class: 'field' }, el('label', { for: id }, '答复内容'), text),
    el('p', { class: 'actions' }, button), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const answer = text.value.trim();
    if (!answer) {
      slot.textContent = '请填写答复内容 (the answer is empty)';
      text.focus();
      return;
    }
    const result = await run('answer_objection', { objection: objection.id, text: answer }, { button, slot });
    if (result) text.value = '';
  });
  return form;
}

function renderPhase() {
  setText($('#phase'), label(PHASES, phaseKey()));
  $('#phase').dataset.phase = state.phase;
  $('#paused').hidden = !state.paused;
}

function render() {
  renderPhase();
  renderBidders();
  renderProgress();
  renderRecord();
  renderObjections();
  updateControls();
  tick();
}

// ---------------------------------------------------------------------------- controls

function setCommand(command, enabled) {
  for (const button of document.querySelectorAll(`[data-command="${command}"]`)) button.disabled = !enabled;
}

function updateControls() {
  const phase = state.phase;
  const live = room && room.connected;
  const active = !['closed', 'failed'].includes(phase);
  if (audience === 'host') {
    const toRead = orderedBidders().filter((b) => b.outcome === 'decrypted' && !state.read.includes(b.bid_id));
    setCommand('start_decryption', live && phase === 'published' && !state.paused);
    setCommand('end_decryption', live && phase === 'decrypting');
    setCommand('read_next', live && phase === 'decrypted' && toRead.length > 0 && !state.paused);
    setCommand('generate_record', live && phase === 'decrypted' && toRead.length === 0 && !state.record_sha256);
    setCommand('close', live && phase === 'confirming');
    $('#failed-toggle').disabled = !live || phase !== 'too_few';
    if (phase !== 'too_few') hideFailedForm(false);
    const pause = $('#pause-button');
    pause.textContent = state.paused ? '恢复开标' : '暂停开标';
    pause.disabled = !live || !active || phase === 'waiting';
    $('#pause-reason').disabled = pause.disabled;
    for (const control of $('#announce-form').querySelectorAll('textarea, button')) control.disabled = !live || phase === 'closed';
  }
  if (audience === 'bidder') {
    const mine = myBidder();
    const signed = Boolean(mine && mine.signed_in) || signedInPrivately;
    const signIn = $('#sign-in');
    signIn.textContent = signed ? '已签到' : '签到';
    signIn.disabled = !live || signed || !['waiting', 'published', 'too_few', 'decrypting'].includes(phase);
    const release = $('#release-share');
    const released = Boolean(mine && (mine.share_released || mine.outcome));
    const failed = Boolean(mine && mine.outcome && mine.outcome !== 'decrypted');
    release.textContent = failed ? '未能开启' : released ? '已解密' : '解密';
    release.disabled = !live || !mine || released || phase !== 'decrypting' || state.paused;
    const confirm = $('#confirm-record');
    const confirmed = Boolean(you) && state.confirmations.includes(you.org_id);
    confirm.textContent = confirmed ? '已确认开标记录' : '确认开标记录';
    confirm.disabled = !live || confirmed || phase !== 'confirming' || !mine;
    for (const control of $('#objection-form').querySelectorAll('textarea, button')) {
      control.disabled = !live || !active || phase === 'waiting';
    }
    setText($('#bidder-state'), bidderStateText(mine, signed));
  }
  if (myShare) {
    const button = $('#release-holder-share');
    button.textContent = myShareReleased ? '已释放开标密钥份额' : '释放开标密钥份额';
    button.disabled = !live || myShareReleased || !['published', 'decrypting'].includes(phase);
  }
  // Bidders may not speak before the bid list is out (a message would tell the others that
  // its sender has bid): no input until then, a line saying why; it appears live at the list.
  const chatForm = $('#chat-form');
  const chatClosed = audience === 'bidder' && phase === 'waiting';
  $('#chat-closed').hidden = !chatClosed;
  chatForm.hidden = !['host', 'bidder', 'procurer'].includes(audience) || chatClosed;
  if (!chatForm.hidden) {
    const muted = audience === 'bidder' && you && state.muted.includes(you.org_id);
    $('#chat-muted').hidden = !muted;
    for (const control of chatForm.querySelectorAll('input, button')) control.disabled = !live || muted;
  }
}

function bidderStateText(mine, signed) {
  if (state.phase === 'waiting') {
    return signed ? '您已签到。投标截止后公布投标人名单。' : '请在开标前签到。投标截止后公布投标人名单。';
  }
  if (!mine) return '本标段的投标人名单中没有贵单位的有效投标文件。';
  const parts = [`贵单位投标文件：${decryptStatus(mine)}。`];
  if (state.phase === 'decrypting' && !mine.share_released && !mine.outcome) {
    parts.push('请点击“解密”：本浏览器用贵单位的投标密钥解开投标人密钥份额后提交，解密须在解密时限内完成。');
  }
  if (state.phase === 'confirming' && !state.confirmations.includes(you.org_id)) {
    parts.push('请核对开标记录后点击“确认开标记录”：本浏览器用贵单位的签名密钥对开标记录的 SHA-256 签名，'
      + '签名随开标记录公布，任何人可以核验。有异议请在下方提出。');
  }
  return parts.join('');
}

function hideFailedForm(focus = true) {
  const form = $('#failed-form');
  if (form.hidden) return;
  form.hidden = true;
  $('#failed-toggle').setAttribute('aria-expanded', 'false');
  if (focus) $('#failed-toggle').focus();
}

function bindHost() {
  for (const button of $('#host-panel').querySelectorAll('[data-command]')) {
    button.addEventListener('click', () => run(button.dataset.command, {}, { button }));
  }
  $('#failed-toggle').addEventListener('click', () => {
    const form = $('#failed-form');
    form.hidden = false;
    $('#failed-toggle').setAttribute('aria-expanded', 'true');
    $('#failed-reason').focus();
  });
  $('#failed-cancel').addEventListener('click', () => hideFailedForm());
  $('#failed-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const reason = $('#failed-reason').value.trim();
    if (!reason) {
      errorSlot('declare_failed').textContent = '请填写流标原因 (the reason is empty)';
      $('#failed-reason').focus();
      return;
    }
    const result = await run('declare_failed', { reason }, { button: event.submitter });
    if (result) {
      $('#failed-reason').value = '';
      hideFailedForm();
    }
  });
  $('#pause-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const command = state.paused ? 'resume' : 'pause';
    const reason = $('#pause-reason').value.trim();
    if (!reason) {
      errorSlot(command).textContent = '请填写原因 (the reason is empty)';
      $('#pause-reason').focus();
      return;
    }
    const result = await run(command, { reason }, { button: $('#pause-button') });
    if (result) $('#pause-reason').value = '';
  });
  $('#announce-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('#announce-text').value.trim();
    if (!text) {
      errorSlot('announce').textContent = '请填写公告内容 (the text is empty)';
      $('#announce-text').focus();
      return;
    }
    const result = await run('announce', { text }, { button: event.submitter });
    if (result) $('#announce-text').value = '';
  });
}

// ---------------------------------------------------------------------------- bidder

/** The bidder share of the caller's own bid, unwrapped here with its key kept in this browser. */
async function bidderShare() {
  const mine = myBidder();
  if (!mine) throw new Error('本标段没有贵单位的有效投标文件 (you have no bid here)');
  // The room names bids by their public id, the same id the bids API takes.
  const answer = await get(`/sections/${sectionId}/bids/${encodeURIComponent(mine.bid_id)}/header`);
  const header = await parseHeader(unb64u(answer.header, 'header'));
  const keyId = await keyIdOf(header.bidder.recipientPub);
  const pair = await loadLocal(keyId);
  if (!pair) {
    throw new Error(`本浏览器中没有加密该投标文件所用投标密钥（编号 ${shortKeyId(keyId)}）的私钥：`
      + '请先在“加密密钥”页导入该密钥的备份文件，再回到开标大厅解密。 (the bidder key is not in this browser)');
  }
  const share = await unwrapShare(header, 'bidder', pair.privateKey, pair.publicKey);
  const text = b64u(share);
  share.fill(0);
  return { share: text };
}

/** A message naming what is missing, with a link to keys.html (opened beside the hall). */
function keysError(text, linkText, tail) {
  const error = new Error(`${text}${linkText}${tail}`);
  error.content = [text, el('a', { href: 'keys.html', target: '_blank', rel: 'noopener' }, linkText), tail];
  return error;
}

/** The organisation's newest registered, unrevoked signing key whose private key is here. */
async function signingKey() {
  const [list, local] = await Promise.all([get('/keys'), localKeyIds('signing')]);
  const active = list.items.filter((key) => key.purpose === 'signing' && !key.revoked_at);
  const usable = active.filter((key) => local.has(key.key_id)).sort((a, b) => b.id - a.id);
  for (const key of usable) {
    const pair = await loadLocal(key.key_id, 'signing');
    if (pair) return { keyId: key.key_id, pair };
  }
  if (active.length) {
    throw keysError('本浏览器中没有贵单位已登记签名密钥的私钥，无法签名确认。请在“加密密钥”页导入签名密钥的备份文件，或',
      '生成并登记签名密钥', '，然后回到本页确认。 (no signing key of your organisation in this browser)');
  }
  throw keysError('确认开标记录须用贵单位的签名密钥签名，贵单位尚未登记签名密钥。请先',
    '生成并登记签名密钥', '（在新窗口打开），然后回到本页确认。 (no signing key registered)');
}

/** The signed confirmation of the current record: {record_sha256, key_id, signature}. */
async function signedConfirmation() {
  const record = state.record_sha256;
  const mine = myBidder();
  const creditCode = (you && you.credit_code) || (mine && mine.credit_code);
  const message = confirmationMessage({ sectionCode: section && section.code, recordSha256: record,
    bidderCreditCode: creditCode });
  const { keyId, pair } = await signingKey();
  return { record_sha256: record, key_id: keyId, signature: await sign(pair.privateKey, message) };
}

let confirmationUrl = null;

/** The platform's countersignature of the confirmation, saved as the canonical JSON it signed. */
function offerConfirmationReceipt(receipt) {
  if (confirmationUrl) URL.revokeObjectURL(confirmationUrl);
  confirmationUrl = URL.createObjectURL(new Blob([canonicalJson(receipt)], { type: 'application/json' }));
  $('#confirmation-download').href = confirmationUrl;
  $('#confirmation-receipt').hidden = false;
}

function bindBidder() {
  $('#sign-in').addEventListener('click', async (event) => {
    const result = await run('sign_in', {}, { button: event.currentTarget });
    if (result) {
      signedInPrivately = true;
      showStatus(state.phase === 'waiting'
        ? '签到成功。投标截止后公布的投标人名单将显示签到情况。'
        : '签到成功。');
      updateControls();
    }
  });
  $('#release-share').addEventListener('click', async (event) => {
    const result = await run('release_share', {}, { button: event.currentTarget, work: bidderShare });
    if (result) showStatus('投标人密钥份额已提交，等待开启投标文件。');
  });
  $('#confirm-record').addEventListener('click', async (event) => {
    const result = await run('confirm_record', {}, {
      button: event.currentTarget,
      work: signedConfirmation,
      explain: (error) => (error && error.code === 'no_signing_key'
        ? keysError(`${error.message} 请`, '生成并登记签名密钥', '，然后回到本页确认。') : error),
    });
    if (result) {
      showStatus('已用贵单位的签名密钥签名确认开标记录。请下载并保存平台签发的确认回执。');
      if (result.receipt) offerConfirmationReceipt(result.receipt);
    }
  });
  $('#objection-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('#objection-text').value.trim();
    if (!text) {
      errorSlot('raise_objection').textContent = '请填写异议内容 (the objection is empty)';
      $('#objection-text').focus();
      return;
    }
    const result = await run('raise_objection', { text }, { button: event.submitter });
    if (result) {
      $('#objection-text').value = '';
      showStatus('异议已提出，请等待主持人答复。');
    }
  });
}

// ---------------------------------------------------------------------------- key holder

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();
const SHARE_LABEL = encoder.encode('tradesys/opening-share/v1');
const ECDH = { name: 'ECDH', namedCurve: 'P-256' };

/**
 * A key holder opens its wrapped opening-key share here (docs/envelope.md §10, as
 * tradesys.bids.shamir.unwrap_holder_share) and gets the released form to send.
 */
export async function unwrapHolderShare(wrapped, privateKey, publicKey) {
  if (!wrapped || wrapped.format !== 'tradesys-opening-share' || wrapped.version !== 1) {
    throw new Error('不是开标密钥份额 (not a wrapped opening share)');
  }
  const fields = {
    format: wrapped.format, version: wrapped.version, section: wrapped.section,
    opening_public_key: wrapped.opening_public_key, threshold: wrapped.threshold,
    count: wrapped.count, index: wrapped.index, holder_public_key: wrapped.holder_public_key,
  };
  const holderRaw = unb64u(wrapped.holder_public_key, 'holder_public_key');
  if (publicKey && b64u(new Uint8Array(publicKey)) !== wrapped.holder_public_key) {
    throw new Error('持有人私钥不符 (this key does not hold that share)');
  }
  const ephemeralRaw = unb64u(wrapped.ephemeral_public_key, 'ephemeral_public_key');
  const digest = new Uint8Array(await subtle.digest('SHA-256', encoder.encode(canonicalJson(fields))));
  const info = concat(SHARE_LABEL, digest);
  let value;
  try {
    const ephemeral = await subtle.importKey('raw', ephemeralRaw, ECDH, false, []);
    const shared = new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: ephemeral }, privateKey, 256));
    const base = await subtle.importKey('raw', shared, 'HKDF', false, ['deriveBits']);
    shared.fill(0);
    const keyBytes = new Uint8Array(await subtle.deriveBits(
      { name: 'HKDF', hash: 'SHA-256', salt: concat(ephemeralRaw, holderRaw), info }, base, 256));
    const key = await subtle.importKey('raw', keyBytes, 'AES-GCM', false, ['decrypt']);
    keyBytes.fill(0);
    value = new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, key,
      unb64u(wrapped.ciphertext, 'ciphertext')));
  } catch (error) {
    throw new Error('份额无法解开：私钥不对或数据被篡改 (cannot unwrap: wrong private key or tampered data)');
  }
  if (value.length !== 32) throw new Error('份额长度无效 (the share must be 32 bytes)');
  const released = {
    format: 'tradesys-released-share', version: 1, section: wrapped.section,
    opening_public_key: wrapped.opening_public_key, threshold: wrapped.threshold,
    count: wrapped.count, index: wrapped.index, value: b64u(value),
  };
  value.fill(0);
  return released;
}

async function releasedHolderShare() {
  const keyId = await keyIdOf(unb64u(myShare.holder_public_key, 'holder_public_key'));
  const pair = await loadLocal(keyId);
  if (!pair) {
    throw new Error(`本浏览器中没有您的开标密钥持有人密钥（编号 ${shortKeyId(keyId)}）的私钥：`
      + '请先在“加密密钥”页导入该密钥的备份文件。 (the holder key is not in this browser)');
  }
  return { share: await unwrapHolderShare(myShare, pair.privateKey, pair.publicKey) };
}

async function findHolderShare() {
  if (!user || !['agency', 'procurer', 'supervisor'].includes(user.role)) return;
  try {
    myShare = await get(`/sections/${sectionId}/opening/my-share`);
  } catch (error) {
    if (!(error instanceof ApiError) || ![403, 404].includes(error.status)) showError(error);
    myShare = null;
    return;
  }
  myShareReleased = releasedIndices.has(myShare.index);
  $('#holder-panel').hidden = false;
  setText($('#holder-state'), `您持有本标段开标密钥的第 ${myShare.index} 份（共 ${myShare.count} 份，`
    + `任意 ${myShare.threshold} 份可开启）。投标截止后，在本浏览器中用您的持有人密钥解开份额并释放。`);
  $('#release-holder-share').addEventListener('click', async (event) => {
    const result = await run('release_holder_share', {},
      { button: event.currentTarget, work: releasedHolderShare });
    if (result) {
      myShareReleased = true;
      showStatus('开标密钥份额已释放。');
    }
  });
  updateControls();
}

// ---------------------------------------------------------------------------- chat and log

function logLine(list, at, ...content) {
  const region = list.parentElement; // the role="log" region that scrolls
  const stick = region.scrollTop + region.clientHeight >= region.scrollHeight - 8;
  list.append(el('li', {}, timeEl(at, { seconds: true }), ' ', ...content));
  const empty = document.getElementById(`${list.id}-empty`); // the placeholder until the first line
  if (empty) empty.hidden = true;
  if (stick) region.scrollTop = region.scrollHeight;
}

function chatLine(event) {
  const data = event.data || {};
  const who = data.from || '—';
  const role = data.role ? `（${label(AUDIENCES, data.role) === String(data.role) ? label(ROLES, data.role) : label(AUDIENCES, data.role)}）` : '';
  logLine($('#chat-log'), event.at, el('strong', {}, `${who}${role}：`), String(data.text ?? ''));
}

function bindChat() {
  $('#chat-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('#chat-text');
    const text = input.value.trim();
    if (!text) return;
    const result = await run('chat', { text }, { button: event.submitter });
    if (result) {
      input.value = '';
      input.focus();
    }
  });
}

// ---------------------------------------------------------------------------- room

function onWelcome(message, { reconnected }) {
  audience = message.audience || 'observer';
  you = message.you || null;
  section = message.section || section || {};
  deadline = parseInstant(section.bid_deadline);
  state = fromWelcome(message.state);
  for (const item of (message.state && Array.isArray(message.state.confirmations)
    ? message.state.confirmations : [])) {
    if (item && typeof item === 'object' && !signatures.has(item.org_id)) noteSignature(item);
  }
  if (message.state && message.state.signed_in === true) signedInPrivately = true;
  setText($('#audience'), label(AUDIENCES, audience) + (you && you.name ? `：${you.name}` : ''));
  showSection();
  $('#host-panel').hidden = audience !== 'host';
  $('#bidder-panel').hidden = audience !== 'bidder';
  const chatVisible = ['host', 'bidder', 'procurer', 'supervisor'].includes(audience);
  $('#chat-panel').hidden = !chatVisible;
  $('#hall-connecting').hidden = true;
  $('#hall-page').hidden = false;
  if (reconnected) showStatus('已重新连接开标大厅，错过的记录已补齐。');
  render();
}

function onEvent(event, seq, { live }) {
  const data = event.data || {};
  if (event.type === 'opening_share.released' && data.share_index !== undefined) {
    releasedIndices.add(Number(data.share_index));
    if (myShare && Number(data.share_index) === myShare.index) myShareReleased = true;
  }
  if (event.type === 'opening.record_confirmed') noteSignature(data);
  if ((event.type === 'opening.closed' || event.type === 'opening.failed') && data.record_url) {
    recordLinks = { record_url: data.record_url, pdf_url: data.pdf_url };
  }
  if (live) apply(event);
  if (event.type === 'chat.message') {
    chatLine(event);
  } else {
    logLine($('#event-log'), event.at, describe(event));
  }
  if (live) render();
}

let diagnosing = false;

/** No opening to show: only the error remains, not the hall's empty skeleton. */
function noHall() {
  $('#hall-connecting').hidden = true;
  $('#hall-page').hidden = true;
}

/**
 * A refused handshake looks like a network failure to a page (close 1006). After two failed
 * attempts ask over HTTP why: no such section (stop), or an expired login (say so).
 */
async function diagnose() {
  if (diagnosing) return;
  diagnosing = true;
  try {
    await get(`/sections/${sectionId}/opening`);
    if (hasSessionCookie()) await get('/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      room.close();
      noHall();
      showError(new Error('该标段不存在或尚未发布公告，没有开标大厅 (no such opening)'));
    } else if (error instanceof ApiError && error.status === 401) {
      showError(error); // with its 前往登录 link
    }
  } finally {
    diagnosing = false;
  }
}

function onConnection(connection, detail) {
  if (connection === 'reconnecting' && detail && detail.attempt >= 2 && !room.connected) diagnose();
  const node = $('#connection');
  let text = CONNECTION_LABELS[connection] || connection;
  if (connection === 'reconnecting' && detail && detail.delay) {
    text = `连接中断，${Math.ceil(detail.delay / 1000)} 秒后重新连接…`;
  }
  if (connection === 'closed' && detail && detail.code === 4003) text = '您的访问权限已被撤销，连接已关闭';
  setText(node, text);
  node.dataset.state = connection;
  updateControls();
}

function onRoomError(error) {
  showError(error);
}

// ---------------------------------------------------------------------------- clocks

let headerSyncing = false;

/** The room measured the server clock: the header's clock (clock.js) follows a jump too. */
function onTime() {
  const roomOffset = room ? room.offsetMs : null;
  const header = headerOffset();
  if (roomOffset !== null && header !== null && !headerSyncing && Math.abs(roomOffset - header) > 1500) {
    headerSyncing = true;
    syncHeaderClock().catch(() => null).finally(() => { headerSyncing = false; });
  }
  tick();
}

function tick() {
  const now = room ? room.serverNow() : null;
  if (!now) return;
  const clock = $('#hall-clock');
  clock.textContent = formatBeijing(now, { seconds: true });
  clock.setAttribute('datetime', now.toISOString());
  const countdown = $('#countdown');
  if (deadline) {
    const left = deadline.getTime() - now.getTime();
    setText($('#countdown-label'), left > 0 ? '距开标' : '开标时间');
    setText(countdown, left > 0 ? describeRemaining(left) : '已到开标时间');
    countdown.classList.toggle('passed', left <= 0);
  }
  const windowLeft = $('#window-left');
  const ends = parseInstant(state.window_ends_at);
  if (state.phase === 'decrypting' && ends) {
    if (state.paused) {
      setText(windowLeft, '暂停中（恢复后顺延）');
    } else {
      const left = ends.getTime() - now.getTime();
      setText(windowLeft, left > 0 ? `${describeRemaining(left)}（截至 ${formatBeijing(ends, { seconds: true })}）`
        : '解密时间已到，等待结束解密');
    }
  } else if (ends && ['decrypted', 'confirming', 'closed'].includes(state.phase)) {
    setText(windowLeft, '解密已结束');
  } else {
    setText(windowLeft, '—');
  }
}

// ---------------------------------------------------------------------------- start

async function main() {
  for (const slot of document.querySelectorAll('[data-error-for]')) {
    for (const command of slot.dataset.errorFor.split(/\s+/)) ERROR_SLOTS.set(command, slot);
  }
  user = await initLayout();
  sectionId = idParam('section');
  if (sectionId === null) {
    noHall();
    showError(new Error('未指定标段 (no section given)'));
    return;
  }
  bindHost();
  bindBidder();
  bindChat();
  room = new HallRoom(sectionId, {
    onWelcome, onEvent, onConnection, onError: onRoomError, onTime,
  });
  room.connect();
  setInterval(tick, 1000);
  await findHolderShare();
  window.addEventListener('pagehide', () => room.close());
}

main();

