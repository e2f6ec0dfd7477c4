// Strict I-JSON (CONV-010..CONV-015, RFC 7493) and the JSON Canonicalization Scheme (RFC 8785).
//
// Documents arrive as bytes and are parsed strictly: UTF-8 without a byte order mark, no
// duplicate member names at any depth, integers only and within -(2^53 - 1)..2^53 - 1, no lone
// surrogates, no noncharacters (RFC 7493 section 2.1), at most 32 levels of nesting. Parsed
// objects have no prototype, so a member named "__proto__" is an ordinary member.
//
// The conformance suite's own case files are parsed in a "loose" mode: a number that a
// document could not hold (a fraction, an exponent, an integer beyond 2^53 - 1) becomes a
// RawNumber, so the operation can reject it with the code its chapter names (a count of 2^53 in a
// usage object is `invalid_usage`, UNIT-004) instead of the case file failing as a whole, and a
// string may hold a noncharacter, which the operation rejects as `malformed` (CONV-016).

import { fail } from './errors.mjs';

export const MAX_SAFE = 9007199254740991;
const MAX_DEPTH = 32;
const LOOSE_MAX_DEPTH = 1000;

/** A JSON number outside the I-JSON integer profile, kept as its text. */
export class RawNumber {
  constructor(text) {
    this.text = text;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decode UTF-8 strictly; `malformed` on any invalid sequence (overlong, surrogate, truncated). */
export function decodeUtf8(bytes, what) {
  try {
    return utf8.decode(bytes);
  } catch {
    fail('malformed', `${what} is not valid UTF-8`);
  }
  return undefined;
}

/** Parse document bytes as strict I-JSON. */
export function parseStrict(bytes, what = 'the document') {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    fail('malformed', `${what} starts with a byte order mark`);
  }
  const text = decodeUtf8(bytes, what);
  return new Parser(text, what, false).parseDocument();
}

/** Parse a text (already a JS string) as strict I-JSON. */
export function parseStrictText(text, what = 'the document') {
  if (text.charCodeAt(0) === 0xfeff) fail('malformed', `${what} starts with a byte order mark`);
  return new Parser(text, what, false).parseDocument();
}

/** Parse a case file or vector file: strict, except numbers outside I-JSON become RawNumber. */
export function parseLoose(bytes, what = 'the input') {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    fail('malformed', `${what} starts with a byte order mark`);
  }
  return new Parser(decodeUtf8(bytes, what), what, true).parseDocument();
}

export function isNoncharacter(cp) {
  return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
}

class Parser {
  constructor(text, what, loose) {
    this.s = text;
    this.i = 0;
    this.what = what;
    this.loose = loose;
    this.maxDepth = loose ? LOOSE_MAX_DEPTH : MAX_DEPTH;
  }

  error(reason) {
    fail('malformed', `${this.what} is not strict I-JSON: ${reason} (at offset ${this.i})`);
  }

  parseDocument() {
    this.ws();
    const value = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.error('data after the JSON value');
    return value;
  }

  ws() {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i += 1;
      else break;
    }
  }

  value(depth) {
    const c = this.s[this.i];
    if (c === '{') return this.object(depth + 1);
    if (c === '[') return this.array(depth + 1);
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    if (this.s.startsWith('true', this.i)) {
      this.i += 4;
      return true;
    }
    if (this.s.startsWith('false', this.i)) {
      this.i += 5;
      return false;
    }
    if (this.s.startsWith('null', this.i)) {
      this.i += 4;
      return null;
    }
    if (c === undefined) this.error('unexpected end of text');
    return this.error(`unexpected character ${JSON.stringify(c)}`);
  }

  object(depth) {
    if (depth > this.maxDepth) this.error(`nesting deeper than ${this.maxDepth} levels`);
    this.i += 1;
    const out = Object.create(null);
    this.ws();
    if (this.s[this.i] === '}') {
      this.i += 1;
      return out;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.error('expected a member name');
      const name = this.string();
      if (Object.hasOwn(out, name)) this.error(`duplicate member name ${JSON.stringify(name)}`);
      this.ws();
      if (this.s[this.i] !== ':') this.error("expected ':'");
      this.i += 1;
      this.ws();
      out[name] = this.value(depth);
      this.ws();
      const c = this.s[this.i];
      this.i += 1;
      if (c === '}') return out;
      if (c !== ',') this.error("expected ',' or '}'");
      this.ws();
    }
  }

  array(depth) {
    if (depth > this.maxDepth) this.error(`nesting deeper than ${this.maxDepth} levels`);
    this.i += 1;
    const out = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i += 1;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth));
      this.ws();
      const c = this.s[this.i];
      this.i += 1;
      if (c === ']') return out;
      if (c !== ',') this.error("expected ',' or ']'");
    }
  }

  number() {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 2048));
    if (m === null) this.error('invalid number');
    const text = m[0];
    this.i += text.length;
    const integral = m[2] === undefined && m[3] === undefined;
    if (integral && m[1].length <= 16) {
      const n = Number(text);
      if (Math.abs(n) <= MAX_SAFE) return n === 0 ? 0 : n;
    }
    if (this.loose) return new RawNumber(text);
    if (!integral) return this.error(`the number ${text} has a fraction or an exponent`);
    return this.error(`the integer ${text.slice(0, 40)} is outside -(2^53 - 1)..2^53 - 1`);
  }

  string() {
    const s = this.s;
    this.i += 1;
    let out = '';
    let start = this.i;
    for (;;) {
      if (this.i >= s.length) this.error('unterminated string');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(start, this.i);
        this.i += 1;
        break;
      }
      if (c < 0x20) this.error('control character in a string');
      if (c !== 0x5c) {
        this.i += 1;
        continue;
      }
      out += s.slice(start, this.i);
      const e = s[this.i + 1];
      this.i += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const unit = this.hex4();
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (s[this.i] !== '\\' || s[this.i + 1] !== 'u') this.error('lone surrogate escape');
            this.i += 2;
            const low = this.hex4();
            if (low < 0xdc00 || low > 0xdfff) this.error('lone surrogate escape');
            out += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            this.error('lone surrogate escape');
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          this.error('invalid escape');
      }
      start = this.i;
    }
    // A case file may carry a document with a noncharacter: the operation rejects it (CONV-016).
    if (!this.loose && hasNoncharacter(out)) this.error('noncharacter in a string');
    return out;
  }

  hex4() {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9A-Fa-f]{4}$/.test(h)) this.error('invalid \\u escape');
    this.i += 4;
    return parseInt(h, 16);
  }
}

/** Depth of nested arrays and objects of a parsed value (a scalar is 0). */
export function depthOf(value) {
  if (Array.isArray(value)) {
    let d = 0;
    for (const v of value) d = Math.max(d, depthOf(v));
    return d + 1;
  }
  if (isObject(value)) {
    let d = 0;
    for (const k of Object.keys(value)) d = Math.max(d, depthOf(value[k]));
    return d + 1;
  }
  return 0;
}

/** True if a RawNumber (a number I-JSON cannot hold) occurs anywhere in the value. */
export function hasRawNumber(value) {
  if (value instanceof RawNumber) return true;
  if (Array.isArray(value)) return value.some(hasRawNumber);
  if (isObject(value)) return Object.keys(value).some((k) => hasRawNumber(value[k]));
  return false;
}

/** True if a string (a member name or a value) anywhere in the value holds a noncharacter. */
export function hasNoncharacter(value) {
  if (typeof value === 'string') {
    for (const ch of value) if (isNoncharacter(ch.codePointAt(0))) return true;
    return false;
  }
  if (Array.isArray(value)) return value.some(hasNoncharacter);
  if (isObject(value)) return Object.keys(value).some((k) => hasNoncharacter(k) || hasNoncharacter(value[k]));
  return false;
}

/**
 * CONV-016 for a value given already parsed (a case's document, usage or batched receipt): no
 * strict I-JSON text can hold a noncharacter, so such a value is `malformed`.
 */
export function rejectNoncharacters(value, what) {
  if (hasNoncharacter(value)) fail('malformed', `${what} holds a Unicode noncharacter, which no I-JSON text can hold (CONV-016)`);
}

/** A JSON object: not null, not an array, not a RawNumber. */
export function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof RawNumber);
}

/** An integer in lo..hi (a JS number from the strict parser is always a safe integer). */
export function isInt(value, lo = 0, hi = MAX_SAFE) {
  return typeof value === 'number' && Number.isInteger(value) && value >= lo && value <= hi;
}

/** Number of Unicode code points of a string (CONV: character counts are code points). */
export function codePoints(s) {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

/** RFC 8785 serialization of a parsed value (integers only, as everywhere in tokenfed). */
export function canonicalize(value) {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError('only safe integers can be canonicalized');
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k])}`).join(',')}}`;
  }
  throw new TypeError(`cannot canonicalize ${String(value)}`);
}
