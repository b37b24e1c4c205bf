// 平台运维: the operator's console. Organisations (register, correct, disable), users and roles
// (create, disable, one-time reset links), which supervising departments may see a project, and
// the platform's state (readiness, scheduler, report relay, dead letters with replay).
// Admin only: the server refuses everyone else (403) whatever this page shows. Every text goes
// in through el() (textContent), never as HTML.

import { ApiError, get, newIdempotencyKey, post, request } from '../api.js';
import { isValidCreditCode } from '../format.js';
import { initLayout } from '../layout.js';
import {
  $, busy, clearInvalid, clearMessages, creditCodeEl, el, fieldLabelIn, label, markInvalid,
  PROJECT_STATES, ROLES, setControlMessage, showError, showStatus, timeEl,
} from '../ui.js';

const CODE_MESSAGE = '统一社会信用代码无效：须为18位，且末位校验码正确';
/** Which control an API refusal is about, per form: error code → control id. */
const FIELD_OF_CODE = {
  invalid_credit_code: ['#org-code', '#org-edit-code'],
  organisation_exists: ['#org-code', '#org-edit-code'],
  username_taken: ['#user-name'],
  weak_password: ['#user-password'],
};

let organisations = [];
let users = [];
let editing = null;

/**
 * A button whose accessible name says what it acts on: "停用：某公司" (aria-label, as 我的项目's
 * links do: a visually hidden span, absolutely placed, would escape the table's scroll box).
 */
function actionButton(text, target, attributes = {}) {
  return el('button', { type: 'button', 'aria-label': `${text}：${target}`, ...attributes }, text);
}

/** Show an API refusal next to its control when we know which one, and in the alert region. */
function refuse(form, error) {
  const controls = error instanceof ApiError ? FIELD_OF_CODE[error.code] || [] : [];
  const control = controls.map((id) => $(id, form)).find(Boolean);
  if (control) {
    setControlMessage(control, error.message);
    control.focus();
  } else {
    const first = markInvalid(form, error && error.details);
    if (first) first.focus();
  }
  showError(error, { fieldLabel: fieldLabelIn(form) });
}

/** The code as the API will store it (trimmed, upper-cased), or null with a message shown. */
function checkedCode(input) {
  const code = input.value.trim().toUpperCase();
  if (!isValidCreditCode(code)) {
    setControlMessage(input, CODE_MESSAGE);
    input.focus();
    return null;
  }
  setControlMessage(input, null);
  return code;
}

// ---------------------------------------------------------------------------- organisations

function orgName(id) {
  const org = organisations.find((item) => item.id === id);
  return org ? org.name : `#${id}`;
}

function orgRow(org) {
  const toggle = actionButton(org.active ? '停用' : '启用', org.name,
    org.active ? { class: 'danger' } : {});
  toggle.addEventListener('click', () => setOrgActive(org, !org.active));
  const edit = actionButton('修改', org.name);
  edit.addEventListener('click', () => startEdit(org));
  return el('tr', {},
    el('td', {}, org.name),
    el('td', {}, creditCodeEl(org.credit_code)),
    el('td', {}, String(org.users)),
    el('td', {}, org.active ? '正常' : '已停用'),
    el('td', { class: 'row-actions' }, edit, ' ', toggle));
}

function fillSelect(select, options, placeholder) {
  const keep = select.value;
  select.replaceChildren(el('option', { value: '' }, placeholder),
    ...options.map(([value, text]) => el('option', { value: String(value) }, text)));
  if (options.some(([value]) => String(value) === keep)) select.value = keep;
}

function renderOrganisations() {
  $('#org-rows').replaceChildren(...organisations.map(orgRow));
  fillSelect($('#user-org'), organisations.filter((org) => org.active)
    .map((org) => [org.id, org.name]), '请选择机构');
}

async function loadOrganisations() {
  organisations = (await get('/organisations')).items;
  renderOrganisations();
}

async function createOrganisation(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearMessages();
  clearInvalid(form);
  const code = checkedCode($('#org-code'));
  if (!code) return;
  const name = $('#org-name').value.trim();
  const done = busy(form);
  try {
    const org = await post('/organisations', { name, credit_code: code },
      { idempotencyKey: newIdempotencyKey() });
    form.reset();
    await refreshRegistry();
    showStatus(`已登记机构：${org.name}。`);
  } catch (error) {
    refuse(form, error);
  } finally {
    done();
  }
}

function startEdit(org) {
  editing = org;
  const form = $('#org-edit-form');
  clearInvalid(form);
  $('#org-edit-name').value = org.name;
  $('#org-edit-code').value = org.credit_code;
  $('#org-edit-heading').textContent = `修改机构：${org.name}`;
  form.hidden = false;
  $('#org-edit-name').focus();
}

function stopEdit() {
  editing = null;
  $('#org-edit-form').hidden = true;
}

async function saveOrganisation(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (!editing) return;
  clearMessages();
  const code = checkedCode($('#org-edit-code'));
  if (!code) return;
  const done = busy(form);
  try {
    const org = await request(`/organisations/${editing.id}`, {
      method: 'PATCH', json: { name: $('#org-edit-name').value.trim(), credit_code: code },
    });
    stopEdit();
    await refreshRegistry();
    showStatus(`已保存机构信息：${org.name}。`);
  } catch (error) {
    refuse(form, error);
  } finally {
    done();
  }
}

async function setOrgActive(org, active) {
  clearMessages();
  try {
    await post(`/organisations/${org.id}/${active ? 'enable' : 'disable'}`, {});
    await refreshRegistry();
    showStatus(active ? `已启用机构：${org.name}。`
      : `已停用机构：${org.name}。该机构的用户已无法登录。`);
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------------------- users

function userRow(user) {
  const toggle = actionButton(user.active ? '停用' : '启用', user.username,
    user.active ? { class: 'danger' } : {});
  toggle.addEventListener('click', () => setUserActive(user, !user.active));
  const reset = actionButton('重置密码', user.username);
  reset.disabled = !user.active;
  reset.addEventListener('click', () => makeResetLink(user));
  return el('tr', {},
    el('td', {}, user.username),
    el('td', {}, user.display_name),
    el('td', {}, orgName(user.org_id)),
    el('td', {}, label(ROLES, user.role)),
    el('td', {}, user.active ? '正常' : '已停用'),
    el('td', { class: 'row-actions' }, reset, ' ', toggle));
}

function renderUsers() {
  $('#user-rows').replaceChildren(...users.map(userRow));
  const supervising = new Set(users.filter((u) => u.role === 'supervisor').map((u) => u.org_id));
  fillSelect($('#grant-org'), organisations.filter((org) => supervising.has(org.id))
    .map((org) => [org.id, org.name]), '请选择监督部门');
}

async function loadUsers() {
  users = (await get('/users')).items;
  renderUsers();
}

async function refreshRegistry() {
  await loadOrganisations();
  await loadUsers();
}

async function createUser(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearMessages();
  clearInvalid(form);
  const body = {
    org_id: Number($('#user-org').value),
    username: $('#user-name').value.trim(),
    display_name: $('#user-display').value.trim(),
    password: $('#user-password').value,
    role: $('#user-role').value,
  };
  const done = busy(form);
  try {
    const user = await post('/users', body, { idempotencyKey: newIdempotencyKey() });
    form.reset();
    await refreshRegistry();
    showStatus(`已创建用户：${user.username}（${label(ROLES, user.role)}）。`);
  } catch (error) {
    refuse(form, error);
  } finally {
    done();
  }
}

async function setUserActive(user, active) {
  clearMessages();
  try {
    await post(`/users/${user.id}/${active ? 'enable' : 'disable'}`, {});
    await loadUsers();
    showStatus(active ? `已启用用户：${user.username}。`
      : `已停用用户：${user.username}。其登录会话与 API 令牌已失效。`);
  } catch (error) {
    showError(error);
  }
}

async function makeResetLink(user) {
  clearMessages();
  try {
    const answer = await post(`/users/${user.id}/password-reset`, {});
    const link = new URL(answer.link, location.href).href;
    $('#reset-result-text').replaceChildren(`用户 ${answer.username} 的一次性链接，有效期至 `,
      timeEl(answer.expires_at), '（北京时间）。');
    $('#reset-link').value = link;
    const box = $('#reset-result');
    box.hidden = false;
    box.focus();
    showStatus(`已为 ${answer.username} 生成重置密码链接；此前生成的链接已作废。`);
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------------------- grants

async function loadProjects() {
  const page = await get('/projects', { limit: 100 });
  fillSelect($('#grant-project'), page.items.map((p) => [p.id,
    `${p.code} ${p.name}（${label(PROJECT_STATES, p.state)}）`]), '请选择项目');
}

function grantRow(projectId, grant) {
  const revoke = actionButton('收回', grant.name);
  revoke.addEventListener('click', async () => {
    clearMessages();
    try {
      await request(`/projects/${projectId}/supervisors/${grant.org_id}`, { method: 'DELETE' });
      await loadGrants();
      showStatus(`已收回 ${grant.name} 的查看权。`);
    } catch (error) {
      showError(error);
    }
  });
  return el('tr', {},
    el('td', {}, grant.name),
    el('td', {}, creditCodeEl(grant.credit_code)),
    el('td', {}, timeEl(grant.granted_at)),
    el('td', {}, revoke));
}

async function loadGrants() {
  const projectId = Number($('#grant-project').value);
  const grantForm = $('#grant-form');
  if (!projectId) {
    $('#grant-rows').replaceChildren();
    $('#grants-empty').hidden = false;
    grantForm.hidden = true;
    return;
  }
  const answer = await get(`/projects/${projectId}/supervisors`);
  $('#grant-rows').replaceChildren(...answer.items.map((g) => grantRow(projectId, g)));
  $('#grants-empty').hidden = answer.items.length > 0;
  grantForm.hidden = false;
}

async function grantSupervisor(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const projectId = Number($('#grant-project').value);
  clearMessages();
  const done = busy(form);
  try {
    const grant = await post(`/projects/${projectId}/supervisors`,
      { org_id: Number($('#grant-org').value) }, { idempotencyKey: newIdempotencyKey() });
    await loadGrants();
    showStatus(`已授权 ${grant.name} 查看该项目。`);
  } catch (error) {
    refuse(form, error);
  } finally {
    done();
  }
}

// ---------------------------------------------------------------------------- operations

const STATUS = { ready: '就绪', unavailable: '不可用' };

function background(state, name) {
  if (!state.configured) return name === 'relay' ? '未配置（未设置报送地址）' : '未配置';
  const parts = [state.running ? '运行中' : '未运行'];
  if (state.interval_seconds !== null) parts.push(`每 ${state.interval_seconds} 秒一轮`);
  if (state.passes !== null && state.passes !== undefined) parts.push(`已运行 ${state.passes} 轮`);
  return parts.join('，');
}

async function loadOperations() {
  const [ops, platform] = await Promise.all([get('/operations/status'), get('/platform/status')]);
  const facts = [
    ['就绪检查', `${label(STATUS, ops.readiness.status)}（数据库：${
      ops.readiness.database === 'ok' ? '正常' : '无法连接'}；事件日志序号 ${
      ops.readiness.event_chain_seq ?? '—'}）`],
    ['调度器', background(ops.scheduler, 'scheduler')],
    ['调度器上一轮', timeEl(ops.scheduler.last_pass_at)],
    ['报送中继', background(ops.relay, 'relay')],
    ['报送积压', `待报送 ${platform.counts.pending} 条，已报送 ${platform.counts.delivered} 条，死信 ${platform.counts.dead} 条`],
    ['最早未报送', platform.oldest_undelivered_age_seconds === null ? '—'
      : `${Math.round(platform.oldest_undelivered_age_seconds)} 秒前`],
    ['检查时间', timeEl(ops.checked_at)],
  ];
  $('#ops-facts').replaceChildren(...facts.flatMap(([term, value]) => [
    el('dt', {}, term), el('dd', {}, value)]));
  $('#dead-rows').replaceChildren(...platform.dead.map((row) => el('tr', {},
    el('td', {}, String(row.id)),
    el('td', {}, row.project_id === null ? '—' : String(row.project_id)),
    el('td', {}, row.dataset),
    el('td', {}, String(row.attempts)),
    el('td', { class: 'hash' }, row.last_error || '—'))));
  $('#dead-empty').hidden = platform.dead.length > 0;
  $('#replay').disabled = platform.dead.length === 0;
}

async function replay() {
  clearMessages();
  try {
    const answer = await post('/operations/replay', {}, { idempotencyKey: newIdempotencyKey() });
    await loadOperations();
    showStatus(`已将 ${answer.requeued} 条死信重新排入报送队列。`);
  } catch (error) {
    showError(error);
  }
}

async function main() {
  const user = await initLayout();
  if (!user) {
    $('#console-login').hidden = false;
    return;
  }
  if (user.role !== 'admin') {
    $('#console-forbidden').hidden = false;
    return;
  }
  $('#org-form').addEventListener('submit', createOrganisation);
  $('#org-edit-form').addEventListener('submit', saveOrganisation);
  $('#org-edit-cancel').addEventListener('click', stopEdit);
  $('#user-form').addEventListener('submit', createUser);
  $('#grant-form').addEventListener('submit', grantSupervisor);
  $('#grant-project').addEventListener('change', () => loadGrants().catch(showError));
  $('#ops-refresh').addEventListener('click', () => {
    clearMessages();
    loadOperations().then(() => showStatus('运行状态已刷新。')).catch(showError);
  });
  $('#replay').addEventListener('click', replay);
  try {
    await refreshRegistry();
    await loadProjects();
    await loadGrants();
    await loadOperations();
    $('#console-body').hidden = false;
  } catch (error) {
    showError(error);
  }
}

main();
