// Expectations of vectors generated before two decisions for spec 1.0 that change them:
// the receipt chain over content digests, and low-S ES256 signatures.

import { createHash } from 'node:crypto';

import { b64urlDecode } from '../lib/b64.mjs';

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

const N256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/**
 * The expectation of a jws vector under the low-S rule for ES256 (verifiers reject s > n/2):
 * a vector generated before the rule may expect acceptance of a high-S signature.
 */
export function lowSExpectation(v) {
  if ('error' in v.expected || v.expected.header.alg !== 'ES256') return v.expected;
  const signature = b64urlDecode(v.input.token.split('.')[2]);
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  return s > N256 / 2n ? { error: 'invalid_signature' } : v.expected;
}
