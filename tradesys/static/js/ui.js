// DOM helpers: every text shown goes through textContent, never innerHTML. Also the message
// regions, the Beijing-time formatting, and the Chinese labels of the API's vocabularies.

import { beijingParts, formatBeijing } from './format.js';

export { TIME_ZONE } from './format.js';

/** el('a', {href: '…', class: 'x'}, 'text', childNode, …): attributes and text, safely. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, ...children);
  return node;
}

export function append(node, ...children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// ---------------------------------------------------------------------------- times

// Money, times and credit codes have one formatter each, shared with the PDFs' Python twin:
// format.js (tests/format_vectors.json keeps the two equal). Re-exported so pages keep one import.
export {
  beijingParts, capitalAmount, creditCodeEl, formatBeijing, formatBeijingLong, formatMoney, isoDate,
  longDate, parseInstant,
} from './format.js';
/** A <time> element showing an instant in Beijing time, machine-readable in UTC. */
export function timeEl(iso, options) {
  if (!iso) return document.createTextNode('—');
  return el('time', { datetime: iso }, formatBeijing(iso, options));
}

/** The value of a datetime-local input ("YYYY-MM-DDTHH:mm") for an instant, in Beijing. */
export function toBeijingLocalInput(date) {
  const p = beijingParts(date);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

const LOCAL_INPUT = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d{1,3})?)?$/;

/** A datetime-local value read as Beijing time, with its explicit +08:00 offset. */
export function beijingInputToIso(value) {
  const match = LOCAL_INPUT.exec(value || '');
  if (!match) return null;
  const secondsPart = match[3] || ':00';
  return `${match[1]}T${match[2]}${secondsPart}+08:00`;
}

// ---------------------------------------------------------------------------- sizes

/** "512 字节", "12.5 KB", "3.2 MB": a file size for people. */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} 字节`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

// ---------------------------------------------------------------------------- labels

export const TRADE_TYPES = {
  works: '工程建设',
  gov_procurement: '政府采购',
  epc: '工程总承包',
  survey_design: '勘察设计',
  land_mineral: '土地矿产',
  state_property: '国有产权',
};

export const CATEGORIES = { works: '工程', goods: '货物', services: '服务' };

export const PROCEDURES = {
  open: '公开招标',
  invited: '邀请招标',
  competitive_negotiation: '竞争性谈判',
  competitive_consultation: '竞争性磋商',
  inquiry: '询价',
  single_source: '单一来源',
};

export const PROJECT_STATES = {
  registered: '已登记（待发布公告）',
  announced: '已发布公告',
  cancelled: '已终止',
};

export const SECTION_STATES = {
  registered: '已登记',
  tendering: '投标中',
  closed: '投标已截止',
  cancelled: '已终止',
};

export const BID_STATES = { valid: '有效', replaced: '已被替换', withdrawn: '已撤回' };

export const NOTICE_KINDS = {
  tender: '招标公告', termination: '终止公告', candidates: '中标候选人公示', result: '中标结果公告',
  contract: '合同公告',
  failed: '招标失败公告',
};

export const ROLES = {
  procurer: '招标人',
  agency: '招标代理机构',
  bidder: '投标人',
  expert: '评标专家',
  supervisor: '行政监督部门',
  admin: '平台运维',
};

export function label(map, value) {
  return Object.prototype.hasOwnProperty.call(map, value) ? map[value] : String(value ?? '—');
}

// ---------------------------------------------------------------------------- messages

/** Show a success or progress message in the polite live region. */
export function showStatus(...content) {
  const region = $('#status');
  if (region) append(clear(region), el('p', {}, ...content));
}

export function clearMessages() {
  for (const id of ['#alert', '#status']) {
    const region = $(id);
    if (region) clear(region);
  }
}

function detailText(detail, fieldLabel) {
  if (typeof detail === 'string') return detail;
  if (detail && typeof detail === 'object' && Array.isArray(detail.loc)) {
    const where = fieldLabel(detail.loc) || detail.loc.join('.');
    return `${where}：${detail.msg ?? ''}`;
  }
  return JSON.stringify(detail);
}

/**
 * Show an error (an ApiError or any Error) in the assertive live region, with the API's
 * details when there are any. `fieldLabel(loc)` names a field for a validation detail.
 */
export function showError(error, { fieldLabel = () => null } = {}) {
  const region = $('#alert');
  if (!region) return;
  const message = error && error.message ? error.message : String(error);
  const box = el('div', { class: 'alert-box' }, el('p', {}, message));
  if (Array.isArray(error && error.details) && error.details.length) {
    box.append(el('ul', {}, error.details.map((d) => el('li', {}, detailText(d, fieldLabel)))));
  }
  if (error && error.status === 401 && !location.pathname.endsWith('login.html')) {
    box.append(el('p', {}, el('a', { href: loginHref() }, '前往登录')));
  }
  const status = $('#status');
  if (status) clear(status);
  append(clear(region), box);
}

export function loginHref() {
  const here = location.pathname.split('/').pop() + location.search;
  return `login.html?next=${encodeURIComponent(here || 'index.html')}`;
}

/** Disable a form's controls while a request runs; returns a function that re-enables them. */
export function busy(form) {
  const controls = Array.from(form.querySelectorAll('button, input, select, textarea'))
    .filter((control) => !control.disabled);
  for (const control of controls) control.disabled = true;
  form.setAttribute('aria-busy', 'true');
  return () => {
    for (const control of controls) control.disabled = false;
    form.removeAttribute('aria-busy');
  };
}

/** Clear aria-invalid marks from a form's fields. */
export function clearInvalid(form) {
  for (const field of form.querySelectorAll('[aria-invalid="true"]')) {
    field.removeAttribute('aria-invalid');
  }
}

/**
 * Mark the fields named by validation details ({loc: [...]}) as invalid; fields carry
 * data-field="a.0.b". Returns the first one, to move the focus there.
 */
export function markInvalid(form, details) {
  let first = null;
  for (const detail of Array.isArray(details) ? details : []) {
    if (!detail || !Array.isArray(detail.loc)) continue;
    const field = form.querySelector(`[data-field="${CSS.escape(detail.loc.join('.'))}"]`);
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      first = first || field;
    }
  }
  return first;
}

/** The text of the <label> of a field named by a validation loc, for messages. */
export function fieldLabelIn(form) {
  return (loc) => {
    const field = form.querySelector(`[data-field="${CSS.escape(loc.join('.'))}"]`);
    if (!field || !field.labels || !field.labels.length) return null;
    const text = field.labels[0].textContent.trim();
    const group = field.closest('fieldset[data-group]');
    const legend = group ? group.querySelector('legend') : null;
    return legend ? `${legend.textContent.trim()} · ${text}` : text;
  };
}

/** A query parameter that must be a positive integer id, or null. */
export function idParam(name) {
  const raw = new URLSearchParams(location.search).get(name);
  return raw && /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : null;
}

// ---------------------------------------------------------------------------- form checks

/** The text of a control's label, for a message ("用户名"), without a trailing colon. */
function controlName(control) {
  const own = control.labels && control.labels.length ? control.labels[0].textContent : '';
  return (own || control.getAttribute('aria-label') || '').trim().replace(/[：:]$/, '');
}

/**
 * The page's own Chinese message for a control that fails its constraints (required,
 * minlength, pattern, min/max, type), or null when it passes. A control may name its own
 * messages: data-missing="…" for a missing value, data-message="…" (for a pattern, say) for
 * every other failure.
 */
export function controlMessage(control) {
  const v = control.validity;
  if (!v || v.valid) return null;
  const name = controlName(control) || '此项';
  if (v.valueMissing) {
    if (control.dataset.missing) return control.dataset.missing;
    if (control.type === 'file') return `请选择${name}`;
    if (control.tagName === 'SELECT' || control.type === 'checkbox') return `请选择${name}`;
    return `请填写${name}`;
  }
  if (control.dataset.message) return control.dataset.message;
  if (v.tooShort) return `${name}至少 ${control.minLength} 个字符（现为 ${control.value.length} 个）`;
  if (v.tooLong) return `${name}最多 ${control.maxLength} 个字符`;
  if (v.badInput) return `${name}格式不正确，请填写有效的${control.type === 'number' ? '数字' : '值'}`;
  if (v.rangeUnderflow) return `${name}不能小于 ${control.min}`;
  if (v.rangeOverflow) return `${name}不能大于 ${control.max}`;
  if (v.stepMismatch) return `${name}须为整数`;
  if (v.typeMismatch) return `${name}格式不正确`;
  if (v.patternMismatch) return `${name}格式不正确`;
  return `${name}填写有误`;
}

let unnamed = 0;

/** The id of a control's message: "<control id>-error" (a control without an id gets one). */
function errorId(control) {
  if (!control.id) {
    unnamed += 1;
    control.id = `control-${unnamed}`;
  }
  return `${control.id}-error`;
}

function errorNode(control) {
  const id = errorId(control);
  let node = document.getElementById(id);
  if (!node) {
    node = el('p', { class: 'field-error', id, role: 'alert' });
    const field = control.closest('.field');
    if (field) field.append(node);
    else control.after(node);
  }
  return node;
}

function describedBy(control, id, on) {
  const ids = new Set((control.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean));
  if (on) ids.add(id); else ids.delete(id);
  if (ids.size) control.setAttribute('aria-describedby', Array.from(ids).join(' '));
  else control.removeAttribute('aria-describedby');
}

/** Show (or, with null, clear) a control's message next to it, marked aria-invalid. */
export function setControlMessage(control, message) {
  if (!message) {
    if (control.id) {
      const existing = document.getElementById(`${control.id}-error`);
      if (existing) existing.remove();
      describedBy(control, `${control.id}-error`, false);
    }
    control.removeAttribute('aria-invalid');
    return;
  }
  const node = errorNode(control);
  node.textContent = message;
  describedBy(control, node.id, true);
  control.setAttribute('aria-invalid', 'true');
}

/**
 * Check a form against its controls' constraints with the page's own Chinese messages, shown
 * next to each control (the browser's bubbles speak the browser's language, and the form
 * carries novalidate). Focuses the first failing control. Returns true when all pass.
 */
export function checkForm(form) {
  let first = null;
  for (const control of form.elements) {
    if (!control.willValidate) continue;
    const message = controlMessage(control);
    setControlMessage(control, message);
    if (message && !first) first = control;
  }
  if (first) first.focus();
  return first === null;
}

let guarded = false;

/**
 * Every form on the page: novalidate, and on submit checked by checkForm before the page's own
 * submit handler runs (a capturing listener on the document comes first); a failing form's
 * submit stops there. A form that makes its own checks says so with data-checks="own" (the
 * hall's). A message goes away when its control is changed.
 */
export function guardForms(root = document) {
  for (const form of root.querySelectorAll('form')) form.noValidate = true;
  if (guarded) return;
  guarded = true;
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node instanceof HTMLFormElement) node.noValidate = true;
        else if (node instanceof Element) for (const f of node.querySelectorAll('form')) f.noValidate = true;
      }
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.checks === 'own') return;
    if (!checkForm(form)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  const recheck = (event) => {
    const control = event.target;
    if (control instanceof Element && control.getAttribute('aria-invalid') === 'true'
        && control.form && control.form.dataset.checks !== 'own' && control.validity) {
      if (control.validity.valid) setControlMessage(control, null);
    }
  };
  document.addEventListener('input', recheck, true);
  document.addEventListener('change', recheck, true);
}
