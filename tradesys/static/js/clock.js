// Server time is the only time (DESIGN.md invariant 1). The page asks /api/v1/time, keeps the
// offset between the server and this browser's clock, and shows the server's time ticking in
// Beijing time. Deadlines are never judged by the browser's own clock.

import { get } from './api.js';
import { formatBeijing, parseInstant } from './ui.js';

const RESYNC_MS = 5 * 60 * 1000;

let offsetMs = null;
const listeners = [];

/** Measure the offset: server time minus the browser's clock at the middle of the round trip. */
export async function sync() {
  const sent = Date.now();
  const answer = await get('/time');
  const received = Date.now();
  const server = parseInstant(answer && answer.now);
  if (!server) throw new Error('invalid server time');
  offsetMs = server.getTime() - (sent + received) / 2;
  for (const listener of listeners.splice(0)) listener();
  return offsetMs;
}

export function offset() {
  return offsetMs;
}

/** Server time now, or null before the first successful sync. */
export function serverNow() {
  return offsetMs === null ? null : new Date(Date.now() + offsetMs);
}

/** Resolves with the server time once it is known. */
export function whenSynced() {
  if (offsetMs !== null) return Promise.resolve(serverNow());
  return new Promise((resolve) => listeners.push(() => resolve(serverNow())));
}

function describeOffset(ms) {
  const abs = Math.abs(ms);
  if (abs < 1000) return '本机时钟与服务器一致';
  const direction = ms < 0 ? '快' : '慢';
  let amount;
  if (abs < 120 * 1000) amount = `${Math.round(abs / 1000)} 秒`;
  else if (abs < 2 * 3600 * 1000) amount = `${Math.round(abs / 60000)} 分钟`;
  else if (abs < 2 * 86400 * 1000) amount = `${Math.round(abs / 3600000)} 小时`;
  else amount = `${Math.round(abs / 86400000)} 天`;
  return `本机时钟${direction} ${amount}`;
}

/** Start the header clock: <time id="server-clock"> and <span id="clock-offset">. */
export function startClock() {
  const clockEl = document.getElementById('server-clock');
  const offsetEl = document.getElementById('clock-offset');
  if (!clockEl) return;

  function render() {
    const now = serverNow();
    if (!now) return;
    clockEl.textContent = formatBeijing(now, { seconds: true });
    clockEl.setAttribute('datetime', now.toISOString());
    if (offsetEl) offsetEl.textContent = `（${describeOffset(offsetMs)}）`;
  }

  async function resync() {
    try {
      await sync();
      clockEl.classList.remove('clock-error');
      render();
    } catch (error) {
      if (offsetMs === null) {
        clockEl.textContent = '无法获取服务器时间';
        clockEl.classList.add('clock-error');
      }
    }
  }

  resync();
  setInterval(render, 1000);
  setInterval(resync, RESYNC_MS);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') resync();
  });
}
