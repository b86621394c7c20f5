// Checks the key service makes before it asks the token anything: that a key's type fits the
// mechanism, and that a new label is one people can read and say. A token asked to sign with ECDSA
// under an AES key's label answers "no such private key", which sends a custodian looking for a key
// that is there; a check here says what is wrong instead.
import type { KeyEntry, SignMechanismName, WrapMechanismName } from '../../shared/keys';
import { fail } from '../../shared/result';
import { WORKSTATION_KEY } from '../../shared/workstation-keys';

type OperationMechanism = SignMechanismName | 'aes-gcm' | 'rsa-oaep-sha1' | 'rsa-oaep-sha256';

/** The key types a mechanism works with, and how to say so. */
function keyTypesFor(m: OperationMechanism): { types: Array<KeyEntry['keyType']>; words: string } {
  if (m.startsWith('ecdsa')) return { types: ['ec'], words: 'an EC key' };
  if (m.startsWith('rsa')) return { types: ['rsa'], words: 'an RSA key' };
  if (m === 'ed25519') return { types: ['ed25519'], words: 'an Ed25519 key' };
  // HMAC keys are generic secrets, or a vendor's own HMAC key types (CKK_SHA256_HMAC…), shown as "other".
  if (m.startsWith('hmac')) return { types: ['generic-secret', 'other'], words: 'an HMAC (generic secret) key' };
  return { types: ['aes'], words: 'an AES key' };
}

const KEY_WORDS: Record<NonNullable<KeyEntry['keyType']>, string> = {
  aes: 'an AES key',
  'generic-secret': 'an HMAC (generic secret) key',
  tdes: 'a TDES key',
  rsa: 'an RSA key',
  ec: 'an EC key',
  ed25519: 'an Ed25519 key',
  other: 'a key of a type Custos does not name',
};

/** Refuses a key of the wrong type for the mechanism (KEY_TYPE_MISMATCH). */
export function requireKeyFor(m: OperationMechanism, k: KeyEntry): void {
  const want = keyTypesFor(m);
  if (k.keyType !== null && !want.types.includes(k.keyType)) {
    fail('KEY_TYPE_MISMATCH', `${m} needs ${want.words}; "${k.label}" is ${KEY_WORDS[k.keyType]}.`, 'Choose a key of the right type (custos key list shows each key\'s type), or a mechanism for this key.');
  }
}

/** AES-KW/KWP wrap under an AES key; the rsa-* mechanisms under an RSA public key (or pair). */
export function requireWrappingKeyFor(mechanism: WrapMechanismName, wk: KeyEntry): void {
  const wantAes = mechanism.startsWith('aes');
  if (wantAes ? wk.keyType !== 'aes' : wk.keyType !== 'rsa' || wk.kind === 'secret') {
    const is = wk.keyType === 'ec' || wk.keyType === 'ed25519' ? 'an EC key, which cannot wrap' : `a ${wk.keyType ?? 'different'} key`;
    fail(
      'KEY_TYPE_MISMATCH',
      `${mechanism} wraps under ${wantAes ? 'an AES key' : 'an RSA public key'}; "${wk.label}" is ${is}.`,
      wantAes ? 'Choose an AES key-encryption key, or an rsa-* mechanism with an RSA key.' : 'Choose an RSA public key (for example one a cloud KMS gave you), or aes-kw / aes-kwp with an AES key.',
    );
  }
}

/** A label people can read aloud: 1 to 128 characters, no control characters. */
export function checkLabelText(label: string): void {
  // eslint-disable-next-line no-control-regex
  if (label.trim() === '' || [...label].length > 128 || /[\u0000-\u001f\u007f]/.test(label)) {
    fail('INVALID_INPUT', 'A key label must be 1 to 128 characters, without control characters.', 'Choose a label people can read aloud, such as "Payments DEK 2026".');
  }
}

/**
 * The workstation's own keys: the archive's KEK, MAC and audit keys (archive/init.ts) and a backup
 * ceremony's short-lived Backup Key. Destroying or relabelling one from the key screens or
 * `custos key` would lose the archive (or break the record's binding to its keys), so it is refused
 * here; they change only through the archive and the ceremonies.
 */
export { WORKSTATION_KEY } from '../../shared/workstation-keys';

export function refuseWorkstationKey(k: KeyEntry, what: 'destroy' | 'relabel'): void {
  if (!WORKSTATION_KEY.test(k.label)) return;
  fail(
    'KEY_PROTECTED',
    `“${k.label}” is one of this workstation's own keys (the archive's, or a backup ceremony's); it cannot be ${what === 'destroy' ? 'destroyed' : 'relabelled'} from here.`,
    what === 'destroy'
      ? `Nothing was destroyed. Destroy it in a destruction ceremony, under the custodians' quorum and a witness: custos ceremony plan custos/destruction --params destroy.yaml (with keys: ["${k.label}"] and the reason), or Ceremonies → Destruction in the app.`
      : 'The archive names its keys by these labels; leave them as they are.',
  );
}
