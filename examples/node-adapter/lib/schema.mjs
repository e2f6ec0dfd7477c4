// Collecting schema failures so that the precedence rules can choose the code: CONV-023
// (decimals only -> `invalid_amount`, anything else -> `schema_violation`) and REC-048
// (`schema_violation`, `unknown_meter`, `invalid_usage`, `invalid_amount`, in that order).

import { decimalProblem } from './decimal.mjs';
import { fail } from './errors.mjs';
import { codePoints, isInt } from './json.mjs';

export const ENTITY_ID = /^https:\/\/[^\s?#]+$/;
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
      this.schema(`${where} must be an https URL without query or fragment`);
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
