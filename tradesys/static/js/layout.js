// What every page shares, rendered here so that a page's HTML holds only its <main>: the skip
// link, the header (brand, main navigation, the session with 退出, the server clock), the footer;
// then the server clock ticking, the nav by login state, and the page's forms checked in Chinese.

import { ApiError, get, hasSessionCookie, post } from './api.js';
import { startClock } from './clock.js';
import { $, el, guardForms, label, ROLES, showError } from './ui.js';

/** The main navigation: [href, text, data-auth (who sees it; undefined: everyone)]. */
const NAV = [
  ['index.html', '招标公告', undefined],
  ['projects.html', '我的项目', 'in'],
  ['agency.html', '项目登记', 'manager'],
  ['evaluate.html', '评标工作台', 'member'],
  ['contract.html', '合同网签', 'contracts'],
  ['archive.html', '电子档案', 'archives'],
  ['keys.html', '加密密钥与签名密钥', 'keys'],
  ['console.html', '平台运维', 'admin'],
  ['login.html', '登录', 'out'],
];

/** This page's file name ("" and "/" are the index). */
export function currentPage() {
  return location.pathname.split('/').pop() || 'index.html';
}

function header() {
  const here = currentPage();
  // Before /me answers only what a visitor sees is shown (招标公告, 登录), as the pages did.
  const items = NAV.map(([href, text, auth]) => el('li',
    { dataset: auth ? { auth } : {}, hidden: Boolean(auth) && auth !== 'out' },
    el('a', { href, 'aria-current': href === here ? 'page' : undefined }, text)));
  return el('header', { class: 'site-header' },
    el('div', { class: 'header-inner' },
      el('p', { class: 'brand' }, el('a', { href: 'index.html' }, '电子招标投标交易平台')),
      el('nav', { class: 'site-nav', 'aria-label': '主导航' }, el('ul', {}, items)),
      el('div', { class: 'session', dataset: { auth: 'in' }, hidden: true },
        el('span', { id: 'whoami' }),
        el('button', { type: 'button', id: 'logout', class: 'link-button' }, '退出')),
      el('p', { class: 'server-time' },
        el('span', { class: 'server-time-label' },
          '服务器时间', el('span', { class: 'zone' }, '（北京时间）')),
        el('time', { id: 'server-clock', class: 'server-clock' }, '—'),
        el('span', { id: 'clock-offset', class: 'clock-offset' }))));
}

function footer() {
  return el('footer', { class: 'site-footer' },
    el('p', {}, '所有时间均为北京时间（UTC+8），以服务器时间为准。'));
}

/**
 * Put the shared parts around the page's <main> once (idempotent). Runs when this module is
 * first imported: module scripts run after the document is parsed, so <main> is there, and
 * every page script sees the header before its own code runs.
 */
export function renderLayout() {
  if ($('.site-header')) return;
  const main = $('main');
  const body = document.body;
  body.prepend(el('a', { class: 'skip-link', href: '#main' }, '跳到主要内容'), header());
  if (main) main.after(footer());
  else body.append(footer());
}

renderLayout();

let mePromise = null;

/** The logged-in user (GET /api/v1/me), or null when nobody is. Asked once per page. */
export function currentUser() {
  if (!mePromise) {
    mePromise = hasSessionCookie()
      ? get('/me').catch((error) => {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      })
      : Promise.resolve(null);
  }
  return mePromise;
}

export function canManageProjects(user) {
  return Boolean(user) && (user.role === 'agency' || user.role === 'procurer');
}

/** Bidders (sealing keys) and the possible opening-key holders register encryption keys. */
export function canHoldKeys(user) {
  return Boolean(user)
    && ['bidder', 'agency', 'procurer', 'supervisor'].includes(user.role);
}

/** Experts register a signing key only (they sign score sheets, docs/evaluation.md §14). */
export function canSign(user) {
  return canHoldKeys(user) || (Boolean(user) && user.role === 'expert');
}

/** The roles that read archives (the server decides per archive: archive/retrieval.py). */
export function canReadArchives(user) {
  return Boolean(user) && ['procurer', 'agency', 'supervisor', 'admin'].includes(user.role);
}

function showNav(user) {
  for (const item of document.querySelectorAll('[data-auth]')) {
    const want = item.dataset.auth;
    const visible = (want === 'in' && user) || (want === 'out' && !user)
      || (want === 'manager' && canManageProjects(user))
      || (want === 'keys' && canSign(user))
      || (want === 'contracts' && Boolean(user)
        && ['procurer', 'bidder', 'supervisor'].includes(user.role))
      || (want === 'archives' && canReadArchives(user))
      || (want === 'member' && Boolean(user) && ['expert', 'procurer'].includes(user.role))
      || (want === 'admin' && Boolean(user) && user.role === 'admin');
    item.hidden = !visible;
  }
  const who = $('#whoami');
  if (who && user) {
    who.textContent = `${user.display_name}（${label(ROLES, user.role)}）`;
    who.title = who.textContent; // the header may cut a long name short
  }
}

async function logout(event) {
  event.preventDefault();
  try {
    await post('/auth/logout', {});
  } catch (error) {
    // An expired session is logged out already; anything else is worth showing.
    if (!(error instanceof ApiError && error.status === 401)) {
      showError(error);
      return;
    }
  }
  location.assign('index.html');
}

/**
 * Start the shared parts: the clock, the nav by login state, the logout button, and the
 * forms' own Chinese validation messages (ui.js guardForms). Resolves to the user or null.
 */
export async function initLayout() {
  renderLayout();
  guardForms();
  startClock();
  const button = $('#logout');
  if (button) button.addEventListener('click', logout);
  let user = null;
  try {
    user = await currentUser();
  } catch (error) {
    showError(error);
  }
  showNav(user);
  return user;
}
