// Signed documents: JWS compact serialization checked in the order of CONV-060, steps 1 to 6.
// Version, schema and semantics (steps 7 to 9) belong to each document kind.

import { b64urlDecode } from './b64.mjs';
import { fail } from './errors.mjs';
import { isObject, parseStrict } from './json.mjs';
import { keyValidAt } from './keys.mjs';

export const DEFAULT_SIZE_LIMIT = 65536;
const ALGORITHMS = new Set(['EdDSA', 'ES256']);

function asciiLower(s) {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** CONV-043: case-insensitive, an `application/` prefix ignored. */
export function typMatches(typ, expected) {
  if (typeof typ !== 'string') return false;
  let t = asciiLower(typ);
  if (t.startsWith('application/')) t = t.slice('application/'.length);
  return t === expected;
}

/**
 * Verify a JWS compact serialization, CONV-060 steps 1 to 6.
 *
 * - `typ`: the expected typ of the document kind.
 * - `sizeLimit`: bytes (CONV-040, REC-009).
 * - `findKey(header, claims)`: the trusted key named by the header (and the claims' issuer),
 *   or null (`unknown_key`).
 * - `validityTime(claims)`: the time at which the key must have been valid, or null to skip
 *   the check (a chapter's addition to step 5, `key_not_valid`).
 *
 * Returns {header, claims, payload} where payload is the payload bytes as received.
 */
export function verifyJws(token, { typ, sizeLimit = DEFAULT_SIZE_LIMIT, findKey, validityTime = () => null }) {
  // 1. Parse.
  if (typeof token !== 'string') fail('malformed', 'a signed document must be a JWS compact serialization (a string)');
  if (Buffer.byteLength(token, 'utf8') > sizeLimit) {
    fail('malformed', `the JWS is longer than its size limit of ${sizeLimit} bytes`);
  }
  const segments = token.split('.');
  if (segments.length !== 3) fail('malformed', `a JWS compact serialization has 3 segments, not ${segments.length}`);
  const [headerBytes, payload, signature] = segments.map(b64urlDecode);
  if (headerBytes === null || payload === null || signature === null) {
    fail('malformed', 'every JWS segment must be canonical unpadded base64url');
  }
  const header = parseStrict(headerBytes, 'the JWS header');
  if (!isObject(header)) fail('malformed', 'the JWS header must be a JSON object');
  const claims = parseStrict(payload, 'the JWS payload');
  if (!isObject(claims)) fail('malformed', 'the JWS payload must be a JSON object');

  // 2. Type.
  if (!typMatches(header.typ, typ)) {
    fail('unsupported_typ', `expected typ ${typ}, got ${JSON.stringify(header.typ ?? null)}`);
  }
  // 3. Algorithm.
  if (typeof header.alg !== 'string' || !ALGORITHMS.has(header.alg)) {
    fail('unsupported_alg', `alg ${JSON.stringify(header.alg ?? null)} is not EdDSA or ES256`);
  }
  // 4. Critical.
  if (Object.hasOwn(header, 'crit')) fail('unsupported_crit', 'tokenfed 1.0 defines no critical header extensions');

  // 5. Key: only from the receiver's trust, never from jku, x5u, jwk or x5c (CONV-047).
  const key = findKey(header, claims);
  if (key === null) fail('unknown_key', `no trusted key has kid ${JSON.stringify(header.kid ?? null)}`);
  if (header.alg !== key.alg) fail('unsupported_alg', `the key is bound to ${key.alg}, the header says ${header.alg}`);
  const t = validityTime(claims);
  if (t !== null && !keyValidAt(key, t)) fail('key_not_valid', `the key ${key.kid} was not valid at ${t}`);

  // 6. Signature over the ASCII bytes of the first two segments as received (CONV-046, CONV-049).
  const signingInput = Buffer.from(`${segments[0]}.${segments[1]}`, 'ascii');
  if (!key.verify(signingInput, signature)) fail('invalid_signature', 'the signature does not verify with the key');
  return { header, claims, payload };
}

const VERSION = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

/** CONV-004: a `ver` of another major version is `unsupported_version`; a bad form is left to the schema. */
export function checkVersion(claims, what) {
  const ver = claims.ver;
  if (typeof ver === 'string' && VERSION.test(ver) && ver.split('.')[0] !== '1') {
    fail('unsupported_version', `${what} has ver ${ver}; this implementation reads 1.x`);
  }
}

/** The key lookup of a trust store: the claims' iss and the header's kid. */
export function trustStoreLookup(trust) {
  return (header, claims) => trust.find(claims.iss, header.kid);
}

/** The integer iat of the claims, or null (the key-validity check applies only to an integer). */
export function integerIat(claims) {
  return typeof claims.iat === 'number' && Number.isInteger(claims.iat) ? claims.iat : null;
}
