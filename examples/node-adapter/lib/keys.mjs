// Public keys: JWK loading with the checks of CONV-044, CONV-045 and the Ed25519/P-256 rules,
// RFC 7638 thumbprints, signature verification, and trust stores with validity windows
// (REC-030, REC-031, REC-033, REC-034).
//
// node:crypto computes the signature equations. The rules that OpenSSL leaves to the caller
// are checked here first, with BigInt arithmetic of our own:
// - Ed25519: the public key is the canonical encoding of a point of the prime-order subgroup
//   other than the identity (checked when the key is loaded, CONV-070); a signature is 64 bytes R || S with S < L and R not an
//   encoding of a small-order point. OpenSSL's verification is the cofactorless one (the
//   encoding of [S]B - [k]A must equal R byte for byte).
// - ES256: the public key is a point of P-256; a signature is exactly 64 bytes r || s with
//   r, s in 1..n-1 and s <= n/2 (low S).

import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';

import { b64urlDecode } from './b64.mjs';
import { fail } from './errors.mjs';
import { canonicalize, codePoints, isInt, isObject } from './json.mjs';
import { ENTITY_ID } from './schema.mjs';

// --- Ed25519 (RFC 8032) ---------------------------------------------------------------------

const P25519 = 2n ** 255n - 19n;
const L25519 = 2n ** 252n + 27742317777372353535851937790883648493n;

function mod(a, m) {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function powmod(base, exp, m) {
  let result = 1n;
  base = mod(base, m);
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % m;
    base = (base * base) % m;
    exp >>= 1n;
  }
  return result;
}

const D25519 = mod(-121665n * powmod(121666n, P25519 - 2n, P25519), P25519);
const SQRT_M1 = powmod(2n, (P25519 - 1n) / 4n, P25519);

function bytesToIntLE(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i -= 1) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/**
 * Decode a 32-byte Edwards point encoding to extended coordinates, or null.
 * With `canonicalOnly`, a y >= p is refused; otherwise it is reduced (for the R check, which
 * must also catch non-canonical encodings of small-order points).
 */
function decodePoint(bytes, canonicalOnly) {
  const sign = bytes[31] >> 7;
  const yBytes = Uint8Array.from(bytes);
  yBytes[31] &= 0x7f;
  let y = bytesToIntLE(yBytes);
  if (y >= P25519) {
    if (canonicalOnly) return null;
    y -= P25519;
  }
  const y2 = (y * y) % P25519;
  const u = mod(y2 - 1n, P25519);
  const v = mod(D25519 * y2 + 1n, P25519);
  // x = sqrt(u / v) by RFC 8032 section 5.1.3.
  let x = (u * powmod(v, 3n, P25519) * powmod(u * powmod(v, 7n, P25519), (P25519 - 5n) / 8n, P25519)) % P25519;
  const vx2 = (v * x * x) % P25519;
  if (vx2 !== u) {
    if (vx2 === mod(-u, P25519)) x = (x * SQRT_M1) % P25519;
    else return null;
  }
  if (x === 0n && sign === 1) {
    if (canonicalOnly) return null;
  }
  if (Number(x & 1n) !== sign) x = mod(-x, P25519);
  return [x, y, 1n, (x * y) % P25519];
}

function pointAdd(a, b) {
  const [x1, y1, z1, t1] = a;
  const [x2, y2, z2, t2] = b;
  const A = mod((y1 - x1) * (y2 - x2), P25519);
  const B = ((y1 + x1) * (y2 + x2)) % P25519;
  const C = (((2n * t1 * t2) % P25519) * D25519) % P25519;
  const D = (2n * z1 * z2) % P25519;
  const E = mod(B - A, P25519);
  const F = mod(D - C, P25519);
  const G = (D + C) % P25519;
  const H = (B + A) % P25519;
  return [(E * F) % P25519, (G * H) % P25519, (F * G) % P25519, (E * H) % P25519];
}

function scalarMult(point, scalar) {
  let result = [0n, 1n, 1n, 0n];
  let addend = point;
  while (scalar > 0n) {
    if (scalar & 1n) result = pointAdd(result, addend);
    addend = pointAdd(addend, addend);
    scalar >>= 1n;
  }
  return result;
}

function isIdentity(point) {
  const [x, y, z] = point;
  return x % P25519 === 0n && mod(y - z, P25519) === 0n;
}

/** True if the 32 bytes decode (canonically or not) to a point of order dividing 8. */
export function isSmallOrderEncoding(bytes) {
  const point = decodePoint(bytes, false);
  return point !== null && isIdentity(scalarMult(point, 8n));
}

// Encodings already found to be canonical points of the prime-order subgroup ([L]A costs ms).
const checkedEd25519 = new Set();

function checkEd25519PublicKey(raw) {
  if (raw === null || raw.length !== 32) fail('invalid_key', 'an Ed25519 key has a 32-byte x');
  const hex = raw.toString('hex');
  if (checkedEd25519.has(hex)) return;
  const point = decodePoint(raw, true);
  if (point === null) fail('invalid_key', 'the Ed25519 x is not the canonical encoding of a curve point');
  if (isIdentity(point)) fail('invalid_key', 'the Ed25519 public key is the identity point, which binds its owner to nothing (CONV-070)');
  if (!isIdentity(scalarMult(point, L25519))) {
    fail('invalid_key', 'the Ed25519 public key is not in the prime-order subgroup (CONV-070)');
  }
  checkedEd25519.add(hex);
}

function verifyEd25519(keyObject, data, signature) {
  if (signature.length !== 64) return false;
  if (bytesToIntLE(signature.subarray(32)) >= L25519) return false;
  if (isSmallOrderEncoding(signature.subarray(0, 32))) return false;
  return cryptoVerify(null, data, keyObject, signature);
}

// --- P-256 (ES256) ----------------------------------------------------------------------------

const P256 = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const B256 = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const N256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function bytesToIntBE(bytes) {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function checkP256PublicKey(rawX, rawY) {
  if (rawX === null || rawY === null || rawX.length !== 32 || rawY.length !== 32) {
    fail('invalid_key', 'a P-256 key has a 32-byte x and a 32-byte y');
  }
  const x = bytesToIntBE(rawX);
  const y = bytesToIntBE(rawY);
  if (x >= P256 || y >= P256) fail('invalid_key', 'a P-256 coordinate is not below the field prime');
  if (mod(y * y - (x * x * x - 3n * x + B256), P256) !== 0n) {
    fail('invalid_key', 'the P-256 public key is not a point on the curve');
  }
}

function verifyEs256(keyObject, data, signature) {
  if (signature.length !== 64) return false;
  const r = bytesToIntBE(signature.subarray(0, 32));
  const s = bytesToIntBE(signature.subarray(32));
  if (r < 1n || r >= N256 || s < 1n || s >= N256) return false;
  if (s > N256 / 2n) return false;
  return cryptoVerify('sha256', data, { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature);
}

// --- JWK ----------------------------------------------------------------------------------

/** RFC 7638 thumbprint (SHA-256, base64url) of an OKP or EC public JWK. */
export function thumbprint(jwk) {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(canonicalize(members)).digest('base64url');
}

/**
 * Load a public JWK. Returns {kid, alg, verify(data, signature) -> bool, nbf, exp, revokedAt}.
 * `invalid_key` for a private key, an unknown type or curve, a bad point, an `alg` that does
 * not fit the curve, or a `kid` that is not the thumbprint. With `window`, the validity
 * members of REC-030 are read (nbf required).
 */
export function loadPublicJwk(jwk, { window = false, requireKid = false } = {}) {
  if (!isObject(jwk)) fail('invalid_key', 'a JWK must be a JSON object');
  if (Object.hasOwn(jwk, 'd')) fail('invalid_key', 'a private key was given where a public key is required');
  let alg;
  let keyObject;
  let verify;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    alg = 'EdDSA';
    const raw = typeof jwk.x === 'string' ? b64urlDecode(jwk.x) : null;
    checkEd25519PublicKey(raw);
    keyObject = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
    verify = (data, signature) => verifyEd25519(keyObject, data, signature);
  } else if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
    alg = 'ES256';
    const rawX = typeof jwk.x === 'string' ? b64urlDecode(jwk.x) : null;
    const rawY = typeof jwk.y === 'string' ? b64urlDecode(jwk.y) : null;
    checkP256PublicKey(rawX, rawY);
    keyObject = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' });
    verify = (data, signature) => verifyEs256(keyObject, data, signature);
  } else {
    fail('invalid_key', 'a key must be an Ed25519 (OKP) or P-256 (EC) JWK');
  }
  if (Object.hasOwn(jwk, 'alg') && jwk.alg !== alg) {
    fail('invalid_key', `the key's alg ${JSON.stringify(jwk.alg)} does not fit its curve (${alg})`);
  }
  if (Object.hasOwn(jwk, 'use') && jwk.use !== 'sig') fail('invalid_key', 'a signing key must have use "sig"');
  const kid = thumbprint(jwk);
  if (Object.hasOwn(jwk, 'kid')) {
    if (jwk.kid !== kid) fail('invalid_key', `the kid ${JSON.stringify(jwk.kid)} is not the key's RFC 7638 thumbprint`);
  } else if (requireKid) {
    fail('invalid_key', 'every trust-store key must have a kid');
  }
  const key = { kid, alg, verify, nbf: null, exp: null, revokedAt: null };
  if (window) {
    if (!isInt(jwk.nbf)) fail('invalid_key', 'every trust-store key must have an integer nbf');
    key.nbf = jwk.nbf;
    if (Object.hasOwn(jwk, 'exp')) {
      if (!isInt(jwk.exp)) fail('invalid_key', 'a key exp must be a NumericDate');
      if (jwk.exp <= jwk.nbf) fail('invalid_key', `the key's exp ${jwk.exp} is not after its nbf ${jwk.nbf} (REC-034)`);
      key.exp = jwk.exp;
    }
    if (Object.hasOwn(jwk, 'revoked')) {
      const revoked = jwk.revoked;
      if (!isObject(revoked) || !isInt(revoked.revoked_at)) {
        fail('invalid_key', 'revoked must be an object with an integer revoked_at');
      }
      if (Object.hasOwn(revoked, 'reason') && typeof revoked.reason !== 'string') {
        fail('invalid_key', 'revoked.reason must be a string');
      }
      key.revokedAt = revoked.revoked_at;
    }
  }
  return key;
}

/**
 * Load a private JWK for signing. Returns {kid, alg, sign(data) -> signature}. The public
 * members must pass loadPublicJwk and match `d`. ES256 signatures are made low-S (s <= n/2).
 */
export function loadPrivateJwk(jwk) {
  if (!isObject(jwk) || typeof jwk.d !== 'string') fail('invalid_key', 'a signing key must be a private JWK (with d)');
  const { d, ...publicMembers } = jwk;
  const pub = loadPublicJwk(publicMembers);
  const members = pub.alg === 'EdDSA' ? { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d } : { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d };
  let keyObject;
  try {
    keyObject = createPrivateKey({ key: members, format: 'jwk' });
  } catch {
    fail('invalid_key', 'the private key d cannot be read');
  }
  const derived = createPublicKey(keyObject).export({ format: 'jwk' });
  if (derived.x !== jwk.x || (pub.alg === 'ES256' && derived.y !== jwk.y)) {
    fail('invalid_key', 'the private key d does not belong to the public members');
  }
  const sign =
    pub.alg === 'EdDSA'
      ? (data) => cryptoSign(null, data, keyObject)
      : (data) => {
          const signature = cryptoSign('sha256', data, { key: keyObject, dsaEncoding: 'ieee-p1363' });
          const s = bytesToIntBE(signature.subarray(32));
          if (s <= N256 / 2n) return signature;
          const low = Buffer.from((N256 - s).toString(16).padStart(64, '0'), 'hex');
          return Buffer.concat([signature.subarray(0, 32), low]);
        };
  return { kid: pub.kid, alg: pub.alg, sign };
}

/** REC-031: the key may have signed at time t. */
export function keyValidAt(key, t) {
  if (key.nbf !== null && t < key.nbf) return false;
  if (key.exp !== null && t >= key.exp) return false;
  if (key.revokedAt !== null && t >= key.revokedAt) return false;
  return true;
}

// --- Trust store ----------------------------------------------------------------------------

const VERSION = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

/**
 * A trust store (spec/schemas/trust-store.schema.json): issuer -> kid -> key. A store that
 * breaks REC-034 is refused as a whole, with the first code that applies in the order of
 * REC-034: `unsupported_version` (a `ver` of another major version), then `schema_violation`
 * (the shape of the document, anywhere in it), then `invalid_key` (the content of a key).
 */
export class TrustStore {
  constructor(document) {
    // 1. Version.
    if (isObject(document) && typeof document.ver === 'string' && VERSION.test(document.ver) && document.ver.split('.')[0] !== '1') {
      fail('unsupported_version', `trust store ver ${document.ver} is not 1.x`);
    }
    // 2. Shape, over the whole document before any key is read.
    if (!isObject(document)) fail('schema_violation', 'a trust store must be a JSON object');
    if (typeof document.ver !== 'string' || !VERSION.test(document.ver)) fail('schema_violation', 'a trust store needs ver "MAJOR.MINOR"');
    if (!isObject(document.issuers)) fail('schema_violation', 'a trust store needs an issuers object');
    for (const iss of Object.keys(document.issuers)) {
      if (!ENTITY_ID.test(iss) || codePoints(iss) > 2048) {
        fail('schema_violation', `trust-store issuer ${JSON.stringify(iss)} is not an https URL of at most 2048 characters (CONV-001)`);
      }
      const entry = document.issuers[iss];
      if (!isObject(entry) || !isObject(entry.jwks)) fail('schema_violation', `trust-store issuer ${iss} needs a jwks object`);
      if (!Array.isArray(entry.jwks.keys)) fail('schema_violation', `the JWKS of ${iss} needs keys, an array of JWKs`);
      if (!entry.jwks.keys.every(isObject)) fail('schema_violation', `every key of ${iss} must be a JSON object`);
    }
    // 3. Keys.
    this.issuers = new Map();
    for (const iss of Object.keys(document.issuers)) {
      const keys = new Map();
      for (const jwk of document.issuers[iss].jwks.keys) {
        const key = loadPublicJwk(jwk, { window: true, requireKid: true });
        if (keys.has(key.kid)) fail('invalid_key', `the kid ${key.kid} is listed twice under ${iss}`);
        keys.set(key.kid, key);
      }
      this.issuers.set(iss, keys);
    }
  }

  /** The key listed under `iss` with `kid` (REC-033), or null. */
  find(iss, kid) {
    if (typeof iss !== 'string' || typeof kid !== 'string') return null;
    const keys = this.issuers.get(iss);
    return (keys && keys.get(kid)) || null;
  }
}
