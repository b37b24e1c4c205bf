// 项目监督查看: a read-only view of one project for its supervisors — the project's file and its
// timeline (GET /projects/{id}/timeline). It holds no form and no button: nothing here changes
// anything. Every text goes in through el() (textContent), never as HTML.

import { get } from '../api.js';
import { initLayout } from '../layout.js';
import {
  $, append, el, idParam, label, PROCEDURES, PROJECT_STATES, SECTION_STATES,
  showError, timeEl, TRADE_TYPES,
} from '../ui.js';

function facts(target, pairs) {
  for (const [term, value] of pairs) {
    target.append(el('dt', {}, term), append(el('dd', {}), value));
  }
}

function renderProject(project) {
  document.title = `${project.name} — 项目监督查看 — 电子招标投标交易平台`;
  $('#project-title').textContent = `项目监督查看：${project.name}`;
  facts($('#project-facts'), [
    ['项目名称', project.name],
    ['项目编号', project.code],
    ['交易类型', label(TRADE_TYPES, project.trade_type)],
    ['招标方式', label(PROCEDURES, project.procedure)],
    ['项目业主', project.owner_name],
    ['状态', label(PROJECT_STATES, project.state)],
    ['登记时间', timeEl(project.created_at)],
    ['项目概况', project.content],
  ]);
  // The tendering period's records (download log, answers, clarifications, securities) stay on
  // tender.html, which shows a supervisor only lists; a registered project has none yet.
  if (project.state !== 'registered') {
    $('#tender-link-a').href = `tender.html?project=${project.id}`;
    $('#tender-link').hidden = false;
  }
  $('#section-rows').replaceChildren(...project.sections.map((section) => el('tr', {},
    el('td', {}, section.code),
    el('td', {}, section.name),
    el('td', {}, label(SECTION_STATES, section.state)),
    el('td', {}, section.bid_deadline ? timeEl(section.bid_deadline) : '—'))));
}

function renderTimeline(timeline) {
  $('#timeline').replaceChildren(...timeline.items.map((item) => el('li', {},
    timeEl(item.occurred_at), ' ', el('span', { class: 'timeline-label' }, item.label))));
  $('#timeline-empty').hidden = timeline.items.length > 0;
}

async function main() {
  const user = await initLayout();
  if (!user) {
    $('#supervise-login').hidden = false;
    return;
  }
  const id = idParam('project');
  if (!id) {
    showError(new Error('缺少项目编号：请从“我的项目”打开本页。'));
    return;
  }
  try {
    const [project, timeline] = await Promise.all([
      get(`/projects/${id}`), get(`/projects/${id}/timeline`)]);
    renderProject(project);
    renderTimeline(timeline);
    $('#supervise-body').hidden = false;
  } catch (error) {
    showError(error);
  }
}

main();
