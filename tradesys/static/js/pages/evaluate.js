// 评标工作台: what a sitting member of a section's evaluation committee does (docs/evaluation.md
// §10–§14): read the opened bids (members only), record the pass/fail review with reasons, ask
// for and vote on abnormally-low explanations, and score every bid within the ceiling on a
// sheet signed with the member's own signing key in this browser (WebCrypto, ECDSA P-256 over
// the canonical JSON the server re-builds); declare a conflict (回避).
//
// Nothing here decides anything: the server checks every range, majority and signature again.
// The page checks the ranges first so that a sheet with a mistake is never signed or sent.

import { ApiError, get, post } from '../api.js';
import { loadLocal, localKeyIds } from '../keyring.js';
import { initLayout } from '../layout.js';
import { sign } from '../signing.js';
import {
  $, append, busy, clear, clearMessages, el, formatMoney, idParam, label, setControlMessage,
  showError, showStatus, timeEl,
} from '../ui.js';
import {
  canonicalBytes, centsOf, checkScore, formatPoints, sha256Hex,
} from '../evaluation.js';

const KINDS = { expert: '评标专家', representative: '招标人代表' };
const METHODS = { lowest_price: '经评审的最低投标价法', comprehensive: '综合评估法' };
const CATEGORIES = { technical: '技术', business: '商务' };
const DECISIONS = { accepted: '已接受（投标继续参加评审）', rejected: '不接受（否决投标）' };
const VERDICT_BATCH = 100; // the API's most verdicts per call

let user = null;
let sectionId = null;
let seat = null;
let scheme = null;
let listing = null;

function shortId(bidId) {
  return bidId.slice(0, 8);
}

function bidName(bid) {
  return `${bid.bidder}（${shortId(bid.bid_id)}）`;
}

function priceOf(bid) {
  return bid.summary && typeof bid.summary.price === 'string' ? bid.summary.price : null;
}

/** The bids the member scores and must review: every opened bid within the ceiling. */
function scoredBids() {
  return listing.items.filter((bid) => !bid.above_ceiling);
}

// ---------------------------------------------------------------------------- my panels

async function showPanels() {
  const answer = await get('/experts/me/panels');
  $('#panels-step').hidden = false;
  $('#panels-empty').hidden = answer.items.length > 0;
  clear($('#panels')).append(...answer.items.map((item) => el('li', {},
    el('a', { href: `evaluate.html?section=${item.section_id}` },
      `${item.project_name} · ${item.section_name}（${item.section_code}）`),
    el('span', { class: 'hint' },
      ` 第 ${item.seat} 席，${label(KINDS, item.kind)}，`, timeEl(item.joined_at), ' 起'))));
}

// ---------------------------------------------------------------------------- the section

function facts() {
  const rows = [
    ['项目', seat.project_name],
    ['标段', `${seat.section_name}（${seat.section_code}）`],
    ['我的席位', `第 ${seat.seat} 席，${label(KINDS, seat.kind)}`],
    ['评标办法', label(METHODS, scheme.method) + (scheme.default ? '（未设置评标办法时的默认办法）' : '')],
    ['最高投标限价', listing.ceiling_price ? formatMoney(listing.ceiling_price) : '未设'],
    ['评标办法摘要（SHA-256）', el('code', { class: 'hash' }, scheme.sha256)],
  ];
  if (scheme.method === 'comprehensive') rows.splice(4, 0, ['价格分', `${scheme.price_weight} 分`]);
  clear($('#section-facts')).append(...rows.flatMap(([term, value]) => [
    el('dt', {}, term), el('dd', {}, value)]));
}

function flags(bid) {
  const out = [];
  if (bid.above_ceiling) out.push(el('span', { class: 'badge warn' }, '超过最高投标限价'));
  if (bid.abnormally_low) out.push(el('span', { class: 'badge warn' }, '异常低价'));
  if (!out.length) out.push('—');
  return out;
}

function bidRows() {
  clear($('#bid-rows')).append(...listing.items.map((bid) => el('tr', {},
    el('td', {}, el('code', {}, shortId(bid.bid_id))),
    el('td', {}, bid.bidder),
    el('td', { class: 'num' }, priceOf(bid) ? formatMoney(priceOf(bid)) : '—'),
    el('td', {}, ...flags(bid)),
    el('td', {}, timeEl(bid.received_at)))));
}

// ---------------------------------------------------------------------------- the review

function reviewForm() {
  const box = clear($('#review-items'));
  if (!scheme.compliance.length) {
    box.append(el('p', { class: 'empty' }, '本标段的评标办法没有资格与符合性审查项。'));
    return;
  }
  for (const bid of scoredBids()) {
    const group = el('fieldset', { class: 'section', dataset: { bid: bid.bid_id } },
      el('legend', {}, bidName(bid)));
    for (const item of scheme.compliance) {
      const name = `v-${bid.bid_id}-${item.id}`;
      const reasonId = `${name}-reason`;
      group.append(el('fieldset', { class: 'verdict', dataset: { item: item.id } },
        el('legend', {}, item.name),
        el('div', { class: 'field checkbox' },
          el('input', { type: 'radio', name, id: `${name}-pass`, value: 'pass' }),
          el('label', { for: `${name}-pass` }, '通过')),
        el('div', { class: 'field checkbox' },
          el('input', { type: 'radio', name, id: `${name}-fail`, value: 'fail' }),
          el('label', { for: `${name}-fail` }, '不通过')),
        el('div', { class: 'field' },
          el('label', { for: reasonId }, `理由（${item.name}）`),
          el('textarea', { id: reasonId, rows: 2, maxlength: 1000, class: 'reason' }))));
    }
    box.append(group);
  }
}

/** The verdicts filled in, or null after marking what is wrong (in Chinese) next to it. */
function collectVerdicts() {
  const verdicts = [];
  let first = null;
  for (const group of document.querySelectorAll('#review-items fieldset[data-bid]')) {
    for (const set of group.querySelectorAll('fieldset[data-item]')) {
      const chosen = set.querySelector('input[type=radio]:checked');
      const reason = set.querySelector('textarea');
      const text = reason.value.trim();
      let message = null;
      if (chosen && !text) message = '请写明该项结论的理由';
      else if (!chosen && text) message = '请选择“通过”或“不通过”';
      else if (text.length > 1000) message = '理由最多 1000 个字符';
      setControlMessage(reason, message);
      if (message) {
        first = first || reason;
        continue;
      }
      if (chosen) {
        verdicts.push({ bid_id: group.dataset.bid, item: set.dataset.item,
          passed: chosen.value === 'pass', reason: text });
      }
    }
  }
  if (first) {
    first.focus();
    return null;
  }
  return verdicts;
}

async function submitReview(event) {
  event.preventDefault();
  clearMessages();
  const verdicts = collectVerdicts();
  if (verdicts === null) {
    showError(new Error('审查结论填写有误，请按提示修改后再提交。'));
    return;
  }
  if (!verdicts.length) {
    showError(new Error('请至少对一项作出结论。'));
    return;
  }
  const done = busy(event.target);
  try {
    for (let i = 0; i < verdicts.length; i += VERDICT_BATCH) {
      await post(`/sections/${sectionId}/evaluation/verdicts`,
        { verdicts: verdicts.slice(i, i + VERDICT_BATCH) });
    }
    showStatus(`已提交 ${verdicts.length} 项审查结论。`);
  } catch (error) {
    showError(error);
  } finally {
    done();
  }
}

// ---------------------------------------------------------------------------- explanations

function explanationCard(bid) {
  const base = `/sections/${sectionId}/evaluation/bids/${encodeURIComponent(bid.bid_id)}/explanation`;
  const id = `x-${bid.bid_id}`;
  const card = el('div', { class: 'card' }, el('h3', {}, bidName(bid),
    `：报价 ${formatMoney(priceOf(bid))}`));
  const x = bid.explanation;
  if (!x) {
    const form = el('form', { class: 'form', novalidate: '' },
      el('div', { class: 'field' },
        el('label', { for: `${id}-q` }, '要求投标人说明的问题'),
        el('textarea', { id: `${id}-q`, required: '', maxlength: 5000, rows: 2 })),
      el('p', { class: 'actions' }, el('button', { type: 'submit' }, '要求作出书面说明')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearMessages();
      const done = busy(form);
      try {
        await post(base, { question: form.querySelector('textarea').value.trim() });
        await loadSection();
        showStatus('已要求投标人作出书面说明。');
      } catch (error) {
        showError(error);
      } finally {
        done();
      }
    });
    card.append(el('p', {}, '尚未要求该投标人说明。'), form);
    return card;
  }
  card.append(el('dl', { class: 'facts' },
    el('dt', {}, '问题'), el('dd', {}, x.question),
    el('dt', {}, '说明期限'), el('dd', {}, timeEl(x.deadline)),
    el('dt', {}, '投标人的说明'), el('dd', {}, x.answer ?? '尚未答复'),
    el('dt', {}, '表决'), el('dd', {}, x.votes
      ? `接受 ${x.votes.accept} 票，不接受 ${x.votes.reject} 票（委员会 ${x.votes.members} 人，须过半数）`
      : '—'),
    el('dt', {}, '结论'), el('dd', {}, x.decision ? label(DECISIONS, x.decision) : '尚未形成')));
  const form = el('form', { class: 'form', novalidate: '' },
    el('fieldset', {}, el('legend', {}, '我的表决'),
      el('div', { class: 'field checkbox' },
        el('input', { type: 'radio', name: `${id}-v`, id: `${id}-yes`, value: 'yes', required: '' }),
        el('label', { for: `${id}-yes` }, '接受说明')),
      el('div', { class: 'field checkbox' },
        el('input', { type: 'radio', name: `${id}-v`, id: `${id}-no`, value: 'no', required: '' }),
        el('label', { for: `${id}-no` }, '不接受说明'))),
    el('div', { class: 'field' },
      el('label', { for: `${id}-r` }, '表决理由'),
      el('textarea', { id: `${id}-r`, required: '', maxlength: 5000, rows: 2 })),
    el('p', { class: 'actions' }, el('button', { type: 'submit' }, '提交表决')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearMessages();
    const done = busy(form);
    try {
      const answer = await post(`${base}/votes`, {
        accept: form.querySelector('input:checked').value === 'yes',
        reason: form.querySelector('textarea').value.trim() });
      await loadSection();
      showStatus(answer.decision ? `表决已记录；结论：${label(DECISIONS, answer.decision)}。`
        : '表决已记录。');
    } catch (error) {
      showError(error);
    } finally {
      done();
    }
  });
  card.append(form);
  return card;
}

function explanations() {
  const flagged = listing.items.filter((bid) => bid.abnormally_low);
  $('#explanations-step').hidden = flagged.length === 0;
  clear($('#explanations')).append(...flagged.map(explanationCard));
}

// ---------------------------------------------------------------------------- the score sheet

function totalText(cents) {
  return `合计：${formatPoints(cents)} 分（不含价格分）`;
}

function scoreForm() {
  const comprehensive = scheme.method === 'comprehensive';
  $('#score-step').hidden = !comprehensive;
  if (!comprehensive) return;
  const box = clear($('#score-bids'));
  for (const bid of scoredBids()) {
    const totalId = `t-${bid.bid_id}`;
    const group = el('fieldset', { class: 'section', dataset: { bid: bid.bid_id } },
      el('legend', {}, `${bidName(bid)}：报价 ${formatMoney(priceOf(bid))}`));
    const grid = el('div', { class: 'grid-3' });
    for (const c of scheme.criteria) {
      const inputId = `s-${bid.bid_id}-${c.id}`;
      grid.append(el('div', { class: 'field' },
        el('label', { for: inputId },
          `${c.name}（${label(CATEGORIES, c.category)}，${c.min_score}–${c.max_score} 分）`),
        el('input', { id: inputId, inputmode: 'decimal', autocomplete: 'off', maxlength: 6,
          dataset: { criterion: c.id, min: c.min_score, max: c.max_score, name: c.name } })));
    }
    group.append(grid, el('p', { class: 'total' },
      el('output', { id: totalId, 'aria-live': 'polite' }, totalText(0))));
    group.addEventListener('input', () => updateTotal(group));
    box.append(group);
  }
}

function updateTotal(group) {
  let cents = 0;
  for (const input of group.querySelectorAll('input[data-criterion]')) {
    const value = centsOf(input.value.trim());
    if (value !== null) cents += value;
  }
  group.querySelector('output').textContent = totalText(cents);
}

/** Every score checked against its range; null (with the messages shown) when any fails. */
function collectScores() {
  const scores = {};
  let first = null;
  for (const group of document.querySelectorAll('#score-bids fieldset[data-bid]')) {
    const row = {};
    for (const input of group.querySelectorAll('input[data-criterion]')) {
      const value = input.value.trim();
      const message = checkScore(value, input.dataset);
      setControlMessage(input, message);
      if (message) first = first || input;
      else row[input.dataset.criterion] = value;
    }
    scores[group.dataset.bid] = row;
  }
  if (first) {
    first.focus();
    return null;
  }
  return scores;
}

/** The member's own registered signing key whose private key is kept in this browser. */
async function mySigningKey(what = '评分表') {
  const [list, local] = await Promise.all([get('/keys'), localKeyIds('signing')]);
  const mine = list.items.filter((key) => key.purpose === 'signing' && !key.revoked_at
    && key.user_id === user.id && local.has(key.key_id)).sort((a, b) => b.id - a.id);
  for (const key of mine) {
    const pair = await loadLocal(key.key_id, 'signing');
    if (pair) return { keyId: key.key_id, pair };
  }
  const error = new Error(`${what}须用您本人的签名密钥签名，本浏览器中没有您已登记的签名密钥。`);
  error.content = el('p', {}, `${what}须用您本人的签名密钥签名，本浏览器中没有您已登记的签名密钥。请先`,
    el('a', { href: 'keys.html', target: '_blank', rel: 'noopener' }, '生成并登记签名密钥'),
    '（在新窗口打开），然后回到本页提交。');
  throw error;
}

async function submitSheet(event) {
  event.preventDefault();
  clearMessages();
  const scores = collectScores();
  if (scores === null) {
    showError(new Error('评分有误，请按提示修改；评分表未签名，也未提交。'));
    return;
  }
  const done = busy(event.target);
  try {
    const { keyId, pair } = await mySigningKey();
    const sheet = {
      type: 'tradesys.score-sheet', section_code: seat.section_code,
      scheme_sha256: listing.scheme_sha256, member_user_id: user.id, scores,
    };
    const bytes = canonicalBytes(sheet);
    const signature = await sign(pair.privateKey, bytes);
    const answer = await post(`/sections/${sectionId}/evaluation/score-sheets`,
      { scores, key_id: keyId, signature });
    const local = await sha256Hex(bytes);
    sheetDone(answer.sha256, local === answer.sha256);
  } catch (error) {
    if (error && error.content) {
      const region = $('#alert');
      append(clear(region), el('div', { class: 'alert-box' }, error.content));
    } else {
      showError(error);
    }
  } finally {
    done();
  }
}

function sheetDone(sha, matches) {
  $('#score-form').hidden = true;
  $('#sheet-done').hidden = false;
  $('#sheet-sha').textContent = sha;
  showStatus(matches ? '评分表已签名并提交，服务器计算的摘要与本机签名的内容一致。'
    : '评分表已提交，但服务器的摘要与本机签名的内容不一致，请联系平台。');
  $('#sheet-done-heading').focus();
}

// ---------------------------------------------------------------------------- the report

const REPORT_SIGNATURE = 'tradesys.evaluation-report-signature';
let reportView = null;

function myMemberId() {
  return `seat-${seat.seat}`;
}

async function loadReport() {
  const state = $('#report-state');
  $('#report-actions').hidden = true;
  clear($('#report-candidates'));
  try {
    reportView = await get(`/sections/${sectionId}/evaluation/report`);
  } catch (error) {
    reportView = null;
    if (error instanceof ApiError && error.code === 'report_not_drafted') {
      state.textContent = '评标报告尚未起草。';
      return;
    }
    throw error;
  }
  const report = reportView.report;
  const names = new Map(report.bidders.map((b) => [b.credit_code, b.name]));
  const mine = report.signatures.find((s) => s.member_id === myMemberId());
  const dissent = report.dissent.find((d) => d.member_id === myMemberId());
  const signed = report.signatures.filter((s) => s.status === 'signed').length;
  state.textContent = `${reportView.final ? '评标报告已定稿' : '评标报告待签署'}：`
    + `已签 ${signed} / ${report.committee.length} 人。`
    + (mine ? (mine.status === 'signed' ? '您已签署。' : '您被记录为拒签（视为同意）。') : '您尚未签署。')
    + (dissent ? `您的不同意见已记录：${dissent.opinion}（理由：${dissent.reasons}）。` : '');
  $('#report-candidates').append(report.candidates.length
    ? el('ol', { class: 'link-list' }, ...report.candidates.map((c) => el('li', {},
      `第 ${c.rank} 名：${names.get(c.credit_code) ?? c.credit_code}`)))
    : el('p', { class: 'empty' }, '评标报告没有推荐中标候选人。'));
  if (mine) return;
  $('#report-actions').hidden = false;
  $('#report-sha').textContent = reportView.sha256;
  $('#dissent-form').hidden = Boolean(dissent) || report.signatures.length > 0;
}

async function submitDissent(event) {
  event.preventDefault();
  clearMessages();
  const opinion = $('#dissent-opinion');
  const reasons = $('#dissent-reasons');
  let first = null;
  for (const [control, message] of [[opinion, '请写明不同意见'], [reasons, '请写明不同意见的理由']]) {
    const missing = !control.value.trim();
    setControlMessage(control, missing ? message : null);
    if (missing) first = first || control;
  }
  if (first) {
    first.focus();
    showError(new Error('不同意见须写明意见和理由；尚未提交。'));
    return;
  }
  const done = busy(event.target);
  try {
    await post(`/sections/${sectionId}/evaluation/report/dissent`,
      { opinion: opinion.value.trim(), reasons: reasons.value.trim() });
    await loadReport();
    showStatus('您的不同意见已写入评标报告。');
  } catch (error) {
    showError(error);
  } finally {
    done();
  }
}

async function signReport(event) {
  event.preventDefault();
  clearMessages();
  const done = busy(event.target);
  try {
    await loadReport();
    if (!reportView || $('#report-actions').hidden) throw new Error('没有待您签署的评标报告。');
    const { signatures, ...body } = reportView.report;
    if (await sha256Hex(canonicalBytes(body)) !== reportView.sha256) {
      throw new Error('本机计算的评标报告摘要与服务器的不一致，未签名，请联系平台。');
    }
    const { keyId, pair } = await mySigningKey('评标报告');
    const message = canonicalBytes({ type: REPORT_SIGNATURE, report_id: reportView.report.report_id,
      member_id: myMemberId(), body_sha256: reportView.sha256 });
    const signature = await sign(pair.privateKey, message);
    await post(`/sections/${sectionId}/evaluation/report/signatures`, { key_id: keyId, signature });
    await loadReport();
    showStatus('您已用本人的签名密钥签署评标报告。');
  } catch (error) {
    if (error && error.content) {
      append(clear($('#alert')), el('div', { class: 'alert-box' }, error.content));
    } else {
      showError(error);
    }
  } finally {
    done();
  }
}

// ---------------------------------------------------------------------------- conflict

async function declareConflict(event) {
  event.preventDefault();
  clearMessages();
  const done = busy(event.target);
  try {
    await post(`/sections/${sectionId}/panel/conflict`, { reason: $('#conflict-reason').value.trim() });
    $('#section-page').hidden = true;
    showStatus('已申请回避：您在本标段的席位已由重新抽取的专家补足，您的结论不再计入。');
    await showPanels();
  } catch (error) {
    showError(error);
  } finally {
    done();
  }
}

// ---------------------------------------------------------------------------- start

async function loadSection() {
  [scheme, listing] = await Promise.all([
    get(`/sections/${sectionId}/evaluation/scheme`),
    get(`/sections/${sectionId}/evaluation/bids`)]);
  facts();
  bidRows();
  explanations();
}

async function openSection() {
  const panels = await get('/experts/me/panels');
  seat = panels.items.find((item) => item.section_id === sectionId) || null;
  if (!seat) {
    showError(new Error('您不在该标段的评标委员会中（或已回避）。'));
    await showPanels();
    return;
  }
  await loadSection();
  reviewForm();
  scoreForm();
  $('#section-page').hidden = false;
  await loadReport();
}

async function main() {
  user = await initLayout();
  if (!user) {
    $('#eval-login').hidden = false;
    return;
  }
  if (!['expert', 'procurer'].includes(user.role)) {
    $('#eval-denied').hidden = false;
    return;
  }
  $('#review-form').addEventListener('submit', submitReview);
  $('#score-form').addEventListener('submit', submitSheet);
  $('#conflict-form').addEventListener('submit', declareConflict);
  $('#dissent-form').addEventListener('submit', submitDissent);
  $('#report-sign-form').addEventListener('submit', signReport);
  sectionId = idParam('section');
  try {
    if (sectionId) await openSection();
    else await showPanels();
  } catch (error) {
    showError(error);
  }
}

main();
