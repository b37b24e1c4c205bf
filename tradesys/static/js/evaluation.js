// Pure helpers of the evaluation pages: points as exact hundredths (no floating point), the
// Chinese message of a score out of its range, and the canonical JSON a member signs
// (docs/envelope.md rules, as tradesys.events.canonical: sorted keys, no whitespace).

/** Points as the API writes them: at most three integer digits, at most two decimals. */
export const POINTS = /^(0|[1-9][0-9]{0,2})(\.[0-9]{1,2})?$/;

/** "12.5" → 1250 (hundredths), or null when it is not a points value. */
export function centsOf(text) {
  const match = POINTS.exec(text);
  if (!match) return null;
  const decimals = (match[2] || '.').slice(1).padEnd(2, '0');
  return Number(match[1]) * 100 + Number(decimals);
}

/** 1250 → "12.50". */
export function formatPoints(cents) {
  return `${Math.trunc(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/** The Chinese message for a score against {min, max, name}, or null when it is in range. */
export function checkScore(value, { min, max, name }) {
  if (value === '') return `请填写${name}的分值`;
  const cents = centsOf(value);
  if (cents === null) return `${name}的分值须为数字，最多两位小数`;
  if (cents < centsOf(min) || cents > centsOf(max)) {
    return `${name}的分值须在 ${min} 至 ${max} 分之间`;
  }
  return null;
}

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The UTF-8 bytes of the canonical JSON of a value. */
export function canonicalBytes(value) {
  return new TextEncoder().encode(canonical(value));
}

export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
