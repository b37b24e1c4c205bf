// 合同网签: the contract between the tenderer/purchaser (甲方) and the winning bidder (乙方),
// generated from the award (docs/contracts.md). One page for the parties' users and, read only,
// supervisors: the list of the organisation's contracts; for one contract its facts (fixed by
// the award, 条例 Art. 57), the negotiable clauses, every draft with its SHA-256 and PDF, the
// differences between two drafts, both signatures' progress, the current file, and the server's
// PAdES verification. A party's user signs here with the signing key made and kept in this
// browser (keys.html, non-extractable): the server prepares the CMS signed attributes, the page
// signs exactly those bytes with WebCrypto ECDSA P-256, the server embeds, timestamps and checks
// the signature. The private key never leaves the browser.

import { ApiError, get, post } from '../api.js';
import { whenSynced } from '../clock.js';
import { initLayout } from '../layout.js';
import { loadLocal, localKeyIds, shortKeyId } from '../keyring.js';
import { sign } from '../signing.js';
import {
  $, append, busy, capitalAmount, clear, clearMessages, creditCodeEl, el, fieldLabelIn,
  formatMoney, idParam, label, markInvalid, parseInstant, setControlMessage, showError,
  showStatus, timeEl,
} from '../ui.js';

const STATES = { drafting: '拟定中（未签署）', signing: '签署中', signed: '已签署（双方）' };
const FIELDS = { purchaser: '甲方（招标人/采购人）', supplier: '乙方（中标人）' };
const SIGNATURE_STATES = { unsigned: '未签署', prepared: '未签署（已准备签名）', signed: '已签署' };
const COVERAGE = {
  ENTIRE_FILE: '覆盖整个文件', ENTIRE_REVISION: '覆盖其签署时的版本',
  CONTIGUOUS_BLOCK_FROM_START: '覆盖文件开头的连续部分', UNCLEAR: '无法确定', UNKNOWN: '无法确定',
};
const MODIFICATIONS = {
  NONE: '无', LTA_UPDATES: '仅长期验证数据', FORM_FILLING: '仅填写表单与签名',
  ANNOTATIONS: '批注', OTHER: '其他修改',
};
const SIGNER_ROLES = ['procurer', 'bidder'];
//: The server's bounds (contracts/facts.py Clause, tradesys/api/routes/contracts.py DraftIn).
const MAX_CLAUSES = 200;
const MAX_TITLE = 100;
const MAX_TEXT = 4000;
const READER_ROLES = [...SIGNER_ROLES, 'supervisor'];

let user = null;
let contractId = null;
let view = null;

// ---------------------------------------------------------------------------- the list

async function showList() {
  $('#list-step').hidden = false;
  const list = await get('/contracts');
  const rows = clear($('#list-rows'));
  $('#list-empty').hidden = list.items.length > 0;
  $('#list-table').hidden = list.items.length === 0;
  for (const item of list.items) {
    rows.append(el('tr', {},
      el('td', {}, el('a', { href: `contract.html?id=${item.id}` }, item.award_id)),
      el('td', {}, label(STATES, item.state)),
      el('td', { class: 'num' }, `第 ${item.draft} 稿`),
      el('td', {}, el('code', { class: 'hash' }, item.sha256))));
  }
}

// ---------------------------------------------------------------------------- one contract

function party(p) {
  return [p.name, ' ', creditCodeEl(p.credit_code)];
}

function showFacts() {
  const facts = view.facts;
  const dl = clear($('#contract-facts'));
  const row = (term, ...value) => dl.append(el('dt', {}, term), el('dd', {}, ...value));
  row('合同状态', el('span', { id: 'contract-state' }, label(STATES, view.state)));
  row('中标编号', facts.award_id);
  row('项目', `${facts.project.name}（${facts.project.code}）`);
  row('标段（包）', `${facts.section.name}（${facts.section.code}）`);
  row('甲方（招标人/采购人）', ...party(view.parties.purchaser));
  row('乙方（中标人）', ...party(view.parties.supplier));
  row('合同标的', facts.subject);
  row('合同价款', formatMoney(facts.price), el('span', { class: 'hint' }, `（大写：${capitalAmount(facts.price)}）`));
  row('履行期限（工期）', `${facts.duration_days} 日历天`);
  row('质量标准', facts.quality);
  row('定标时间', timeEl(facts.awarded_at));
  row('当前稿次', `第 ${view.draft} 稿`);
  row('当前文件摘要（SHA-256）', el('code', { class: 'hash', id: 'contract-sha256' }, view.sha256));
  const clauses = clear($('#clauses'));
  if (!facts.clauses.length) clauses.append(el('li', { class: 'empty' }, '无'));
  for (const clause of facts.clauses) {
    clauses.append(el('li', {}, el('strong', {}, clause.title), el('p', {}, clause.text)));
  }
}

function showDrafts() {
  const rows = clear($('#draft-rows'));
  for (const draft of view.drafts) {
    rows.append(el('tr', { dataset: { draft: draft.number } },
      el('td', {}, `第 ${draft.number} 稿`, draft.number === view.draft ? '（当前）' : ''),
      el('td', {}, timeEl(draft.created_at)),
      el('td', {}, el('code', { class: 'hash' }, draft.sha256)),
      el('td', {}, el('a', {
        href: `api/v1/contracts/${contractId}/drafts/${draft.number}/pdf`, target: '_blank',
        rel: 'noopener', 'aria-label': `第 ${draft.number} 稿 PDF（在新窗口打开）`,
      }, 'PDF'))));
  }
  const form = $('#diff-form');
  form.hidden = view.drafts.length < 2;
  if (form.hidden) return;
  for (const [select, chosen] of [['#diff-from', view.drafts.length - 1], ['#diff-to', view.drafts.length]]) {
    const box = $(select);
    const keep = box.value;
    clear(box).append(...view.drafts.map((d) => el('option', { value: d.number }, `第 ${d.number} 稿`)));
    box.value = keep && view.drafts.some((d) => String(d.number) === keep) ? keep : String(chosen);
  }
}

/** What changed in the negotiable clauses between two drafts, clause by clause (by title). */
function clauseChanges(before, after) {
  const old = new Map(before.map((c) => [c.title, c.text]));
  const now = new Map(after.map((c) => [c.title, c.text]));
  const changes = [];
  for (const clause of after) {
    if (!old.has(clause.title)) changes.push({ kind: 'added', title: clause.title, text: clause.text });
    else if (old.get(clause.title) !== clause.text) {
      changes.push({ kind: 'changed', title: clause.title, before: old.get(clause.title), text: clause.text });
    }
  }
  for (const clause of before) {
    if (!now.has(clause.title)) changes.push({ kind: 'removed', title: clause.title, before: clause.text });
  }
  return changes;
}

function showDiff(event) {
  event.preventDefault();
  const from = Number($('#diff-from').value);
  const to = Number($('#diff-to').value);
  const box = clear($('#diff'));
  if (from === to) {
    box.append(el('p', { class: 'empty' }, '请选择两个不同的稿次。'));
    return;
  }
  const draft = (n) => view.drafts.find((d) => d.number === n);
  const changes = clauseChanges(draft(from).clauses, draft(to).clauses);
  if (!changes.length) {
    box.append(el('p', { id: 'diff-summary' }, `第 ${from} 稿与第 ${to} 稿的条款相同。`));
    return;
  }
  box.append(el('p', { id: 'diff-summary' },
    `第 ${from} 稿 → 第 ${to} 稿：${changes.length} 处条款变化（合同要素不可修改，始终相同）。`));
  box.append(el('ul', { id: 'diff-list', class: 'diff' }, ...changes.map((c) => {
    if (c.kind === 'added') {
      return el('li', { class: 'diff-added' }, el('strong', {}, `新增条款「${c.title}」：`), el('ins', {}, c.text));
    }
    if (c.kind === 'removed') {
      return el('li', { class: 'diff-removed' }, el('strong', {}, `删除条款「${c.title}」：`), el('del', {}, c.before));
    }
    return el('li', { class: 'diff-changed' }, el('strong', {}, `修改条款「${c.title}」：`),
      el('p', {}, '原文：', el('del', {}, c.before)), el('p', {}, '新文：', el('ins', {}, c.text)));
  })));
}

// ---------------------------------------------------------------------------- a new draft

let clauseRows = 0;

/** One editable clause of an editor (an <ol> whose 增加条款 button names it in data-editor):
 *  its title and text, and a button that removes it. */
function clauseRow(editor, clause = { title: '', text: '' }) {
  clauseRows += 1;
  const n = clauseRows;
  const title = el('input', {
    id: `clause-title-${n}`, type: 'text', required: true, maxlength: String(MAX_TITLE),
    autocomplete: 'off', value: clause.title, class: 'clause-title',
  });
  const text = el('textarea', {
    id: `clause-text-${n}`, required: true, maxlength: String(MAX_TEXT), rows: '3',
    class: 'clause-text',
  });
  text.value = clause.text;
  const remove = el('button', { type: 'button', class: 'remove-clause' }, '删除本条');
  const row = el('li', { class: 'clause-row' },
    el('div', { class: 'field' }, el('label', { for: title.id }, '条款标题'), title),
    el('div', { class: 'field' }, el('label', { for: text.id }, '条款内容'), text),
    el('p', { class: 'actions' }, remove));
  remove.setAttribute('aria-label', `删除条款「${clause.title || '新条款'}」`);
  remove.addEventListener('click', () => {
    row.remove();
    numberClauses(editor);
  });
  return row;
}

/** Each row's data-field is the index the server names in a refusal (clauses.N.title). */
function numberClauses(editor) {
  const rows = editor.querySelectorAll('.clause-row');
  rows.forEach((row, index) => {
    row.querySelector('.clause-title').dataset.field = `clauses.${index}.title`;
    row.querySelector('.clause-text').dataset.field = `clauses.${index}.text`;
  });
  $(`button[data-editor="${editor.id}"]`).disabled = rows.length >= MAX_CLAUSES;
}

function fillEditor(editor, clauses) {
  clear(editor).append(...clauses.map((c) => clauseRow(editor, c)));
  numberClauses(editor);
}

function showDraftForm() {
  const form = $('#draft-form');
  form.hidden = !SIGNER_ROLES.includes(user.role) || !view.your_field || view.state !== 'drafting';
  if (!form.hidden) fillEditor($('#draft-clauses'), view.facts.clauses);
}

function addClause(event) {
  const editor = document.getElementById(event.currentTarget.dataset.editor);
  const row = clauseRow(editor);
  editor.append(row);
  numberClauses(editor);
  row.querySelector('input').focus();
}

/** The form's clauses, or null when two share a title (marked next to the second). */
function draftClauses(form) {
  const seen = new Set();
  const clauses = [];
  let duplicate = null;
  for (const row of form.querySelectorAll('.clause-row')) {
    const title = row.querySelector('.clause-title');
    const text = row.querySelector('.clause-text');
    const name = title.value.trim();
    if (seen.has(name)) {
      setControlMessage(title, `条款标题「${name}」重复：每条条款的标题须不同`);
      duplicate = duplicate || title;
    }
    seen.add(name);
    clauses.push({ title: name, text: text.value });
  }
  if (duplicate) duplicate.focus();
  return duplicate ? null : clauses;
}

async function proposeDraft(event) {
  event.preventDefault();
  clearMessages();
  const form = event.currentTarget;
  const clauses = draftClauses(form);
  if (!clauses) return;
  const done = busy(form);
  try {
    const made = await post(`/contracts/${contractId}/drafts`, { clauses });
    view = await get(`/contracts/${contractId}`);
    render();
    showStatus(`已提交第 ${made.number} 稿（摘要 ${made.sha256.slice(0, 16)}…），请对方审阅。`);
  } catch (error) {
    if (error instanceof ApiError) markInvalid(form, error.details);
    showError(error, { fieldLabel: fieldLabelIn(form) });
  } finally {
    done();
  }
}

function showSignatures() {
  const rows = clear($('#signature-rows'));
  for (const signature of view.signatures) {
    const who = signature.field === 'purchaser' ? view.parties.purchaser : view.parties.supplier;
    rows.append(el('tr', { dataset: { field: signature.field } },
      el('td', {}, label(FIELDS, signature.field), signature.certifies ? '（认证签名）' : ''),
      el('td', {}, who.name),
      el('td', { class: 'signature-state' }, label(SIGNATURE_STATES, signature.state)),
      el('td', {}, signature.signed_at ? timeEl(signature.signed_at) : '—')));
  }
  $('#contract-pdf').href = `api/v1/contracts/${contractId}/pdf`;
}

function mine() {
  return view.your_field ? view.signatures.find((s) => s.field === view.your_field) : null;
}

// ---------------------------------------------------------------------------- my signature

/** The user's registered signing keys whose private half this browser holds, newest first. */
async function localSigningKeys() {
  const [list, local] = await Promise.all([get('/keys'), localKeyIds('signing')]);
  return list.items.filter((key) => key.purpose === 'signing' && !key.revoked_at
    && key.user_id === user.id && local.has(key.key_id)).sort((a, b) => b.id - a.id);
}

/** The certificate the server will sign with: the newest unrevoked one still valid. */
function currentCertificate(certificates, now) {
  return certificates.filter((c) => !c.revoked_at && parseInstant(c.not_after) > now)
    .sort((a, b) => b.id - a.id)[0] ?? null;
}

async function showSignStep() {
  const step = $('#sign-step');
  const signature = mine();
  step.hidden = !SIGNER_ROLES.includes(user.role) || !signature || signature.state === 'signed';
  if (step.hidden) return;
  const now = await whenSynced();
  const [keys, certificates] = await Promise.all([localSigningKeys(), get('/contracts/certificates')]);
  const certificate = currentCertificate(certificates.items, now);
  const local = certificate && keys.some((k) => k.key_id === certificate.key_id);
  const box = clear($('#certificate'));
  $('#sign-contract').hidden = !local;
  $('#issue-certificate').hidden = local || keys.length === 0;
  $('#issue-certificate').dataset.key = keys.length ? keys[0].key_id : '';
  if (local) {
    box.append(el('p', { id: 'certificate-state' }, `签名证书：序列号 ${certificate.serial}，有效期至 `,
      timeEl(certificate.not_after), `；对应本浏览器中的签名密钥 ${shortKeyId(certificate.key_id)}。`));
  } else if (keys.length) {
    box.append(el('p', { id: 'certificate-state' }, certificate
      ? '您当前的签名证书对应的签名密钥不在本浏览器中：请为本浏览器中的签名密钥申请签名证书。'
      : '您还没有有效的签名证书：请为本浏览器中的签名密钥申请签名证书（平台核验身份后签发，证书载明本单位统一社会信用代码）。'));
  } else {
    box.append(el('p', { id: 'certificate-state' }, '本浏览器中没有您已登记的签名密钥。请先',
      el('a', { href: 'keys.html', target: '_blank', rel: 'noopener' }, '生成并登记签名密钥'),
      '（在新窗口打开），然后回到本页申请签名证书并签署。'));
  }
}

async function issueCertificate(event) {
  clearMessages();
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const issued = await post('/contracts/certificates', { key_id: button.dataset.key });
    showStatus(`签名证书已签发（序列号 ${issued.serial}）。`);
    await showSignStep();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** WebCrypto gives base64url r‖s (signing.js); the server takes standard base64. */
function toBase64(b64url) {
  const text = b64url.replace(/-/g, '+').replace(/_/g, '/');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

async function signContract(event) {
  clearMessages();
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const prepared = await post(`/contracts/${contractId}/signatures/prepare`);
    const pair = await loadLocal(prepared.key_id, 'signing');
    if (!pair) throw new Error('签名证书对应的签名密钥不在本浏览器中，未签名。');
    const signature = await sign(pair.privateKey, fromBase64(prepared.signed_attributes));
    view = await post(`/contracts/${contractId}/signatures/complete`,
      { prepare_id: prepared.prepare_id, signature: toBase64(signature) });
    render();
    await showAmendments();
    await showSecurities();
    showStatus(view.state === 'signed'
      ? '您已签署合同，双方均已签署：合同已加盖时间戳并可下载、验证。'
      : '您已签署合同，等待对方签署。');
    await showSignStep();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------- amendments

const AMENDMENT_STATES = { proposed: '待签署', signing: '签署中', signed: '已生效（双方签署）' };
let amendments = null;

/** The clauses in force: the last concluded amendment's, else the signed contract's. */
function inForceClauses() {
  const concluded = amendments.items.filter((a) => a.state === 'signed');
  return concluded.length ? concluded[concluded.length - 1].clauses : view.facts.clauses;
}

function openAmendment() {
  return amendments.items.find((a) => a.state !== 'signed') ?? null;
}

function changeText(change) {
  if (change.old === null || change.old === undefined) return `新增「${change.clause}」：${change.new}`;
  if (change.new === null || change.new === undefined) return `删除「${change.clause}」`;
  return `「${change.clause}」：${change.old} → ${change.new}`;
}

async function showAmendments() {
  const step = $('#amendments-step');
  step.hidden = view.state !== 'signed';
  if (step.hidden) return;
  amendments = await get(`/contracts/${contractId}/amendments`);
  const rows = clear($('#amendment-rows'));
  $('#amendments-empty').hidden = amendments.items.length > 0;
  $('#amendments-table').hidden = amendments.items.length === 0;
  for (const item of amendments.items) {
    rows.append(el('tr', { dataset: { amendment: item.number } },
      el('td', {}, `第 ${item.number} 号`),
      el('td', { class: 'amendment-state' }, label(AMENDMENT_STATES, item.state)),
      el('td', {}, el('p', {}, `理由：${item.reason}`),
        el('ul', { class: 'changes' }, ...item.changes.map((c) => el('li', {}, changeText(c))))),
      el('td', {}, el('code', { class: 'hash' }, item.base_sha256)),
      el('td', {}, el('code', { class: 'hash' }, item.sha256)),
      el('td', {}, el('a', {
        href: `api/v1/contracts/${contractId}/amendments/${item.number}/pdf`, target: '_blank',
        rel: 'noopener', 'aria-label': `第 ${item.number} 号变更协议 PDF（在新窗口打开）`,
      }, 'PDF'))));
  }
  const open = openAmendment();
  const party = SIGNER_ROLES.includes(user.role) && Boolean(view.your_field);
  const mineOpen = open && open.signatures.find((s) => s.field === view.your_field);
  $('#sign-amendment').hidden = !party || !mineOpen || mineOpen.state === 'signed';
  if (open) $('#sign-amendment').textContent = `签署第 ${open.number} 号变更协议`;
  const form = $('#amendment-form');
  form.hidden = !party || Boolean(open);
  if (!form.hidden) fillEditor($('#amendment-clauses'), inForceClauses());
}

/** The changes from the clauses in force to the edited ones, as the server takes them. */
function amendmentChanges(edited) {
  return clauseChanges(inForceClauses(), edited).map((c) => ({
    clause: c.title,
    old: c.kind === 'added' ? null : c.before,
    new: c.kind === 'removed' ? null : c.text,
  }));
}

async function proposeAmendment(event) {
  event.preventDefault();
  clearMessages();
  const form = event.currentTarget;
  const edited = draftClauses(form);
  if (!edited) return;
  const changes = amendmentChanges(edited);
  if (!changes.length) {
    showError(new Error('条款没有任何变化：请修改、增加或删除至少一条条款后再提交。'));
    return;
  }
  const done = busy(form);
  try {
    const made = await post(`/contracts/${contractId}/amendments`, {
      base_sha256: amendments.current_sha256, reason: $('#amendment-reason').value.trim(), changes,
    });
    done();
    form.reset();
    await showAmendments();
    showStatus(`已提交第 ${made.number} 号变更协议，等待双方签署。`);
  } catch (error) {
    done();
    if (error instanceof ApiError) markInvalid(form, error.details);
    showError(error, { fieldLabel: fieldLabelIn(form) });
  }
}

async function signAmendment(event) {
  clearMessages();
  const button = event.currentTarget;
  const open = openAmendment();
  if (!open) return;
  button.disabled = true;
  try {
    const base = `/contracts/${contractId}/amendments/${open.number}/signatures`;
    const prepared = await post(`${base}/prepare`);
    const pair = await loadLocal(prepared.key_id, 'signing');
    if (!pair) throw new Error('签名证书对应的签名密钥不在本浏览器中，未签名。');
    const signature = await sign(pair.privateKey, fromBase64(prepared.signed_attributes));
    const signed = await post(`${base}/complete`,
      { prepare_id: prepared.prepare_id, signature: toBase64(signature) });
    await showAmendments();
    showStatus(signed.state === 'signed'
      ? `您已签署第 ${signed.number} 号变更协议，双方均已签署：变更已生效。`
      : `您已签署第 ${signed.number} 号变更协议，等待对方签署。`);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------- bid securities

const METHODS = {
  bank_transfer: '银行转账', bank_guarantee: '银行保函', insurance: '保证保险', other: '其他',
};
const RETURN_STATES = { pending: '待退还', returned: '已退还', overdue: '逾期未退还' };
let sectionId = null;

/** The id of the contract's section (by its code, in the project the contract belongs to). */
async function contractSection() {
  if (!view.project_id) return null;
  const project = await get(`/projects/${view.project_id}`);
  const section = (project.sections ?? []).find((s) => s.code === view.facts.section.code);
  return section ? section.id : null;
}

async function showSecurities() {
  const step = $('#securities-step');
  step.hidden = true;
  if (view.state !== 'signed') return;
  sectionId = sectionId ?? await contractSection();
  if (!sectionId) return;
  let ledger;
  try {
    ledger = await get(`/sections/${sectionId}/contract/bid-securities`);
  } catch (error) {
    if (error instanceof ApiError) return; // no security was due in this section
    throw error;
  }
  step.hidden = false;
  $('#securities-days').textContent = String(ledger.return_days);
  clear($('#securities-due')).append(timeEl(ledger.due_at));
  const rows = clear($('#security-rows'));
  if (!ledger.items.length) {
    rows.append(el('tr', {}, el('td', { colspan: '6', class: 'empty' }, '无应退还的投标保证金。')));
  }
  for (const item of ledger.items) {
    const returned = item.returned;
    rows.append(el('tr', { dataset: { credit: item.credit_code } },
      el('td', {}, item.name, item.winner ? '（中标人）' : ''),
      el('td', {}, creditCodeEl(item.credit_code)),
      el('td', {}, label(METHODS, item.method)),
      el('td', { class: 'num' }, formatMoney(item.amount)),
      el('td', { class: 'return-state' }, label(RETURN_STATES, item.state)),
      el('td', {}, returned
        ? [timeEl(returned.returned_at), `，凭证 ${returned.reference}`,
          returned.interest ? `，利息 ${formatMoney(returned.interest)} 元` : '',
          returned.late ? '（逾期退还）' : '', returned.note ? `；${returned.note}` : '']
        : '—')));
  }
  const open = ledger.items.filter((item) => !item.returned);
  const form = $('#return-form');
  form.hidden = user.role !== 'procurer' || view.your_field !== 'purchaser' || !open.length;
  if (!form.hidden) {
    clear($('#return-bidder')).append(...open.map((item) => el('option', { value: item.credit_code },
      `${item.name}（${formatMoney(item.amount)} 元）`)));
  }
}

async function recordReturn(event) {
  event.preventDefault();
  clearMessages();
  const form = event.currentTarget;
  const body = {
    credit_code: $('#return-bidder').value,
    reference: $('#return-reference').value.trim(),
  };
  if ($('#return-interest').value.trim()) body.interest = $('#return-interest').value.trim();
  if ($('#return-note').value.trim()) body.note = $('#return-note').value.trim();
  const done = busy(form);
  try {
    await post(`/sections/${sectionId}/contract/bid-securities/returns`, body);
    form.reset();
    done();
    await showSecurities();
    showStatus('已登记退还投标保证金。');
  } catch (error) {
    done();
    if (error instanceof ApiError) markInvalid(form, error.details);
    showError(error, { fieldLabel: fieldLabelIn(form) });
  }
}

// ---------------------------------------------------------------------------- verification

function yes(value) {
  return value ? '是' : '否';
}

async function verifyContract(event) {
  clearMessages();
  const button = event.currentTarget;
  button.disabled = true;
  const box = clear($('#verification'));
  try {
    const report = await get(`/contracts/${contractId}/verification`);
    box.append(el('p', { id: 'verification-result', class: report.ok ? 'ok' : 'bad' }, report.ok
      ? `验证通过：${report.signers.length} 个签名完好、有效、可信${report.covers_whole_file ? '，覆盖整个文件' : ''}。`
      : `验证未通过：${report.reasons.join('；') || '签名不完整'}。`));
    if (report.document_timestamp) {
      box.append(el('p', {}, '文档时间戳：', timeEl(report.document_timestamp)));
    }
    if (!report.signers.length) return;
    box.append(el('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'verify-caption', tabindex: '0' },
      el('table', { class: 'data-table' },
        el('caption', { id: 'verify-caption' }, '各签名的验证结果'),
        el('thead', {}, el('tr', {}, ...['签署方', '签名人', '单位', '统一社会信用代码', '时间戳时间',
          '覆盖范围', '之后的修改', '完好', '有效', '可信', '结论'].map((t) => el('th', { scope: 'col' }, t)))),
        el('tbody', { id: 'verify-rows' }, ...report.signers.map((s) => el('tr', {},
          el('td', {}, label(FIELDS, s.field)),
          el('td', {}, s.signer ?? '—'),
          el('td', {}, s.organization ?? '—'),
          el('td', {}, s.credit_code ? creditCodeEl(s.credit_code) : '—'),
          el('td', {}, s.timestamp ? timeEl(s.timestamp) : '—'),
          el('td', {}, label(COVERAGE, s.coverage)),
          el('td', {}, label(MODIFICATIONS, s.modifications)),
          el('td', {}, yes(s.intact)), el('td', {}, yes(s.valid)), el('td', {}, yes(s.trusted)),
          el('td', {}, s.bottom_line ? '通过' : '未通过')))))));
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------- start

function render() {
  showFacts();
  showDrafts();
  showDraftForm();
  showSignatures();
}

async function showContract() {
  try {
    view = await get(`/contracts/${contractId}`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    append(clear($('#contract-denied')), error.message);
    $('#contract-denied').hidden = false;
    return;
  }
  $('#contract-page').hidden = false;
  render();
  await showSignStep();
  await showAmendments();
  await showSecurities();
}

async function main() {
  user = await initLayout();
  if (!user) {
    $('#contract-login').hidden = false;
    return;
  }
  if (!READER_ROLES.includes(user.role)) {
    $('#contract-denied').hidden = false;
    return;
  }
  $('#diff-form').addEventListener('submit', showDiff);
  $('#draft-form').addEventListener('submit', proposeDraft);
  $('#add-clause').addEventListener('click', addClause);
  $('#add-amendment-clause').addEventListener('click', addClause);
  $('#amendment-form').addEventListener('submit', proposeAmendment);
  $('#sign-amendment').addEventListener('click', signAmendment);
  $('#return-form').addEventListener('submit', recordReturn);
  $('#issue-certificate').addEventListener('click', issueCertificate);
  $('#sign-contract').addEventListener('click', signContract);
  $('#verify').addEventListener('click', verifyContract);
  contractId = idParam('id');
  try {
    if (contractId) await showContract();
    else await showList();
  } catch (error) {
    showError(error);
  }
}

main();
