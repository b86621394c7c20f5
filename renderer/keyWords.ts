import { KEY_TYPES, USAGE_WORDS, type KeyEntry, type KeyTypeInfo, type KeyUsageName, type TokenCapabilities } from '../shared/keys';

// Keys in words: what the Keys screen says about a key, a mechanism or the wrap probe. Pure
// functions, so the words stay the same wherever a key is shown.

export function keyTypeWords(k: Pick<KeyEntry, 'keyType' | 'bits' | 'curve'>): string {
  switch (k.keyType) {
    case 'aes':
      return k.bits ? `AES-${k.bits}` : 'AES';
    case 'tdes':
      return 'Triple DES';
    case 'generic-secret':
      return k.bits ? `HMAC secret (${k.bits}-bit)` : 'Generic secret';
    case 'rsa':
      return k.bits ? `RSA-${k.bits}` : 'RSA';
    case 'ec':
      return k.curve ? `EC ${k.curve}` : 'EC (unknown curve)';
    case 'ed25519':
      return 'Ed25519';
    default:
      return 'Unknown key type';
  }
}

export function kindWords(kind: KeyEntry['kind']): string {
  switch (kind) {
    case 'secret':
      return 'Secret key';
    case 'pair':
      return 'Key pair';
    case 'private':
      return 'Private key (its public key is not on the token)';
    case 'public':
      return 'Public key only';
  }
}

/** The four uses a custodian chooses, from the seven PKCS#11 usage flags. */
export function usageNames(k: Pick<KeyEntry, 'usage'>): KeyUsageName[] {
  const u = k.usage;
  const out: KeyUsageName[] = [];
  if (u.encrypt || u.decrypt) out.push('encrypt');
  if (u.sign || u.verify) out.push('sign');
  if (u.wrap || u.unwrap) out.push('wrap');
  if (u.derive) out.push('derive');
  return out;
}

/** A use in words; "(MAC for secret keys)" is said only of secret keys. */
export const usagePhrase = (u: KeyUsageName, secret: boolean): string => (secret ? USAGE_WORDS[u] : USAGE_WORDS[u].replace(/ \(.*\)$/, ''));

export const usageWords = (k: Pick<KeyEntry, 'usage' | 'kind'>): string[] => usageNames(k).map((n) => usagePhrase(n, k.kind === 'secret'));

export type Tone = 'ok' | 'warn' | 'info';

/** Whether the key can leave the token, as a short badge. */
export function exportBadge(k: Pick<KeyEntry, 'kind' | 'extractable'>): { text: string; tone: Tone } {
  if (k.kind === 'public') return { text: 'Public — not secret', tone: 'info' };
  if (k.extractable === false) return { text: 'Never leaves the token', tone: 'ok' };
  if (k.extractable === true) return { text: 'Can leave the token wrapped', tone: 'warn' };
  return { text: 'Exportability unknown', tone: 'info' };
}

export const yesNo = (v: boolean | null, yes = 'Yes', no = 'No'): string => (v === null ? 'Not reported' : v ? yes : no);

/** Hex in upper case, in `groups` groups of equal size (check values are read aloud). */
export function groupHex(hex: string, size: number): string {
  const up = hex.toUpperCase();
  return (up.match(new RegExp(`.{1,${size}}`, 'g')) ?? []).join(' ');
}

export const typeInfo = (t: string): KeyTypeInfo | undefined => KEY_TYPES.find((k) => k.type === t);


// CK_MECHANISM_INFO flags, PKCS#11 v2.40 §3.3 (and the v3.0 EC curve-name flag).
const MECH_FLAGS: Array<[number, string]> = [
  [0x1, 'hardware'],
  [0x100, 'encrypt'],
  [0x200, 'decrypt'],
  [0x400, 'digest'],
  [0x800, 'sign'],
  [0x1000, 'sign with recovery'],
  [0x2000, 'verify'],
  [0x4000, 'verify with recovery'],
  [0x8000, 'generate key'],
  [0x10000, 'generate key pair'],
  [0x20000, 'wrap'],
  [0x40000, 'unwrap'],
  [0x80000, 'derive'],
  [0x100000, 'EC prime field'],
  [0x200000, 'EC binary field'],
  [0x400000, 'EC explicit parameters'],
  [0x800000, 'EC named curve'],
  [0x1000000, 'EC uncompressed points'],
  [0x2000000, 'EC compressed points'],
  [0x4000000, 'EC curve name'],
];

export function mechanismFlagWords(flags: number): string {
  const words = MECH_FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, w]) => w);
  return words.length ? words.join(', ') : '—';
}

export const keySizeWords = (m: { minKeySize: number; maxKeySize: number }): string =>
  m.minKeySize === 0 && m.maxKeySize === 0 ? '—' : m.minKeySize === m.maxKeySize ? String(m.minKeySize) : `${m.minKeySize}–${m.maxKeySize}`;

/** The wrap probe's verdicts in sentences. */
export function wrapProbeWords(p: TokenCapabilities['wrapProbe']): string[] {
  const out: string[] = [];
  out.push(
    p.aesKw
      ? `AES key wrap (RFC 3394): ${p.aesKw} reproduces the RFC 3394 test vectors in both directions. Custos uses it.`
      : 'AES key wrap (RFC 3394): no mechanism on this token reproduced the RFC 3394 test vectors. Custos does not wrap with AES-KW here.',
  );
  if (!p.aesKwp) {
    out.push('AES key wrap with padding (RFC 5649): no mechanism on this token reads RFC 5649 data. Custos does not wrap with AES-KWP here.');
  } else if (p.aesKwp.wrap === 'any') {
    out.push(`AES key wrap with padding (RFC 5649): ${p.aesKwp.mechanism} reproduces the RFC 5649 test vectors for keys of any length. Custos uses it.`);
  } else if (p.aesKwp.wrap === 'aligned') {
    out.push(
      `AES key wrap with padding (RFC 5649): ${p.aesKwp.mechanism} reads standard data, but what it writes is standard only for keys whose length is a multiple of 8 bytes. Custos uses it to wrap AES keys, never private keys (other tools could not read those).`,
    );
  } else {
    out.push(`AES key wrap with padding (RFC 5649): ${p.aesKwp.mechanism} reads standard data but does not write it. Custos uses it only to unwrap.`);
  }
  return out;
}
