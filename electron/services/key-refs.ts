// Keys as people and the services name them: a label or a PKCS#11 URI (RFC 7512) turned into an
// object reference, an object's URI, and the halves of a key pair grouped into one entry. Used by
// the key service, the share service (a custodian's card key) and the component import.
import type { KeyEntry } from '../../shared/keys';
import { objectUri, parsePkcs11Uri, UriError } from '../../shared/pkcs11-uri';
import { fail } from '../../shared/result';
import type { ObjectRef, RawObject } from '../hsm/protocol';

/**
 * A key as a user names it: a label, or a PKCS#11 URI with object= and/or id= (RFC 7512 §2.3),
 * optionally type=private|public|secret-key.
 */
export function parseKeyRef(selector: string): ObjectRef {
  if (!selector.toLowerCase().startsWith('pkcs11:')) {
    if (!selector) fail('INVALID_INPUT', 'No key was named.', 'Give the key by label or by its PKCS#11 URI.');
    return { label: selector };
  }
  let uri;
  try {
    uri = parsePkcs11Uri(selector);
  } catch (e) {
    return fail('INVALID_INPUT', `The key URI is not valid: ${e instanceof UriError ? e.message : 'unreadable'}.`, 'Copy the URI from `custos key list`.');
  }
  const ref: ObjectRef = {};
  if (uri.path.object !== undefined) ref.label = uri.path.object;
  if (uri.path.id !== undefined) ref.idHex = uri.path.id;
  const type = uri.path.type;
  if (type === 'private' || type === 'public') ref.kind = type;
  else if (type === 'secret-key') ref.kind = 'secret';
  else if (type !== undefined) fail('INVALID_INPUT', `Objects of type "${type}" are not keys.`, 'Use type=private, type=public or type=secret-key.');
  if (ref.label === undefined && ref.idHex === undefined) fail('INVALID_INPUT', 'The key URI names neither object= nor id=.', 'Copy the URI from `custos key list`.');
  return ref;
}

/** Groups the halves of a key pair (same CKA_ID and label) into one entry. */
export function groupKeys(tokenUri: string, objects: RawObject[]): KeyEntry[] {
  const groups = new Map<string, RawObject[]>();
  for (const o of objects) {
    if (o.kind !== 'secret' && o.kind !== 'private' && o.kind !== 'public') continue;
    const k = `${o.idHex}\u0001${o.label}\u0001${o.kind === 'secret' ? 's' : 'p'}`;
    groups.set(k, [...(groups.get(k) ?? []), o]);
  }
  const out: KeyEntry[] = [];
  for (const parts of groups.values()) {
    const main = parts.find((p) => p.kind === 'private') ?? parts.find((p) => p.kind === 'secret') ?? parts[0]!;
    const pub = parts.find((p) => p.kind === 'public');
    const usage = { ...main.usage };
    if (pub) for (const [k, v] of Object.entries(pub.usage)) usage[k as keyof typeof usage] ||= v;
    out.push({
      label: main.label,
      idHex: main.idHex,
      uri: objectUri(tokenUri, { ...main, kind: main.kind === 'public' ? 'public' : main.kind }),
      kind: main.kind === 'secret' ? 'secret' : pub && parts.some((p) => p.kind === 'private') ? 'pair' : main.kind === 'private' ? 'private' : 'public',
      keyType: main.keyType,
      bits: main.bits,
      curve: main.curve,
      sensitive: main.sensitive,
      extractable: main.extractable,
      neverExtractable: main.neverExtractable,
      local: main.local,
      usage,
      onToken: main.onToken,
    });
  }
  return out.sort((a, b) => a.label.localeCompare(b.label) || a.idHex.localeCompare(b.idHex));
}
