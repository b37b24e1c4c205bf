// 招标项目: the tendering period of one project, for each role.
//
// A bidder obtains the documents (and sees its own download log), asks questions and reads the
// answers and clarifications addressed to all, declares its bid security per section and sees
// it confirmed. The host (the entrusted agency, or the procurer running its own tender) answers
// questions, publishes clarifications and amendments, sees the whole download log, confirms
// securities after the deadline and may terminate the tender; the owner may terminate too.

import { ApiError, get, post, requestBytes } from '../api.js';
import { serverNow } from '../clock.js';
import { initLayout } from '../layout.js';
import {
  $, beijingInputToIso, busy, clearInvalid, el, fieldLabelIn, formatMoney, idParam,
  label, loginHref, markInvalid, parseInstant, PROJECT_STATES, SECTION_STATES,
  setControlMessage, showError, showStatus, timeEl,
} from '../ui.js';

const METHODS = {
  bank_transfer: '银行转账', bank_guarantee: '银行保函', insurance: '保证保险', other: '其他',
};
const SECURITY_STATES = { declared: '已申报，待核验', confirmed: '已确认', rejected: '未通过核验' };

const state = { project: null, user: null, host: false, owner: false, bidder: false };

function projectPath(suffix = '') {
  return `/projects/${state.project.id}${suffix}`;
}

// ---------------------------------------------------------------------------- documents

/** Obtain a document: fetched with the session (the server logs who and when), then saved. */
async function obtain(documentItem, button) {
  button.disabled = true;
  try {
    const { bytes } = await requestBytes(projectPath(`/documents/${documentItem.id}/content`));
    const url = URL.createObjectURL(new Blob([bytes], { type: documentItem.content_type }));
    const link = el('a', { href: url, download: documentItem.filename, hidden: '' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    showStatus(`已获取招标文件“${documentItem.filename}”。`);
    await loadDownloads();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

function documentItem(item) {
  const button = el('button', { type: 'button', 'aria-label': `获取招标文件：${item.filename}` },
    '获取');
  button.addEventListener('click', () => obtain(item, button));
  return el('li', {},
    el('span', { class: 'doc-name' }, item.filename), ' ',
    el('span', { class: 'hint' }, `SHA-256 ${item.sha256.slice(0, 16)}…`), ' ',
    button);
}

async function loadDocuments() {
  const list = await get(projectPath('/documents'));
  $('#document-list').replaceChildren(...list.items.map(documentItem));
  $('#documents-empty').hidden = list.items.length > 0;
}

async function loadDownloads() {
  const log = await get(projectPath('/downloads'));
  $('#download-rows').replaceChildren(...log.items.map((item) => el('tr', {},
    el('td', {}, item.filename),
    el('td', {}, `${item.org_name}（${item.credit_code}）`),
    el('td', {}, timeEl(item.obtained_at, { seconds: true })))));
  $('#downloads-empty').hidden = log.items.length > 0;
}

// ---------------------------------------------------------------------------- questions

function answerForm(question) {
  const id = `answer-${question.id}`;
  const form = el('form', { novalidate: '', class: 'inline-form', 'aria-label': '答复问题' },
    el('div', { class: 'field' },
      el('label', { for: id }, '答复'),
      el('textarea', { id, 'data-field': 'answer', required: '', maxlength: '20000', rows: '2' })),
    el('p', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, '发布答复')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const done = busy(form);
    try {
      await post(projectPath(`/questions/${encodeURIComponent(question.id)}/answer`),
        { answer: form.querySelector('textarea').value });
      showStatus('已发布答复。');
      await loadQuestions();
    } catch (error) {
      done();
      showError(error, { fieldLabel: fieldLabelIn(form) });
    }
  });
  return form;
}

function questionItem(question) {
  const item = el('li', { class: 'qa' },
    el('p', { class: 'qa-q' }, el('strong', {}, '问：'), question.text),
    el('p', { class: 'hint' }, '提问时间 ', timeEl(question.asked_at),
      question.mine && state.bidder ? '（本单位提出）' : ''));
  if (question.answer !== null) {
    item.append(el('p', { class: 'qa-a' }, el('strong', {}, '答：'), question.answer),
      el('p', { class: 'hint' }, '答复时间 ', timeEl(question.answered_at)));
  } else if (state.host) {
    item.append(answerForm(question));
  } else {
    item.append(el('p', { class: 'hint' }, '尚未答复。'));
  }
  return item;
}

async function loadQuestions() {
  const list = await get(projectPath('/questions'));
  $('#question-list').replaceChildren(...list.items.map(questionItem));
  $('#questions-empty').hidden = list.items.length > 0;
}

async function ask(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const done = busy(form);
  try {
    await post(projectPath('/questions'), { text: $('#ask-text').value });
    $('#ask-text').value = '';
    showStatus('问题已提交，答复将向所有潜在投标人公开。');
    await loadQuestions();
  } catch (error) {
    showError(error, { fieldLabel: fieldLabelIn(form) });
  } finally {
    done();
  }
}

// ---------------------------------------------------------------------------- clarifications

function clarificationItem(item) {
  const moved = item.new_bid_deadline
    ? el('p', {}, '投标截止时间由 ', timeEl(item.previous_bid_deadline), ' 顺延至 ',
      timeEl(item.new_bid_deadline))
    : null;
  return el('li', { class: 'qa' },
    el('h3', {}, `第 ${item.number} 号${item.changes_bid_content ? '修改' : '澄清'}：${item.title}`),
    el('p', { class: 'hint' }, '发布时间 ', timeEl(item.published_at)),
    ...String(item.content).split(/\n{2,}/).map((paragraph) => el('p', {}, paragraph)),
    moved);
}

async function loadClarifications() {
  const list = await get(projectPath('/clarifications'));
  $('#clarification-list').replaceChildren(...list.items.map(clarificationItem));
  $('#clarifications-empty').hidden = list.items.length > 0;
}

async function clarify(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearInvalid(form);
  const deadlineInput = $('#c-deadline');
  setControlMessage(deadlineInput, null);
  const body = {
    title: $('#c-title').value,
    content: $('#c-content').value,
    changes_bid_content: $('#c-changes').checked,
  };
  if (deadlineInput.value) body.new_bid_deadline = beijingInputToIso(deadlineInput.value);
  const done = busy(form);
  try {
    await post(projectPath('/clarifications'), body);
    form.reset();
    showStatus('澄清（修改）已发布。');
    await Promise.all([loadClarifications(), loadProject()]);
  } catch (error) {
    done();
    // The 15-day rule and the deadline's order are about the new deadline: said next to it,
    // so the host can move the deadline and send again.
    if (error instanceof ApiError && ['amendment_too_late', 'deadline_not_later']
      .includes(error.code)) {
      setControlMessage(deadlineInput, error.message);
      deadlineInput.focus();
      return;
    }
    const first = markInvalid(form, error.details);
    showError(error, { fieldLabel: fieldLabelIn(form) });
    if (first) first.focus();
    return;
  }
  done();
}

// ---------------------------------------------------------------------------- securities

function declareForm(section) {
  const prefix = `s${section.id}`;
  const methods = el('select', { id: `${prefix}-method`, 'data-field': 'method', required: '' },
    ...Object.entries(METHODS).map(([value, text]) => el('option', { value }, text)));
  const form = el('form', { novalidate: '', class: 'inline-form',
    'aria-label': `申报投标保证金：${section.code}` },
  el('div', { class: 'grid-3' },
    el('div', { class: 'field' }, el('label', { for: `${prefix}-method` }, '缴纳形式'), methods),
    el('div', { class: 'field' }, el('label', { for: `${prefix}-amount` }, '金额（元）'),
      el('input', { id: `${prefix}-amount`, 'data-field': 'amount', required: '',
        inputmode: 'decimal', pattern: '(0|[1-9][0-9]{0,13})(\\.[0-9]{1,2})?',
        'data-message': '金额须为元，最多两位小数，如 80000.00',
        value: section.bid_security || '' })),
    el('div', { class: 'field' }, el('label', { for: `${prefix}-reference` }, '付款账户（或保函编号）'),
      el('input', { id: `${prefix}-reference`, 'data-field': 'reference', required: '',
        maxlength: '100' }))),
  el('p', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, '申报保证金')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearInvalid(form);
    const done = busy(form);
    try {
      await post(`/sections/${section.id}/security`, {
        method: methods.value,
        amount: form.querySelector(`#${prefix}-amount`).value,
        reference: form.querySelector(`#${prefix}-reference`).value,
      });
      showStatus(`已申报 ${section.code} 的投标保证金，待招标代理机构核验。`);
      await renderSecurity(section);
    } catch (error) {
      const first = markInvalid(form, error.details);
      showError(error, { fieldLabel: fieldLabelIn(form) });
      if (first) first.focus();
    } finally {
      done();
    }
  });
  return form;
}

function decideButtons(section, security) {
  const buttons = [['confirmed', '确认', 'primary'], ['rejected', '不予确认', '']].map(
    ([status, text, style]) => {
      const button = el('button', { type: 'button', class: style,
        'aria-label': `${text}保证金：${security.bidder}` }, text);
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await post(`/sections/${section.id}/security/${security.org_id}/decision`, { status });
          showStatus(`已${text}${security.bidder}的投标保证金。`);
          await renderSecurity(section);
        } catch (error) {
          button.disabled = false;
          showError(error);
        }
      });
      return button;
    });
  return el('span', { class: 'actions' }, ...buttons);
}

function securityTable(section, rows, { decide }) {
  const caption = `${section.code} 保证金情况`;
  return el('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' },
    el('table', { class: 'data-table' },
      el('caption', { class: 'visually-hidden' }, caption),
      el('thead', {}, el('tr', {},
        ...['投标人', '缴纳形式', '金额', '付款账户', '申报时间', '状态', decide ? '核验' : null]
          .filter(Boolean).map((text) => el('th', { scope: 'col' }, text)))),
      el('tbody', {}, ...rows.map((security) => el('tr', {},
        el('td', {}, security.bidder),
        el('td', {}, label(METHODS, security.method)),
        el('td', { class: 'num' }, formatMoney(security.amount)),
        el('td', {}, security.reference),
        el('td', {}, timeEl(security.declared_at)),
        el('td', {}, label(SECURITY_STATES, security.status),
          security.decided_at ? el('span', { class: 'hint' }, ' ', timeEl(security.decided_at))
            : ''),
        decide ? el('td', {}, security.status === 'declared'
          ? decideButtons(section, security) : '—') : null)))));
}

async function renderSecurity(section) {
  const box = $(`#security-${section.id}`);
  const deadline = parseInstant(section.bid_deadline);
  const open = deadline !== null && serverNow() < deadline;
  const parts = [];
  if (state.bidder) {
    const mine = (await get(`/sections/${section.id}/security`)).items
      .map((row) => ({ ...row, bidder: '本单位' }));
    if (mine.length) parts.push(securityTable(section, mine, { decide: false }));
    if (open && !mine.some((row) => row.status === 'confirmed')) parts.push(declareForm(section));
    if (!open && !mine.length) parts.push(el('p', { class: 'empty' }, '投标已截止，未申报保证金。'));
  } else if (open) {
    parts.push(el('p', { class: 'empty' }, '投标截止前不公开保证金申报情况。'));
  } else {
    const rows = (await get(`/sections/${section.id}/security`)).items.map((row) => ({
      ...row, bidder: `${row.bidder_name}（${row.credit_code}）` }));
    parts.push(rows.length ? securityTable(section, rows, { decide: state.host })
      : el('p', { class: 'empty' }, '无投标人申报保证金。'));
  }
  box.replaceChildren(...parts);
}

function securitySections() {
  const container = $('#security-sections');
  container.replaceChildren(...state.project.sections.map((section) => el('section',
    { 'aria-labelledby': `security-${section.id}-heading` },
    el('h3', { id: `security-${section.id}-heading` },
      `${section.code} ${section.name}`),
    el('p', { class: 'hint' }, `应缴投标保证金 ${formatMoney(section.bid_security)} · 投标截止 `,
      timeEl(section.bid_deadline), ` · ${label(SECTION_STATES, section.state)}`,
      ' · ', el('a', { href: `hall.html?section=${section.id}` }, '开标大厅'),
      ' · ', el('a', { href: `award.html?section=${section.id}` }, '公示与定标'),
      state.bidder && section.state === 'tendering'
        ? el('span', {}, ' · ', el('a', { href: `bid.html?section=${section.id}` }, '递交投标文件'))
        : ''),
    el('div', { id: `security-${section.id}` }))));
  return Promise.all(state.project.sections.map(renderSecurity));
}

// ---------------------------------------------------------------------------- terminate

async function terminate(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const done = busy(form);
  try {
    const notice = await post(projectPath('/cancel'), { reason: $('#cancel-reason').value });
    showStatus('已终止招标并发布终止公告：',
      el('a', { href: `notice.html?id=${notice.id}` }, notice.title));
    await loadProject();
  } catch (error) {
    done();
    showError(error, { fieldLabel: fieldLabelIn(form) });
  }
}

// ---------------------------------------------------------------------------- the page

async function loadProject() {
  state.project = await get(`/projects/${state.project ? state.project.id : idParam('project')}`);
  const { project, user } = state;
  const hostOrg = project.agency_org_id ?? project.procurer_org_id;
  state.host = user.org_id === hostOrg && user.role !== 'bidder';
  state.owner = user.org_id === project.procurer_org_id && user.role === 'procurer';
  state.bidder = user.role === 'bidder';
  document.title = `${project.name} — 招标项目 — 电子招标投标交易平台`;
  $('#tender-title').textContent = project.name;
  $('#tender-code').textContent = `项目编号 ${project.code}`;
  $('#tender-state').textContent = label(PROJECT_STATES, project.state);
  const announced = project.state === 'announced';
  $('#ask-form').hidden = !(state.bidder && announced);
  $('#clarify-form').hidden = !(state.host && announced);
  $('#cancel-section').hidden = !((state.host || state.owner) && announced);
  $('#downloads-hint').textContent = state.bidder
    ? '本单位获取招标文件的时间（其他单位的获取情况不公开）。'
    : '各单位获取招标文件的时间（不向其他投标人公开）。';
  await securitySections();
}

async function main() {
  const user = await initLayout();
  if (idParam('project') === null) {
    showError(new Error('未指定项目 (no project given)'));
    return;
  }
  if (!user) {
    $('#tender-login-link').href = loginHref();
    $('#tender-login').hidden = false;
    return;
  }
  state.user = user;
  $('#ask-form').addEventListener('submit', ask);
  $('#clarify-form').addEventListener('submit', clarify);
  $('#cancel-form').addEventListener('submit', terminate);
  try {
    await loadProject();
    await Promise.all([loadDocuments(), loadDownloads(), loadQuestions(), loadClarifications()]);
    $('#tender-body').hidden = false;
  } catch (error) {
    showError(error);
  }
}

main();
