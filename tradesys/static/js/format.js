// How money, times and credit codes are written for people: the browser twin of
// tradesys/formatting.py. Both are checked against tests/format_vectors.json (the Python unit
// test and a chromium test run the same file), so a page and a PDF never show one amount two
// ways. The rules are in docs/documents.md; in short: money is an exact decimal string, shown
// with separators and at least two decimals, never rounded; capitals (大写) follow the rules of
// 《支付结算办法》; instants are shown in Beijing time and must carry a UTC offset; credit codes
// never break across lines. Bad input throws RangeError (as the Python side raises ValueError).
// Pure functions only, except creditCodeEl, which builds a DOM node (never innerHTML).

export const TIME_ZONE = 'Asia/Shanghai';
export const UNIT = '元';
const DASH = '—';

// ---------------------------------------------------------------------------- money

const DECIMAL = /^(-?)([0-9]+)(?:\.([0-9]+))?$/;
/** Digits an amount may have at most (a sanity bound, far above any price), as in Python. */
const MAX_DIGITS = 64;

/** {negative, whole, fraction} of an exact amount: fraction has at least two digits and no
 * trailing zeros beyond them ("1.0010" -> whole "1", fraction "001"). */
export function parseAmount(value) {
  if (typeof value === 'bigint') value = value.toString();
  if (typeof value !== 'string') throw new RangeError('money is an exact decimal string');
  const match = DECIMAL.exec(value);
  if (!match) throw new RangeError(`not a decimal amount: ${value}`);
  const [, sign, digits, decimals = ''] = match;
  if ((digits + decimals).replace(/^0+/, '').length > MAX_DIGITS) {
    throw new RangeError(`more than ${MAX_DIGITS} digits is not an amount`);
  }
  const whole = digits.replace(/^0+(?=\d)/, '');
  const fraction = decimals.replace(/0+$/, '').padEnd(2, '0');
  const zero = whole === '0' && /^0+$/.test(fraction);
  return { negative: sign === '-' && !zero, whole, fraction };
}

/** "35200000" -> "35,200,000.00 元"; "0.125" -> "0.125 元" (never rounded); null -> "—".
 * Another currency than CNY is written as its ISO code ("1,000.50 USD"). */
export function formatMoney(value, currency) {
  if (value === null || value === undefined) return DASH;
  const { negative, whole, fraction } = parseAmount(value);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const unit = !currency || currency === 'CNY' ? UNIT : currency;
  return `${negative ? '-' : ''}${grouped}.${fraction} ${unit}`;
}

const DIGITS = '零壹贰叁肆伍陆柒捌玖';
const PLACES = ['仟', '佰', '拾', ''];
const CAPITAL_LIMIT = 10n ** 16n;

function four(n) {
  let text = '';
  let zero = false;
  const digits = n.toString().padStart(4, '0');
  for (let i = 0; i < 4; i += 1) {
    const digit = Number(digits[i]);
    if (digit === 0) {
      zero = text !== '';
      continue;
    }
    if (zero) {
      text += '零';
      zero = false;
    }
    text += DIGITS[digit] + PLACES[i];
  }
  return text;
}

function whole(n) {
  for (const [size, unit] of [[10n ** 8n, '亿'], [10n ** 4n, '万']]) {
    if (n >= size) {
      const high = n / size;
      const low = n % size;
      let text = whole(high) + unit;
      if (low > 0n) text += (low < size / 10n ? '零' : '') + whole(low);
      return text;
    }
  }
  return four(n);
}

/** "35200000" -> "叁仟伍佰贰拾万元整" (the rules of 《支付结算办法》, see docs/documents.md). */
export function capitalAmount(value) {
  const amount = parseAmount(value);
  if (amount.fraction.length > 2) throw new RangeError('capitals stop at 分: more than two decimals');
  if (amount.negative) throw new RangeError('a negative amount has no capital form here');
  const yuan = BigInt(amount.whole);
  if (yuan >= CAPITAL_LIMIT) throw new RangeError('amount too large for capitals');
  const jiao = Number(amount.fraction[0]);
  const fen = Number(amount.fraction[1]);
  let text = yuan > 0n ? whole(yuan) + UNIT : '';
  if (!jiao && !fen) return `${text || `零${UNIT}`}整`;
  if (jiao) text += `${DIGITS[jiao]}角`;
  if (fen) {
    if (!jiao && yuan > 0n) text += '零';
    text += `${DIGITS[fen]}分`;
  } else {
    text += '整';
  }
  return text;
}

// ---------------------------------------------------------------------------- times

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

const PARTS_FORMAT = new Intl.DateTimeFormat('en-GB', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** A Date from an ISO 8601 instant with an offset (any number of fraction digits), or null. */
export function parseInstant(iso) {
  if (iso instanceof Date) return Number.isNaN(iso.getTime()) ? null : iso;
  if (typeof iso !== 'string' || !INSTANT.test(iso)) return null;
  const value = Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(value) ? null : new Date(value);
}

function instant(value) {
  const date = parseInstant(value);
  if (!date) throw new RangeError(`not an ISO 8601 instant with an offset: ${value}`);
  return date;
}

/** The wall-clock fields of an instant in Beijing. */
export function beijingParts(date) {
  const parts = {};
  for (const { type, value } of PARTS_FORMAT.formatToParts(date)) parts[type] = value;
  return parts;
}

/** "2026-03-23 09:00" (or with seconds), Beijing time, for tables; null -> "—". */
export function formatBeijing(value, { seconds = false } = {}) {
  if (value === null || value === undefined) return DASH;
  const p = beijingParts(instant(value));
  const time = seconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
  return `${p.year}-${p.month}-${p.day} ${time}`;
}

/** "2026年3月23日 09:00", Beijing time, for documents; null -> "—". */
export function formatBeijingLong(value) {
  if (value === null || value === undefined) return DASH;
  const p = beijingParts(instant(value));
  return `${Number(p.year)}年${Number(p.month)}月${Number(p.day)}日 ${p.hour}:${p.minute}`;
}

function day(value) {
  if (typeof value === 'string' && DATE_ONLY.test(value)) {
    const [year, month, date] = value.split('-');
    const check = new Date(Date.UTC(Number(year), Number(month) - 1, Number(date)));
    if (check.getUTCMonth() !== Number(month) - 1 || check.getUTCDate() !== Number(date)) {
      throw new RangeError(`not a calendar date: ${value}`);
    }
    return { year, month, day: date };
  }
  return beijingParts(instant(value));
}

/** "2026-03-23": a calendar date, or the Beijing date of an instant. */
export function isoDate(value) {
  const p = day(value);
  return `${p.year}-${p.month}-${p.day}`;
}

/** "2026年3月23日": a calendar date, or the Beijing date of an instant. */
export function longDate(value) {
  const p = day(value);
  return `${Number(p.year)}年${Number(p.month)}月${Number(p.day)}日`;
}

// ---------------------------------------------------------------------------- credit codes

/** A <span class="credit-code"> (white-space: nowrap): 18 characters that never break. */
export function creditCodeEl(code) {
  const span = document.createElement('span');
  span.className = 'credit-code';
  span.textContent = String(code);
  return span;
}

const CREDIT_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/**
 * Whether a 统一社会信用代码 (GB 32100-2015) is well formed: 18 characters of its alphabet,
 * digits in places 3-8, and the right check character. The twin of
 * tradesys/identity/credit_code.py is_valid_credit_code (the vectors keep them equal); as there,
 * the caller trims and upper-cases first, as the API does.
 */
export function isValidCreditCode(code) {
  const text = String(code);
  if (text.length !== 18 || [...text].some((ch) => !CREDIT_ALPHABET.includes(ch))) return false;
  if (!/^\d{6}$/.test(text.slice(2, 8))) return false;
  let total = 0;
  for (let i = 0; i < 17; i += 1) total += CREDIT_ALPHABET.indexOf(text[i]) * CREDIT_WEIGHTS[i];
  return CREDIT_ALPHABET[(31 - (total % 31)) % 31] === text[17];
}
