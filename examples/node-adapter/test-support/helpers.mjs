// Test helpers: the spec's vector files, the published test keys, a signer, and a runner for
// the adapter command. Nothing here is used by the adapter itself.

import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { canonicalize, isObject, parseLoose, RawNumber } from '../lib/json.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ADAPTER = resolve(HERE, '..', 'adapter.mjs');
export const SPEC = resolve(HERE, '..', '..', '..', 'spec');

export function loadVectors(kind) {
  return parseLoose(readFileSync(join(SPEC, 'vectors', `${kind}.json`)), `${kind}.json`);
}

export const TEST_KEYS = parseLoose(readFileSync(join(SPEC, 'test-keys.json')), 'test-keys.json').keys;

/** The public half of a named test key. */
export function publicJwk(name) {
  const { d, ...rest } = TEST_KEYS[name];
  return { ...rest };
}

/** JSON text of a loosely parsed value, numbers outside I-JSON written back as they were. */
export function toJsonText(value) {
  if (value instanceof RawNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (isObject(value)) return `{${Object.keys(value).map((k) => `${JSON.stringify(k)}:${toJsonText(value[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

/** Compare two JSON values by their canonical form. */
export function same(a, b) {
  return canonicalize(a) === canonicalize(b);
}

const N256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Sign claims as a JWS with a named test key (JCS payload; ES256 normalized to low S). */
export function signJws(claims, keyName, typ) {
  return signPayload(canonicalize(claims), keyName, typ);
}

/**
 * Sign payload text exactly as given (JCS or not) with a named test key; `headerText` replaces
 * the JCS header {alg, kid, typ} when given.
 */
export function signPayload(payloadText, keyName, typ, headerText = null) {
  const jwk = TEST_KEYS[keyName];
  const header = headerText ?? canonicalize({ alg: jwk.alg, kid: jwk.kid, typ });
  const encode = (text) => Buffer.from(text, 'utf8').toString('base64url');
  const input = `${encode(header)}.${encode(payloadText)}`;
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  let signature;
  if (jwk.alg === 'EdDSA') {
    signature = sign(null, Buffer.from(input), key);
  } else {
    signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    if (s > N256 / 2n) {
      const low = (N256 - s).toString(16).padStart(64, '0');
      signature = Buffer.concat([signature.subarray(0, 32), Buffer.from(low, 'hex')]);
    }
  }
  return `${input}.${signature.toString('base64url')}`;
}

/** A trust store listing the named test keys (valid from 0) under each issuer. */
export function trustStoreFor(issuers) {
  const out = { ver: '1.0', issuers: {} };
  for (const [iss, names] of Object.entries(issuers)) {
    out.issuers[iss] = { jwks: { keys: names.map((n) => ({ ...publicJwk(n), nbf: 0 })) } };
  }
  return out;
}

export function sha256Hex(text) {
  return createHash('sha256').update(text).digest('hex');
}

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'tokenfed-node-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Run the adapter with arguments; returns {status, stdout, stderr}. */
export function runAdapter(args) {
  const result = spawnSync(process.execPath, [ADAPTER, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Run cases [{id, op, input}] through the adapter's batch mode; returns results by id. */
export function runBatch(cases) {
  const { dir, cleanup } = tempDir();
  try {
    const casesPath = join(dir, 'cases.jsonl');
    const resultsPath = join(dir, 'results.jsonl');
    writeFileSync(casesPath, cases.map((c) => `${toJsonText(c)}\n`).join(''));
    const run = runAdapter(['batch', casesPath, resultsPath]);
    if (run.status !== 0) throw new Error(`batch mode failed (${run.status}): ${run.stderr}`);
    const lines = readFileSync(resultsPath, 'utf8').split('\n').filter((l) => l !== '');
    if (lines.length !== cases.length) throw new Error(`${cases.length} cases, ${lines.length} results`);
    return new Map(lines.map((l) => JSON.parse(l)).map((r) => [r.id, r]));
  } finally {
    cleanup();
  }
}
