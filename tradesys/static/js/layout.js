// What every page shares: the server clock in the header and the login state in the nav.

import { ApiError, get, hasSessionCookie, post } from './api.js';
import { startClock } from './clock.js';
import { $, label, ROLES, showError } from './ui.js';

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

function showNav(user) {
  for (const item of document.querySelectorAll('[data-auth]')) {
    const want = item.dataset.auth;
    const visible = (want === 'in' && user) || (want === 'out' && !user)
      || (want === 'manager' && canManageProjects(user))
      || (want === 'keys' && canHoldKeys(user));
    item.hidden = !visible;
  }
  const who = $('#whoami');
  if (who && user) who.textContent = `${user.display_name}（${label(ROLES, user.role)}）`;
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

/** Start the header: clock, nav by login state, logout button. Resolves to the user or null. */
export async function initLayout() {
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
