// 我的项目: the projects the logged-in user works on.

import { get, post } from '../api.js';
import { canManageProjects, initLayout } from '../layout.js';
import {
  $, el, label, PROCEDURES, PROJECT_STATES, showError, showStatus, timeEl,
} from '../ui.js';

const GRANTS = { owner: '招标人', host: '招标代理机构' };

let cursor = null;

const MARKS = { obtained: '已获取招标文件', bid: '已递交投标文件' };

let bidderView = false;
// A supervisor (行政监督部门) reads and never runs a project: its one action is the read-only
// view (supervise.html), not the agency's or the tender pages' edit controls.
let supervisorView = false;

function row(project) {
  const actions = el('td', {});
  if (supervisorView) {
    actions.append(el('a', { href: `supervise.html?project=${project.id}`,
      'aria-label': `查看：${project.name}` }, '查看'));
  } else if (project.state === 'registered') {
    actions.append(el('a', { href: `agency.html?project=${project.id}` }, '上传文件并发布公告'));
  } else {
    // The tendering period's business: documents, questions, clarifications, securities.
    actions.append(el('a', { href: `tender.html?project=${project.id}`,
      'aria-label': `办理：${project.name}` }, '办理'));
    if (!bidderView) {
      actions.append(' · ', el('a', { href: `agency.html?project=${project.id}`,
        'aria-label': `查看登记信息：${project.name}` }, '登记信息'));
    }
  }
  return el('tr', {},
    el('td', {}, project.code),
    el('td', {}, project.name),
    el('td', {}, label(PROCEDURES, project.procedure)),
    el('td', {}, label(PROJECT_STATES, project.state)),
    el('td', {}, timeEl(project.created_at)),
    bidderView ? el('td', { class: 'marks' },
      project.marks.length ? project.marks.map((mark) => label(MARKS, mark)).join('、') : '—')
      : null,
    actions);
}

// 委托 is mutual: a project that names our organisation waits here for our answer.
function requestRow(request) {
  const accept = el('button', { type: 'button', class: 'primary' }, '接受委托');
  const decline = el('button', { type: 'button' }, '拒绝');
  // Declining is final: it asks once more in the row itself (no browser dialog).
  const confirmDecline = el('button', { type: 'button', class: 'danger' }, '确认拒绝（不可撤回）');
  const cancel = el('button', { type: 'button' }, '取消');
  const confirming = el('span', { hidden: '' }, confirmDecline, ' ', cancel);
  const buttons = el('span', {}, accept, ' ', decline);
  const tr = el('tr', {},
    el('td', {}, request.project_code),
    el('td', {}, request.project_name),
    el('td', {}, `${request.requested_by.name}（${request.requested_by.credit_code}）`),
    el('td', {}, label(GRANTS, request.grant)),
    el('td', {}, timeEl(request.registered_at)),
    el('td', {}, buttons, confirming));
  const all = [accept, decline, confirmDecline, cancel];
  async function answer(verb) {
    all.forEach((button) => { button.disabled = true; });
    try {
      await post(`/projects/${request.project_id}/entrustment/${verb}`);
      tr.remove();
      $('#requests').hidden = $('#request-rows').children.length === 0;
      showStatus(verb === 'accept' ? `已接受“${request.project_name}”的委托。`
        : `已拒绝“${request.project_name}”的委托。`);
      if (verb === 'accept') {
        $('#project-rows').replaceChildren();
        cursor = null;
        load();
      }
    } catch (error) {
      all.forEach((button) => { button.disabled = false; });
      showError(error);
    }
  }
  accept.addEventListener('click', () => answer('accept'));
  decline.addEventListener('click', () => {
    buttons.hidden = true;
    confirming.hidden = false;
    confirmDecline.focus();
  });
  cancel.addEventListener('click', () => {
    confirming.hidden = true;
    buttons.hidden = false;
    decline.focus();
  });
  confirmDecline.addEventListener('click', () => answer('decline'));
  return tr;
}

async function loadRequests() {
  try {
    const requests = await get('/entrustment-requests');
    $('#request-rows').replaceChildren(...requests.items.map(requestRow));
    $('#requests').hidden = requests.items.length === 0;
  } catch (error) {
    showError(error);
  }
}

async function load() {
  const more = $('#more');
  more.disabled = true;
  try {
    const page = await get('/projects', { cursor });
    $('#project-rows').append(...page.items.map(row));
    cursor = page.next_cursor;
    $('#projects-empty').hidden = $('#project-rows').children.length > 0;
    more.hidden = !cursor;
    $('#projects-list').hidden = false;
  } catch (error) {
    showError(error);
  } finally {
    more.disabled = false;
  }
}

async function main() {
  const user = await initLayout();
  if (!user) {
    $('#projects-login').hidden = false;
    return;
  }
  bidderView = user.role === 'bidder';
  supervisorView = user.role === 'supervisor';
  if (bidderView) {
    $('#projects-hint').hidden = false;
    $('#marks-head').hidden = false;
  }
  $('#more').addEventListener('click', load);
  if (canManageProjects(user)) loadRequests();
  load();
}

main();
