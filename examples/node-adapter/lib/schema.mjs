// Collecting schema failures so that the precedence rules can choose the code: CONV-023
// (decimals only -> `invalid_amount`, anything else -> `schema_violation`) and REC-048
// (`schema_violation`, `unknown_meter`, `invalid_usage`, `invalid_amount`, in that order).

import { decimalProblem } from './decimal.mjs';
import { fail } from './errors.mjs';
import { codePoints, isInt } from './json.mjs';

// CONV-001: the entity-id grammar as the spec's regular expression (lower-case LDH host, port
// 1..65535 without a leading zero, RFC 3986 path with upper-case percent-encodings).
export const ENTITY_ID =
  /^https:\/\/[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(?:\/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-F]{2})*)*$/;
export const DOCUMENT_ID = /^[!-~]{1,256}$/;
export const TOKEN_ID = /^[A-Za-z0-9._~-]{1,128}$/;
export const VERSION = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;
export const DIGEST = /^sha256:[0-9a-f]{64}$/;

const ORDER = ['schema_violation', 'unknown_meter', 'invalid_usage', 'invalid_amount'];

export class Findings {
  constructor(what) {
    this.what = what;
    this.found = new Map();
  }

  add(code, message) {
    if (!this.found.has(code)) this.found.set(code, message);
  }

  schema(message) {
    this.add('schema_violation', message);
  }

  /** A decimal member: a non-string is a schema failure, a bad string an amount failure. */
  decimal(value, maxFraction, sign, where) {
    if (typeof value !== 'string') {
      this.schema(`${where} must be a decimal string`);
      return false;
    }
    const problem = decimalProblem(value, maxFraction, sign);
    if (problem !== null) {
      this.add('invalid_amount', `${where} ${problem}`);
      return false;
    }
    return true;
  }

  entityId(value, where) {
    if (typeof value !== 'string' || !ENTITY_ID.test(value) || codePoints(value) > 2048) {
      this.schema(`${where} must be an entity identifier: https://, a lower-case host, an optional port and a path, nothing else (CONV-001)`);
    }
  }

  numericDate(value, where) {
    if (!isInt(value)) this.schema(`${where} must be a NumericDate (an integer 0..2^53 - 1)`);
  }

  /** Throw the first finding by REC-048 order (which contains CONV-023's rule). */
  raise() {
    for (const code of ORDER) {
      if (this.found.has(code)) fail(code, `${this.what}: ${this.found.get(code)}`);
    }
  }
}
