// 公告详情: one public notice with its key times in Beijing time.

import { get } from '../api.js';
import { initLayout } from '../layout.js';
import {
  $, append, el, formatMoney, idParam, label, NOTICE_KINDS, PROCEDURES, SECTION_STATES,
  showError, timeEl, TRADE_TYPES,
} from '../ui.js';

function facts(target, pairs) {
  for (const [term, value, id] of pairs.filter(Boolean)) {
    target.append(el('dt', {}, term), append(el('dd', { id }), value));
  }
}

/** A bidder may bid on a section taking bids: the link to the bid page. */
function bidCell(notice, section) {
  if (section.state === 'tendering') {
    return el('a', { href: `bid.html?section=${section.id}&notice=${notice.id}`,
      'aria-label': `递交投标文件：${section.code} ${section.name}` }, '递交投标文件');
  }
  return '—';
}

/** The notices after the evaluation (公示, 结果, 失败, 合同) have no tendering times of their own. */
const AFTER_EVALUATION = new Set(['candidates', 'result', 'failed', 'contract']);

function render(notice, user) {
  document.title = `${notice.title} — 电子招标投标交易平台`;
  $('#notice-title').textContent = notice.title;
  $('#notice-kind').textContent = label(NOTICE_KINDS, notice.kind);
  append($('#notice-published'), timeEl(notice.published_at));
  const tendering = !AFTER_EVALUATION.has(notice.kind);
  $('#times-section').hidden = !tendering;
  const period = el('span', {}, timeEl(notice.doc_start), ' 至 ', timeEl(notice.doc_end));
  facts($('#notice-times'), [
    ['招标文件获取时间', period, 'doc-period'],
    ['澄清截止时间', timeEl(notice.clarification_deadline), 'clarification-deadline'],
    ['投标截止时间（开标时间）', timeEl(notice.bid_deadline), 'bid-deadline'],
    ['开标地点', notice.opening_place || '—', 'opening-place'],
  ]);
  facts($('#notice-project'), [
    ['项目名称', notice.project_name, 'project-name'],
    ['项目编号', notice.project_code, 'project-code'],
    ['交易类型', label(TRADE_TYPES, notice.trade_type), 'trade-type'],
    ['招标方式', label(PROCEDURES, notice.procedure), 'procedure'],
    ['行政区划代码', notice.region_code, 'region-code'],
    tendering ? ['是否接受联合体投标', notice.consortium_allowed ? '接受' : '不接受', 'consortium'] : null,
    ['联系方式', notice.contact || '—', 'contact'],
  ]);
  const content = $('#notice-content');
  for (const paragraph of String(notice.content).split(/\n{2,}/)) {
    content.append(el('p', {}, paragraph));
  }
  const bidder = Boolean(user) && user.role === 'bidder';
  if (user && notice.kind === 'tender') {
    $('#notice-tender-link').href = `tender.html?project=${notice.project_id}`;
    if (!bidder) $('#notice-tender-link').textContent = '招标文件、答疑、澄清与保证金';
    $('#notice-tender').hidden = false;
  }
  if (bidder) $('#sections-head').append(el('th', { scope: 'col' }, '投标'));
  $('#notice-sections').append(...notice.sections.map((section) => el('tr', {},
    el('td', {}, section.code),
    el('td', {}, section.name),
    el('td', {}, section.content),
    el('td', { class: 'num' }, formatMoney(section.ceiling_price)),
    el('td', { class: 'num' }, formatMoney(section.bid_security)),
    el('td', {}, label(SECTION_STATES, section.state)),
    el('td', {}, el('a', { href: `hall.html?section=${section.id}`,
      'aria-label': `进入开标大厅：${section.code} ${section.name}` }, '进入开标大厅')),
    bidder ? el('td', {}, bidCell(notice, section)) : null)));
  $('#notice-body').hidden = false;
}

async function main() {
  const layout = initLayout();
  const id = idParam('id');
  if (id === null) {
    showError(new Error('未指定公告 (no notice given)'));
    return;
  }
  try {
    const [notice, user] = await Promise.all([get(`/notices/${id}`), layout]);
    render(notice, user);
  } catch (error) {
    showError(error);
  }
}

main();
