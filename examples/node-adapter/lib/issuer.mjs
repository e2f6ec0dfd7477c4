// Issuing receipts (REC-001..REC-010) and Merkle batches of receipts (REC-060..REC-065).
// Claims are JCS-serialized and signed as received by every verifier (CONV-046). Streams chain
// over content digests: `prev` is the digest of the previous receipt's claims bytes.

import { b64urlEncode } from './b64.mjs';
import { fail } from './errors.mjs';
import { canonicalize, depthOf, hasNoncharacter, hasRawNumber, isInt, isObject, MAX_SAFE } from './json.mjs';
import { BATCH_TYP, contentDigest, leafHash, RECEIPT_SIZE_LIMIT, RECEIPT_TYP, treeRoot } from './receipts.mjs';
import { DIGEST, Findings, TOKEN_ID } from './schema.mjs';
import { price, usageFindings } from './units.mjs';

const SUB = /^[A-Za-z0-9_-]{16,128}$/;

/** A JWS compact serialization of claims: header {alg, kid, typ} and payload, both JCS. */
export function signCompact(claims, key, typ) {
  const header = b64urlEncode(Buffer.from(canonicalize({ alg: key.alg, kid: key.kid, typ }), 'utf8'));
  const payload = b64urlEncode(Buffer.from(canonicalize(claims), 'utf8'));
  const signature = key.sign(Buffer.from(`${header}.${payload}`, 'ascii'));
  return `${header}.${payload}.${b64urlEncode(signature)}`;
}

function checkHead(head, where) {
  if (head === null || head === undefined) return null;
  if (!isObject(head) || !isInt(head.seq, 1) || typeof head.digest !== 'string' || !DIGEST.test(head.digest)) {
    fail('schema_violation', `${where} must be null or {seq: integer >= 1, digest: "sha256:..."}`);
  }
  if (head.seq === MAX_SAFE) fail('schema_violation', `${where}: the stream has reached the largest seq, 2^53 - 1`);
  return { seq: head.seq, digest: head.digest };
}

/** The claims of one receipt, checked as a verifier would check them, priced under the card. */
export function receiptClaims({ iss, aud, sub, jti, iat, entitlement, usage, card, head }) {
  const f = new Findings('receipt request');
  f.entityId(iss, 'iss');
  f.entityId(aud, 'aud');
  if (typeof sub !== 'string' || !SUB.test(sub) || /^[0-9]+$/.test(sub)) {
    f.schema('sub must be 16 to 128 base64url characters, not all digits (REC-003)');
  }
  if (typeof jti !== 'string' || !TOKEN_ID.test(jti)) f.schema('jti must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -');
  f.numericDate(iat, 'iat');
  if (entitlement !== null && entitlement !== undefined && (typeof entitlement !== 'string' || !TOKEN_ID.test(entitlement))) {
    f.schema('entitlement must be null or 1 to 128 characters of A-Z a-z 0-9 . _ ~ -');
  }
  usageFindings(usage, f, 'usage');
  f.raise();
  const priced = price(card, usage, iat);
  const claims = {
    iss,
    sub,
    aud,
    jti,
    iat,
    ver: '1.0',
    usage,
    amount: priced.amount,
    unit: 'UTU',
    rate_card: { id: card.id, digest: card.digest },
    seq: head === null ? 1 : head.seq + 1,
  };
  if (head !== null) claims.prev = head.digest;
  if (entitlement !== null && entitlement !== undefined) claims.entitlement = entitlement;
  // Members of the usage this spec does not define are kept (CONV-005), but must be I-JSON.
  if (hasRawNumber(usage) || hasNoncharacter(claims) || depthOf(claims) > 32) fail('malformed', 'the usage cannot be carried in I-JSON claims');
  return claims;
}

/** Issue one receipt after `head` (null: the receipt opens its stream). */
export function issueReceipt({ key, card, head, ...request }) {
  const claims = receiptClaims({ ...request, card, head: checkHead(head, 'head') });
  const token = signCompact(claims, key, RECEIPT_TYP);
  if (token.length > RECEIPT_SIZE_LIMIT) fail('malformed', `the receipt would be longer than ${RECEIPT_SIZE_LIMIT} bytes (REC-009)`);
  return token;
}

/** The inclusion proof of leaf m among leaf hashes (RFC 9162 section 2.1.3.1), leaf upward. */
export function auditPath(m, leaves) {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  if (m < k) return [...auditPath(m, leaves.slice(0, k)), treeRoot(leaves.slice(k))];
  return [...auditPath(m - k, leaves.slice(k)), treeRoot(leaves.slice(0, k))];
}

/**
 * Issue a batch: every request becomes receipt claims (iat = the batch's iat, chained per
 * audience from `heads`), the claims bytes are the leaves, and one statement is signed.
 * Returns the batched receipts in request order. Any failing request rejects the batch.
 */
export function issueBatch({ key, iss, batchId, iat, card, heads, requests }) {
  if (typeof batchId !== 'string' || !TOKEN_ID.test(batchId)) fail('schema_violation', 'batch_id must have the syntax of a jti');
  if (!isObject(heads)) fail('schema_violation', 'heads must be an object of audience to {seq, digest}');
  if (!Array.isArray(requests) || requests.length === 0) fail('schema_violation', 'requests must be a non-empty array');
  const state = new Map(Object.keys(heads).map((aud) => [aud, checkHead(heads[aud], `heads[${aud}]`)]));
  const leaves = requests.map((request, i) => {
    if (!isObject(request)) fail('schema_violation', `requests[${i}] must be an object`);
    const { aud, sub, jti, entitlement, usage } = request;
    const head = (typeof aud === 'string' && state.get(aud)) || null;
    const claims = receiptClaims({ iss, aud, sub, jti, iat, entitlement, usage, card, head });
    const bytes = Buffer.from(canonicalize(claims), 'utf8');
    state.set(aud, { seq: claims.seq, digest: contentDigest(bytes) });
    return bytes;
  });
  const hashes = leaves.map(leafHash);
  const statement = signCompact(
    { iss, ver: '1.0', iat, batch_id: batchId, tree_size: leaves.length, tree_root: treeRoot(hashes).toString('hex') },
    key,
    BATCH_TYP,
  );
  if (statement.length > RECEIPT_SIZE_LIMIT) fail('malformed', `the batch statement would be longer than ${RECEIPT_SIZE_LIMIT} bytes`);
  return leaves.map((bytes, i) => ({
    ver: '1.0',
    claims: b64urlEncode(bytes),
    leaf_index: i,
    audit_path: auditPath(i, hashes).map((h) => h.toString('hex')),
    batch: statement,
  }));
}
