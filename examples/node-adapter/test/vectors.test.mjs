// Every vector of spec/vectors (adapters, pricing, conversion, documents, jws, receipts) through
// the adapter's own code, in process. Each vector expects one result or exactly one error code.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { b64urlDecode } from '../lib/b64.mjs';
import { TokenfedError } from '../lib/errors.mjs';
import { convert, ratesFromClaims } from '../lib/exchange.mjs';
import { verifyJws } from '../lib/jws.mjs';
import { parseStrictText } from '../lib/json.mjs';
import { loadPublicJwk, TrustStore } from '../lib/keys.mjs';
import { ReceiptTracker, ReceiptVerifier, streamResult } from '../lib/receipts.mjs';
import { adapt, adaptStream } from '../lib/adapters.mjs';
import { checkUsage, price, rateCardFromClaims, rateCardFromJws } from '../lib/units.mjs';
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
    const { format, usage, stream, model, strict, service_tier: serviceTier } = v.input;
    const options = { model: model ?? null, strict: strict ?? true, serviceTier: serviceTier ?? null };
    check(v, outcome(() => (stream === undefined ? adapt(format, usage, options) : adaptStream(format, stream, options))));
  }
  assert.equal(file.vectors.length >= 121, true);
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
    const { kind } = v.input;
    const actual = outcome(() => {
      // A document given as text is parsed strictly first (CONV-010..CONV-016).
      const document = Object.hasOwn(v.input, 'text') ? parseStrictText(v.input.text, 'the document') : v.input.document;
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

test('jws vectors', () => {
  const file = loadVectors('jws');
  for (const v of file.vectors) {
    const { token, typ, key: keyName } = v.input;
    // The receiver's one trusted key: a published test key, or one of the file's own fixtures
    // (keys refused when they are loaded, CONV-070: the load is part of the outcome).
    const jwk = Object.hasOwn(file.fixtures.keys, keyName) ? file.fixtures.keys[keyName] : publicJwk(keyName);
    const actual = outcome(() => {
      const key = loadPublicJwk(jwk);
      const { header, claims } = verifyJws(token, { typ, findKey: (h) => (h.kid === key.kid ? key : null) });
      return { header, claims };
    });
    check(v, actual);
  }
});

test('receipts vectors', () => {
  const file = loadVectors('receipts');
  const { fixtures } = file;
  for (const v of file.vectors) {
    const { receipt, prior, now, trust, rate_cards: cards } = v.input;
    const actual = outcome(() => {
      // The rate cards as their issuers signed them, verified with the trust store (UNIT-031).
      const store = new TrustStore(fixtures.trust[trust]);
      const verifier = new ReceiptVerifier({
        trust: store,
        rateCards: cards.map((name) => rateCardFromJws(fixtures.rate_card_tokens[name], store)),
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
    check(v, actual);
    // The signed rate cards hold exactly the claims the file lists for them.
    for (const name of cards) {
      const claims = JSON.parse(b64urlDecode(fixtures.rate_card_tokens[name].split('.')[1]).toString('utf8'));
      assert.ok(same(claims, fixtures.rate_cards[name]), `${v.id}: rate card ${name}`);
    }
  }
});
