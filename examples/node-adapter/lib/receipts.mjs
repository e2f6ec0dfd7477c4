// Receipts chapter: receipts (REC-040), Merkle-batched receipts (REC-060..REC-065), replay and
// chain tracking (REC-042, REC-043) and receipt files (REC-070).
//
// The chain runs over content digests: `prev` is "sha256:" + the SHA-256 of the previous
// receipt's claims bytes as received (the JWS payload bytes, or a batched receipt's claims
// bytes), and a stream head is (seq, content digest). A re-signed twin of a receipt has the same
// content, so it can neither break a chain nor count twice.

import { createHash } from 'node:crypto';

import { b64urlDecode } from './b64.mjs';
import { toScaled } from './decimal.mjs';
import { fail, TokenfedError } from './errors.mjs';
import { codePoints, decodeUtf8, depthOf, hasNoncharacter, hasRawNumber, isInt, isObject, parseStrict, parseStrictText } from './json.mjs';
import { checkVersion, integerIat, trustStoreLookup, verifyJws } from './jws.mjs';
import { DIGEST, Findings, TOKEN_ID, VERSION } from './schema.mjs';
import { price, usageFindings } from './units.mjs';

export const RECEIPT_TYP = 'tokenfed-receipt+jwt';
export const BATCH_TYP = 'tokenfed-receipt-batch+jwt';
export const RECEIPT_SIZE_LIMIT = 16384;
export const DEFAULT_CLOCK_SKEW = 300;

const REQUIRED = ['iss', 'sub', 'aud', 'jti', 'iat', 'ver', 'usage', 'amount', 'unit', 'rate_card', 'seq'];
const SUB = /^[A-Za-z0-9_-]{16,128}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function sha256(...parts) {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return h.digest();
}

export function contentDigest(bytes) {
  return `sha256:${sha256(bytes).toString('hex')}`;
}

// --- Merkle tree (RFC 9162 section 2.1) -----------------------------------------------------

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function leafHash(bytes) {
  return sha256(LEAF, bytes);
}

function nodeHash(left, right) {
  return sha256(NODE, left, right);
}

/** The tree head of leaf hashes (RFC 9162 section 2.1.1). */
export function treeRoot(leafHashes) {
  if (leafHashes.length === 1) return leafHashes[0];
  let k = 1;
  while (k * 2 < leafHashes.length) k *= 2;
  return nodeHash(treeRoot(leafHashes.slice(0, k)), treeRoot(leafHashes.slice(k)));
}

/** Verify an inclusion proof (RFC 9162 section 2.1.3.2); true if it leads to `root`. */
export function verifyInclusion(leaf, index, size, path, root) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn) return false;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && r.equals(root);
}

// --- Verification (REC-040 steps 1 to 11, REC-062 steps 1 to 5) -------------------------------

/**
 * A stateless receipt verifier: a trust store, the rate cards it holds (processed), its clock.
 * `verify(receipt)` returns {iss, aud, jti, seq, prev, amount, content_digest, claims}.
 */
export class ReceiptVerifier {
  constructor({ trust, rateCards, now, clockSkew = DEFAULT_CLOCK_SKEW }) {
    this.trust = trust;
    this.rateCards = new Map();
    for (const card of rateCards) {
      if (!this.rateCards.has(card.id)) this.rateCards.set(card.id, []);
      this.rateCards.get(card.id).push(card);
    }
    this.now = now;
    this.clockSkew = clockSkew;
    this.statements = new Map(); // REC-063: batch statements by their exact bytes
  }

  verify(receipt) {
    if (typeof receipt === 'string') return this.verifyCompact(receipt);
    return this.verifyBatched(receipt);
  }

  verifyCompact(token) {
    // Steps 1 to 6.
    const { claims, payload } = verifyJws(token, {
      typ: RECEIPT_TYP,
      sizeLimit: RECEIPT_SIZE_LIMIT,
      findKey: trustStoreLookup(this.trust),
      validityTime: integerIat,
    });
    return this.claimsSteps(claims, payload);
  }

  /** Steps 7 to 11 of REC-040 on parsed claims and the bytes they were read from. */
  claimsSteps(claims, bytes) {
    // 7. Version.
    checkVersion(claims, 'the receipt');
    // 8. Schema, with the precedence of REC-048.
    const f = new Findings('receipt');
    for (const name of REQUIRED) if (!Object.hasOwn(claims, name)) f.schema(`the member ${name} is missing`);
    for (const name of ['exp', 'nbf']) if (Object.hasOwn(claims, name)) f.schema(`a receipt must not carry ${name} (REC-008)`);
    if (Object.hasOwn(claims, 'iss')) f.entityId(claims.iss, 'iss');
    if (Object.hasOwn(claims, 'aud')) f.entityId(claims.aud, 'aud');
    if (Object.hasOwn(claims, 'sub') && (typeof claims.sub !== 'string' || !SUB.test(claims.sub) || /^[0-9]+$/.test(claims.sub))) {
      f.schema('sub must be 16 to 128 base64url characters, not all digits (REC-003)');
    }
    if (Object.hasOwn(claims, 'jti') && (typeof claims.jti !== 'string' || !TOKEN_ID.test(claims.jti))) {
      f.schema('jti must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -');
    }
    if (Object.hasOwn(claims, 'iat')) f.numericDate(claims.iat, 'iat');
    if (Object.hasOwn(claims, 'ver') && (typeof claims.ver !== 'string' || !VERSION.test(claims.ver))) {
      f.schema('ver must be "MAJOR.MINOR"');
    }
    if (Object.hasOwn(claims, 'usage')) usageFindings(claims.usage, f, 'usage');
    if (Object.hasOwn(claims, 'amount')) f.decimal(claims.amount, 6, 'nonnegative', 'amount');
    if (Object.hasOwn(claims, 'unit') && claims.unit !== 'UTU') f.schema('unit must be "UTU"');
    if (Object.hasOwn(claims, 'rate_card')) {
      const rc = claims.rate_card;
      if (!isObject(rc)) f.schema('rate_card must be an object {id, digest}');
      else {
        if (typeof rc.id !== 'string' || codePoints(rc.id) < 1 || codePoints(rc.id) > 256) {
          f.schema('rate_card.id must be a string of 1 to 256 characters');
        }
        if (typeof rc.digest !== 'string' || !DIGEST.test(rc.digest)) f.schema('rate_card.digest must be "sha256:" and 64 hex digits');
      }
    }
    if (Object.hasOwn(claims, 'entitlement') && (typeof claims.entitlement !== 'string' || !TOKEN_ID.test(claims.entitlement))) {
      f.schema('entitlement must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -');
    }
    if (Object.hasOwn(claims, 'seq') && !isInt(claims.seq, 1)) f.schema('seq must be an integer >= 1');
    if (Object.hasOwn(claims, 'prev') && (typeof claims.prev !== 'string' || !DIGEST.test(claims.prev))) {
      f.schema('prev must be "sha256:" and 64 hex digits');
    }
    if (claims.seq === 1 && Object.hasOwn(claims, 'prev')) f.schema('the receipt with seq 1 must not have prev (REC-006)');
    if (claims.seq !== 1 && !Object.hasOwn(claims, 'prev')) f.schema('a receipt after seq 1 must have prev (REC-006)');
    f.raise();
    // 9. Time.
    if (claims.iat > this.now + this.clockSkew) {
      fail('iat_in_future', `iat ${claims.iat} is later than the clock (${this.now}) plus ${this.clockSkew} s`);
    }
    // 10. Rate card.
    const cards = this.rateCards.get(claims.rate_card.id);
    if (cards === undefined) fail('unknown_rate_card', `the verifier holds no rate card ${claims.rate_card.id}`);
    const card = cards.find((c) => c.digest === claims.rate_card.digest);
    if (card === undefined) fail('rate_card_mismatch', `rate card ${claims.rate_card.id} has another digest than the receipt names`);
    if (!(card.nbf <= claims.iat && claims.iat < card.exp)) {
      fail('rate_card_mismatch', `rate card ${card.id} was not valid at the receipt's iat ${claims.iat}`);
    }
    // 11. Amount.
    const priced = price(card, claims.usage, null);
    if (toScaled(priced.amount, 6) !== toScaled(claims.amount, 6)) {
      fail('amount_mismatch', `the receipt says ${claims.amount} UTU; its rate card gives ${priced.amount}`);
    }
    return {
      iss: claims.iss,
      aud: claims.aud,
      jti: claims.jti,
      seq: claims.seq,
      prev: claims.prev ?? null,
      amount: claims.amount,
      content_digest: contentDigest(bytes),
      claims,
    };
  }

  /** Steps 1 to 7 of REC-040 on a batch statement, then its schema (REC-062 step 2). */
  verifyStatement(token) {
    const cached = this.statements.get(token);
    if (cached !== undefined) {
      if (cached instanceof TokenfedError) throw cached;
      return cached;
    }
    try {
      const result = this.checkStatement(token);
      this.statements.set(token, result);
      return result;
    } catch (error) {
      if (error instanceof TokenfedError) this.statements.set(token, error);
      throw error;
    }
  }

  checkStatement(token) {
    const { claims } = verifyJws(token, {
      typ: BATCH_TYP,
      sizeLimit: RECEIPT_SIZE_LIMIT,
      findKey: trustStoreLookup(this.trust),
      validityTime: integerIat,
    });
    checkVersion(claims, 'the batch statement');
    const f = new Findings('batch statement');
    for (const name of ['iss', 'ver', 'iat', 'batch_id', 'tree_size', 'tree_root']) {
      if (!Object.hasOwn(claims, name)) f.schema(`the member ${name} is missing`);
    }
    if (Object.hasOwn(claims, 'iss')) f.entityId(claims.iss, 'iss');
    if (Object.hasOwn(claims, 'ver') && (typeof claims.ver !== 'string' || !VERSION.test(claims.ver))) f.schema('ver must be "MAJOR.MINOR"');
    if (Object.hasOwn(claims, 'iat')) f.numericDate(claims.iat, 'iat');
    if (Object.hasOwn(claims, 'batch_id') && (typeof claims.batch_id !== 'string' || !TOKEN_ID.test(claims.batch_id))) {
      f.schema('batch_id must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -');
    }
    if (Object.hasOwn(claims, 'tree_size') && !isInt(claims.tree_size, 1)) f.schema('tree_size must be an integer >= 1');
    if (Object.hasOwn(claims, 'tree_root') && (typeof claims.tree_root !== 'string' || !HEX64.test(claims.tree_root))) {
      f.schema('tree_root must be 64 lowercase hexadecimal digits');
    }
    f.raise();
    return claims;
  }

  verifyBatched(receipt) {
    // 1. Parse.
    if (!isObject(receipt)) fail('malformed', 'a batched receipt must be a JSON object');
    if (hasRawNumber(receipt) || hasNoncharacter(receipt) || depthOf(receipt) > 32) fail('malformed', 'a batched receipt must be strict I-JSON');
    const { ver, claims, leaf_index: leafIndex, audit_path: auditPath, batch } = receipt;
    if (typeof ver !== 'string' || !VERSION.test(ver)) fail('malformed', 'ver must be a "MAJOR.MINOR" string');
    if (typeof claims !== 'string') fail('malformed', 'claims must be a base64url string');
    const claimsBytes = b64urlDecode(claims);
    if (claimsBytes === null) fail('malformed', 'claims must be canonical unpadded base64url');
    if (!isInt(leafIndex)) fail('malformed', 'leaf_index must be an integer from 0 to 2^53 - 1');
    // The form of each audit_path string is checked in step 3 (`invalid_proof`).
    if (!Array.isArray(auditPath) || !auditPath.every((h) => typeof h === 'string')) {
      fail('malformed', 'audit_path must be an array of strings');
    }
    if (typeof batch !== 'string') fail('malformed', 'batch must be a JWS compact serialization');
    if (ver.split('.')[0] !== '1') fail('unsupported_version', `the batched receipt has ver ${ver}; this implementation reads 1.x`);
    // 2. Batch statement.
    const statement = this.verifyStatement(batch);
    // 3. Proof.
    if (!(leafIndex < statement.tree_size)) fail('invalid_proof', `leaf_index ${leafIndex} is not below tree_size ${statement.tree_size}`);
    if (auditPath.length > 64) fail('invalid_proof', `an audit path of ${auditPath.length} hashes fits no tree of tree_size ${statement.tree_size}`);
    if (!auditPath.every((h) => HEX64.test(h))) fail('invalid_proof', 'every audit_path entry must be 64 lowercase hex digits');
    const path = auditPath.map((h) => Buffer.from(h, 'hex'));
    const root = Buffer.from(statement.tree_root, 'hex');
    if (!verifyInclusion(leafHash(claimsBytes), leafIndex, statement.tree_size, path, root)) {
      fail('invalid_proof', 'the inclusion proof does not lead to the signed tree_root');
    }
    return this.batchedClaimsSteps(claimsBytes, statement);
  }

  /** REC-062 steps 4 and 5 for claims bytes that belong to a verified statement. */
  batchedClaimsSteps(claimsBytes, statement) {
    // 4. Issuer and time.
    const parsed = parseStrict(claimsBytes, 'the batched claims');
    if (!isObject(parsed)) fail('malformed', 'the batched claims must be a JSON object');
    if (typeof parsed.iss !== 'string' || parsed.iss !== statement.iss) {
      fail('invalid_proof', "the claims' iss is not the batch statement's iss (REC-061)");
    }
    // An iat that is not an integer is left to the schema of step 5 (`schema_violation`).
    if (Number.isInteger(parsed.iat) && parsed.iat > statement.iat) {
      fail('invalid_proof', "the claims' iat is later than the batch statement's iat (REC-065)");
    }
    // 5. Steps 7 to 11 (12 and 13 are the tracker's).
    return this.claimsSteps(parsed, claimsBytes);
  }

  /**
   * REC-064: a whole batch held by the verifier. The statement is verified, the root is
   * recomputed from every claims bytes in order; a mismatch rejects the batch (`invalid_proof`).
   * Returns, per leaf, a verified receipt or the TokenfedError of steps 4 and 5.
   */
  verifyWholeBatch(token, claimsList) {
    const statement = this.verifyStatement(token);
    if (!Array.isArray(claimsList)) fail('malformed', 'claims must be an array of base64url strings');
    const leaves = claimsList.map((c, i) => {
      const bytes = typeof c === 'string' ? b64urlDecode(c) : null;
      if (bytes === null) fail('malformed', `claims[${i}] must be canonical unpadded base64url`);
      return bytes;
    });
    if (leaves.length !== statement.tree_size) {
      fail('invalid_proof', `the batch statement says ${statement.tree_size} receipts, ${leaves.length} were given`);
    }
    if (!treeRoot(leaves.map(leafHash)).equals(Buffer.from(statement.tree_root, 'hex'))) {
      fail('invalid_proof', 'the claims do not hash to the signed tree_root');
    }
    return leaves.map((bytes) => attempt(() => this.batchedClaimsSteps(bytes, statement)));
  }
}

/** Run `fn`; return its value, or the TokenfedError it threw. */
export function attempt(fn) {
  try {
    return fn();
  } catch (error) {
    if (error instanceof TokenfedError) return error;
    throw error;
  }
}

// --- Replay and chain (REC-040 steps 12 and 13, REC-042, REC-043) -----------------------------

export class ReceiptTracker {
  constructor() {
    this.seen = new Map(); // (iss, jti) -> content digest
    this.heads = new Map(); // (iss, aud) -> {seq, digest}
  }

  /** Check and record a verified receipt; returns {duplicate}. Records nothing on a rejection. */
  track(v) {
    const jtiKey = JSON.stringify([v.iss, v.jti]);
    const known = this.seen.get(jtiKey);
    if (known !== undefined) {
      if (known === v.content_digest) return { duplicate: true };
      fail('replay', `jti ${v.jti} of ${v.iss} was seen before with other content`);
    }
    const streamKey = JSON.stringify([v.iss, v.aud]);
    const head = this.heads.get(streamKey);
    if (head === undefined) {
      if (v.seq !== 1) fail('chain_break', `the stream ${v.iss} -> ${v.aud} is new, so only seq 1 can open it, not ${v.seq}`);
    } else if (v.seq !== head.seq + 1 || v.prev !== head.digest) {
      fail('chain_break', `seq ${v.seq} with prev ${v.prev} does not continue seq ${head.seq} (${head.digest})`);
    }
    this.seen.set(jtiKey, v.content_digest);
    this.heads.set(streamKey, { seq: v.seq, digest: v.content_digest });
    return { duplicate: false };
  }
}

/** Verify and track one receipt; the stream result of the protocol. */
export function streamResult(verifier, tracker, receipt) {
  const verified = attempt(() => verifier.verify(receipt));
  return trackResult(tracker, verified);
}

export function trackResult(tracker, verified) {
  if (verified instanceof TokenfedError) return { ok: false, error: verified.code };
  const tracked = attempt(() => tracker.track(verified));
  if (tracked instanceof TokenfedError) return { ok: false, error: tracked.code };
  return { ok: true, duplicate: tracked.duplicate, verified };
}

// --- Receipt files (REC-070, REC-071) -------------------------------------------------------

export const MAX_LINE_BYTES = 65536;

/**
 * Split file bytes into lines (REC-070): each ends at an LF, a CR just before the LF (or at
 * the very end of the file) is not part of it, and a last line without an LF is a line. An
 * empty file has no lines.
 */
export function splitLines(bytes) {
  const lines = [];
  let start = 0;
  const push = (end) => lines.push(bytes.subarray(start, end > start && bytes[end - 1] === 0x0d ? end - 1 : end));
  for (let i = 0; i < bytes.length; i += 1) {
    if (bytes[i] === 0x0a) {
      push(i);
      start = i + 1;
    }
  }
  if (start < bytes.length) push(bytes.length);
  return lines;
}

const BLANK = /^[ \t]*$/;
const SURROUNDING = /^[ \t\r]+|[ \t\r]+$/g;

/**
 * One line of a receipt file as a receipt (REC-070, REC-071): a JWS compact serialization or
 * a batched receipt (a JSON object). Spaces and tabs around it are ignored, as JSON text allows
 * around an object. Anything else is `malformed`: a line over 65536 bytes (not even decoded),
 * bytes that are not UTF-8, an empty or blank line, and any other JSON value (a JWS written as
 * a JSON string included).
 */
export function lineReceipt(lineBytes) {
  if (lineBytes.length > MAX_LINE_BYTES) {
    fail('malformed', `the line is ${lineBytes.length} bytes long, over the limit of ${MAX_LINE_BYTES} (REC-071)`);
  }
  const text = decodeUtf8(lineBytes, 'the line');
  if (BLANK.test(text)) fail('malformed', 'the line is empty: each line holds one receipt (REC-070)');
  const receipt = text.replace(SURROUNDING, '');
  if (receipt.startsWith('{')) return parseStrictText(receipt, 'the line');
  if (receipt.startsWith('"')) {
    fail('malformed', 'a line is a JWS compact serialization or a JSON object, not a JSON string (REC-070)');
  }
  return receipt;
}

/** Verify every line of a receipt file, replay and chain in line order. */
export function verifyFileBytes(verifier, bytes) {
  const tracker = new ReceiptTracker();
  return splitLines(bytes).map((lineBytes, i) => {
    const line = i + 1;
    const receipt = attempt(() => lineReceipt(lineBytes));
    const result = receipt instanceof TokenfedError ? { ok: false, error: receipt.code } : streamResult(verifier, tracker, receipt);
    if (!result.ok) return { line, ok: false, error: result.error };
    const { iss, jti, amount } = result.verified;
    return { line, ok: true, iss, jti, amount };
  });
}
