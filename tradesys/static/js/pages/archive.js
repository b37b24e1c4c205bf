// 电子档案: the archives of ended projects (docs/archive.md "Retrieval", docs/ui.md). Two views
// on one page, for the roles that read archives (the project's procurer and agency, its granted
// supervisors, the admin as the archive administrator; the server decides per archive):
//   archive.html        the search (项目编号, 统一社会信用代码, 归档日期 from/to) and its results;
//   archive.html?id=N   one version: its metadata, its index with a download per file, the
//                       whole bag as a tar, and the server's run of the offline verifier.
// A credit code is checked in the page (format.js isValidCreditCode, the twin of the server's)
// so a typo is told in Chinese and nothing is sent. Everything shown goes through textContent.

import { ApiError, get } from '../api.js';
import { canReadArchives, initLayout } from '../layout.js';
import {
  $, append, clear, clearMessages, creditCodeEl, el, formatSize, idParam, label, setControlMessage,
  showError, showStatus, timeEl,
} from '../ui.js';
import { isValidCreditCode, longDate } from '../format.js';

/** What the verifier counts (archive/verify.py report.count), in Chinese. */
const CHECKED = {
  'payload files': '文件', 'index entries': '目录条目', seal: '封存签名', events: '事件',
  'inclusion proofs': '包含证明', receipts: '投标回执', notices: '中标/结果通知书',
  'expert score sheets': '专家评分表', 'expert report signatures': '评标报告签名',
  'opening record confirmations': '开标记录确认', 'time stamps': '时间戳',
  'signed contracts': '已签署合同', consistency: '一致性证明',
};

const NOT_FOUND = '档案不存在，或您无权查阅该档案。';

let cursor = null;
let query = {};

// ---------------------------------------------------------------------------- the search

function listRow(item) {
  const project = `${item.project.name}（${item.project.code}）`;
  return el('tr', { dataset: { archive: item.id } },
    el('td', {}, project),
    el('td', { class: 'num' }, `第 ${item.version} 版`),
    el('td', {}, timeEl(item.built_at)),
    el('td', {}, item.retention ? item.retention.title : '—'),
    el('td', {}, el('code', { class: 'hash' }, item.sha256)),
    el('td', {}, el('a', {
      href: `archive.html?id=${encodeURIComponent(item.id)}`,
      'aria-label': `查阅 ${project} 第 ${item.version} 版档案`,
    }, '查阅')));
}

async function loadList(fresh) {
  const more = $('#more');
  more.disabled = true;
  try {
    const page = await get('/archives', { ...query, cursor: fresh ? null : cursor });
    const rows = $('#list-rows');
    if (fresh) clear(rows);
    rows.append(...page.items.map(listRow));
    cursor = page.next_cursor;
    const any = rows.children.length > 0;
    $('#list-empty').hidden = any;
    $('#list-table').hidden = !any;
    more.hidden = !cursor;
    return page.items.length;
  } finally {
    more.disabled = false;
  }
}

/** The credit code as the API takes it (trimmed, upper case), and whether it is well formed. */
function creditInput() {
  const input = $('#search-credit');
  const value = input.value.trim().toUpperCase();
  input.setCustomValidity(value && !isValidCreditCode(value) ? 'invalid' : '');
  return value;
}

/** 归档日期（止） before 归档日期（起）: told next to it, as the API would refuse it. */
function rangeInput() {
  const from = $('#search-from').value;
  const to = $('#search-to');
  to.setCustomValidity(from && to.value && from > to.value ? 'range' : '');
  to.dataset.message = '归档日期（止）不能早于归档日期（起）';
}

async function search(event) {
  event.preventDefault();
  clearMessages();
  const form = event.currentTarget;
  const code = $('#search-code').value.trim();
  query = {
    code: code || null, credit_code: creditInput() || null,
    from: $('#search-from').value || null, to: $('#search-to').value || null,
  };
  try {
    const found = await loadList(true);
    showStatus(found ? `找到 ${$('#list-rows').children.length} 个档案${cursor ? '（还有更多）' : ''}。`
      : '没有符合条件的档案。');
  } catch (error) {
    showError(error);
  }
  form.querySelector('button[type="submit"]').focus();
}

async function showList() {
  $('#list-step').hidden = false;
  const form = $('#search-form');
  form.addEventListener('submit', search);
  form.addEventListener('reset', () => {
    clearMessages();
    for (const control of form.elements) {
      if (control.setCustomValidity) control.setCustomValidity('');
      if (control.id) setControlMessage(control, null);
    }
    query = {};
    loadList(true).catch(showError);
  });
  $('#more').addEventListener('click', () => loadList(false).catch(showError));
  await loadList(true);
}

// ---------------------------------------------------------------------------- one archive

function partyText(party) {
  if (!party) return ['—'];
  return [party.name, ' ', creditCodeEl(party.credit_code)];
}

function parties(list) {
  if (!list || !list.length) return ['—'];
  return [el('ul', { class: 'party-list' }, ...list.map((p) => el('li', {}, ...partyText(p))))];
}

function retentionText(retention) {
  if (!retention) return '—';
  const until = retention.until ? `，至 ${longDate(retention.until)}` : '';
  return `${retention.title}${until}${retention.standard ? `（${retention.standard}）` : ''}`;
}

function showFacts(archiveId, view) {
  const dl = clear($('#archive-facts'));
  const row = (term, ...value) => dl.append(el('dt', {}, term), el('dd', {}, ...value));
  row('项目', el('span', { id: 'archive-project' }, `${view.project.name}（${view.project.code}）`));
  row('档案版本', `第 ${view.version} 版`);
  if (view.previous_sha256) {
    row('更正的前一版本（SHA-256）', el('code', { class: 'hash' }, view.previous_sha256));
  }
  row('归档时间', timeEl(view.built_at));
  row('保管期限', el('span', { id: 'archive-retention' }, retentionText(view.retention)));
  const p = view.parties || {};
  row('招标人', ...partyText(p.procurer));
  row('招标代理机构', ...partyText(p.agency));
  row('投标人', ...parties(p.bidders));
  row('中标人（合同乙方）', ...parties(p.suppliers));
  if (view.dates && view.dates.ended_at) row('项目结束时间', timeEl(view.dates.ended_at));
  row('文件', `${view.payload_files} 个，共 ${formatSize(view.payload_octets)}`);
  row('档案摘要（SHA-256）', el('code', { class: 'hash', id: 'archive-sha256' }, view.sha256));
  const sections = clear($('#section-rows'));
  for (const s of view.sections || []) {
    sections.append(el('tr', {},
      el('td', {}, s.code), el('td', {}, s.name), el('td', {}, s.ending_title ?? s.ending),
      el('td', {}, timeEl(s.ended_at))));
  }
  if (!sections.children.length) sections.append(el('tr', {}, el('td', { colspan: '4' }, '—')));
  $('#download-all').href = `api/v1/archives/${archiveId}/download`;
}

/** The file's URL: each path segment encoded (a bag path is data/… with ASCII-safe names). */
function fileHref(archiveId, path) {
  return `api/v1/archives/${archiveId}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** A kind (``platform_report.BID_OPENING_RECORD``) that may break after each _ or . only. */
function kindEl(kind) {
  const parts = kind.split(/(?<=[_.])/);
  return el('code', { class: 'kind' }, ...parts.flatMap((part, i) => (i ? [el('wbr'), part] : [part])));
}

function showIndex(archiveId, view) {
  const rows = clear($('#index-rows'));
  for (const file of view.files) {
    const title = file.title ?? file.path ?? '—';
    rows.append(el('tr', { dataset: { path: file.path ?? '' } },
      el('td', { class: 'file-title' }, title),
      el('td', {}, file.kind ? kindEl(file.kind) : '—'),
      el('td', {}, file.section ?? '—'),
      el('td', {}, file.date ? timeEl(file.date) : '—'),
      el('td', { class: 'num' }, file.size === null ? '—' : formatSize(file.size)),
      el('td', {}, file.sha256 ? el('code', { class: 'hash' }, file.sha256) : '—'),
      el('td', {}, file.path ? el('a', {
        href: fileHref(archiveId, file.path), download: file.path.split('/').pop(),
        'aria-label': `下载「${title}」`,
      }, '下载') : '—')));
  }
}

async function verify(archiveId, button) {
  clearMessages();
  button.disabled = true;
  const box = clear($('#verification'));
  box.setAttribute('aria-busy', 'true');
  showStatus('正在校验档案（逐一重算全部文件的摘要，档案较大时需要一些时间）…');
  try {
    const result = await get(`/archives/${archiveId}/verification`);
    clearMessages();
    box.append(el('p', { id: 'verification-result', class: result.ok ? 'ok' : 'bad' }, result.ok
      ? `✓ 校验通过：档案完整、未被改动，全部 ${Object.keys(result.checked).length} 类检查均通过。`
      : `✗ 校验未通过：发现 ${result.failures.length} 处问题。`));
    if (result.archive_sha256) {
      box.append(el('p', {}, '封存签名所载档案摘要（SHA-256）：',
        el('code', { class: 'hash' }, result.archive_sha256)));
    }
    if (result.failures.length) {
      box.append(el('h3', { id: 'failures-heading' }, '问题'),
        el('ul', { id: 'verification-failures', 'aria-labelledby': 'failures-heading' },
          ...result.failures.map((f) => el('li', {}, f))));
    }
    box.append(el('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'checked-caption', tabindex: '0' },
      el('table', { class: 'data-table' },
        el('caption', { id: 'checked-caption' }, '已检查的项目及数量'),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, '检查项'), el('th', { scope: 'col' }, '数量'))),
        el('tbody', { id: 'checked-rows' }, ...Object.entries(result.checked).map(([what, n]) => el('tr', {},
          el('td', {}, label(CHECKED, what)), el('td', { class: 'num' }, String(n))))))));
  } catch (error) {
    showError(error);
  } finally {
    box.removeAttribute('aria-busy');
    button.disabled = false;
  }
}

async function showArchive(archiveId) {
  let view;
  try {
    view = await get(`/archives/${archiveId}`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    append(clear($('#archive-missing')), NOT_FOUND);
    $('#archive-missing').hidden = false;
    return;
  }
  document.title = `${view.project.name} 第 ${view.version} 版档案 — 电子档案`;
  $('#archive-page').hidden = false;
  showFacts(archiveId, view);
  showIndex(archiveId, view);
  $('#verify').addEventListener('click', (event) => verify(archiveId, event.currentTarget));
}

// ---------------------------------------------------------------------------- start

async function main() {
  // Before initLayout's form guard: the credit code's and the range's validity is set on
  // every keystroke first, so the guard's checks (and its clearing of a corrected message)
  // see the current state.
  document.addEventListener('input', (event) => {
    if (event.target && event.target.id === 'search-credit') creditInput();
    if (event.target && ['search-from', 'search-to'].includes(event.target.id)) rangeInput();
  }, true);
  document.addEventListener('submit', () => {
    creditInput();
    rangeInput();
  }, true);
  const user = await initLayout();
  if (!user) {
    $('#archive-login').hidden = false;
    return;
  }
  const archiveId = idParam('id');
  try {
    if (new URLSearchParams(location.search).has('id')) {
      // The server decides who reads an archive: anyone else is told it does not exist.
      if (archiveId) await showArchive(archiveId);
      else append(clear($('#archive-missing')), NOT_FOUND).hidden = false;
    } else if (!canReadArchives(user)) {
      $('#archive-denied').hidden = false;
    } else {
      await showList();
    }
  } catch (error) {
    showError(error);
  }
}

main();
