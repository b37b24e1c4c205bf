// 公示与定标: what follows a section's final evaluation report (docs/award.md §4–§7), one page
// for everyone who takes part, each seeing their own part:
// - the host (the entrusted agency, or the procurer running its own tender) publishes the
//   candidates of the final report (中标候选人公示), awards (定标: the first candidate still in
//   the running by default, a lower one only with a reason), records a winner's decline or a
//   failed tender, and sees every notice issued (kind, addressee, SHA-256, never the file);
// - the host or the procurer answers objections (异议) before their deadline;
// - a bidder of the section sees its own result, objects during the publicity and downloads
//   its own notice (中标通知书 / 中标结果通知书) once awarded.
// Times are the server's, shown in Beijing time; the server decides every deadline again.

import { ApiError, get, post } from '../api.js';
import { serverNow, whenSynced } from '../clock.js';
import { initLayout } from '../layout.js';
import {
  $, append, clear, clearMessages, creditCodeEl, el, formatMoney, idParam, loginHref, busy,
  setControlMessage, showError, showStatus, timeEl,
} from '../ui.js';

const NOTICE_KINDS = { award: '中标通知书', result: '中标结果通知书' };
const AWARD_STATES = { awarded: '已定标', declined: '已放弃中标' };
const FAILURES = {
  all_rejected: '所有投标均被否决',
  too_few_compliant: '有效投标不足',
  all_declined: '中标候选人均放弃中标',
};

const state = {
  sectionId: null, user: null, manager: false, host: false, project: null, report: null,
  publicity: null, status: null, objections: [],
};

/** The API's answer, or null for the refusals that only say "not yet" (409 / 404). */
async function maybe(path, codes) {
  try {
    return await get(path);
  } catch (error) {
    if (error instanceof ApiError && codes.includes(error.code)) return null;
    throw error;
  }
}

function names() {
  const map = new Map();
  for (const b of (state.report && state.report.report.bidders) || []) map.set(b.credit_code, b.name);
  for (const c of (state.status && state.status.candidates) || []) map.set(c.credit_code, c.name);
  for (const c of (state.publicity && state.publicity.candidates) || []) map.set(c.credit_code, c.name);
  return map;
}

function party(code) {
  const name = names().get(code);
  return el('span', {}, name ? `${name} ` : '', creditCodeEl(code));
}

function noticeLink(id, text) {
  return el('a', { href: `notice.html?id=${encodeURIComponent(id)}` }, text);
}

function running() {
  const p = state.publicity;
  if (!p || p.ended) return false;
  const now = serverNow();
  return !now || now < new Date(p.ends_at);
}

function finalReport() {
  if (state.manager) return Boolean(state.report && state.report.final);
  return state.status !== null;
}

function candidatesOfReport() {
  if (state.status) return state.status.candidates;
  if (state.report) return state.report.report.candidates || [];
  return [];
}

// ---------------------------------------------------------------------------- render

function renderStage() {
  const s = state.status;
  let text;
  if (!finalReport()) text = '评标报告尚未经全体评标委员会成员签署定稿，暂不能公示或定标。';
  else if (s && s.failed) text = `本标段招标失败（${FAILURES[s.failed.reason] || s.failed.reason}）。`;
  else if (s && s.awards.some((a) => a.status === 'awarded')) text = '已定标，通知书已发出。';
  else if (!state.publicity) text = candidatesOfReport().length ? '评标报告已定稿，待发布中标候选人公示。'
    : '评标报告未推荐中标候选人，待记录招标失败。';
  else if (!state.publicity.ended) text = '中标候选人公示中。';
  else text = '公示期已结束，待定标。';
  $('#award-stage').textContent = text;
}

function renderPublicity() {
  const p = state.publicity;
  const box = clear($('#publicity-state'));
  const { host } = state;
  $('#publish-form').hidden = !(host && finalReport() && !p && candidatesOfReport().length
    && !(state.status && state.status.failed));
  $('#failure-form').hidden = !(host && finalReport() && !p && !candidatesOfReport().length
    && !(state.status && state.status.failed));
  if (!p) {
    box.append(finalReport() ? '尚未公示。' : '评标报告定稿后由招标代理机构发布公示。');
    $('#candidates').hidden = true;
    return;
  }
  append(box, '公示期：', timeEl(p.published_at), ' 至 ', el('span', { id: 'publicity-ends' }, timeEl(p.ends_at)),
    p.ended ? '（已结束）' : (running() ? '（公示中）' : '（公示期已届满，待系统结束）'),
    p.late ? '。本次公示晚于规定的发布期限，已记录。' : '。',
    ' ', noticeLink(p.notice_id, '查看公示公告'));
  $('#candidate-rows').replaceChildren(...p.candidates.map((c) => el('tr', {},
    el('td', {}, `第 ${c.rank} 名`), el('td', {}, c.name), el('td', {}, creditCodeEl(c.credit_code)),
    el('td', { class: 'num' }, formatMoney(c.price)),
    el('td', { class: 'num' }, c.score && c.score !== '0' ? `${c.score} 分` : '—'))));
  $('#candidates').hidden = false;
}

function objectionItem(o) {
  const item = el('li', { id: `objection-${o.number}` },
    el('h3', {}, `异议 ${o.number}${o.own ? '（本单位提出）' : ''}`),
    el('div', { class: 'prose' }, el('p', {}, o.text)),
    el('p', { class: 'hint' }, '提出时间 ', timeEl(o.raised_at), ' · 答复期限 ', timeEl(o.answer_by)));
  if (o.answer !== null) {
    item.append(el('p', {}, el('strong', {}, '答复：'), o.answer),
      el('p', { class: 'hint' }, '答复时间 ', timeEl(o.answered_at)));
  } else if (state.manager) {
    const id = `answer-${o.number}`;
    const form = el('form', { class: 'form', novalidate: true, 'aria-label': `答复异议 ${o.number}` },
      el('div', { class: 'field' },
        el('label', { for: id }, `对异议 ${o.number} 的答复`),
        el('textarea', { id, required: true, maxlength: 5000, rows: 3,
          'data-missing': '请填写对该异议的书面答复' })),
      el('p', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, `答复异议 ${o.number}`)));
    form.addEventListener('submit', (event) => answer(event, o.number, $(`#${id}`).value.trim()));
    item.append(form);
  } else {
    item.append(el('p', { class: 'hint' }, '尚未答复。'));
  }
  return item;
}

function renderObjections() {
  $('#objection-list').replaceChildren(...state.objections.map(objectionItem));
  $('#objections-empty').hidden = state.objections.length > 0;
  const bidder = state.user.role === 'bidder';
  $('#objection-form').hidden = !(bidder && state.status && running());
}

function remaining() {
  const s = state.status;
  const declined = new Set(s.awards.filter((a) => a.status === 'declined').map((a) => a.credit_code));
  return s.candidates.filter((c) => !declined.has(c.credit_code));
}

function roundNote(a) {
  const parts = [];
  if (a.reason) parts.push(`定标理由：${a.reason}`);
  if (a.status === 'declined') parts.push(el('span', {}, '放弃中标（', timeEl(a.declined_at), `）：${a.decline_reason || ''}`));
  if (a.notice_id) parts.push(noticeLink(a.notice_id, '中标结果公告'));
  const cell = el('td', {});
  parts.forEach((part, i) => append(cell, i ? '；' : '', part));
  return cell;
}

function renderAward() {
  const s = state.status;
  const awards = s ? s.awards : [];
  $('#award-empty').hidden = awards.length > 0;
  $('#round-rows').replaceChildren(...awards.map((a) => el('tr', {},
    el('td', {}, `第 ${a.round} 轮`), el('td', {}, party(a.credit_code)),
    el('td', { class: 'num' }, formatMoney(a.price)),
    el('td', {}, AWARD_STATES[a.status] || a.status), el('td', {}, timeEl(a.awarded_at)), roundNote(a))));
  $('#rounds').hidden = awards.length === 0;
  const standing = awards.find((a) => a.status === 'awarded');
  const failed = s && s.failed;
  const { host } = state;
  const left = s ? remaining() : [];
  const awardable = host && s && state.publicity && state.publicity.ended && !standing && !failed
    && left.length > 0;
  $('#award-form').hidden = !awardable;
  if (awardable) {
    const select = $('#aw-candidate');
    const was = select.value;
    select.replaceChildren(...left.map((c) => el('option', { value: c.credit_code },
      `第 ${c.rank} 名 ${c.name}（${formatMoney(c.price)}）`)));
    if (left.some((c) => c.credit_code === was)) select.value = was;
  }
  $('#decline-form').hidden = !(host && standing);
  // The contract: generated from the standing award by the host or the procurer; the parties
  // (the procurer, the winner) read and sign it on contract.html.
  const role = state.user.role;
  const winner = role === 'bidder' && standing && standing.credit_code === s.own_credit_code;
  $('#contract-part').hidden = !(standing && (state.manager || winner));
  $('#make-contract').hidden = !(standing && state.manager);
  $('#contract-link').hidden = !(standing && (role === 'procurer' || winner));
  const rows = [];
  for (const a of awards) {
    for (const n of a.notices) {
      rows.push(el('tr', {}, el('td', {}, `第 ${a.round} 轮`), el('td', {}, NOTICE_KINDS[n.kind] || n.kind),
        el('td', {}, party(n.addressee)), el('td', {}, timeEl(n.issued_at)),
        el('td', {}, el('code', { class: 'hash' }, n.sha256))));
    }
  }
  $('#notice-rows').replaceChildren(...rows);
  // The host, the procurer and supervisors get every notice's metadata (never the file).
  $('#notices').hidden = !((state.manager || state.user.role === 'supervisor') && rows.length);
  const box = $('#failed');
  box.hidden = !failed;
  if (failed) {
    append(clear(box), `招标失败：${FAILURES[failed.reason] || failed.reason}（记录时间 `, timeEl(failed.at), '）。',
      ' ', noticeLink(failed.notice_id, '查看招标失败公告'));
  }
}

function fileLinks(n) {
  const base = `api/v1/award-notices/${encodeURIComponent(n.id)}`;
  const title = NOTICE_KINDS[n.kind] || n.kind;
  return el('li', {}, `${title}（发出时间 `, timeEl(n.issued_at), '）：',
    el('a', { href: `${base}/notice.pdf`, download: `${n.document_id}.pdf` }, `下载${title}（PDF）`), ' · ',
    el('a', { href: `${base}/notice.json`, download: `${n.document_id}.json` }, '签名文件（JSON）'), ' · ',
    el('a', { href: `${base}/notice.json.sig`, download: `${n.document_id}.json.sig` }, '平台签名'),
    el('p', { class: 'hint' }, 'SHA-256 ', el('code', { class: 'hash' }, n.sha256)));
}

function renderMine() {
  const s = state.status;
  const bidder = state.user.role === 'bidder';
  $('#mine').hidden = !(bidder && s);
  if (!bidder || !s) return;
  const own = s.own_credit_code;
  const mine = s.candidates.find((c) => c.credit_code === own);
  const standing = s.awards.find((a) => a.status === 'awarded');
  let result = '未定标';
  if (s.failed) result = '招标失败';
  else if (standing) result = standing.credit_code === own ? '本单位中标' : '未中标';
  const facts = clear($('#mine-facts'));
  for (const [term, value, id] of [
    ['本单位', party(own), 'mine-org'],
    ['中标候选人', mine ? `第 ${mine.rank} 名中标候选人` : '不是中标候选人', 'mine-candidate'],
    ['定标结果', result, 'mine-result'],
    ['中标人', standing ? party(standing.credit_code) : '—', 'mine-winner'],
  ]) facts.append(el('dt', {}, term), append(el('dd', { id }), value));
  const notices = s.awards.flatMap((a) => a.notices);
  const box = clear($('#mine-notices'));
  if (notices.length) {
    box.append(el('h3', {}, '本单位的通知书'), el('ul', { class: 'key-list' }, notices.map(fileLinks)),
      el('p', { class: 'hint' }, '通知书经平台签名；可用 “tradesys verify notice” 与平台公钥离线核验。'));
  }
  $('#decline-own-form').hidden = !(standing && standing.credit_code === own);
}

function render() {
  const links = $('#award-links');
  if (state.status && !state.manager && !links.childNodes.length) {
    links.append(el('a', { href: `tender.html?project=${state.status.project_id}` }, '招标项目'),
      el('span', { 'aria-hidden': 'true' }, ' › '), '公示与定标');
  }
  if (state.status && state.status.section) {
    const { code, name } = state.status.section;
    $('#award-title').textContent = `公示与定标：${code} ${name}`;
    document.title = `公示与定标：${code} — 电子招标投标交易平台`;
  }
  renderStage();
  renderMine();
  renderPublicity();
  renderObjections();
  renderAward();
}

async function load() {
  const id = state.sectionId;
  const pending = ['report_not_final', 'report_not_drafted'];
  const [report, publicity, status, objections] = await Promise.all([
    state.manager ? maybe(`/sections/${id}/evaluation/report`, pending) : null,
    maybe(`/sections/${id}/publicity`, ['publicity_not_found']),
    maybe(`/sections/${id}/award`, pending),
    maybe(`/sections/${id}/objections`, pending),
  ]);
  Object.assign(state, { report, publicity, status, objections: objections ? objections.items : [] });
  if (status && state.manager && !state.project) {
    // The host is the project's agency, or its procurer when it runs its own tender (as on
    // tender.html); the owner of an entrusted tender answers objections and follows the rest.
    state.project = await get(`/projects/${status.project_id}`);
    const hostOrg = state.project.agency_org_id ?? state.project.procurer_org_id;
    state.host = state.user.org_id === hostOrg;
  }
  render();
}

// ---------------------------------------------------------------------------- actions

async function act(form, work, done) {
  clearMessages();
  const release = busy(form);
  try {
    await work();
    await load();
    showStatus(done);
  } catch (error) {
    showError(error);
  } finally {
    release();
  }
}

function answer(event, number, text) {
  event.preventDefault();
  return act(event.target, () => post(`/sections/${state.sectionId}/objections/${number}/answer`,
    { answer: text }), `已答复异议 ${number}。`);
}

function onPublish(event) {
  event.preventDefault();
  act(event.target, () => post(`/sections/${state.sectionId}/publicity`, {}),
    '中标候选人公示已发布。');
}

function onFailure(event) {
  event.preventDefault();
  act(event.target, () => post(`/sections/${state.sectionId}/award/failure`, {}),
    '已记录招标失败，招标失败公告已发布。');
}

function onObjection(event) {
  event.preventDefault();
  const text = $('#ob-text');
  act(event.target, async () => {
    const raised = await post(`/sections/${state.sectionId}/objections`, { text: text.value.trim() });
    text.value = '';
    return raised;
  }, '异议已提交，请等待书面答复。');
}

function onAward(event) {
  event.preventDefault();
  const select = $('#aw-candidate');
  const reason = $('#aw-reason');
  const first = remaining()[0];
  const chosen = select.value;
  const why = reason.value.trim();
  const passedOver = first && chosen !== first.credit_code;
  setControlMessage(reason, passedOver && !why
    ? '确定排名靠后的中标候选人须写明理由（条例第五十五条）' : null);
  if (passedOver && !why) {
    reason.focus();
    return;
  }
  const body = passedOver ? { credit_code: chosen, reason: why } : {};
  act(event.target, () => post(`/sections/${state.sectionId}/award`, body),
    '已定标：中标通知书和中标结果通知书已发出，中标结果公告已发布。');
}

function onDecline(event, textarea) {
  event.preventDefault();
  act(event.target, () => post(`/sections/${state.sectionId}/award/decline`,
    { reason: textarea.value.trim() }), '已记录放弃中标。');
}

async function onMakeContract(event) {
  clearMessages();
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const made = await post(`/sections/${state.sectionId}/contract`);
    showStatus(`合同已由中标结果生成（第 ${made.draft} 稿，SHA-256 ${made.sha256.slice(0, 12)}…）：合同双方可在“合同网签”中查看、比较各稿并签署。`);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------- start

async function main() {
  const user = await initLayout();
  if (!user) {
    $('#award-login-link').href = loginHref();
    $('#award-login').hidden = false;
    return;
  }
  state.sectionId = idParam('section');
  state.user = user;
  if (!state.sectionId || !['agency', 'procurer', 'bidder', 'supervisor'].includes(user.role)) {
    $('#award-denied').hidden = false;
    return;
  }
  state.manager = user.role === 'agency' || user.role === 'procurer';
  if (state.manager) {
    $('#award-links').append(el('a', { href: `evaluation.html?section=${state.sectionId}` }, '评标组织'),
      el('span', { 'aria-hidden': 'true' }, ' › '), '公示与定标');
  }
  $('#publish-form').addEventListener('submit', onPublish);
  $('#failure-form').addEventListener('submit', onFailure);
  $('#objection-form').addEventListener('submit', onObjection);
  $('#award-form').addEventListener('submit', onAward);
  $('#decline-form').addEventListener('submit', (e) => onDecline(e, $('#dc-reason')));
  $('#decline-own-form').addEventListener('submit', (e) => onDecline(e, $('#do-reason')));
  $('#make-contract').addEventListener('click', onMakeContract);
  $('#refresh').addEventListener('click', () => { clearMessages(); load().catch(showError); });
  $('#award-page').hidden = false;
  try {
    // Whether the publicity still runs is judged on the server's clock (a few seconds at most).
    await Promise.race([whenSynced(), new Promise((resolve) => { setTimeout(resolve, 3000); })]);
    await load();
  } catch (error) {
    showError(error);
  }
}

main();
