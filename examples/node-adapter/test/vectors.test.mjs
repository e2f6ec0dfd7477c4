// Every vector of spec/vectors (adapters, pricing, conversion, documents, jws, receipts) through
// the adapter's own code, in process. Each vector expects one result or exactly one error code.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import { b64urlDecode } from '../lib/b64.mjs';
import { TokenfedError } from '../lib/errors.mjs';
import { convert, ratesFromClaims } from '../lib/exchange.mjs';
import { verifyJws } from '../lib/jws.mjs';
import { loadPublicJwk, TrustStore } from '../lib/keys.mjs';
import { ReceiptTracker, ReceiptVerifier, streamResult } from '../lib/receipts.mjs';
import { adapt, checkUsage, price, rateCardFromClaims } from '../lib/units.mjs';
import { loadVectors, publicJwk, same } from '../test-support/helpers.mjs';

/** Run fn; the value, or {error: code} for a rejection. */
function outcome(fn) {
  try {
    return fn();
  } catch (error) {
    if (error instanceof TokenfedError) return { error: error.code };
    throw error;
  }
}

function check(vector, actual, expected = vector.expected) {
  assert.ok(same(actual, expected), `${vector.id}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

test('adapters vectors', () => {
  const file = loadVectors('adapters');
  for (const v of file.vectors) {
    const { format, usage, model } = v.input;
    check(v, outcome(() => adapt(format, usage, model ?? null)));
  }
  assert.equal(file.vectors.length >= 31, true);
});

test('pricing vectors', () => {
  for (const v of loadVectors('pricing').vectors) {
    const { rate_card: claims, usage, at } = v.input;
    check(v, outcome(() => price(rateCardFromClaims(claims), usage, at ?? null)));
  }
});

test('conversion vectors', () => {
  for (const v of loadVectors('conversion').vectors) {
    const { rates, amount, from, to, at } = v.input;
    check(v, outcome(() => convert(ratesFromClaims(rates), amount, from, to, at ?? null)));
  }
});

test('documents vectors', () => {
  for (const v of loadVectors('documents').vectors) {
    const { kind, document } = v.input;
    const actual = outcome(() => {
      if (kind === 'usage') {
        checkUsage(document);
        return { valid: true };
      }
      const parsed = kind === 'rate-card' ? rateCardFromClaims(document) : ratesFromClaims(document);
      return { valid: true, digest: parsed.digest };
    });
    check(v, actual);
  }
});

const N256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/**
 * The expectation of a jws vector under the low-S rule for ES256 (verifiers reject s > n/2):
 * a vector generated before the rule may expect acceptance of a high-S signature.
 */
function lowSExpectation(v) {
  if ('error' in v.expected || v.expected.header.alg !== 'ES256') return v.expected;
  const signature = b64urlDecode(v.input.token.split('.')[2]);
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  return s > N256 / 2n ? { error: 'invalid_signature' } : v.expected;
}

test('jws vectors', () => {
  const changed = [];
  for (const v of loadVectors('jws').vectors) {
    const { token, typ, key: keyName } = v.input;
    const expected = lowSExpectation(v);
    if (expected !== v.expected) changed.push(v.id);
    const key = loadPublicJwk(publicJwk(keyName));
    const actual = outcome(() => {
      const { header, claims } = verifyJws(token, { typ, findKey: (h) => (h.kid === key.kid ? key : null) });
      return { header, claims };
    });
    check(v, actual, expected);
  }
  // Vectors whose expectation the low-S rule changes (see README.md): at most this one.
  assert.ok(changed.length === 0 || (changed.length === 1 && changed[0] === 'valid-es256'), String(changed));
});

/**
 * The expectation of a receipts vector under the content-digest chain (prev = digest of the
 * previous receipt's claims bytes). A vector generated when `prev` covered the JWS bytes of the
 * previous receipt expects acceptance of a receipt that now breaks the chain.
 */
export function contentChainExpectation(v) {
  const { receipt, prior } = v.input;
  if ('error' in v.expected || typeof receipt !== 'string' || prior.length === 0) return v.expected;
  const previous = prior[prior.length - 1];
  if (typeof previous !== 'string') return v.expected;
  const claims = JSON.parse(b64urlDecode(receipt.split('.')[1]).toString('utf8'));
  const jwsDigest = `sha256:${createHash('sha256').update(previous, 'ascii').digest('hex')}`;
  if (claims.seq > 1 && claims.prev === jwsDigest) return { error: 'chain_break' };
  return v.expected;
}

test('receipts vectors', () => {
  const file = loadVectors('receipts');
  const { fixtures } = file;
  const changed = [];
  for (const v of file.vectors) {
    const { receipt, prior, now, trust, rate_cards: cards } = v.input;
    const expected = contentChainExpectation(v);
    if (expected !== v.expected) changed.push(v.id);
    const actual = outcome(() => {
      const verifier = new ReceiptVerifier({
        trust: new TrustStore(fixtures.trust[trust]),
        rateCards: cards.map((name) => rateCardFromClaims(fixtures.rate_cards[name])),
        now,
      });
      const tracker = new ReceiptTracker();
      for (const [i, p] of prior.entries()) {
        const r = streamResult(verifier, tracker, p);
        assert.ok(r.ok, `${v.id}: prior ${i} rejected with ${r.error}`);
      }
      const r = streamResult(verifier, tracker, receipt);
      if (!r.ok) return { error: r.error };
      return r.duplicate ? { claims: r.verified.claims, duplicate: true } : { claims: r.verified.claims };
    });
    check(v, actual, expected);
  }
  // The one vector whose expectation the content-digest chain changes (see README.md).
  assert.deepEqual(changed, ['valid-eddsa-seq2']);
});
