// Exact decimals (CONV-020..CONV-024): canonical decimal strings become scaled BigInts, and the
// only rounding is half-to-even of an exact quotient. No binary floating point anywhere.

const CANONICAL = /^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/;
const MAX_LENGTH = 64;

/**
 * Why a value is not an acceptable decimal for a member, or null when it is.
 * `maxFraction` is the most fractional digits allowed; `sign` is 'any', 'nonnegative' or
 * 'positive'. A non-string is reported by the caller (it is a schema failure, CONV-023).
 */
export function decimalProblem(text, maxFraction, sign) {
  if (text.length > MAX_LENGTH) return `is longer than ${MAX_LENGTH} characters`;
  if (!CANONICAL.test(text) || text === '-0') return 'is not a canonical decimal string (e.g. "0.0015")';
  const fraction = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
  if (fraction > maxFraction) return `has more than ${maxFraction} fractional digits`;
  if (sign !== 'any' && text.startsWith('-')) return 'must not be negative';
  if (sign === 'positive' && text === '0') return 'must be greater than 0';
  return null;
}

/** Number of fractional digits of a canonical decimal string. */
export function fractionDigits(text) {
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** A canonical decimal string as an integer count of 10^-scale (scale >= its digits). */
export function toScaled(text, scale) {
  const negative = text.startsWith('-');
  const body = negative ? text.slice(1) : text;
  const [whole, fraction = ''] = body.split('.');
  if (fraction.length > scale) throw new RangeError(`${text} has more than ${scale} fractional digits`);
  const value = BigInt(whole + fraction.padEnd(scale, '0'));
  return negative ? -value : value;
}

/** An integer count of 10^-scale as a canonical decimal string. */
export function fromScaled(value, scale) {
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    const whole = digits.slice(0, digits.length - scale);
    const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
    digits = fraction === '' ? whole : `${whole}.${fraction}`;
  }
  if (digits === '0') return '0';
  return negative ? `-${digits}` : digits;
}

/** The integer nearest to num / den, ties to the even one; symmetric about zero. */
export function divRoundHalfEven(num, den) {
  if (den === 0n) throw new RangeError('division by zero');
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const negative = num < 0n;
  const a = negative ? -num : num;
  let q = a / den;
  const twice = 2n * (a % den);
  if (twice > den || (twice === den && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}
