// 招标公告: the public list of notices, newest first, a page at a time.

import { get } from '../api.js';
import { initLayout } from '../layout.js';
import { $, el, label, NOTICE_KINDS, showError, timeEl } from '../ui.js';

let cursor = null;

function row(notice) {
  return el('tr', {},
    el('td', {}, el('a', { href: `notice.html?id=${encodeURIComponent(notice.id)}` }, notice.title)),
    el('td', {}, notice.project_code),
    el('td', {}, label(NOTICE_KINDS, notice.kind)),
    el('td', {}, timeEl(notice.published_at)),
    el('td', {}, timeEl(notice.bid_deadline)));
}

async function load() {
  const more = $('#more');
  more.disabled = true;
  try {
    const page = await get('/notices', { cursor });
    $('#notice-rows').append(...page.items.map(row));
    cursor = page.next_cursor;
    $('#notice-empty').hidden = $('#notice-rows').children.length > 0;
    more.hidden = !cursor;
  } catch (error) {
    showError(error);
  } finally {
    more.disabled = false;
  }
}

initLayout();
$('#more').addEventListener('click', load);
load();
