// Exchange chapter: exchange-rate sets and conversion (spec/exchange.md, FX-001..FX-027).

import { decimalProblem, divRoundHalfEven, fractionDigits, fromScaled, toScaled } from './decimal.mjs';
import { fail } from './errors.mjs';
import { isInt, isObject, rejectNoncharacters } from './json.mjs';
import { checkVersion, integerIat, trustStoreLookup, verifyJws } from './jws.mjs';
import { DOCUMENT_ID, Findings, VERSION } from './schema.mjs';
import { jsonDigest } from './units.mjs';

export const EXCHANGE_RATES_TYP = 'tokenfed-exchange-rates+jwt';
const CODE = /^([A-Z]{3}|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/;
const UTU = { text: '1', precision: 6 };

/** Exchange-rate claims through the version, schema and semantic steps (FX-010). */
export function ratesFromClaims(claims) {
  rejectNoncharacters(claims, 'the exchange-rate set');
  if (isObject(claims)) checkVersion(claims, 'the exchange-rate set');
  const f = new Findings('exchange-rate set');
  if (!isObject(claims)) {
    f.schema('the claims must be a JSON object');
    f.raise();
  }
  f.entityId(claims.iss, 'iss');
  if (typeof claims.rates_id !== 'string' || !DOCUMENT_ID.test(claims.rates_id)) {
    f.schema('rates_id must be 1 to 256 printable ASCII characters without spaces');
  }
  if (typeof claims.ver !== 'string' || !VERSION.test(claims.ver)) f.schema('ver must be "MAJOR.MINOR"');
  for (const name of ['iat', 'nbf', 'exp']) f.numericDate(claims[name], name);
  if (claims.base !== 'UTU') f.schema('base must be "UTU"');
  const rates = claims.rates;
  if (!isObject(rates) || Object.keys(rates).length === 0) {
    f.schema('rates must be an object with at least one code');
  } else {
    for (const code of Object.keys(rates)) {
      if (!CODE.test(code) || code.length > 64 || code === 'UTU') {
        f.schema(`${JSON.stringify(code)} is neither an ISO 4217 code nor an alliance unit name`);
      }
      const quote = rates[code];
      if (!isObject(quote)) {
        f.schema(`rates.${code} must be an object`);
        continue;
      }
      if (!Object.hasOwn(quote, 'rate')) f.schema(`rates.${code} needs rate`);
      else f.decimal(quote.rate, 18, 'positive', `rates.${code}.rate`);
      if (!isInt(quote.precision, 0, 18)) f.schema(`rates.${code}.precision must be an integer from 0 to 18`);
    }
  }
  f.raise();
  if (!(claims.nbf < claims.exp)) fail('schema_violation', 'exchange-rate set: nbf must be less than exp');
  const quotes = new Map();
  for (const code of Object.keys(rates)) quotes.set(code, { text: rates[code].rate, precision: rates[code].precision });
  return { claims, id: claims.rates_id, digest: jsonDigest(claims), nbf: claims.nbf, exp: claims.exp, quotes };
}

/** An exchange-rate set exchanged as a JWS, verified with a trust store (FX-010, FX-011). */
export function ratesFromJws(token, trust) {
  if (isObject(token)) fail('invalid_signature', 'unsigned exchange-rate claims are not accepted in place of the JWS (FX-011)');
  const { claims } = verifyJws(token, { typ: EXCHANGE_RATES_TYP, findKey: trustStoreLookup(trust), validityTime: integerIat });
  return ratesFromClaims(claims);
}

function quoteOf(rates, code) {
  if (code === 'UTU') return UTU;
  if (typeof code === 'string' && rates.quotes.has(code)) return rates.quotes.get(code);
  return null;
}

/** FX-020: convert `amount` from code `from` to code `to`, at time `at` (or null). */
export function convert(rates, amount, from, to, at) {
  if (at !== null && at !== undefined && !(rates.nbf <= at && at < rates.exp)) {
    fail('rates_not_valid', `exchange-rate set ${rates.id} is valid from ${rates.nbf} until before ${rates.exp}, not at ${at}`);
  }
  const a = quoteOf(rates, from);
  if (a === null) fail('unknown_currency', `${JSON.stringify(from)} is neither UTU nor a code of set ${rates.id}`);
  const b = quoteOf(rates, to);
  if (b === null) fail('unknown_currency', `${JSON.stringify(to)} is neither UTU nor a code of set ${rates.id}`);
  if (typeof amount !== 'string') fail('invalid_amount', 'the amount must be a decimal string');
  const problem = decimalProblem(amount, a.precision, 'any');
  if (problem !== null) fail('invalid_amount', `the amount ${problem} (${from} allows at most ${a.precision} fractional digits)`);
  // value = x * rate(B) / rate(A), one exact fraction, rounded once to precision(B) (FX-024..FX-026).
  const xd = fractionDigits(amount);
  const ad = fractionDigits(a.text);
  const bd = fractionDigits(b.text);
  const numerator = toScaled(amount, xd) * toScaled(b.text, bd) * 10n ** BigInt(ad + b.precision);
  const denominator = toScaled(a.text, ad) * 10n ** BigInt(xd + bd);
  const result = divRoundHalfEven(numerator, denominator);
  return { amount: fromScaled(result, b.precision), code: to, rates_id: rates.id };
}
