// Security strength of keys, in bits, as NIST SP 800-57 Part 1 Rev. 5 §5.6.1.1 Table 2 gives it
// ("comparable strengths"), and the rule that a wrapping key must be at least as strong as the key it
// carries: a key is exactly as safe as the weakest key that ever protected it, so an RSA-1024 wrap
// of an AES-256 key is an 80-bit export (issue #11). Pure: the key service and the CLI call it.
import type { KeyEntry, WrapMechanismName } from '../../shared/keys';
import { fail } from '../../shared/result';

/**
 * SP 800-57 Part 1 Rev. 5 Table 2, RSA/DH column: the strength a modulus of at least this size
 * provides. Sizes between two rows get the lower row (the table's own reading: 4096 bits is 128).
 */
const RSA_STRENGTH: ReadonlyArray<readonly [bits: number, strength: number]> = [
  [15360, 256],
  [7680, 192],
  [3072, 128],
  [2048, 112],
  [1024, 80],
];

/**
 * SP 800-131A Rev. 2 §6 (key transport) and Table 2: below 112 bits a key may not protect another
 * at all any more, only process what it protected before. Not even --allow-weaker-wrapping-key goes
 * below this.
 */
export const MIN_WRAPPING_STRENGTH = 112;

/** The ephemeral key of RSA-OAEP + AES-KWP (the CKM_RSA_AES_KEY_WRAP layout) is AES-256. */
const RSA_AES_EPHEMERAL = 256;

export function rsaStrength(bits: number): number {
  for (const [size, strength] of RSA_STRENGTH) if (bits >= size) return strength;
  return 0;
}

/** SP 800-57 Table 2, ECC column (f = the order's size): P-256 128, P-384 192, P-521 256; Ed25519 128 (SP 800-186 §3.2.2). */
export function curveStrength(curve: string | null, bits: number | null): number | null {
  switch (curve) {
    case 'P-256':
    case 'Ed25519':
      return 128;
    case 'P-384':
      return 192;
    case 'P-521':
      return 256;
    default:
      return bits === null ? null : bits >= 512 ? 256 : bits >= 384 ? 192 : bits >= 256 ? 128 : bits >= 224 ? 112 : 80;
  }
}

export interface Strength {
  bits: number;
  /** The token does not report the key's length, so its strength is a bound, not a measure. */
  assumed: boolean;
}

/**
 * A key's strength. When the token does not say how long a secret key is (SoftHSM reports
 * CKA_VALUE_LEN 0 for keys it unwrapped), `side` decides the bound: a key to be carried is taken
 * as strong as its type allows, a wrapping key as weak, so that the check never passes by guessing.
 */
export function keyStrength(k: Pick<KeyEntry, 'keyType' | 'bits' | 'curve'>, side: 'target' | 'wrapping'): Strength | null {
  const known = (bits: number): Strength => ({ bits, assumed: false });
  const bound = (high: number, low: number): Strength => ({ bits: side === 'target' ? high : low, assumed: true });
  switch (k.keyType) {
    case 'aes':
      return k.bits === 128 || k.bits === 192 || k.bits === 256 ? known(k.bits) : bound(256, 128);
    case 'tdes':
      // Three-key TDEA: 112 bits (SP 800-57 Table 2; SP 800-131A Rev. 2 §2).
      return known(112);
    case 'generic-secret':
      // An HMAC key is as strong as its length, up to the 256 bits Custos's HMACs reach (SP 800-107 Rev. 1 §5.3.4).
      return k.bits ? known(Math.min(k.bits, 256)) : bound(256, 0);
    case 'rsa':
      return k.bits ? known(rsaStrength(k.bits)) : bound(256, 0);
    case 'ec':
    case 'ed25519': {
      const s = curveStrength(k.curve, k.bits);
      return s === null ? bound(256, 0) : known(s);
    }
    default:
      return null;
  }
}

/** What a wrap protects the key with: the wrapping key's strength, capped by an ephemeral key in between. */
export function wrapStrength(wrapping: Pick<KeyEntry, 'keyType' | 'bits' | 'curve'>, mechanism: WrapMechanismName): Strength | null {
  const s = keyStrength(wrapping, 'wrapping');
  if (!s) return null;
  return mechanism.startsWith('rsa-aes') ? { ...s, bits: Math.min(s.bits, RSA_AES_EPHEMERAL) } : s;
}

const describe = (k: Pick<KeyEntry, 'label' | 'keyType' | 'bits' | 'curve'>) => `"${k.label}" (${k.keyType === 'ec' || k.keyType === 'ed25519' ? (k.curve ?? k.keyType) : `${k.keyType ?? 'key'}${k.bits ? `-${k.bits}` : ''}`})`;

export interface WrapVerdict {
  wrappingKey: number;
  target: number;
  /** True when the wrap went ahead although the wrapping key is weaker (--allow-weaker-wrapping-key). */
  weaker: boolean;
}

/**
 * Refuses a wrap whose wrapping key is weaker than the key it would carry (WRAPPING_KEY_TOO_WEAK),
 * unless `allowWeaker` says the receiver accepts nothing stronger (cloud KMS import keys are RSA-2048
 * to 4096, about 112 to 128 bits, and most keys they import are AES-256). Below 112 bits it always refuses.
 */
export function checkWrapStrength(wrapping: Pick<KeyEntry, 'label' | 'keyType' | 'bits' | 'curve'>, target: Pick<KeyEntry, 'label' | 'keyType' | 'bits' | 'curve'>, mechanism: WrapMechanismName, allowWeaker = false): WrapVerdict {
  const w = wrapStrength(wrapping, mechanism);
  const t = keyStrength(target, 'target');
  if (!w || !t) fail('KEY_TYPE_MISMATCH', `Custos cannot tell how strong ${describe(w ? target : wrapping)} is, so it does not wrap with it.`, 'Use AES, TDES, HMAC, RSA or EC keys.');
  const numbers = { wrappingKeyBits: w.bits, targetBits: t.bits };
  if (w.bits < MIN_WRAPPING_STRENGTH) {
    fail(
      'WRAPPING_KEY_TOO_WEAK',
      `The wrapping key ${describe(wrapping)} gives about ${w.bits} bits of security${w.assumed ? ' (its length is not reported, so the least its type allows is assumed)' : ''}; NIST SP 800-131A allows no key below ${MIN_WRAPPING_STRENGTH} bits to protect another.`,
      'Ask the receiver for a stronger wrapping key: RSA-3072 or larger, or AES-128 or larger.',
      numbers,
    );
  }
  if (w.bits < t.bits && !allowWeaker) {
    fail(
      'WRAPPING_KEY_TOO_WEAK',
      `The wrapping key ${describe(wrapping)} gives about ${w.bits} bits of security${w.assumed ? ' (its length is not reported, so the least its type allows is assumed)' : ''}, less than the ${t.bits} of ${describe(target)}${t.assumed ? ' (its length is not reported, so the most its type allows is assumed)' : ''} (NIST SP 800-57 Part 1 Table 2): the exported key would be only as strong as the wrapping key.`,
      `Use a wrapping key of at least ${t.bits} bits (AES-${Math.max(128, t.bits)}${t.bits <= 256 ? `, or RSA-${t.bits <= 112 ? 2048 : t.bits <= 128 ? 3072 : t.bits <= 192 ? 7680 : 15360}` : ''}). If the receiver accepts nothing stronger (cloud KMS import keys are RSA-2048 to 4096), repeat with --allow-weaker-wrapping-key.`,
      numbers,
    );
  }
  return { wrappingKey: w.bits, target: t.bits, weaker: w.bits < t.bits };
}
