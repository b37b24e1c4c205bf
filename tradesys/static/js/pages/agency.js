// 项目登记 → 上传招标文件 → 发布公告: what an agency (or a procurer) does to put a tender out.

import { get, newIdempotencyKey, post, upload } from '../api.js';
import { whenSynced } from '../clock.js';
import { initLayout } from '../layout.js';
import {
  $, append, beijingInputToIso, busy, CATEGORIES, clear, clearInvalid, clearMessages, el,
  fieldLabelIn, formatBeijing, formatMoney, formatSize, idParam, label, markInvalid, PROCEDURES,
  PROJECT_STATES, ROLES, SECTION_STATES, showError, showStatus, timeEl, toBeijingLocalInput,
  TRADE_TYPES,
} from '../ui.js';

const DAY_MS = 86400000;
const HOUR_MS = 3600000;

/** Types the server accepts as they are; a few browsers' aliases; anything else as is. */
const TYPE_ALIASES = { 'application/x-zip-compressed': 'application/zip' };

/** Which field a domain error (without validation details) is about. */
const ERROR_FIELDS = {
  procurer_required: 'procurer_credit_code',
  unknown_procurer: 'procurer_credit_code',
  agency_is_procurer: 'procurer_credit_code',
  unknown_agency: 'agency_credit_code',
  duplicate_key_holder: 'opening_key_holders',
  key_holder_unknown: 'opening_key_holders',
  key_holder_not_party: 'opening_key_holders',
  key_holder_without_key: 'opening_key_holders',
  bad_threshold: 'opening_threshold',
};

/** At most this many key holders (the API's limit); at least two. */
const MAX_HOLDERS = 9;
const MIN_HOLDERS = 2;

let user = null;
let project = null;
let sectionSerial = 0;

// The same request body keeps the same Idempotency-Key, so a retry after a lost answer (or a
// double click) cannot register twice; a changed body gets a new key.
const keys = new Map();
function keyFor(name, bodyText) {
  const known = keys.get(name);
  if (known && known.body === bodyText) return known.key;
  const key = newIdempotencyKey();
  keys.set(name, { body: bodyText, key });
  return key;
}

function fillSelect(select, options) {
  for (const [value, text] of Object.entries(options)) {
    select.append(el('option', { value }, text));
  }
}

function setStep(number) {
  for (let i = 1; i <= 3; i += 1) {
    const item = $(`#step-${i}`);
    item.classList.toggle('done', i < number);
    item.classList.toggle('current', i === number);
    if (i === number) item.setAttribute('aria-current', 'step');
    else item.removeAttribute('aria-current');
  }
}

function showFormError(error, form) {
  if (form) {
    clearInvalid(form);
    let first = markInvalid(form, error.details);
    const field = ERROR_FIELDS[error.code];
    if (!first && field) first = markInvalid(form, [{ loc: [field] }]);
    showError(error, { fieldLabel: fieldLabelIn(form) });
    if (first) first.focus();
  } else {
    showError(error);
  }
}

// ---------------------------------------------------------------------------- sections

function sectionField(n, name, text, control) {
  control.id = `s${n}-${name}`;
  control.dataset.name = name;
  return el('div', { class: 'field' }, el('label', { for: control.id }, text), control);
}

function amountInput() {
  return el('input', {
    inputmode: 'decimal', pattern: '[0-9]{1,14}(\\.[0-9]{1,2})?', maxlength: '17',
    autocomplete: 'off',
  });
}

function addSection() {
  sectionSerial += 1;
  const n = sectionSerial;
  const remove = el('button', { type: 'button', class: 'link-button remove-section' }, '删除此标段');
  const box = el('fieldset', { class: 'section', dataset: { group: 'section' } },
    el('legend', {}, '标段（包）'),
    sectionField(n, 'name', '标段名称', el('input', { required: true, maxlength: '200' })),
    sectionField(n, 'content', '标段内容',
      el('textarea', { required: true, maxlength: '20000', rows: '2' })),
    el('div', { class: 'grid-3' },
      sectionField(n, 'budget', '预算金额（元，选填）', amountInput()),
      sectionField(n, 'ceiling_price', '最高投标限价（元，选填）', amountInput()),
      sectionField(n, 'bid_security', '投标保证金（元，选填）', amountInput())),
    el('p', { class: 'actions' }, remove));
  remove.addEventListener('click', () => {
    const next = box.nextElementSibling || box.previousElementSibling;
    box.remove();
    renumberSections();
    if (next) next.querySelector('input').focus();
  });
  $('#sections').append(box);
  renumberSections();
  return box;
}

function renumberSections() {
  const boxes = Array.from($('#sections').children);
  boxes.forEach((box, index) => {
    box.querySelector('legend').textContent = `标段（包）${index + 1}`;
    for (const control of box.querySelectorAll('[data-name]')) {
      control.dataset.field = `sections.${index}.${control.dataset.name}`;
    }
    const remove = box.querySelector('.remove-section');
    remove.disabled = boxes.length === 1;
    remove.setAttribute('aria-label', `删除标段（包）${index + 1}`);
  });
}

function sectionsBody() {
  return Array.from($('#sections').children).map((box) => {
    const section = {};
    for (const control of box.querySelectorAll('[data-name]')) {
      const value = control.value.trim();
      if (value) section[control.dataset.name] = value;
    }
    return section;
  });
}

// ---------------------------------------------------------------------------- register

function optional(body, name, selector) {
  const value = $(selector).value.trim();
  if (value) body[name] = value;
}

async function register(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const body = {
    name: $('#p-name').value.trim(),
    trade_type: $('#p-trade-type').value,
    category: $('#p-category').value,
    procedure: $('#p-procedure').value,
    region_code: $('#p-region').value.trim(),
    content: $('#p-content').value.trim(),
    owner_name: $('#p-owner').value.trim(),
  };
  if (user.role === 'agency') optional(body, 'procurer_credit_code', '#p-procurer');
  else optional(body, 'agency_credit_code', '#p-agency');
  optional(body, 'approval_number', '#p-approval-number');
  optional(body, 'approval_dept_name', '#p-approval-dept');
  optional(body, 'supervise_dept_name', '#p-supervise-dept');
  body.sections = sectionsBody();
  clearMessages();
  clearInvalid(form);
  const done = busy(form);
  try {
    const created = await post('/projects', body,
      { idempotencyKey: keyFor('register', JSON.stringify(body)) });
    history.replaceState(null, '', `agency.html?project=${created.id}`);
    $('#register-step').hidden = true;
    showProject(created);
    done();
    showStatus(`项目已登记，项目编号 ${created.code}。下一步：上传招标文件。`);
    $('#upload-heading').focus();
  } catch (error) {
    done(); // first: a disabled field cannot take the focus
    showFormError(error, form);
  }
}

// ---------------------------------------------------------------------------- project

function showProject(value) {
  project = value;
  const summary = clear($('#project-summary'));
  for (const [term, detail] of [
    ['项目编号', project.code],
    ['项目名称', project.name],
    ['交易类型', label(TRADE_TYPES, project.trade_type)],
    ['招标方式', label(PROCEDURES, project.procedure)],
    ['项目业主', project.owner_name],
    ['状态', label(PROJECT_STATES, project.state)],
    ['登记时间', timeEl(project.created_at)],
  ]) {
    summary.append(el('dt', {}, term), append(el('dd', {}), detail));
  }
  clear($('#project-sections')).append(...project.sections.map((section) => el('tr', {},
    el('td', {}, el('a', { href: `evaluation.html?section=${section.id}`,
      title: '评标办法、评标委员会与评标进度' }, section.code)),
    el('td', {}, section.name),
    el('td', { class: 'num' }, formatMoney(section.budget)),
    el('td', { class: 'num' }, formatMoney(section.ceiling_price)),
    el('td', { class: 'num' }, formatMoney(section.bid_security)),
    el('td', {}, label(SECTION_STATES, section.state)))));
  $('#project-step').hidden = false;
  const open = project.state === 'registered';
  $('#upload-step').hidden = !open;
  $('#announce-step').hidden = !open;
  if (open) {
    setStep(2);
    loadDocuments();
    prefillAnnounce();
    loadHolders();
  } else {
    setStep(project.state === 'announced' ? 4 : 1);
    const text = clear($('#done-text'));
    if (project.state === 'announced') {
      $('#done-heading').textContent = '公告已发布';
      append(text, '该项目的招标公告已发布，可在', el('a', { href: 'index.html' }, '招标公告'),
        '中查看。');
    } else {
      $('#done-heading').textContent = '项目已终止';
      append(text, `该项目状态为：${label(PROJECT_STATES, project.state)}。`);
    }
    $('#done-step').hidden = false;
  }
}

// ---------------------------------------------------------------------------- documents

async function loadDocuments() {
  try {
    const list = await get(`/projects/${project.id}/documents`);
    clear($('#document-rows')).append(...list.items.map((doc) => el('tr', {},
      el('td', {}, doc.filename),
      el('td', { class: 'num' }, formatSize(doc.size)),
      el('td', {}, el('code', { class: 'hash' }, doc.sha256)),
      el('td', {}, timeEl(doc.uploaded_at)))));
    $('#documents').hidden = list.items.length === 0;
    $('#documents-empty').hidden = list.items.length > 0;
  } catch (error) {
    showError(error);
  }
}

async function uploadDocument(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const input = $('#document-file');
  const file = input.files && input.files[0];
  clearMessages();
  if (!file) {
    showError(new Error('请选择要上传的招标文件 (choose a file)'));
    input.focus();
    return;
  }
  const type = TYPE_ALIASES[file.type] || file.type || 'application/octet-stream';
  const typed = type === file.type ? file : new Blob([file], { type });
  const key = keyFor('upload', `${project.id}\0${file.name}\0${file.size}\0${file.lastModified}`);
  const done = busy(form);
  showStatus(`正在上传 ${file.name}…`);
  try {
    const doc = await upload(`/projects/${project.id}/documents`, typed,
      { filename: file.name }, { idempotencyKey: key });
    form.reset();
    showStatus(`已上传 ${doc.filename}（SHA-256 ${doc.sha256.slice(0, 16)}…）。下一步：发布公告。`);
    setStep(3);
    await loadDocuments();
  } catch (error) {
    showError(error);
  } finally {
    done();
  }
}

// ---------------------------------------------------------------------------- announce

async function prefillAnnounce() {
  if (!$('#n-title').value) $('#n-title').value = `${project.name}招标公告`;
  const now = await whenSynced();
  // From the next whole hour of server time: the statutory minimum periods of an open tender.
  const start = Math.ceil(now.getTime() / HOUR_MS) * HOUR_MS;
  const defaults = {
    '#n-doc-start': start,
    '#n-doc-end': start + 7 * DAY_MS,
    '#n-clarification': start + 10 * DAY_MS,
    '#n-bid-deadline': start + 21 * DAY_MS,
  };
  for (const [selector, when] of Object.entries(defaults)) {
    if (!$(selector).value) $(selector).value = toBeijingLocalInput(new Date(when));
  }
}

// The opening key of every section is split among the chosen holders: k of n must release
// their shares at the opening. Candidates are the project's agency and procurer users and the
// supervisors who have registered a holder key (keys.html).

function checkedHolders() {
  return Array.from($('#holders').querySelectorAll('input[type="checkbox"]:checked'))
    .map((box) => Number(box.value));
}

function updateThreshold() {
  const count = checkedHolders().length;
  const select = $('#n-threshold');
  const previous = Number(select.value) || MIN_HOLDERS;
  clear(select);
  for (let k = MIN_HOLDERS; k <= Math.max(MIN_HOLDERS, count); k += 1) {
    select.append(el('option', { value: String(k) }, `${k} 人`));
  }
  select.value = String(Math.min(Math.max(previous, MIN_HOLDERS), Math.max(MIN_HOLDERS, count)));
  select.disabled = count < MIN_HOLDERS;
  const explain = $('#threshold-explain');
  if (count < MIN_HOLDERS) {
    explain.textContent = `请至少选择 ${MIN_HOLDERS} 位开标密钥持有人。`;
  } else {
    explain.textContent = `开标密钥由所选 ${count} 位持有人分持，开标时需 ${select.value} 人提交份额（${select.value}/${count}）。`;
  }
}

function onHolderChange(event) {
  const boxes = Array.from($('#holders').querySelectorAll('input[type="checkbox"]'));
  if (checkedHolders().length > MAX_HOLDERS) {
    event.target.checked = false;
    showError(new Error(`开标密钥持有人最多 ${MAX_HOLDERS} 位 (at most ${MAX_HOLDERS} key holders)`));
  }
  for (const box of boxes) box.removeAttribute('aria-invalid');
  updateThreshold();
}

async function loadHolders() {
  const list = clear($('#holders'));
  $('#holders-loading').hidden = false;
  $('#holders-missing').hidden = true;
  $('#threshold-field').hidden = true;
  $('#threshold-explain').textContent = '';
  let candidates = [];
  try {
    candidates = (await get(`/projects/${project.id}/key-holder-candidates`)).items;
  } catch (error) {
    showError(error);
  }
  $('#holders-loading').hidden = true;
  candidates.forEach((candidate, index) => {
    const id = `holder-${candidate.user_id}`;
    const box = el('input', {
      type: 'checkbox', id, value: String(candidate.user_id), checked: index < MAX_HOLDERS,
      dataset: index === 0 ? { field: 'opening_key_holders' } : {},
    });
    box.addEventListener('change', onHolderChange);
    list.append(el('li', {}, el('div', { class: 'field checkbox' }, box,
      el('label', { for: id },
        `${candidate.display_name}（${label(ROLES, candidate.role)}，${candidate.organisation}）`))));
  });
  const enough = candidates.length >= MIN_HOLDERS;
  $('#threshold-field').hidden = !enough;
  $('#announce-submit').disabled = !enough;
  if (enough) {
    updateThreshold();
  } else {
    const text = clear($('#holders-missing-text'));
    append(text, `可选的开标密钥持有人只有 ${candidates.length} 位，至少需要 ${MIN_HOLDERS} 位，暂不能发布公告。`
      + '本项目招标代理机构、招标人的用户或行政监督部门的用户须先在', el('a', { href: 'keys.html' }, '加密密钥'),
    '页生成并登记开标密钥持有人密钥，然后重新获取持有人。');
    $('#holders-missing').hidden = false;
  }
}

async function announce(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearMessages();
  clearInvalid(form);
  const body = {
    title: $('#n-title').value.trim(),
    content: $('#n-content').value.trim(),
    opening_place: $('#n-place').value.trim(),
    consortium_allowed: $('#n-consortium').checked,
  };
  for (const [name, selector] of [
    ['doc_start', '#n-doc-start'],
    ['doc_end', '#n-doc-end'],
    ['clarification_deadline', '#n-clarification'],
    ['bid_deadline', '#n-bid-deadline'],
  ]) {
    const iso = beijingInputToIso($(selector).value);
    if (!iso) {
      $(selector).setAttribute('aria-invalid', 'true');
      showError(new Error('请按“年-月-日 时:分”填写时间 (enter a date and time)'));
      $(selector).focus();
      return;
    }
    body[name] = iso;
  }
  optional(body, 'contact', '#n-contact');
  body.opening_key_holders = checkedHolders();
  body.opening_threshold = Number($('#n-threshold').value);
  if (body.opening_key_holders.length < MIN_HOLDERS) {
    showError(new Error(`请至少选择 ${MIN_HOLDERS} 位开标密钥持有人 (choose at least two key holders)`));
    const first = $('#holders input[type="checkbox"]');
    if (first) first.focus();
    return;
  }
  const done = busy(form);
  try {
    const notice = await post(`/projects/${project.id}/announce`, body,
      { idempotencyKey: keyFor('announce', JSON.stringify(body)) });
    let fresh = { ...project, state: 'announced' };
    try {
      fresh = await get(`/projects/${project.id}`); // the sections are now 投标中
    } catch (error) {
      // The notice is out; the summary shows what we knew.
    }
    done();
    showProject(fresh);
    const link = el('a', { href: `notice.html?id=${notice.id}` }, '查看公告');
    append(clear($('#done-text')), `“${notice.title}”已发布，投标截止时间（开标时间）为北京时间 `,
      timeEl(notice.bid_deadline), '。', link);
    showStatus(`招标公告已发布，投标截止时间 ${formatBeijing(notice.bid_deadline)}（北京时间）。`);
    $('#done-heading').focus();
  } catch (error) {
    done();
    showFormError(error, form);
  }
}

// ---------------------------------------------------------------------------- start

async function main() {
  user = await initLayout();
  if (!user) {
    $('#agency-login').hidden = false;
    return;
  }
  if (user.role !== 'agency' && user.role !== 'procurer') {
    $('#agency-denied').hidden = false;
    return;
  }
  for (const heading of ['#upload-heading', '#done-heading', '#project-heading']) {
    $(heading).setAttribute('tabindex', '-1');
  }
  $('#upload-form').addEventListener('submit', uploadDocument);
  $('#announce-form').addEventListener('submit', announce);
  $('#holders-reload').addEventListener('click', loadHolders);
  $('#n-threshold').addEventListener('change', updateThreshold);
  const projectId = idParam('project');
  if (projectId !== null) {
    try {
      showProject(await get(`/projects/${projectId}`));
    } catch (error) {
      showError(error);
    }
    return;
  }
  fillSelect($('#p-trade-type'), TRADE_TYPES);
  fillSelect($('#p-category'), CATEGORIES);
  fillSelect($('#p-procedure'), PROCEDURES);
  const asAgency = user.role === 'agency';
  $('#procurer-field').hidden = !asAgency;
  $('#p-procurer').required = asAgency;
  $('#agency-field').hidden = asAgency;
  addSection();
  $('#add-section').addEventListener('click', () => addSection().querySelector('input').focus());
  $('#register-form').addEventListener('submit', register);
  $('#register-step').hidden = false;
  setStep(1);
}

main();
