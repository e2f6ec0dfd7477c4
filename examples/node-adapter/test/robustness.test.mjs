// Every operation ends in an output or a registry code, whatever it is given: each member of a
// valid input (and of the claims inside its signed documents) is replaced in turn by values of
// every JSON type, and no case may end in an unexpected exception.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { TokenfedError } from '../lib/errors.mjs';
import { runOperation } from '../lib/ops.mjs';
import { loadVectors, signJws, SPEC, TEST_KEYS, trustStoreFor } from '../test-support/helpers.mjs';

const REGISTRY = new Set([...readFileSync(join(SPEC, 'errors.md'), 'utf8').matchAll(/^\| \[`([a-z_]+)`\]/gm)].map((m) => m[1]));
const REPLACEMENTS = [null, true, 0, -1, 9007199254740991, '', 'x', [], {}, [1], { a: 1 }];

function* replacements(value, path = []) {
  for (const r of REPLACEMENTS) yield [path, r];
  if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* replacements(v, [...path, i]);
  else if (value !== null && typeof value === 'object') for (const k of Object.keys(value)) yield* replacements(value[k], [...path, k]);
}

function replaced(value, path, replacement) {
  if (path.length === 0) return replacement;
  const copy = Array.isArray(value) ? [...value] : { ...value };
  copy[path[0]] = replaced(value[path[0]], path.slice(1), replacement);
  return copy;
}

function outcome(op, input) {
  try {
    runOperation(op, input);
    return 'accepted';
  } catch (error) {
    if (error instanceof TokenfedError) return error.code;
    throw new Error(`${op} failed unexpectedly on ${JSON.stringify(input).slice(0, 300)}: ${error.stack}`);
  }
}

test('the registry has the codes the adapter uses', () => {
  for (const code of ['malformed', 'invalid_arguments', 'invalid_proof', 'chain_break']) assert.ok(REGISTRY.has(code), code);
});

test('no input member of any type makes an operation fail unexpectedly', () => {
  const seen = new Set();
  const check = (op, input) => {
    const code = outcome(op, input);
    assert.ok(code === 'accepted' || REGISTRY.has(code), code);
    seen.add(code);
  };
  const receipts = loadVectors('receipts');
  const card = receipts.fixtures.rate_cards.default;
  const base = { trust: receipts.fixtures.trust.default, rate_cards: [signJws(card, 'provider-a-rotated', 'tokenfed-rate-card+jwt')], now: 1768521600 };
  for (const id of ['valid-eddsa-seq1', 'valid-batched-first']) {
    const input = { ...base, receipt: receipts.vectors.find((v) => v.id === id).input.receipt };
    for (const [path, r] of replacements(input)) check('verify-receipt', replaced(input, path, r));
  }
  const claims = JSON.parse(Buffer.from(receipts.vectors[0].input.receipt.split('.')[1], 'base64url'));
  for (const [path, r] of replacements(claims)) {
    check('verify-receipt', { ...base, receipt: signJws(replaced(claims, path, r), 'provider-a', 'tokenfed-receipt+jwt') });
  }
  const pricing = loadVectors('pricing').vectors[0].input;
  const trust = trustStoreFor({ [pricing.rate_card.iss]: ['provider-a'] });
  for (const [path, r] of replacements(pricing.rate_card)) {
    const token = signJws(replaced(pricing.rate_card, path, r), 'provider-a', 'tokenfed-rate-card+jwt');
    check('price', { rate_card: token, trust, usage: pricing.usage, at: null });
  }
  const conversion = loadVectors('conversion').vectors[0].input;
  const fxTrust = trustStoreFor({ [conversion.rates.iss]: ['provider-a'] });
  for (const [path, r] of replacements(conversion.rates)) {
    const token = signJws(replaced(conversion.rates, path, r), 'provider-a', 'tokenfed-exchange-rates+jwt');
    check('convert', { rates: token, trust: fxTrust, amount: '1', from: 'CNY', to: 'USD', at: null });
  }
  const adapters = loadVectors('adapters').vectors;
  const chosen = [...adapters.slice(0, 3), ...adapters.filter((v) => /^(stream-|openai-batch-caller-tier|anthropic-fast-us|gemini-audio|gemini-sdk-response|dashscope-cache-search|volcengine-audio)/.test(v.id))];
  assert.ok(chosen.length >= 18, String(chosen.length));
  for (const v of chosen) {
    const input = { vendor: v.input.format, model: v.input.model ?? null, strict: v.input.strict ?? true };
    if (Object.hasOwn(v.input, 'stream')) input.stream = v.input.stream;
    else input.report = v.input.usage;
    if (Object.hasOwn(v.input, 'service_tier')) input.service_tier = v.input.service_tier;
    for (const [path, r] of replacements(input)) check('adapt', replaced(input, path, r));
  }
  const issue = {
    key: TEST_KEYS['provider-a'],
    iss: claims.iss,
    aud: claims.aud,
    sub: claims.sub,
    jti: claims.jti,
    iat: claims.iat,
    entitlement: null,
    usage: claims.usage,
    rate_card: base.rate_cards[0],
    trust: base.trust,
    head: { seq: 1, digest: `sha256:${'0'.repeat(64)}` },
  };
  for (const [path, r] of replacements(issue)) check('issue-receipt', replaced(issue, path, r));
  const { head, ...common } = issue;
  assert.equal(head.seq, 1);
  const batch = { ...common, batch_id: 'b', heads: {}, requests: [{ aud: claims.aud, sub: claims.sub, jti: 'j', entitlement: null, usage: claims.usage }] };
  for (const [path, r] of replacements(batch)) check('issue-batch', replaced(batch, path, r));
  for (const code of ['accepted', 'malformed', 'schema_violation', 'invalid_amount', 'invalid_key', 'invalid_usage', 'incomplete_stream', 'unknown_key']) {
    assert.ok(seen.has(code), code);
  }
});
