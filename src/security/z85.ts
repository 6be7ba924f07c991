/**
 * Z85 (ZeroMQ RFC 32), the text form of CURVE keys: 5 characters per 4 bytes. zeromq.js gives keys
 * in Z85 but no way to read them back as bytes, which the token derivation (auth_token.ts) needs.
 */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const DIGITS = new Map(Array.from({ length: ALPHABET.length }, (_, index) => [ALPHABET.charAt(index), index]));

/** The Z85 text of a CURVE key: 32 bytes as 40 characters. */
export const CURVE_KEY_Z85_LENGTH = 40;

/** The bytes of a Z85 string, or null when it is not Z85 (bad length, foreign character, overflow). */
export function z85Decode(text: string): Buffer | null {
  if (text.length % 5 !== 0) return null;
  const bytes = Buffer.alloc((text.length / 5) * 4);
  for (let block = 0; block < text.length / 5; block += 1) {
    let value = 0;
    for (let i = 0; i < 5; i += 1) {
      const digit = DIGITS.get(text.charAt(block * 5 + i));
      if (digit === undefined) return null;
      value = value * 85 + digit;
    }
    if (value > 0xffff_ffff) return null;
    bytes.writeUInt32BE(value, block * 4);
  }
  return bytes;
}

/** The Z85 text of bytes whose length is a multiple of 4. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError(`Z85 encodes multiples of 4 bytes, not ${bytes.length}`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let text = '';
  for (let offset = 0; offset < bytes.length; offset += 4) {
    let value = view.readUInt32BE(offset);
    let block = '';
    for (let i = 0; i < 5; i += 1) {
      block = ALPHABET.charAt(value % 85) + block;
      value = Math.floor(value / 85);
    }
    text += block;
  }
  return text;
}

/** A CURVE key's 32 bytes, or null when the text is not a 40-character Z85 key. */
export function curveKeyBytes(text: string): Buffer | null {
  if (text.length !== CURVE_KEY_Z85_LENGTH) return null;
  return z85Decode(text);
}
