// The connection to one bid-opening hall room (docs/hall-protocol.md): the WebSocket with
// reconnection that resumes after the last sequence number seen, the server clock offset from the
// room's `welcome` and `time` messages, and commands sent with ids, each answered by a promise
// that its `ack` resolves and its `error` rejects.
//
//   const room = new HallRoom(sectionId, {onWelcome, onEvent, onConnection, onError});
//   room.connect();
//   await room.send('sign_in');            // → the ack's result, or throws HallError
//   room.serverNow();                      // → Date in server time (null before the welcome)
//
// Events are delivered exactly once per page, in order, however often the connection drops:
// after a reconnection the server repeats nothing before `after`, and anything at or below the
// last delivered seq is dropped here as well.

import { parseInstant } from './ui.js';

const PING_MS = 20 * 1000;
const COMMAND_TIMEOUT_MS = 30 * 1000;
const RESYNC_DRIFT_MS = 2000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
/** Close codes after which reconnecting cannot help. */
const FINAL_CODES = new Set([4003]);

/** A command the room refused (its `error` message), or one whose answer never came. */
export class HallError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'HallError';
    this.code = code;
  }
}

export const CONNECTION_LABELS = {
  connecting: '正在连接开标大厅…',
  open: '已连接',
  reconnecting: '连接中断，正在重新连接…',
  closed: '连接已关闭',
};

export function roomUrl(sectionId, after) {
  const url = new URL(`hall/${sectionId}/ws`, document.baseURI);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (after > 0) url.searchParams.set('after', String(after));
  return url.toString();
}

export class HallRoom {
  /**
   * handlers: onWelcome(message, {reconnected}) — the first message of every connection;
   * onEvent(event, seq, {live}) — each room event once (`live`: after the welcome's state, i.e.
   * not yet folded into it); onConnection(state, detail); onError(HallError) for errors that
   * answer no command; onTime() after each clock update.
   */
  constructor(sectionId, handlers = {}) {
    this.sectionId = sectionId;
    this.handlers = handlers;
    this.lastSeq = 0; // the last room event delivered to onEvent
    this.stateSeq = 0; // the seq of the last welcome's state
    this.offsetMs = null;
    this.bestRoundTrip = Infinity;
    this.bestAt = 0;
    this.socket = null;
    this.state = 'closed';
    this.attempt = 0;
    this.counter = 0;
    this.pending = new Map();
    this.welcomed = false;
    this.everWelcomed = false;
    this.stopped = false;
    this.pingTimer = null;
    this.retryTimer = null;
  }

  connect() {
    this.stopped = false;
    this.open();
  }

  /** Stop for good (the page is leaving). */
  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close(1000, 'bye');
    else this.setState('closed');
  }

  /** Server time now (Date), or null before the first clock message. */
  serverNow() {
    return this.offsetMs === null ? null : new Date(Date.now() + this.offsetMs);
  }

  get connected() {
    return this.state === 'open' && this.welcomed;
  }

  setState(state, detail) {
    this.state = state;
    this.handlers.onConnection?.(state, detail);
  }

  open() {
    clearTimeout(this.retryTimer);
    this.welcomed = false;
    this.setState(this.attempt ? 'reconnecting' : 'connecting');
    let socket;
    try {
      socket = new WebSocket(roomUrl(this.sectionId, this.lastSeq));
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.addEventListener('message', (message) => {
      if (socket === this.socket) this.receive(message.data);
    });
    socket.addEventListener('close', (event) => {
      if (socket === this.socket) this.closed(event);
    });
  }

  closed(event) {
    this.socket = null;
    this.welcomed = false;
    clearInterval(this.pingTimer);
    this.failPending(new HallError('disconnected',
      '连接已中断，无法确认该操作是否已执行：连接恢复后请查看现场记录 (the connection dropped before the answer)'));
    if (this.stopped) {
      this.setState('closed');
      return;
    }
    if (FINAL_CODES.has(event.code)) {
      this.setState('closed', { code: event.code, reason: event.reason });
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.setState('reconnecting', { delay, attempt: this.attempt, everWelcomed: this.everWelcomed });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch (error) {
      return;
    }
    if (!message || typeof message !== 'object') return;
    switch (message.type) {
      case 'welcome': this.welcome(message); break;
      case 'event': this.event(message); break;
      case 'time': this.time(message); break;
      case 'ack': this.settle(message.id, (entry) => entry.resolve(message.result ?? {})); break;
      case 'error': this.error(message); break;
      default: break;
    }
  }

  welcome(message) {
    const reconnected = this.lastSeq > 0 || this.attempt > 0;
    this.welcomed = true;
    this.everWelcomed = true;
    this.attempt = 0;
    this.stateSeq = Number(message.seq) || 0;
    this.clockFrom(message.server_time, null);
    this.handlers.onWelcome?.(message, { reconnected });
    this.setState('open');
    this.ping();
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.ping(), PING_MS);
  }

  event(message) {
    const seq = Number(message.seq);
    if (!Number.isSafeInteger(seq) || seq <= this.lastSeq || !message.event) return;
    this.lastSeq = seq;
    const live = seq > this.stateSeq;
    this.handlers.onEvent?.(message.event, seq, { live });
    // A live event happened just now in server time: if our clock disagrees by more than a
    // moment (a sleeping laptop, a drifting clock, a test's or demo's server clock moved on),
    // measure again at once rather than at the next ping.
    const at = live ? parseInstant(message.event.at) : null;
    const now = this.serverNow();
    if (at && now && Math.abs(at.getTime() - now.getTime()) > RESYNC_DRIFT_MS) this.resync();
  }

  /** A fresh clock measurement now; a jump invalidates the best round trip kept so far. */
  resync() {
    this.bestRoundTrip = Infinity;
    this.ping();
  }

  time(message) {
    const sent = typeof message.t === 'number' ? message.t : null;
    this.clockFrom(message.server_time, sent);
  }

  /**
   * offset = server time − local time. With the echo of our own ping the middle of the round
   * trip is used, and the sample with the shortest round trip wins; an unasked `time` only sets
   * the offset while no such sample exists.
   */
  clockFrom(serverTime, sentAt) {
    const server = parseInstant(serverTime);
    if (!server) return;
    const now = Date.now();
    if (sentAt !== null && sentAt <= now) {
      const roundTrip = now - sentAt;
      // A sample older than a few minutes gives way: clocks drift and browsers sleep.
      if (roundTrip <= this.bestRoundTrip * 1.5 || now - this.bestAt > 5 * 60 * 1000) {
        this.bestRoundTrip = roundTrip;
        this.bestAt = now;
        this.offsetMs = server.getTime() - (sentAt + now) / 2;
      }
    } else if (this.bestRoundTrip === Infinity) {
      this.offsetMs = server.getTime() - now;
    }
    this.handlers.onTime?.();
  }

  ping() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: 'ping', t: Date.now() }));
    }
  }

  error(message) {
    const error = new HallError(String(message.code || 'error'),
      String(message.message || message.code || '操作失败 (the command failed)'));
    if (message.id && this.pending.has(message.id)) {
      this.settle(message.id, (entry) => entry.reject(error));
    } else {
      this.handlers.onError?.(error);
    }
  }

  settle(id, action) {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    action(entry);
  }

  failPending(error) {
    for (const id of Array.from(this.pending.keys())) this.settle(id, (entry) => entry.reject(error));
  }

  /** Send a command; resolves to its ack's result, rejects with HallError. */
  send(type, fields = {}) {
    if (!this.connected) {
      return Promise.reject(new HallError('not_connected',
        '尚未连接开标大厅，请稍候再试 (not connected to the hall)'));
    }
    this.counter += 1;
    const id = `c${this.counter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, (entry) => entry.reject(new HallError('timeout',
        '服务器未应答：请查看现场记录确认该操作是否已执行 (no answer from the server)'))), COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer, type });
      this.socket.send(JSON.stringify({ ...fields, type, id }));
    });
  }
}
