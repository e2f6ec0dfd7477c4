// The adapter's own primitives on cases the vectors do not pin down: strict JSON details,
// canonical base64url, half-to-even rounding, and the Ed25519 and ES256 rules of spec 1.0.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { b64urlDecode } from '../lib/b64.mjs';
import { divRoundHalfEven, fromScaled, toScaled } from '../lib/decimal.mjs';
import { TokenfedError } from '../lib/errors.mjs';
import { canonicalize, parseLoose, parseStrict, RawNumber } from '../lib/json.mjs';
import { isSmallOrderEncoding, loadPublicJwk, thumbprint, TrustStore } from '../lib/keys.mjs';
import { publicJwk, signJws } from '../test-support/helpers.mjs';

function code(fn) {
  try {
    fn();
  } catch (error) {
    if (error instanceof TokenfedError) return error.code;
    throw error;
  }
  return null;
}

const bytes = (text) => Buffer.from(text, 'utf8');

test('strict JSON: noncharacters, lone surrogates, depth, duplicates after unescaping', () => {
  assert.equal(code(() => parseStrict(bytes('{"a":"\\ufffe"}'))), 'malformed');
  assert.equal(code(() => parseStrict(bytes('{"a":"\\ufdd0"}'))), 'malformed');
  assert.equal(code(() => parseStrict(bytes('{"a":"\u{1fffe}"}'))), 'malformed');
  assert.equal(code(() => parseStrict(bytes('{"a":"\\ud83d"}'))), 'malformed');
  assert.equal(code(() => parseStrict(bytes('{"a":"\\ud83d\\u0041"}'))), 'malformed');
  assert.equal(code(() => parseStrict(bytes('{"ab":1,"a\\u0062":2}'))), 'malformed');
  assert.equal(code(() => parseStrict(bytes('{"a":"\t"}'))), 'malformed');
  assert.equal(code(() => parseStrict(bytes('{"a":01}'))), 'malformed');
  assert.equal(code(() => parseStrict(bytes('{"a":-}'))), 'malformed');
  assert.equal(code(() => parseStrict(bytes('{"a":1.}'))), 'malformed');
  assert.equal(code(() => parseStrict(Buffer.from([0x7b, 0x7d, 0xc0]))), 'malformed');
  assert.equal(code(() => parseStrict(bytes(`${'['.repeat(33)}${']'.repeat(33)}`))), 'malformed');
  assert.deepEqual(parseStrict(bytes(`${'['.repeat(32)}${']'.repeat(32)}`)).length, 1);
  assert.equal(parseStrict(bytes('{"a":-0}')).a, 0);
  assert.equal(parseStrict(bytes('{"__proto__":1}')).__proto__, 1);
  assert.equal(parseStrict(bytes('"\\ud83d\\ude00"')), '\u{1f600}');
});

test('loose case files keep numbers a document could not hold as RawNumber', () => {
  const value = parseLoose(bytes('{"a":9007199254740992,"b":1.5,"c":9007199254740991}'));
  assert.ok(value.a instanceof RawNumber && value.a.text === '9007199254740992');
  assert.ok(value.b instanceof RawNumber);
  assert.equal(value.c, 9007199254740991);
});

test('JCS: keys by UTF-16 code units, strings escaped as ECMAScript does', () => {
  assert.equal(canonicalize({ b: 1, a: [true, null, '\u2028\u0007"'], '\u{1f600}': 0, '\uffff': 0 }), '{"a":[true,null,"\u2028\\u0007\\""],"b":1,"\u{1f600}":0,"\uffff":0}');
});

test('base64url: canonical only', () => {
  assert.deepEqual(b64urlDecode('AQ'), Buffer.from([1]));
  assert.equal(b64urlDecode('AR'), null); // unused trailing bits set
  assert.equal(b64urlDecode('AQ=='), null);
  assert.equal(b64urlDecode('A'), null);
  assert.equal(b64urlDecode('+/'), null);
  assert.deepEqual(b64urlDecode(''), Buffer.alloc(0));
});

test('half-to-even rounding is symmetric about zero and exact for huge values', () => {
  const cases = [
    [5n, 2n, 2n],
    [7n, 2n, 4n],
    [-5n, 2n, -2n],
    [-7n, 2n, -4n],
    [1n, 3n, 0n],
    [2n, 3n, 1n],
    [-2n, 3n, -1n],
    [10n ** 40n + 5n, 10n, 10n ** 39n],
  ];
  for (const [n, d, q] of cases) assert.equal(divRoundHalfEven(n, d), q, `${n}/${d}`);
  assert.equal(fromScaled(toScaled('-0.000001', 9), 9), '-0.000001');
  assert.equal(fromScaled(0n, 6), '0');
});

test('JWK: the RFC 8037 thumbprint, and keys that are refused', () => {
  assert.equal(thumbprint(publicJwk('rfc8037-a1')), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  const okp = (xHex) => ({ kty: 'OKP', crv: 'Ed25519', x: Buffer.from(xHex, 'hex').toString('base64url') });
  // A point of order 8, outside the prime-order subgroup.
  assert.equal(code(() => loadPublicJwk(okp('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'))), 'invalid_key');
  // y = p: not a canonical encoding.
  assert.equal(code(() => loadPublicJwk(okp('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'))), 'invalid_key');
  assert.equal(code(() => loadPublicJwk({ ...publicJwk('provider-a'), alg: 'ES256' })), 'invalid_key');
  assert.equal(code(() => loadPublicJwk({ ...publicJwk('provider-a'), kid: publicJwk('attacker').kid })), 'invalid_key');
  assert.equal(code(() => loadPublicJwk({ ...publicJwk('provider-b'), y: publicJwk('provider-b').x })), 'invalid_key');
  assert.equal(code(() => loadPublicJwk({ kty: 'RSA', n: 'AQAB', e: 'AQAB' })), 'invalid_key');
  assert.equal(code(() => loadPublicJwk({ kty: 'OKP', crv: 'X25519', x: publicJwk('provider-a').x })), 'invalid_key');
});

const L25519 = 2n ** 252n + 27742317777372353535851937790883648493n;
const N256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function signedParts(keyName) {
  const token = signJws({ iss: 'https://x.example' }, keyName, 'tokenfed-rate-card+jwt');
  const [h, p, s] = token.split('.');
  return { input: Buffer.from(`${h}.${p}`), signature: b64urlDecode(s) };
}

function leBytes(n) {
  const out = Buffer.alloc(32);
  for (let i = 0; i < 32; i += 1) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

test('Ed25519: small-order encodings, canonical or not, are recognised', () => {
  const hex = (h) => Buffer.from(h, 'hex');
  const identity = Buffer.alloc(32);
  identity[0] = 1;
  assert.equal(isSmallOrderEncoding(identity), true);
  assert.equal(isSmallOrderEncoding(hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a')), true); // order 8
  assert.equal(isSmallOrderEncoding(hex('0000000000000000000000000000000000000000000000000000000000000080')), true); // order 4
  assert.equal(isSmallOrderEncoding(hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')), true); // y = p, i.e. 0
  assert.equal(isSmallOrderEncoding(b64urlDecode(publicJwk('provider-a').x)), false);
});

test('Ed25519: S < L, R not of small order, 64 bytes', () => {
  const key = loadPublicJwk(publicJwk('provider-a'));
  const { input, signature } = signedParts('provider-a');
  assert.equal(key.verify(input, signature), true);
  let s = 0n;
  for (let i = 31; i >= 0; i -= 1) s = (s << 8n) | BigInt(signature[32 + i]);
  assert.equal(key.verify(input, Buffer.concat([signature.subarray(0, 32), leBytes(s + L25519)])), false);
  const identity = Buffer.alloc(32);
  identity[0] = 1;
  assert.equal(key.verify(input, Buffer.concat([identity, signature.subarray(32)])), false);
  assert.equal(key.verify(input, signature.subarray(0, 63)), false);
});

test('ES256: low S only, r and s in 1..n-1, 64 bytes', () => {
  const key = loadPublicJwk(publicJwk('provider-b'));
  const { input, signature } = signedParts('provider-b');
  assert.equal(key.verify(input, signature), true);
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  const high = Buffer.from((N256 - s).toString(16).padStart(64, '0'), 'hex');
  assert.equal(key.verify(input, Buffer.concat([signature.subarray(0, 32), high])), false);
  assert.equal(key.verify(input, Buffer.alloc(64)), false);
  assert.equal(key.verify(input, Buffer.concat([signature, Buffer.alloc(1)])), false);
});

test('trust stores: refused as a whole with the first code of REC-034: version, shape, then key content', () => {
  const key = { ...publicJwk('provider-a'), nbf: 0 };
  const other = { ...publicJwk('provider-b'), nbf: 0 };
  const store = (keys, extra = {}) => ({ ver: '1.0', issuers: { 'https://a.example': { jwks: { keys } } }, ...extra });
  const withIssuers = (issuers) => ({ ver: '1.0', issuers });
  assert.equal(code(() => new TrustStore(store([key]))), null);
  assert.equal(code(() => new TrustStore(store([key, other]))), null);
  assert.equal(code(() => new TrustStore(store([{ ...key, exp: 1 }]))), null);
  // 1. unsupported_version, before the shape.
  assert.equal(code(() => new TrustStore(store([key], { ver: '2.0' }))), 'unsupported_version');
  assert.equal(code(() => new TrustStore({ ver: '2.0' })), 'unsupported_version');
  // 2. schema_violation: the shape of the document.
  assert.equal(code(() => new TrustStore([])), 'schema_violation');
  assert.equal(code(() => new TrustStore(store([key], { ver: 1 }))), 'schema_violation');
  assert.equal(code(() => new TrustStore(store([key], { ver: '2' }))), 'schema_violation');
  assert.equal(code(() => new TrustStore({ ver: '1.0' })), 'schema_violation');
  assert.equal(code(() => new TrustStore(withIssuers({ 'http://a.example': { jwks: { keys: [] } } }))), 'schema_violation');
  assert.equal(code(() => new TrustStore(withIssuers({ [`https://a.example/${'x'.repeat(2030)}`]: { jwks: { keys: [] } } }))), null);
  assert.equal(code(() => new TrustStore(withIssuers({ [`https://a.example/${'x'.repeat(2031)}`]: { jwks: { keys: [] } } }))), 'schema_violation');
  assert.equal(code(() => new TrustStore(withIssuers({ 'https://a.example': { jwks: [] } }))), 'schema_violation');
  assert.equal(code(() => new TrustStore(withIssuers({ 'https://a.example': { jwks: {} } }))), 'schema_violation');
  assert.equal(code(() => new TrustStore(withIssuers({ 'https://a.example': { jwks: { keys: {} } } }))), 'schema_violation');
  assert.equal(code(() => new TrustStore(store([key, 'not a key']))), 'schema_violation');
  // The shape of the whole document comes before the content of any key.
  const badKeyFirst = withIssuers({ 'https://a.example': { jwks: { keys: [{ ...key, d: 'AAAA' }] } }, 'https://b.example': { jwks: { keys: [null] } } });
  assert.equal(code(() => new TrustStore(badKeyFirst)), 'schema_violation');
  // 3. invalid_key: the content of a key.
  const { nbf, ...withoutNbf } = key;
  const { kid, ...withoutKid } = key;
  assert.equal(nbf, 0);
  assert.equal(typeof kid, 'string');
  assert.equal(code(() => new TrustStore(store([key, withoutNbf]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([key, withoutKid]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([{ ...key, d: 'AAAA' }]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([{ ...key, kid: publicJwk('provider-b').kid }]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([{ ...key, alg: 'ES256' }]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([{ ...key, use: 'enc' }]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([{ ...key, kty: 'RSA' }]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([{ ...key, exp: null }]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([{ ...key, nbf: 10, exp: 10 }]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([{ ...key, revoked: 5 }]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([{ ...key, revoked: { reason: 'lost' } }]))), 'invalid_key');
  assert.equal(code(() => new TrustStore(store([key, other, key]))), 'invalid_key');
  const identity = Buffer.alloc(32);
  identity[0] = 1;
  assert.equal(code(() => new TrustStore(store([{ kty: 'OKP', crv: 'Ed25519', x: identity.toString('base64url'), nbf: 0 }]))), 'invalid_key');
});
