// Canonical unpadded base64url (RFC 7515 section 2, CONV-041): only A-Z a-z 0-9 - _, no '=',
// no length that leaves a lone character, unused trailing bits zero.

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** Decode canonical base64url; return null for anything that is not. */
export function b64urlDecode(text) {
  if (typeof text !== 'string' || !ALPHABET.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64url');
  // Re-encoding gives back the text only if the unused trailing bits were zero.
  if (bytes.toString('base64url') !== text) return null;
  return bytes;
}

export function b64urlEncode(bytes) {
  return Buffer.from(bytes).toString('base64url');
}
