// 评标组织: what the host of a section (the entrusted agency, or the procurer running its own
// tender) does for the evaluation (docs/evaluation.md): set the evaluation scheme before the
// notice (the price weight plus every criterion's maximum is exactly 100, checked here and
// again by the server), request the committee draw, see its members (confidential: the host
// only), follow the progress (the result's 409 says what is outstanding, never anyone's
// scores), ask for an explanation of a flagged price, and read the result.

import { ApiError, get, post, request } from '../api.js';
import { canManageProjects, initLayout } from '../layout.js';
import {
  $, busy, clear, clearMessages, el, formatMoney, idParam, label, parseInstant, setControlMessage,
  showError, showStatus, timeEl,
} from '../ui.js';
import { serverNow, sync as syncClock } from '../clock.js';
import { centsOf, formatPoints } from '../evaluation.js';

const METHODS = { lowest_price: '经评审的最低投标价法', comprehensive: '综合评估法' };
const KINDS = { expert: '评标专家', representative: '招标人代表' };
const STATUSES = { active: '在任', withdrawn: '已回避', superseded: '已被重新抽取替换' };
const CATEGORIES = { technical: '技术', business: '商务' };
const POLL_MS = 15000;
const CODE = /^[A-Za-z0-9._-]{1,32}$/;

let sectionId = null;
let criterionSerial = 0;

// ---------------------------------------------------------------------------- the scheme

function criterionRow(values = {}) {
  criterionSerial += 1;
  const n = criterionSerial;
  const field = (key, text, attrs = {}) => el('div', { class: 'field' },
    el('label', { for: `cr-${key}-${n}` }, text),
    el('input', { id: `cr-${key}-${n}`, dataset: { part: key }, value: values[key] ?? '', ...attrs }));
  const category = el('select', { id: `cr-category-${n}`, dataset: { part: 'category' } },
    ...Object.entries(CATEGORIES).map(([value, text]) => el('option', { value }, text)));
  if (values.category) category.value = values.category;
  const remove = el('button', { type: 'button' }, `删除评分项 ${n}`);
  const row = el('fieldset', { class: 'section criterion' },
    el('legend', {}, `评分项 ${n}`),
    el('div', { class: 'grid-3' },
      field('id', '编号', { maxlength: 32, spellcheck: 'false' }),
      field('name', '名称', { maxlength: 200 }),
      el('div', { class: 'field' }, el('label', { for: `cr-category-${n}` }, '类别'), category),
      field('min_score', '最低分', { inputmode: 'decimal', maxlength: 6 }),
      field('max_score', '满分', { inputmode: 'decimal', maxlength: 6 })),
    el('p', { class: 'actions' }, remove));
  remove.addEventListener('click', () => { row.remove(); updateSum(); });
  $('#criteria').append(row);
  updateSum();
}

function comprehensive() {
  return $('#sc-method').value === 'comprehensive';
}

function updateSum() {
  $('#comprehensive-fields').hidden = !comprehensive();
  let cents = centsOf($('#sc-weight').value.trim()) ?? 0;
  for (const input of document.querySelectorAll('#criteria [data-part="max_score"]')) {
    cents += centsOf(input.value.trim()) ?? 0;
  }
  $('#sum-line').textContent = `价格分与各评分项满分合计：${formatPoints(cents)} 分（须恰为 100 分）`;
  return cents;
}

/** The scheme from the form, or null after showing every problem next to its field. */
function collectScheme() {
  const problems = [];
  const mark = (control, message) => {
    setControlMessage(control, message);
    if (message) problems.push(control);
  };
  const body = { method: $('#sc-method').value };
  const lines = $('#sc-compliance').value.split('\n').map((l) => l.trim()).filter(Boolean);
  const ids = new Set();
  let complianceMessage = null;
  const compliance = [];
  for (const line of lines) {
    const [id, ...rest] = line.split(/\s+/);
    const name = rest.join(' ');
    if (!CODE.test(id) || !name) complianceMessage = `“${line}”须为“编号 名称”，编号为字母或数字`;
    else if (ids.has(id)) complianceMessage = `审查项编号 ${id} 重复`;
    ids.add(id);
    compliance.push({ id, name });
  }
  mark($('#sc-compliance'), complianceMessage);
  if (lines.length) body.compliance = compliance;
  for (const control of document.querySelectorAll('#scheme-form input')) setControlMessage(control, null);
  if (comprehensive()) {
    const weight = $('#sc-weight');
    mark(weight, centsOf(weight.value.trim()) === null ? '请填写价格分（数字，最多两位小数）' : null);
    body.price_weight = weight.value.trim();
    body.criteria = [];
    const rows = document.querySelectorAll('#criteria fieldset.criterion');
    if (!rows.length) mark($('#add-criterion'), '综合评估法至少需要一个评分项');
    else setControlMessage($('#add-criterion'), null);
    for (const row of rows) {
      const part = (key) => row.querySelector(`[data-part="${key}"]`);
      const c = {};
      for (const key of ['id', 'name', 'category', 'min_score', 'max_score']) c[key] = part(key).value.trim();
      if (!c.min_score) c.min_score = '0';
      mark(part('id'), !CODE.test(c.id) ? '编号须为 1–32 位字母、数字或 . _ -'
        : (ids.has(c.id) ? `编号 ${c.id} 重复` : null));
      ids.add(c.id);
      mark(part('name'), c.name ? null : '请填写评分项名称');
      const max = centsOf(c.max_score);
      const min = centsOf(c.min_score);
      mark(part('max_score'), max === null || max === 0 ? '满分须为大于 0 的数字，最多两位小数' : null);
      mark(part('min_score'), min === null ? '最低分须为数字，最多两位小数'
        : (max !== null && min > max ? '最低分不能大于满分' : null));
      body.criteria.push(c);
    }
    const sum = updateSum();
    if (!problems.includes(weight) && sum !== 10000) {
      mark(weight, `价格分与各评分项满分合计须为 100 分（现为 ${formatPoints(sum)} 分）`);
    }
  }
  if (problems.length) {
    problems[0].focus();
    return null;
  }
  return body;
}

async function saveScheme(event) {
  event.preventDefault();
  clearMessages();
  const body = collectScheme();
  if (!body) {
    showError(new Error('评标办法填写有误，请按提示修改；尚未保存。'));
    return;
  }
  const done = busy(event.target);
  try {
    const saved = await request(`/sections/${sectionId}/evaluation/scheme`, { method: 'PUT', json: body });
    showStatus(`评标办法已保存（SHA-256 ${saved.sha256}）。`);
    await loadScheme();
  } catch (error) {
    showError(error);
  } finally {
    done();
  }
}

async function loadScheme() {
  const scheme = await get(`/sections/${sectionId}/evaluation/scheme`);
  $('#scheme-current').textContent = scheme.default
    ? '尚未设置评标办法：将按经评审的最低投标价法与条例第五十一条的审查项评标。发布招标公告后不能再修改。'
    : `当前评标办法：${label(METHODS, scheme.method)}${scheme.method === 'comprehensive'
      ? `，价格分 ${scheme.price_weight} 分，评分项 ${scheme.criteria.length} 项` : ''}；SHA-256 ${scheme.sha256}。发布招标公告后不能再修改。`;
}

// ---------------------------------------------------------------------------- the committee

function list(text) {
  return text.split(/[\s,，]+/).map((s) => s.trim()).filter(Boolean);
}

async function drawPanel(event) {
  event.preventDefault();
  clearMessages();
  const body = {
    size: Number($('#pn-size').value),
    specialties: list($('#pn-specialties').value),
    representatives: list($('#pn-reps').value).map(Number),
  };
  const reason = $('#pn-reason').value.trim();
  if (reason) body.reason = reason;
  const done = busy(event.target);
  try {
    const answer = await post(`/sections/${sectionId}/panel`, body);
    showStatus(`已抽取评标委员会（${answer.members ? answer.members.length : ''} 人），成员见下表。`);
    await Promise.all([loadPanel(), loadProgress()]);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'redraw_reason_required') {
      setControlMessage($('#pn-reason'), '再次抽取整个委员会须写明理由');
      $('#pn-reason').focus();
    }
    showError(error);
  } finally {
    done();
  }
}

async function loadPanel() {
  let panel;
  try {
    panel = await get(`/sections/${sectionId}/panel`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      $('#members-empty').textContent = '开标记录公布后才能抽取评标委员会。';
      return;
    }
    throw error;
  }
  const members = panel.members.slice().sort((a, b) => a.seat - b.seat || a.draw - b.draw);
  $('#members-empty').hidden = members.length > 0;
  $('#members').hidden = members.length === 0;
  clear($('#member-rows')).append(...members.map((m) => el('tr', {},
    el('td', {}, String(m.seat)), el('td', {}, m.name), el('td', {}, m.organisation),
    el('td', {}, label(KINDS, m.kind)), el('td', {}, label(STATUSES, m.status)),
    el('td', {}, String(m.draw)))));
}

// ---------------------------------------------------------------------------- progress

function showResult(result) {
  const box = clear($('#progress'));
  box.append(el('p', {}, result.failed
    ? `评标结果：${result.failure || '招标失败'}`
    : `评标已完成（${label(METHODS, result.method)}）。`));
  box.append(el('div', { class: 'table-wrap', role: 'region', 'aria-label': '评标结果', tabindex: '0' },
    el('table', { class: 'data-table' },
      el('caption', {}, '评标结果'),
      el('thead', {}, el('tr', {}, ...['排名', '投标编号', '投标报价', '得分', '否决理由']
        .map((t) => el('th', { scope: 'col' }, t)))),
      el('tbody', {}, ...result.lines.map((line) => el('tr', {},
        el('td', {}, line.rank ? String(line.rank) : '—'),
        el('td', {}, el('code', {}, String(line.bid_id ?? '').slice(0, 8))),
        el('td', { class: 'num' }, line.price ? formatMoney(line.price) : '—'),
        el('td', { class: 'num' }, line.total ?? '—'),
        el('td', {}, (line.rejected || []).join('、') || '—')))))));
}

async function loadProgress() {
  $('#explain-form').hidden = true;
  try {
    showResult(await get(`/sections/${sectionId}/evaluation/result`));
  } catch (error) {
    const box = clear($('#progress'));
    if (!(error instanceof ApiError)) throw error;
    if (error.code === 'evaluation_incomplete') {
      const d = error.details || {};
      box.append(el('p', {}, '评审进行中：'),
        el('ul', {},
          el('li', {}, `尚缺审查结论 ${d.verdicts_missing ?? '—'} 项`),
          el('li', {}, d.sheets_missing && d.sheets_missing.length
            ? `尚未提交评分表的席位：第 ${d.sheets_missing.join('、')} 席` : '评分表已全部提交')));
    } else if (error.code === 'explanation_undecided') {
      const bids = (error.details && error.details.bids) || [];
      box.append(el('p', {}, `异常低价投标的说明尚待委员会表决：${bids.map((b) => String(b).slice(0, 8)).join('、')}`));
      clear($('#ex-bid')).append(...bids.map((b) => el('option', { value: b }, String(b))));
      $('#explain-form').hidden = bids.length === 0;
    } else if (error.code === 'no_committee' || error.code === 'opening_record_not_published') {
      box.append(el('p', { class: 'empty' }, '尚未组建评标委员会。'));
    } else {
      box.append(el('p', {}, error.message));
    }
  }
}

async function askExplanation(event) {
  event.preventDefault();
  clearMessages();
  const done = busy(event.target);
  try {
    const bid = $('#ex-bid').value;
    const answer = await post(`/sections/${sectionId}/evaluation/bids/${encodeURIComponent(bid)}/explanation`,
      { question: $('#ex-question').value.trim() });
    showStatus(`已要求投标人作出书面说明，期限至 ${answer.deadline}。`);
  } catch (error) {
    showError(error);
  } finally {
    done();
  }
}

// ---------------------------------------------------------------------------- the report

const ANSWERS = { signed: '已签', refused: '拒签（未陈述理由，视为同意）' };
const SEATS = { expert: '评标专家', procurer_representative: '招标人代表' };

/** Whether the signing period is over by the server's clock (never the browser's own). */
function signingOver(view) {
  const now = serverNow();
  const until = parseInstant(view.sign_until);
  return Boolean(now && until && now >= until);
}

/** One row per committee member: their seat, whether they signed, and their dissent. After the
 * signing period a member who has not answered gets a 记录拒签 button (条例 Art. 53: a refusal
 * without reasons counts as agreeing; the server checks the period again). */
function signatureRows(view) {
  const report = view.report;
  const answers = new Map(report.signatures.map((s) => [s.member_id, s]));
  const dissent = new Map(report.dissent.map((d) => [d.member_id, d]));
  const refusable = !view.final && signingOver(view);
  return report.committee.map((m) => {
    const answer = answers.get(m.member_id);
    const objection = dissent.get(m.member_id);
    const status = answer ? label(ANSWERS, answer.status) : '待签';
    const seat = /^seat-(\d+)$/.exec(m.member_id);
    return el('tr', { dataset: { member: m.member_id } },
      el('td', {}, m.name, m.role === 'chair' ? '（组长）' : ''),
      el('td', {}, label(SEATS, m.seat)),
      el('td', { class: 'report-status' }, status,
        answer && answer.signed_at ? el('span', { class: 'hint' }, ' ', timeEl(answer.signed_at)) : '',
        !answer && refusable && seat
          ? el('button', { type: 'button', class: 'refuse', dataset: { seat: seat[1] },
            'aria-label': `记录${m.name}拒签（视为同意）` }, '记录拒签') : ''),
      el('td', {}, objection
        ? `不同意见：${objection.opinion}；理由：${objection.reasons}` : '—'));
  });
}

function showReport(view) {
  const report = view.report;
  const names = new Map(report.bidders.map((b) => [b.credit_code, b.name]));
  const scores = new Map(report.aggregate.map((a) => [a.credit_code, a]));
  const signed = report.signatures.filter((s) => s.status === 'signed').length;
  const answered = report.signatures.length;
  const total = report.committee.length;
  const box = clear($('#report'));
  box.append(el('p', { id: 'report-state' }, view.final
    ? `评标报告已定稿（${answered} / ${total} 位成员已签署或记录拒签）。`
    : `评标报告待签署：已签 ${signed} 人，待签 ${total - answered} 人（共 ${total} 人）。`),
  el('dl', { class: 'facts' },
    el('dt', {}, '起草时间'), el('dd', {}, timeEl(view.drafted_at)),
    el('dt', {}, '签署期限'), el('dd', { id: 'sign-until' }, timeEl(view.sign_until),
      view.final ? '' : el('span', { class: 'hint' }, signingOver(view)
        ? '（已届满：未签署也未提出不同意见的成员可记录为拒签，视为同意）'
        : '（届满后，未签署也未提出不同意见的成员可记录为拒签）')),
    el('dt', {}, '定稿时间'), el('dd', {}, view.final_at ? timeEl(view.final_at) : '尚未定稿'),
    el('dt', {}, '报告摘要（SHA-256）'), el('dd', {}, el('code', { class: 'hash' }, view.sha256))));
  box.append(report.candidates.length
    ? el('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'candidates-caption', tabindex: '0' },
      el('table', { class: 'data-table' },
        el('caption', { id: 'candidates-caption' }, '推荐的中标候选人（按排名）'),
        el('thead', {}, el('tr', {}, ...['排名', '投标人', '统一社会信用代码', '得分']
          .map((t) => el('th', { scope: 'col' }, t)))),
        el('tbody', { id: 'report-candidates' }, ...report.candidates.map((c) => el('tr', {},
          el('td', {}, `第 ${c.rank} 名`),
          el('td', {}, names.get(c.credit_code) ?? '—'),
          el('td', {}, el('code', {}, c.credit_code)),
          el('td', { class: 'num' }, scores.get(c.credit_code)?.score ?? '—'))))))
    : el('p', { class: 'empty' }, '评标报告没有推荐中标候选人。'));
  box.append(el('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'signatures-caption', tabindex: '0' },
    el('table', { class: 'data-table' },
      el('caption', { id: 'signatures-caption' }, '成员签署情况'),
      el('thead', {}, el('tr', {}, ...['成员', '类别', '签署', '不同意见']
        .map((t) => el('th', { scope: 'col' }, t)))),
      el('tbody', { id: 'signature-rows' }, ...signatureRows(view)))));
  box.append(el('p', {}, el('a', { id: 'report-pdf',
    href: `api/v1/sections/${sectionId}/evaluation/report.pdf`, target: '_blank', rel: 'noopener' },
  '评标报告 PDF（在新窗口打开）')));
}

async function loadReport() {
  $('#draft-report').hidden = true;
  try {
    showReport(await get(`/sections/${sectionId}/evaluation/report`));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const box = clear($('#report'));
    if (error.code === 'report_not_drafted') {
      box.append(el('p', { class: 'empty' }, '尚未起草评标报告。评标完成后可起草。'));
      $('#draft-report').hidden = false;
    } else {
      box.append(el('p', { class: 'empty' }, error.message));
    }
  }
}

/** Refresh on request: the server's clock is measured again first, so a period that ended
 * since the page was opened is judged by the server's time now. */
async function refreshReport() {
  await syncClock().catch(() => {});
  await loadReport();
}

async function recordRefusal(event) {
  const button = event.target.closest('button.refuse');
  if (!button) return;
  clearMessages();
  button.disabled = true;
  try {
    await post(`/sections/${sectionId}/evaluation/report/refusals`, { seat: Number(button.dataset.seat) });
    showStatus('已记录该成员拒签（未陈述理由，视为同意）。');
    await loadReport();
  } catch (error) {
    button.disabled = false;
    showError(error);
  }
}

async function draftReport(event) {
  clearMessages();
  const button = event.currentTarget;
  button.disabled = true;
  try {
    await post(`/sections/${sectionId}/evaluation/report`);
    showStatus('评标报告已起草，等待评标委员会成员签署。');
    await loadReport();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------- start

async function main() {
  const user = await initLayout();
  if (!user) {
    $('#host-login').hidden = false;
    return;
  }
  sectionId = idParam('section');
  if (!canManageProjects(user) || !sectionId) {
    $('#host-denied').hidden = false;
    return;
  }
  $('#award-link').href = `award.html?section=${sectionId}`;
  $('#sc-method').addEventListener('change', updateSum);
  $('#scheme-form').addEventListener('input', updateSum);
  $('#add-criterion').addEventListener('click', () => criterionRow());
  $('#scheme-form').addEventListener('submit', saveScheme);
  $('#panel-form').addEventListener('submit', drawPanel);
  $('#explain-form').addEventListener('submit', askExplanation);
  $('#refresh').addEventListener('click', () => loadProgress().catch(showError));
  $('#refresh-report').addEventListener('click', () => refreshReport().catch(showError));
  $('#report').addEventListener('click', recordRefusal);
  $('#draft-report').addEventListener('click', draftReport);
  criterionRow({ category: 'technical' });
  $('#host-page').hidden = false;
  try {
    await Promise.all([loadScheme(), loadPanel(), loadProgress(), loadReport()]);
  } catch (error) {
    showError(error);
  }
  setInterval(() => {
    loadProgress().catch(() => {});
    loadReport().catch(() => {});
  }, POLL_MS);
}

main();
