// On the bidder's section page (bid.html?section=N): the evaluation's questions to this
// bidder — an abnormally-low price explanation (docs/evaluation.md §12) and clarifications
// (§13) — each answered once, in writing. The server answers 404 for a bid that is not ours
// and for a question never asked, so a bidder learns nothing about anyone else's.

import { ApiError, get, post } from '../api.js';
import { currentUser } from '../layout.js';
import { $, busy, clearMessages, el, idParam, showError, showStatus, timeEl } from '../ui.js';

const sectionId = idParam('section');

function answerForm(id, text, url, done) {
  const form = el('form', { class: 'form', novalidate: '' },
    el('div', { class: 'field' },
      el('label', { for: id }, text),
      el('textarea', { id, required: '', maxlength: 5000, rows: 3 })),
    el('p', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, '提交答复')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearMessages();
    const release = busy(form);
    try {
      await post(url, { answer: form.querySelector('textarea').value.trim() });
      await load();
      showStatus(done);
    } catch (error) {
      showError(error);
    } finally {
      release();
    }
  });
  return form;
}

async function orNull(promise) {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 409)) return null;
    throw error;
  }
}

async function load() {
  const mine = await get(`/sections/${sectionId}/bids`);
  const box = $('#replies');
  box.replaceChildren();
  let any = false;
  for (const bid of mine.items.filter((b) => b.status === 'valid')) {
    const base = `/sections/${sectionId}/evaluation/bids/${encodeURIComponent(bid.id)}`;
    const [explanation, clarifications] = await Promise.all([
      orNull(get(`${base}/explanation`)), orNull(get(`${base}/clarifications`))]);
    if (explanation) {
      any = true;
      const card = el('div', { class: 'card' }, el('h3', {}, '异常低价书面说明'),
        el('dl', { class: 'facts' },
          el('dt', {}, '问题'), el('dd', {}, explanation.question),
          el('dt', {}, '说明期限'), el('dd', {}, timeEl(explanation.deadline)),
          el('dt', {}, '贵单位的说明'), el('dd', {}, explanation.answer ?? '尚未答复')));
      if (explanation.answer === null) {
        card.append(answerForm(`ex-${bid.id}`, '书面说明', `${base}/explanation/answer`,
          '书面说明已提交。'));
      }
      box.append(card);
    }
    for (const c of clarifications ? clarifications.items : []) {
      any = true;
      const card = el('div', { class: 'card' }, el('h3', {}, `澄清要求 ${c.number}`),
        el('dl', { class: 'facts' },
          el('dt', {}, '问题'), el('dd', {}, c.question),
          el('dt', {}, '提出时间'), el('dd', {}, timeEl(c.asked_at)),
          el('dt', {}, '贵单位的答复'), el('dd', {}, c.answer ?? '尚未答复')));
      if (c.answer === null) {
        card.append(answerForm(`cl-${bid.id}-${c.number}`, '澄清答复',
          `${base}/clarifications/${c.number}/answer`, `澄清要求 ${c.number} 的答复已提交。`));
      }
      box.append(card);
    }
  }
  $('#replies-step').hidden = !any;
}

async function main() {
  const user = await currentUser().catch(() => null);
  if (!user || user.role !== 'bidder' || !sectionId) return;
  try {
    await load();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) showError(error);
  }
}

main();
