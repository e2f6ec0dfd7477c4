// The adapter command through the protocol: info, per-call mode, batch mode, and every
// pricing, conversion, adapters, documents and receipts vector as protocol cases. Documents the
// vectors give as claims are signed here with the published test keys.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { b64urlDecode } from '../lib/b64.mjs';
import { TokenfedError } from '../lib/errors.mjs';
import { canonicalize, isObject } from '../lib/json.mjs';
import { TrustStore } from '../lib/keys.mjs';
import { loadVectors, runAdapter, runBatch, same, signJws, signPayload, tempDir, TEST_KEYS, toJsonText, trustStoreFor } from '../test-support/helpers.mjs';

const RATE_CARD = 'tokenfed-rate-card+jwt';
const RATES = 'tokenfed-exchange-rates+jwt';

function writeCase(dir, name, input) {
  const path = join(dir, name);
  writeFileSync(path, toJsonText(input));
  return path;
}

/** The protocol result of a case, as {output} or {error} (for comparison with a vector). */
function asExpected(result) {
  return result.status === 'accepted' ? result.output : { error: result.error.error };
}

test('info describes the adapter', () => {
  const run = runAdapter(['info']);
  assert.equal(run.status, 0);
  const info = JSON.parse(run.stdout);
  assert.equal(info.protocol, '1');
  assert.equal(info.spec_version, '1.0');
  assert.equal(info.batch, true);
  assert.deepEqual(info.profiles, ['units', 'documents', 'receipt-issuer', 'receipt-verifier']);
  for (const op of ['price', 'convert', 'adapt', 'verify-receipt', 'verify-stream', 'verify-batch', 'verify-file']) {
    assert.ok(info.operations.includes(op), op);
  }
});

test('per-call mode: exit 0 with the output, 1 with the error object, 2 for a bad command line', () => {
  const { dir, cleanup } = tempDir();
  try {
    const good = writeCase(dir, 'good.json', { vendor: 'anthropic', report: { input_tokens: 3, output_tokens: 4 }, model: 'm', strict: true });
    const accepted = runAdapter(['adapt', good]);
    assert.equal(accepted.status, 0, accepted.stderr);
    assert.deepEqual(JSON.parse(accepted.stdout), { model: 'm', meters: { input: 3, output: 4 } });

    const bad = writeCase(dir, 'bad.json', { vendor: 'anthropic', report: { input_tokens: -3 }, model: 'm', strict: true });
    const rejected = runAdapter(['adapt', bad]);
    assert.equal(rejected.status, 1);
    assert.equal(rejected.stdout, '');
    const error = JSON.parse(rejected.stderr);
    assert.equal(error.error, 'invalid_usage');
    assert.equal(typeof error.message, 'string');

    const usage = runAdapter(['no-such-operation', good]);
    assert.equal(usage.status, 2);
    assert.equal(JSON.parse(usage.stderr).error, 'invalid_arguments');

    const missing = runAdapter(['adapt', join(dir, 'absent.json')]);
    assert.equal(missing.status, 1);
    assert.equal(JSON.parse(missing.stderr).error, 'io_error');
  } finally {
    cleanup();
  }
});

test('batch mode: one result line per case, in order, even for a broken case line', () => {
  const { dir, cleanup } = tempDir();
  try {
    const casesPath = join(dir, 'cases.jsonl');
    const resultsPath = join(dir, 'results.jsonl');
    writeFileSync(
      casesPath,
      [
        '{"id":"a","op":"adapt","input":{"vendor":"otel","report":{"gen_ai.request.model":"m","gen_ai.usage.input_tokens":2},"model":null,"strict":true}}',
        '{"id":"b","op":"adapt","id":"dup"}',
        '{"id":"c","op":"nope","input":{}}',
        '{"id":"d","op":"adapt","input":{"vendor":"otel","report":{"gen_ai.usage.input_tokens":1.5},"model":null,"strict":true}}',
        '',
      ].join('\n'),
    );
    const run = runAdapter(['batch', casesPath, resultsPath]);
    assert.equal(run.status, 0, run.stderr);
    const results = readFileSync(resultsPath, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(results[0], { id: 'a', status: 'accepted', output: { model: 'm', meters: { input: 2 } } });
    assert.equal(results[1].status, 'rejected');
    assert.equal(results[1].error.error, 'invalid_arguments');
    assert.equal(results[2].id, 'c');
    assert.equal(results[2].error.error, 'invalid_arguments');
    assert.equal(results[3].id, 'd');
    assert.equal(results[3].error.error, 'invalid_usage');
    assert.equal(results.length, 4);
  } finally {
    cleanup();
  }
});

test('price: every pricing vector, with its rate card signed', () => {
  const { vectors } = loadVectors('pricing');
  const cases = vectors.map((v) => ({
    id: v.id,
    op: 'price',
    input: {
      rate_card: signJws(v.input.rate_card, 'provider-a', RATE_CARD),
      trust: trustStoreFor({ [v.input.rate_card.iss]: ['provider-a'] }),
      usage: v.input.usage,
      at: v.input.at ?? null,
    },
  }));
  const results = runBatch(cases);
  for (const v of vectors) assert.ok(same(asExpected(results.get(v.id)), v.expected), `${v.id}: ${JSON.stringify(results.get(v.id))}`);
});

test('price: the signature and the trust are checked before the card is used', () => {
  const card = loadVectors('pricing').vectors[0].input.rate_card;
  const usage = { model: 'pa-large', meters: { input: 1 } };
  const trusted = trustStoreFor({ [card.iss]: ['provider-a'] });
  const token = signJws(card, 'provider-a', RATE_CARD);
  const [h, p, s] = token.split('.');
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...card, rate_card_id: 'other' })).toString('base64url')}.${s}`;
  const results = runBatch([
    { id: 'unsigned', op: 'price', input: { rate_card: card, trust: trusted, usage, at: null } },
    { id: 'attacker', op: 'price', input: { rate_card: signJws(card, 'attacker', RATE_CARD), trust: trusted, usage, at: null } },
    { id: 'tampered', op: 'price', input: { rate_card: tampered, trust: trusted, usage, at: null } },
    { id: 'wrong-typ', op: 'price', input: { rate_card: signJws(card, 'provider-a', RATES), trust: trusted, usage, at: null } },
    { id: 'ok', op: 'price', input: { rate_card: `${h}.${p}.${s}`, trust: trusted, usage, at: null } },
  ]);
  assert.equal(results.get('unsigned').error.error, 'invalid_signature');
  assert.equal(results.get('attacker').error.error, 'unknown_key');
  assert.equal(results.get('tampered').error.error, 'invalid_signature');
  assert.equal(results.get('wrong-typ').error.error, 'unsupported_typ');
  assert.equal(results.get('ok').output.amount, '0.000001');
});

test('convert: every conversion vector, with its exchange-rate set signed', () => {
  const { vectors } = loadVectors('conversion');
  const cases = vectors.map((v) => ({
    id: v.id,
    op: 'convert',
    input: {
      rates: signJws(v.input.rates, 'provider-b', RATES),
      trust: trustStoreFor({ [v.input.rates.iss]: ['provider-b'] }),
      amount: v.input.amount,
      from: v.input.from,
      to: v.input.to,
      at: v.input.at ?? null,
    },
  }));
  const results = runBatch(cases);
  for (const v of vectors) assert.ok(same(asExpected(results.get(v.id)), v.expected), `${v.id}: ${JSON.stringify(results.get(v.id))}`);
});

/** An adapters vector's input as the protocol's adapt input: report or stream, mode, tier. */
function adaptInput(input) {
  const out = { vendor: input.format, model: input.model ?? null, strict: input.strict ?? true };
  if (Object.hasOwn(input, 'stream')) out.stream = input.stream;
  else out.report = input.usage;
  if (Object.hasOwn(input, 'service_tier')) out.service_tier = input.service_tier;
  return out;
}

test('adapt: every adapters vector', () => {
  const { vectors } = loadVectors('adapters');
  const cases = vectors.map((v) => ({
    id: v.id,
    op: 'adapt',
    input: adaptInput(v.input),
  }));
  const results = runBatch(cases);
  for (const v of vectors) assert.ok(same(asExpected(results.get(v.id)), v.expected), `${v.id}: ${JSON.stringify(results.get(v.id))}`);
});

test('verify-document: the documents vectors that can be signed for a trusted issuer', () => {
  // A document without an https iss has no key to look up (unknown_key comes first), and a
  // negative iat fails the key-validity check of step 2 before the schema; the in-process
  // test covers those vectors.
  const usable = loadVectors('documents').vectors.filter(
    (v) =>
      v.input.kind !== 'usage' &&
      isObject(v.input.document) &&
      typeof v.input.document.iss === 'string' &&
      /^https:\/\/[^\s?#]+$/.test(v.input.document.iss) &&
      !(Number.isInteger(v.input.document.iat) && v.input.document.iat < 0),
  );
  assert.ok(usable.length > 50, String(usable.length));
  const cases = usable.map((v) => ({
    id: v.id,
    op: 'verify-document',
    input: {
      kind: v.input.kind,
      document: signJws(v.input.document, 'provider-a', v.input.kind === 'rate-card' ? RATE_CARD : RATES),
      trust: trustStoreFor({ [v.input.document.iss]: ['provider-a'] }),
    },
  }));
  const results = runBatch(cases);
  for (const v of usable) {
    const r = results.get(v.id);
    if ('error' in v.expected) assert.equal(r.status === 'rejected' && r.error.error, v.expected.error, v.id);
    else {
      assert.equal(r.status, 'accepted', `${v.id}: ${JSON.stringify(r)}`);
      assert.equal(r.output.digest, v.expected.digest, v.id);
      assert.ok(same(r.output.claims, v.input.document), v.id);
    }
  }
});

// --- receipt-verifier ---------------------------------------------------------------------

const receipts = loadVectors('receipts');

function verifierInput(v) {
  const cards = v.input.rate_cards.map((name) => receipts.fixtures.rate_card_tokens[name]);
  return { trust: receipts.fixtures.trust[v.input.trust], rate_cards: cards, now: v.input.now };
}

/** A vector whose trust store itself is refused (REC-034): the whole case is rejected. */
function refusedTrustStore(v) {
  try {
    new TrustStore(receipts.fixtures.trust[v.input.trust]);
    return false;
  } catch (error) {
    if (error instanceof TokenfedError) return true;
    throw error;
  }
}

function streamExpectation(v) {
  if ('error' in v.expected) return { ok: false, error: v.expected.error };
  return { ok: true, duplicate: v.expected.duplicate === true };
}

/** The claims bytes of a receipt: the JWS payload, or a batched receipt's claims. */
function claimsBytes(receipt) {
  return b64urlDecode(typeof receipt === 'string' ? receipt.split('.')[1] : receipt.claims);
}

/**
 * What the tracker answers for each prior receipt of a vector (all are accepted): a duplicate
 * when an earlier one had the same iss, jti and content digest (REC-042), whatever its signature.
 */
function priorExpectations(v) {
  const seen = new Set();
  return v.input.prior.map((p) => {
    const bytes = claimsBytes(p);
    const claims = JSON.parse(bytes.toString('utf8'));
    const key = JSON.stringify([claims.iss, claims.jti, createHash('sha256').update(bytes).digest('hex')]);
    const duplicate = seen.has(key);
    seen.add(key);
    return { ok: true, duplicate };
  });
}

test('verify-stream: every receipts vector after its prior receipts', () => {
  const cases = receipts.vectors.map((v) => ({
    id: v.id,
    op: 'verify-stream',
    input: { receipts: [...v.input.prior, v.input.receipt], ...verifierInput(v) },
  }));
  const results = runBatch(cases);
  for (const v of receipts.vectors) {
    const r = results.get(v.id);
    const expected = streamExpectation(v);
    if (refusedTrustStore(v)) {
      // A trust store with a bad key or shape is refused as a whole (REC-034).
      assert.equal(r.status === 'rejected' && r.error.error, v.expected.error, v.id);
      continue;
    }
    assert.equal(r.status, 'accepted', `${v.id}: ${JSON.stringify(r)}`);
    const list = r.output.results;
    assert.equal(list.length, v.input.prior.length + 1, v.id);
    assert.deepEqual(list.slice(0, -1), priorExpectations(v), v.id);
    assert.deepEqual(list.at(-1), expected, v.id);
  }
});

test('verify-receipt: every receipts vector without prior receipts (steps 1 to 11 only)', () => {
  const alone = receipts.vectors.filter((v) => v.input.prior.length === 0);
  const results = runBatch(alone.map((v) => ({ id: v.id, op: 'verify-receipt', input: { receipt: v.input.receipt, ...verifierInput(v) } })));
  for (const v of alone) {
    const r = results.get(v.id);
    // Replay and chain are the tracker's steps; a lone receipt that only breaks its chain verifies.
    const code = 'error' in v.expected && !['chain_break', 'replay'].includes(v.expected.error) ? v.expected.error : null;
    if (code !== null) {
      assert.equal(r.status === 'rejected' && r.error.error, code, v.id);
      continue;
    }
    assert.equal(r.status, 'accepted', `${v.id}: ${JSON.stringify(r)}`);
    const bytes = typeof v.input.receipt === 'string' ? b64urlDecode(v.input.receipt.split('.')[1]) : b64urlDecode(v.input.receipt.claims);
    const claims = JSON.parse(bytes.toString('utf8'));
    assert.deepEqual(r.output, {
      iss: claims.iss,
      aud: claims.aud,
      jti: claims.jti,
      seq: claims.seq,
      amount: claims.amount,
      content_digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    });
  }
});

test('verify-file: every receipts vector as a file of its prior receipts and itself', () => {
  const { dir, cleanup } = tempDir();
  try {
    const cases = receipts.vectors.map((v, i) => {
      const path = join(dir, `${i}.jsonl`);
      const lines = [...v.input.prior, v.input.receipt].map((r) => (typeof r === 'string' ? r : toJsonText(r)));
      writeFileSync(path, `${lines.join('\n')}\n`);
      return { id: v.id, op: 'verify-file', input: { file: path, ...verifierInput(v) } };
    });
    const results = runBatch(cases);
    for (const v of receipts.vectors) {
      const r = results.get(v.id);
      const expected = streamExpectation(v);
      if (refusedTrustStore(v)) {
        assert.equal(r.status === 'rejected' && r.error.error, v.expected.error, v.id);
        continue;
      }
      assert.equal(r.status, 'accepted', `${v.id}: ${JSON.stringify(r)}`);
      const list = r.output.results;
      assert.deepEqual(list.map((x) => x.line), [...Array(v.input.prior.length + 1).keys()].map((n) => n + 1), v.id);
      for (const prior of list.slice(0, -1)) assert.equal(prior.ok, true, v.id);
      const last = list.at(-1);
      if (expected.ok) {
        assert.equal(last.ok, true, `${v.id}: ${JSON.stringify(last)}`);
        assert.deepEqual(Object.keys(last), ['line', 'ok', 'iss', 'jti', 'amount'], v.id);
      } else {
        assert.deepEqual(last, { line: list.length, ok: false, error: expected.error }, v.id);
      }
    }
  } finally {
    cleanup();
  }
});

test('verify-file: lines are decoded one by one; a bad line does not stop the others (REC-070, REC-071)', () => {
  const v = receipts.vectors.find((x) => x.id === 'valid-eddsa-seq1');
  const next = receipts.vectors.find((x) => x.id === 'valid-eddsa-seq2');
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'mixed.jsonl');
    const good = Buffer.from(v.input.receipt, 'ascii');
    const LF = Buffer.from('\n');
    const CRLF = Buffer.from('\r\n');
    const longLine = Buffer.alloc(65537, 0x41);
    const content = Buffer.concat([
      Buffer.from([0xff, 0xfe, 0x41]), LF, // 1: not UTF-8
      LF, // 2: an empty line
      Buffer.from(' \t '), LF, // 3: only spaces and tabs
      good, CRLF, // 4: a CRLF line end: the CR is not part of the line
      Buffer.from(JSON.stringify(v.input.receipt)), LF, // 5: the receipt as a JSON string
      longLine, LF, // 6: over 65536 bytes, not parsed
      good, LF, // 7: an identical resubmission: accepted, counted once
      Buffer.from(next.input.receipt, 'ascii'), // 8: the last line, without a final LF
    ]);
    writeFileSync(path, content);
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    const atLimit = join(dir, 'at-limit.jsonl');
    writeFileSync(atLimit, Buffer.concat([Buffer.alloc(65536, 0x41), CRLF]));
    const cases = [
      { id: 'mixed', op: 'verify-file', input: { file: path, ...verifierInput(v) } },
      { id: 'empty', op: 'verify-file', input: { file: empty, ...verifierInput(v) } },
      { id: 'at-limit', op: 'verify-file', input: { file: atLimit, ...verifierInput(v) } },
    ];
    const results = runBatch(cases);
    const run = results.get('mixed');
    assert.equal(run.status, 'accepted', JSON.stringify(run));
    const accepted = (line, jti, amount) => ({ line, ok: true, iss: 'https://provider-a.example', jti, amount });
    assert.deepEqual(run.output.results, [
      { line: 1, ok: false, error: 'malformed' },
      { line: 2, ok: false, error: 'malformed' },
      { line: 3, ok: false, error: 'malformed' },
      accepted(4, 'r-0001', '4.48'),
      { line: 5, ok: false, error: 'malformed' },
      { line: 6, ok: false, error: 'malformed' },
      accepted(7, 'r-0001', '4.48'),
      accepted(8, 'r-0002', '19.6'),
    ]);
    // An empty file has no lines; a line of exactly 65536 bytes is parsed (and is no receipt).
    assert.deepEqual(results.get('empty').output, { results: [] });
    assert.deepEqual(results.get('at-limit').output.results, [{ line: 1, ok: false, error: 'malformed' }]);
  } finally {
    cleanup();
  }
});

test('verify-batch: a whole batch by its recomputed root (REC-064)', () => {
  const last = receipts.vectors.find((x) => x.id === 'valid-batched-last');
  const batched = [...last.input.prior, last.input.receipt];
  const batch = batched[0].batch;
  assert.ok(batched.every((b) => b.batch === batch));
  const claims = batched.map((b) => b.claims);
  const input = (list) => ({ batch, claims: list, ...verifierInput(last) });
  const results = runBatch([
    { id: 'whole', op: 'verify-batch', input: input(claims) },
    { id: 'swapped', op: 'verify-batch', input: input([claims[1], claims[0], ...claims.slice(2)]) },
    { id: 'short', op: 'verify-batch', input: input(claims.slice(0, 4)) },
    { id: 'attacker', op: 'verify-batch', input: input(claims).trust && { ...input(claims), batch: signJws({}, 'attacker', 'tokenfed-receipt-batch+jwt') } },
  ]);
  assert.deepEqual(results.get('whole').output.results, claims.map(() => ({ ok: true, duplicate: false })));
  assert.equal(results.get('swapped').error.error, 'invalid_proof');
  assert.equal(results.get('short').error.error, 'invalid_proof');
  assert.equal(results.get('attacker').error.error, 'unknown_key');
});

test('verify-receipt: the boundaries of REC-062 steps 1 and 3 for a batched receipt', () => {
  const v = receipts.vectors.find((x) => x.id === 'valid-batched-first');
  const item = v.input.receipt;
  const { ver, ...withoutVer } = item;
  const variants = {
    'ver-2': [{ ...item, ver: '2.0' }, 'unsupported_version'],
    'ver-missing': [withoutVer, 'malformed'],
    'ver-not-a-version': [{ ...item, ver: '1' }, 'malformed'],
    'claims-padded': [{ ...item, claims: `${item.claims}=` }, 'malformed'],
    'claims-empty': [{ ...item, claims: '' }, 'invalid_proof'],
    'leaf-index-negative': [{ ...item, leaf_index: -1 }, 'malformed'],
    'leaf-index-string': [{ ...item, leaf_index: '0' }, 'malformed'],
    'path-not-array': [{ ...item, audit_path: item.audit_path[0] }, 'malformed'],
    'path-entry-number': [{ ...item, audit_path: [1, ...item.audit_path.slice(1)] }, 'malformed'],
    'path-entry-null': [{ ...item, audit_path: [...item.audit_path.slice(1), null] }, 'malformed'],
    'path-entry-short': [{ ...item, audit_path: [item.audit_path[0].slice(2), ...item.audit_path.slice(1)] }, 'invalid_proof'],
    'path-too-long': [{ ...item, audit_path: Array(65).fill(item.audit_path[0]) }, 'invalid_proof'],
    'leaf-index-largest': [{ ...item, leaf_index: 9007199254740991 }, 'invalid_proof'],
    'ver-major-only': [{ ...item, ver: '2' }, 'malformed'],
    'path-entry-upper-case': [{ ...item, audit_path: [item.audit_path[0].toUpperCase(), ...item.audit_path.slice(1)] }, 'invalid_proof'],
    'count-beyond-i-json': [{ ...item, extra: 9007199254740992 }, 'malformed'],
    'batch-not-string': [{ ...item, batch: 1 }, 'malformed'],
  };
  assert.equal(typeof ver, 'string');
  const results = runBatch(Object.entries(variants).map(([id, [receipt]]) => ({ id, op: 'verify-receipt', input: { receipt, ...verifierInput(v) } })));
  for (const [id, [, code]] of Object.entries(variants)) {
    const r = results.get(id);
    assert.equal(r.status === 'rejected' && r.error.error, code, `${id}: ${JSON.stringify(r)}`);
  }
});

test('verify-receipt: REC-062 step 4 judges iss and an integer iat; any other iat is the schema\'s', () => {
  const v = receipts.vectors.find((x) => x.id === 'valid-batched-first');
  const claims = JSON.parse(b64urlDecode(v.input.receipt.claims).toString('utf8'));
  const statementIat = claims.iat + 60;
  // A batch of one leaf: its tree head is the leaf hash, its audit path empty.
  const batched = (leafClaims) => {
    const bytes = Buffer.from(canonicalize(leafClaims), 'utf8');
    const root = createHash('sha256').update(Buffer.concat([Buffer.from([0]), bytes])).digest('hex');
    const statement = { iss: claims.iss, ver: '1.0', iat: statementIat, batch_id: 'b-step-4', tree_size: 1, tree_root: root };
    return { ver: '1.0', claims: bytes.toString('base64url'), leaf_index: 0, audit_path: [], batch: signJws(statement, 'provider-a', 'tokenfed-receipt-batch+jwt') };
  };
  const variants = {
    valid: [batched(claims), null],
    'iat-string': [batched({ ...claims, iat: String(claims.iat) }), 'schema_violation'],
    'iat-later-than-statement': [batched({ ...claims, iat: statementIat + 1 }), 'invalid_proof'],
    'iss-not-string': [batched({ ...claims, iss: [claims.iss] }), 'invalid_proof'],
    'iss-other': [batched({ ...claims, iss: 'https://provider-b.example' }), 'invalid_proof'],
  };
  const results = runBatch(Object.entries(variants).map(([id, [receipt]]) => ({ id, op: 'verify-receipt', input: { receipt, ...verifierInput(v) } })));
  for (const [id, [, code]] of Object.entries(variants)) {
    const r = results.get(id);
    if (code === null) assert.equal(r.status, 'accepted', `${id}: ${JSON.stringify(r)}`);
    else assert.equal(r.status === 'rejected' && r.error.error, code, `${id}: ${JSON.stringify(r)}`);
  }
});

test('verify-receipt and verify-stream: a payload that is not JCS is hashed as received (REC-010, REC-042)', () => {
  const v = receipts.vectors.find((x) => x.id === 'valid-eddsa-seq1');
  const jcs = v.input.receipt;
  const jcsBytes = b64urlDecode(jcs.split('.')[1]);
  const claims = JSON.parse(jcsBytes.toString('utf8'));
  // The same claims, members in another order and with spaces: other claims bytes.
  const loose = JSON.stringify(Object.fromEntries(Object.entries(claims).reverse()), null, 1);
  const looseDigest = `sha256:${createHash('sha256').update(loose, 'utf8').digest('hex')}`;
  const typ = 'tokenfed-receipt+jwt';
  const { kid } = TEST_KEYS['provider-a'];
  const looseToken = signPayload(loose, 'provider-a', typ);
  const looseResigned = signPayload(loose, 'provider-a', typ, JSON.stringify({ typ, kid, alg: 'EdDSA' }));
  assert.notEqual(looseResigned, looseToken);
  const stream = (list) => ({ receipts: list, ...verifierInput(v) });
  const results = runBatch([
    { id: 'alone', op: 'verify-receipt', input: { receipt: looseToken, ...verifierInput(v) } },
    { id: 'twice', op: 'verify-stream', input: stream([looseToken, looseResigned]) },
    { id: 'after-jcs', op: 'verify-stream', input: stream([jcs, looseToken]) },
  ]);
  const alone = results.get('alone');
  assert.equal(alone.status, 'accepted', JSON.stringify(alone));
  assert.equal(alone.output.content_digest, looseDigest);
  assert.notEqual(alone.output.content_digest, `sha256:${createHash('sha256').update(jcsBytes).digest('hex')}`);
  // The same bytes signed twice are one receipt; other bytes under the same jti are a replay.
  assert.deepEqual(results.get('twice').output.results, [{ ok: true, duplicate: false }, { ok: true, duplicate: true }]);
  assert.deepEqual(results.get('after-jcs').output.results, [{ ok: true, duplicate: false }, { ok: false, error: 'replay' }]);
});
