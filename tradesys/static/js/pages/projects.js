// 我的项目: the projects the logged-in user works on.

import { get } from '../api.js';
import { initLayout } from '../layout.js';
import { $, el, label, PROCEDURES, PROJECT_STATES, showError, timeEl } from '../ui.js';

let cursor = null;

function row(project) {
  const action = project.state === 'registered'
    ? el('a', { href: `agency.html?project=${project.id}` }, '上传文件并发布公告')
    : el('a', { href: `agency.html?project=${project.id}` }, '查看');
  return el('tr', {},
    el('td', {}, project.code),
    el('td', {}, project.name),
    el('td', {}, label(PROCEDURES, project.procedure)),
    el('td', {}, label(PROJECT_STATES, project.state)),
    el('td', {}, timeEl(project.created_at)),
    el('td', {}, action));
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
  $('#more').addEventListener('click', load);
  load();
}

main();
