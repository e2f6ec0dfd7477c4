// The operations of the adapter protocol v1: each takes the case's input object and returns
// the output object, or throws a TokenfedError (a rejection).

import { readFileSync } from 'node:fs';

import { fail } from './errors.mjs';
import { isInt, isObject } from './json.mjs';
import { convert, ratesFromJws, ratesFromClaims, EXCHANGE_RATES_TYP } from './exchange.mjs';
import { integerIat, trustStoreLookup, verifyJws } from './jws.mjs';
import { issueBatch, issueReceipt } from './issuer.mjs';
import { loadPrivateJwk, TrustStore } from './keys.mjs';
import { ReceiptTracker, ReceiptVerifier, streamResult, trackResult, verifyFileBytes } from './receipts.mjs';
import { adapt, adaptStream, VENDORS } from './adapters.mjs';
import { isServiceTierName, price, rateCardFromClaims, rateCardFromJws, RATE_CARD_TYP } from './units.mjs';

/** A problem with the case itself (not with the document under test): exit status 2. */
function badInput(message) {
  fail('invalid_arguments', message);
}

function member(input, name) {
  if (!Object.hasOwn(input, name)) badInput(`the input has no member ${name}`);
  return input[name];
}

function optionalTime(input, name) {
  const value = input[name];
  if (value === undefined || value === null) return null;
  if (!isInt(value)) badInput(`${name} must be a NumericDate or null`);
  return value;
}

function requiredTime(input, name) {
  const value = member(input, name);
  if (!isInt(value)) badInput(`${name} must be a NumericDate`);
  return value;
}

function trustOf(input) {
  return new TrustStore(member(input, 'trust'));
}

function verifierOf(input) {
  const trust = trustOf(input);
  const cards = member(input, 'rate_cards');
  if (!Array.isArray(cards)) badInput('rate_cards must be an array of JWS');
  return new ReceiptVerifier({
    trust,
    rateCards: cards.map((token) => rateCardFromJws(token, trust)),
    now: requiredTime(input, 'now'),
  });
}

function receiptSummary(v) {
  return { iss: v.iss, aud: v.aud, jti: v.jti, seq: v.seq, amount: v.amount, content_digest: v.content_digest };
}

function publicResult(result) {
  return result.ok ? { ok: true, duplicate: result.duplicate } : result;
}

export const OPERATIONS = {
  price(input) {
    const card = rateCardFromJws(member(input, 'rate_card'), trustOf(input));
    return price(card, member(input, 'usage'), optionalTime(input, 'at'));
  },

  convert(input) {
    const rates = ratesFromJws(member(input, 'rates'), trustOf(input));
    return convert(rates, member(input, 'amount'), member(input, 'from'), member(input, 'to'), optionalTime(input, 'at'));
  },

  adapt(input) {
    const vendor = member(input, 'vendor');
    if (!VENDORS.includes(vendor)) badInput(`vendor must be one of ${VENDORS.join(', ')}`);
    const model = input.model ?? null;
    const strict = input.strict ?? true;
    if (typeof strict !== 'boolean') badInput('strict must be true, false or absent');
    const serviceTier = input.service_tier ?? null;
    if (serviceTier !== null && !isServiceTierName(serviceTier)) {
      badInput('service_tier must be null, a registered tier (standard, priority, batch, flex) or an extension name such as acme.night (UNIT-070)');
    }
    const hasReport = Object.hasOwn(input, 'report');
    const hasStream = Object.hasOwn(input, 'stream');
    if (hasReport === hasStream) badInput('the input must have exactly one of report (one report or response) and stream (its chunks)');
    const options = { model, strict, serviceTier };
    if (hasReport) return adapt(vendor, input.report, options);
    if (vendor === 'otel') badInput('the otel adapter reads the attributes of one span; it has no stream form');
    if (!Array.isArray(input.stream)) badInput('stream must be an array of chunks');
    return adaptStream(vendor, input.stream, options);
  },

  'verify-document'(input) {
    const kind = member(input, 'kind');
    const trust = trustOf(input);
    const typ = { 'rate-card': RATE_CARD_TYP, 'exchange-rates': EXCHANGE_RATES_TYP }[kind];
    if (typ === undefined) badInput('kind must be "rate-card" or "exchange-rates"');
    const token = member(input, 'document');
    if (isObject(token)) fail('invalid_signature', 'unsigned claims are not accepted in place of the JWS (UNIT-032, FX-011)');
    const { claims } = verifyJws(token, { typ, findKey: trustStoreLookup(trust), validityTime: integerIat });
    const document = kind === 'rate-card' ? rateCardFromClaims(claims) : ratesFromClaims(claims);
    return { claims: document.claims, digest: document.digest };
  },

  'issue-receipt'(input) {
    const key = loadPrivateJwk(member(input, 'key'));
    const card = rateCardFromJws(member(input, 'rate_card'), trustOf(input));
    const receipt = issueReceipt({
      key,
      card,
      head: input.head ?? null,
      iss: member(input, 'iss'),
      aud: member(input, 'aud'),
      sub: member(input, 'sub'),
      jti: member(input, 'jti'),
      iat: member(input, 'iat'),
      entitlement: input.entitlement ?? null,
      usage: member(input, 'usage'),
    });
    return { receipt };
  },

  'issue-batch'(input) {
    const key = loadPrivateJwk(member(input, 'key'));
    const card = rateCardFromJws(member(input, 'rate_card'), trustOf(input));
    const batched = issueBatch({
      key,
      card,
      iss: member(input, 'iss'),
      batchId: member(input, 'batch_id'),
      iat: member(input, 'iat'),
      heads: input.heads ?? {},
      requests: member(input, 'requests'),
    });
    return { batched };
  },

  'verify-receipt'(input) {
    return receiptSummary(verifierOf(input).verify(member(input, 'receipt')));
  },

  'verify-stream'(input) {
    const verifier = verifierOf(input);
    const receipts = member(input, 'receipts');
    if (!Array.isArray(receipts)) badInput('receipts must be an array');
    const tracker = new ReceiptTracker();
    return { results: receipts.map((r) => publicResult(streamResult(verifier, tracker, r))) };
  },

  'verify-batch'(input) {
    const verifier = verifierOf(input);
    const verified = verifier.verifyWholeBatch(member(input, 'batch'), member(input, 'claims'));
    const tracker = new ReceiptTracker();
    return { results: verified.map((v) => publicResult(trackResult(tracker, v))) };
  },

  'verify-file'(input) {
    const verifier = verifierOf(input);
    const path = member(input, 'file');
    if (typeof path !== 'string') badInput('file must be a path');
    let bytes;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      fail('io_error', `cannot read the receipt file ${path}: ${error.code ?? error.message}`);
    }
    return { results: verifyFileBytes(verifier, bytes) };
  },
};

export const PROFILES = {
  units: ['price', 'convert', 'adapt'],
  documents: ['verify-document'],
  'receipt-issuer': ['issue-receipt', 'issue-batch'],
  'receipt-verifier': ['verify-receipt', 'verify-stream', 'verify-batch', 'verify-file'],
};

/** Run one operation on its input object. */
export function runOperation(op, input) {
  if (typeof op !== 'string' || !Object.hasOwn(OPERATIONS, op)) badInput(`unknown operation ${JSON.stringify(op)}`);
  if (!isObject(input)) badInput('the input of an operation must be a JSON object');
  return OPERATIONS[op](input);
}
