// Rejections carry a stable code of the error registry (spec/errors.md) and a message for a
// person (CONV-050). Programs decide on the code alone (ERR-002).

export class TokenfedError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'TokenfedError';
    this.code = code;
  }

  toJSON() {
    return { error: this.code, message: this.message };
  }
}

export function fail(code, message) {
  throw new TokenfedError(code, message);
}
