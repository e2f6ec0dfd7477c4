// The receipt-issuer operations: the valid receipts and the Merkle batch of the receipts vectors
// are reproduced byte for byte (Ed25519 is deterministic and claims are JCS), and what is issued
// verifies, chained over content digests.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { b64urlDecode } from '../lib/b64.mjs';
import { contentDigest } from '../lib/receipts.mjs';
import { loadVectors, runBatch, signJws, TEST_KEYS } from '../test-support/helpers.mjs';

const receipts = loadVectors('receipts');
const byId = (id) => receipts.vectors.find((v) => v.id === id);
const KEY_BY_KID = new Map(Object.entries(TEST_KEYS).map(([name, jwk]) => [jwk.kid, name]));

const decode = (segment) => JSON.parse(b64urlDecode(segment).toString('utf8'));
const trust = receipts.fixtures.trust.default;
const rateCard = signJws(receipts.fixtures.rate_cards.default, 'provider-a-rotated', 'tokenfed-rate-card+jwt');
const rateCardB = signJws(receipts.fixtures.rate_cards['provider-b'], 'provider-b', 'tokenfed-rate-card+jwt');

function requestOf(claims, keyName) {
  return {
    key: TEST_KEYS[keyName],
    iss: claims.iss,
    aud: claims.aud,
    sub: claims.sub,
    jti: claims.jti,
    iat: claims.iat,
    entitlement: claims.entitlement ?? null,
    usage: claims.usage,
    rate_card: claims.iss === 'https://provider-b.example' ? rateCardB : rateCard,
    trust,
    head: null,
  };
}

test('issue-receipt reproduces the valid receipts of the vectors', () => {
  const ids = ['valid-eddsa-seq1', 'valid-historical-key', 'valid-es256'];
  const cases = ids.map((id) => {
    const [header, payload] = byId(id).input.receipt.split('.');
    return { id, op: 'issue-receipt', input: requestOf(decode(payload), KEY_BY_KID.get(decode(header).kid)) };
  });
  const results = runBatch(cases);
  for (const id of ids) {
    const expected = byId(id).input.receipt;
    const r = results.get(id);
    assert.equal(r.status, 'accepted', `${id}: ${JSON.stringify(r)}`);
    if (decode(expected.split('.')[0]).alg === 'EdDSA') assert.equal(r.output.receipt, expected, id);
    // ES256 signatures are randomized: the header and payload bytes are the same.
    else assert.equal(r.output.receipt.split('.').slice(0, 2).join('.'), expected.split('.').slice(0, 2).join('.'), id);
  }
});

test('issue-batch reproduces the Merkle batch of the vectors', () => {
  const last = byId('valid-batched-last').input;
  const batched = [...last.prior, last.receipt];
  const claims = batched.map((b) => decode(b.claims));
  const statement = decode(batched[0].batch.split('.')[1]);
  const input = {
    key: TEST_KEYS['provider-a'],
    iss: statement.iss,
    batch_id: statement.batch_id,
    iat: statement.iat,
    rate_card: rateCard,
    trust,
    heads: {},
    requests: claims.map((c) => ({ aud: c.aud, sub: c.sub, jti: c.jti, entitlement: null, usage: c.usage })),
  };
  const r = runBatch([{ id: 'batch', op: 'issue-batch', input }]).get('batch');
  assert.equal(r.status, 'accepted', JSON.stringify(r));
  assert.deepEqual(r.output.batched, JSON.parse(JSON.stringify(batched)));
});

test('issued streams and batches verify, chained over content digests', () => {
  const base = decode(byId('valid-eddsa-seq1').input.receipt.split('.')[1]);
  const request = requestOf(base, 'provider-a');
  const first = runBatch([{ id: '1', op: 'issue-receipt', input: request }]).get('1').output.receipt;
  const head1 = { seq: 1, digest: contentDigest(b64urlDecode(first.split('.')[1])) };
  const second = runBatch([{ id: '2', op: 'issue-receipt', input: { ...request, jti: 'r-0002', head: head1 } }]).get('2').output.receipt;
  const secondClaims = decode(second.split('.')[1]);
  assert.equal(secondClaims.seq, 2);
  assert.equal(secondClaims.prev, head1.digest);
  const head2 = { seq: 2, digest: contentDigest(b64urlDecode(second.split('.')[1])) };
  const batch = runBatch([
    {
      id: 'b',
      op: 'issue-batch',
      input: {
        key: TEST_KEYS['provider-a'],
        iss: base.iss,
        batch_id: 'b-1',
        iat: base.iat + 60,
        rate_card: rateCard,
        trust,
        heads: { [base.aud]: head2 },
        requests: [
          { aud: base.aud, sub: base.sub, jti: 'r-0003', entitlement: 'ent-1', usage: base.usage },
          { aud: 'https://other-operator.example', sub: base.sub, jti: 'r-0004', entitlement: null, usage: base.usage },
          { aud: base.aud, sub: base.sub, jti: 'r-0005', entitlement: null, usage: base.usage },
        ],
      },
    },
  ]).get('b').output.batched;
  const verifier = { trust, rate_cards: [rateCard], now: base.iat + 120 };
  const results = runBatch([
    { id: 'stream', op: 'verify-stream', input: { receipts: [first, second, ...batch, second], ...verifier } },
    { id: 'whole', op: 'verify-batch', input: { batch: batch[0].batch, claims: batch.map((b) => b.claims), ...verifier } },
  ]);
  assert.deepEqual(results.get('stream').output.results, [
    { ok: true, duplicate: false },
    { ok: true, duplicate: false },
    { ok: true, duplicate: false },
    { ok: true, duplicate: false },
    { ok: true, duplicate: false },
    { ok: true, duplicate: true },
  ]);
  // Without the receipts before it, the batch opens no stream of base.aud: its first is seq 3.
  assert.deepEqual(results.get('whole').output.results, [
    { ok: false, error: 'chain_break' },
    { ok: true, duplicate: false },
    { ok: false, error: 'chain_break' },
  ]);
  assert.equal(decode(batch[0].claims).entitlement, 'ent-1');
  assert.equal(decode(batch[1].claims).seq, 1);
  assert.equal(decode(batch[2].claims).seq, 4);
});

test('issue-receipt refuses what it cannot issue', () => {
  const base = requestOf(decode(byId('valid-eddsa-seq1').input.receipt.split('.')[1]), 'provider-a');
  const { d, ...publicOnly } = TEST_KEYS['provider-a'];
  assert.equal(typeof d, 'string');
  const variants = {
    'public-key': [{ ...base, key: publicOnly }, 'invalid_key'],
    'mismatched-d': [{ ...base, key: { ...TEST_KEYS['provider-a'], d: TEST_KEYS.attacker.d } }, 'invalid_key'],
    'sub-phone-number': [{ ...base, sub: '8613912345678000' }, 'schema_violation'],
    'jti-space': [{ ...base, jti: 'r 1' }, 'schema_violation'],
    'unknown-meter': [{ ...base, usage: { model: 'qwen-max', meters: { thinking: 1 } } }, 'unknown_meter'],
    'unknown-model': [{ ...base, usage: { model: 'other', meters: { input: 1 } } }, 'unknown_model'],
    'card-not-valid': [{ ...base, iat: 1798761600 }, 'rate_card_not_valid'],
    'bad-head': [{ ...base, head: { seq: 0, digest: 'sha256:00' } }, 'schema_violation'],
    'unsigned-card': [{ ...base, rate_card: receipts.fixtures.rate_cards.default }, 'invalid_signature'],
  };
  const results = runBatch(Object.entries(variants).map(([id, [input]]) => ({ id, op: 'issue-receipt', input })));
  for (const [id, [, code]] of Object.entries(variants)) {
    const r = results.get(id);
    assert.equal(r.status === 'rejected' && r.error.error, code, `${id}: ${JSON.stringify(r)}`);
  }
});
