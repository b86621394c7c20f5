/**
 * Encoding and decoding of share mnemonics (SLIP-0039 "Format of the share mnemonic").
 *
 * Bit layout, big-endian, cut into 10-bit words:
 *
 *   id (15) | ext (1) | e (4)                          -> words 0-1
 *   GI (4) | GT-1 (4) | G-1 (4) | I (4) | T-1 (4)      -> words 2-3
 *   zero padding + share value (8n bits, padded to a multiple of 10)
 *   RS1024 checksum (30)                                -> last 3 words
 *
 * The extendable flag was carved out of what used to be a 5-bit iteration exponent, so
 * old shares (flag clear) decode unchanged.
 */

import { Slip39Error, sharePrefix } from './errors';
import { CHECKSUM_WORDS, rs1024Create, rs1024Verify } from './rs1024';
import { splitMnemonic, wordAt, wordIndex } from './words';

/** A decoded share. Indices are 0-based as stored; thresholds and counts are real values. */
export interface Share {
  /** 15-bit random identifier, the same for every share of one split. */
  readonly identifier: number;
  /** When set, the identifier is not mixed into the encryption (see cipher.ts). */
  readonly extendable: boolean;
  /** PBKDF2 work factor: 10000·2^e iterations in total. 0..15. */
  readonly iterationExponent: number;
  /** x-coordinate of this share's group share, 0..15. */
  readonly groupIndex: number;
  /** GT: how many groups are needed, 1..16. */
  readonly groupThreshold: number;
  /** G: how many groups exist, 1..16. */
  readonly groupCount: number;
  /** x-coordinate of this member share within its group, 0..15. */
  readonly memberIndex: number;
  /** T: how many members of this group are needed, 1..16. */
  readonly memberThreshold: number;
  /** Share value, same length as the master secret. */
  readonly value: Uint8Array;
}

export const RADIX_BITS = 10;
const ID_BITS = 15;
const EXP_BITS = 4;
/** id + ext + e = 20 bits = 2 words. */
const ID_EXP_WORDS = 2;
/** Five 4-bit fields = 20 bits = 2 words. */
const PARAMS_WORDS = 2;
const HEADER_WORDS = ID_EXP_WORDS + PARAMS_WORDS;
/** Words that carry no share value: header plus checksum. */
export const METADATA_WORDS = HEADER_WORDS + CHECKSUM_WORDS;
/** Minimum secret length: 128 bits ("Format of the share mnemonic": MUST be >= 128 bits). */
export const MIN_SECRET_BYTES = 16;
/** 7 + ceil(128 / 10) = 20 words. */
export const MIN_MNEMONIC_WORDS = METADATA_WORDS + Math.ceil((MIN_SECRET_BYTES * 8) / RADIX_BITS);

/** Number of words in a mnemonic for an n-byte secret. */
export function mnemonicWordCount(secretBytes: number): number {
  return METADATA_WORDS + Math.ceil((secretBytes * 8) / RADIX_BITS);
}

function isInt(v: number, min: number, max: number): boolean {
  return Number.isInteger(v) && v >= min && v <= max;
}

/** Bytes -> 10-bit words, left-padding with zero bits to a multiple of 10. */
function bytesToWords(bytes: Uint8Array): number[] {
  const wordCount = Math.ceil((bytes.length * 8) / RADIX_BITS);
  const padBits = wordCount * RADIX_BITS - bytes.length * 8;
  const out: number[] = [];
  // Accumulator never holds more than 17 bits (<= 9 left over + 8 new).
  let acc = 0;
  let accBits = padBits;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    accBits += 8;
    if (accBits >= RADIX_BITS) {
      accBits -= RADIX_BITS;
      out.push((acc >>> accBits) & 1023);
      acc &= (1 << accBits) - 1;
    }
  }
  return out;
}

/**
 * Mnemonic -> Share, validating everything that can be checked on a single share.
 * `shareIndex` only labels error messages ("Share 3: ...").
 */
export function decodeShare(mnemonic: string, shareIndex?: number): Share {
  const at = sharePrefix(shareIndex);
  const here = shareIndex === undefined ? {} : { shareIndex };
  const words = splitMnemonic(mnemonic);

  // Unknown words first: while typing, that is the most useful thing to point at.
  const values: number[] = [];
  for (let i = 0; i < words.length; i++) {
    const v = wordIndex(words[i] as string);
    if (v === undefined) {
      throw new Slip39Error(
        'UNKNOWN_WORD',
        `${at}word ${i + 1} is not in the SLIP-39 word list. Check its spelling against ` +
          'the written share; the first four letters identify every word.',
        { ...here, wordIndex: i },
      );
    }
    values.push(v);
  }

  if (values.length < MIN_MNEMONIC_WORDS) {
    throw new Slip39Error(
      'WORD_COUNT',
      values.length === 0
        ? `${at}no words were entered.`
        : `${at}the share has ${values.length} words, but every SLIP-39 share has at least ` +
            `${MIN_MNEMONIC_WORDS} (20 words for a 128-bit secret, 33 for a 256-bit secret). ` +
            'Look for missing words.',
      { ...here, expected: MIN_MNEMONIC_WORDS, actual: values.length },
    );
  }

  // "The length of the padding ... equal to the length of the padded share value in bits
  // modulo 16, MUST NOT exceed 8 bits": otherwise the word count corresponds to no
  // secret length that is a whole number of 16-bit units.
  const valueWords = values.length - METADATA_WORDS;
  const padBits = (valueWords * RADIX_BITS) % 16;
  if (padBits > 8) {
    throw new Slip39Error(
      'SECRET_LENGTH',
      `${at}a share with ${values.length} words does not encode a valid secret length ` +
        '(20 words for a 128-bit secret, 33 for a 256-bit secret). Look for a missing or ' +
        'extra word.',
      { ...here, actual: values.length },
    );
  }

  const idExp = ((values[0] as number) << RADIX_BITS) | (values[1] as number);
  const identifier = idExp >>> (EXP_BITS + 1);
  const extendable = ((idExp >>> EXP_BITS) & 1) === 1;
  const iterationExponent = idExp & ((1 << EXP_BITS) - 1);

  // The flag selects the customization string, so it is read before verifying.
  if (!rs1024Verify(values, extendable)) {
    throw new Slip39Error(
      'CHECKSUM',
      `${at}the checksum does not match, so at least one word is wrong, missing, extra or ` +
        'out of order. Compare every word with the written share.',
      here,
    );
  }

  const params = ((values[2] as number) << RADIX_BITS) | (values[3] as number);
  const groupIndex = (params >>> 16) & 15;
  const groupThreshold = ((params >>> 12) & 15) + 1;
  const groupCount = ((params >>> 8) & 15) + 1;
  const memberIndex = (params >>> 4) & 15;
  const memberThreshold = (params & 15) + 1;

  // "The value of G MUST be greater than or equal to GT."
  if (groupThreshold > groupCount) {
    throw new Slip39Error(
      'GROUP_THRESHOLD_EXCEEDS_COUNT',
      `${at}the share says ${groupThreshold} groups are needed but only ` +
        `${groupCount} ${groupCount === 1 ? 'exists' : 'exist'}, ` +
        'so no set of shares could ever be complete. It was not made by a correct SLIP-39 ' +
        'tool, or it has been altered.',
      { ...here, expected: groupCount, actual: groupThreshold },
    );
  }

  // Share value: the padding sits entirely inside the first value word (pad <= 8 < 10).
  const first = values[HEADER_WORDS] as number;
  if (first >>> (RADIX_BITS - padBits) !== 0) {
    throw new Slip39Error(
      'PADDING',
      `${at}the share passes its checksum but is malformed (its padding bits are not zero). ` +
        'It was not made by a correct SLIP-39 tool, or several words are wrong. Compare ' +
        'every word with the written share.',
      here,
    );
  }
  const valueBytes = (valueWords * RADIX_BITS - padBits) / 8;
  const value = new Uint8Array(valueBytes);
  let acc = first & ((1 << (RADIX_BITS - padBits)) - 1);
  let accBits = RADIX_BITS - padBits;
  let pos = 0;
  for (let i = HEADER_WORDS; i < values.length - CHECKSUM_WORDS; i++) {
    if (i > HEADER_WORDS) {
      acc = (acc << RADIX_BITS) | (values[i] as number);
      accBits += RADIX_BITS;
    }
    // Accumulator stays below 18 bits (<= 7 left over + 10 new).
    while (accBits >= 8) {
      accBits -= 8;
      value[pos++] = (acc >>> accBits) & 0xff;
      acc &= (1 << accBits) - 1;
    }
  }
  values.fill(0);

  return {
    identifier,
    extendable,
    iterationExponent,
    groupIndex,
    groupThreshold,
    groupCount,
    memberIndex,
    memberThreshold,
    value,
  };
}

/** Parse a mnemonic and validate its checksum and structure. Throws Slip39Error. */
export function decodeMnemonic(mnemonic: string): Share {
  return decodeShare(mnemonic);
}

/** Share -> mnemonic (space-separated words). Throws on out-of-range fields. */
export function encodeMnemonic(share: Share): string {
  const s = share;
  const fieldsOk =
    isInt(s.identifier, 0, (1 << ID_BITS) - 1) &&
    isInt(s.iterationExponent, 0, (1 << EXP_BITS) - 1) &&
    isInt(s.groupIndex, 0, 15) &&
    isInt(s.groupCount, 1, 16) &&
    isInt(s.groupThreshold, 1, s.groupCount) &&
    isInt(s.memberIndex, 0, 15) &&
    isInt(s.memberThreshold, 1, 16) &&
    typeof s.extendable === 'boolean';
  if (!fieldsOk) {
    throw new Slip39Error('INVALID_PARAMETERS', 'A share field is out of range; it cannot be encoded.');
  }
  if (s.value.length < MIN_SECRET_BYTES || s.value.length % 2 !== 0) {
    throw new Slip39Error(
      'SECRET_LENGTH',
      `A share value must be at least ${MIN_SECRET_BYTES} bytes and an even number of bytes.`,
    );
  }
  const idExp = (s.identifier << (EXP_BITS + 1)) | (Number(s.extendable) << EXP_BITS) | s.iterationExponent;
  const params =
    (s.groupIndex << 16) |
    ((s.groupThreshold - 1) << 12) |
    ((s.groupCount - 1) << 8) |
    (s.memberIndex << 4) |
    (s.memberThreshold - 1);
  const data = [
    idExp >>> RADIX_BITS,
    idExp & 1023,
    params >>> RADIX_BITS,
    params & 1023,
    ...bytesToWords(s.value),
  ];
  const words = [...data, ...rs1024Create(data, s.extendable)].map(wordAt);
  data.fill(0);
  return words.join(' ');
}
