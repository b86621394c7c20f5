// What the archive learns about an HSM key before wrapping it: its class and algorithm, whether it
// may leave the HSM at all (wrapped), its check value or public-key fingerprint — all read through
// the HSM host (check values and fingerprints through hsm-kcv.ts, the conventions the key service
// shows too); the key value itself never comes here.
import type { ObjectRef, RawObject } from '../../hsm/protocol';
import { parsePkcs11Uri } from '../../../shared/pkcs11-uri';
import type { CheckMethod } from '../../../shared/archive/types';
import { CustosError } from '../../../shared/result';
import { hsmKeyCheck } from '../hsm-kcv';
import type { HsmBinding } from './crypto';

export interface InspectedKey {
  ref: ObjectRef;
  object: RawObject;
  kind: 'secret' | 'private';
  algorithm: string;
  checkMethod: CheckMethod | null;
  checkValue: string | null;
  checkLegacy: string | null;
  publicSpki: Buffer | null;
  fingerprint: string | null;
}

/** `--key LABEL` or `--key "pkcs11:object=LABEL;id=%01%02;type=secret-key"` → an object reference. */
export function refFromSelector(selector: string): ObjectRef {
  if (!selector.toLowerCase().startsWith('pkcs11:')) return { label: selector };
  let uri;
  try {
    uri = parsePkcs11Uri(selector);
  } catch (e) {
    throw new CustosError({ code: 'INVALID_INPUT', message: `The key URI is not a valid PKCS#11 URI (${e instanceof Error ? e.message : 'unreadable'}).`, action: 'Use pkcs11:object=LABEL;id=... (RFC 7512), or just the label.' });
  }
  const ref: ObjectRef = {};
  if (uri.path.object !== undefined) ref.label = uri.path.object;
  if (uri.path.id !== undefined) ref.idHex = uri.path.id;
  const type = uri.path.type;
  if (type === 'secret-key') ref.kind = 'secret';
  else if (type === 'private') ref.kind = 'private';
  else if (type !== undefined) throw new CustosError({ code: 'INVALID_INPUT', message: `Only secret and private keys can be archived; the URI names type=${type}.`, action: 'Use type=secret-key or type=private, or leave type out.' });
  if (ref.label === undefined && ref.idHex === undefined) {
    throw new CustosError({ code: 'INVALID_INPUT', message: 'The key URI names neither an object label nor an id.', action: 'Add object=LABEL or id=... to the URI.' });
  }
  return ref;
}

export function algorithmOf(o: RawObject): string {
  switch (o.keyType) {
    case 'aes':
      return `aes-${o.bits ?? 0}`;
    case 'generic-secret':
      return `hmac-${o.bits ?? 0}`;
    case 'tdes':
      return 'tdes';
    case 'rsa':
      return `rsa-${o.bits ?? 0}`;
    case 'ec':
      return `ec-${(o.curve ?? 'unknown').toLowerCase().replace(/[^a-z0-9]/g, '')}`;
    case 'ed25519':
      return 'ed25519';
    default:
      throw new CustosError({ code: 'KEY_TYPE_MISMATCH', message: 'This key is of a type the archive does not support.', action: 'Archive AES, TDES, HMAC (generic secret), RSA, EC or Ed25519 keys.' });
  }
}

/** Finds exactly one archivable (secret or private) key for `ref` and reads what the archive records. */
export async function inspectKey(b: HsmBinding, refIn: ObjectRef): Promise<InspectedKey> {
  const found = (await b.hsm.call('objects', { path: b.module, token: b.token, ref: refIn })).filter((o) => o.kind === 'secret' || o.kind === 'private');
  const what = refIn.label !== undefined ? `"${refIn.label}"` : `with id ${refIn.idHex}`;
  if (found.length === 0) {
    throw new CustosError({ code: 'OBJECT_NOT_FOUND', message: `There is no secret or private key ${what} on this token.`, action: 'Check the label or URI (custos keys list), and that you are logged in.' });
  }
  if (found.length > 1) {
    throw new CustosError({ code: 'OBJECT_AMBIGUOUS', message: `${found.length} keys match ${what}; the archive will not guess which one you meant.`, action: 'Name the key by its PKCS#11 URI with its id.' });
  }
  const o = found[0]!;
  const kind = o.kind as 'secret' | 'private';
  if (o.extractable !== true) {
    throw new CustosError({
      code: 'KEY_NOT_EXTRACTABLE',
      message: `The key ${what} is not extractable, so it cannot be archived (it can never leave the HSM, not even wrapped).`,
      action: 'Keys meant for the archive must be generated extractable-under-wrap. Keep this one in the HSM, or back it up with the vendor\'s tools.',
    });
  }
  const ref: ObjectRef = { label: o.label, idHex: o.idHex, kind };
  const algorithm = algorithmOf(o);
  const out: InspectedKey = { ref, object: o, kind, algorithm, checkMethod: null, checkValue: null, checkLegacy: null, publicSpki: null, fingerprint: null };
  let c;
  try {
    c = await hsmKeyCheck({ hsm: b.hsm, path: b.module, token: b.token }, { ref, kind, keyType: o.keyType, canSign: o.usage.sign }, { hmac: true });
  } catch (e) {
    // A private key without its public half on the token: archived without a fingerprint.
    if (kind === 'private' && e instanceof CustosError && e.appError.code === 'OBJECT_NOT_FOUND') return out;
    throw e;
  }
  if (c.checkValues && o.keyType === 'aes') {
    // ANSI X9.24-1:2017 / PCI: AES-CMAC of a zero block, 5 bytes; the legacy ECB value beside it.
    out.checkMethod = c.checkValues.cmac ? 'aes-cmac' : null;
    out.checkValue = c.checkValues.cmac;
    out.checkLegacy = c.checkValues.legacy;
  } else if (c.checkValues && o.keyType === 'tdes') {
    // TDES: the X9.24-1 legacy value (ECB of zeros, 3 bytes) is what TDES HSMs and key forms show.
    out.checkMethod = c.checkValues.legacy ? 'tdes-ecb' : null;
    out.checkValue = c.checkValues.legacy;
    out.checkLegacy = c.checkValues.cmac;
  } else if (c.hmac !== null) {
    out.checkMethod = 'hmac-sha256-zeros';
    out.checkValue = c.hmac;
  } else if (c.publicKey) {
    out.publicSpki = c.publicKey.spki;
    out.fingerprint = c.publicKey.fingerprint.hex;
  }
  return out;
}
