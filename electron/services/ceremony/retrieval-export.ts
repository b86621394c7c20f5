// The export destination of an archive retrieval, on the token: what planning reads about the
// target (ExportFacts), the target made ready when the step runs (the KEK found again by its
// CKA_ID and its check value compared with the approved one; the receiver's public key imported as
// a session object), and where the wrapped result waits until it is saved.
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { RetrievalParams } from '../../../shared/ceremony/params';
import { fail } from '../../../shared/result';
import type { HsmClient } from '../../hsm/client';
import type { ObjectRef } from '../../hsm/protocol';
import { CKM } from '../../hsm/protocol/constants';
import { pkcs11AttrsFromSpki } from '../formats/publicKey';
import { hsmCheckValues } from '../hsm-kcv';
import { parseKeyRef } from '../key-refs';
import type { ArchiveService } from '../archive/service';
import type { ExportFacts, ExportTarget, OwnKey } from './plan-retrieval';

type Tok = { path: string; token: string };

/** Read before planning an export: the KEK named (if any) and the token's wrap mechanisms. */
export async function exportFacts(hsm: HsmClient, tok: Tok, wrap: NonNullable<RetrievalParams['wrap']>): Promise<ExportFacts> {
  const probe = await hsm.call('probeWrap', tok);
  const oaep = (await hsm.call('mechanisms', tok)).some((m) => m.type === CKM.RSA_PKCS_OAEP);
  if (!('kek' in wrap)) return { kek: null, kwp: probe.aesKwp, oaep };
  const found = (await hsm.call('objects', { ...tok, ref: { ...parseKeyRef(wrap.kek), kind: 'secret' } })).filter((o) => o.kind === 'secret');
  if (found.length > 1) fail('OBJECT_AMBIGUOUS', `${found.length} secret keys on the token match “${wrap.kek}”.`, 'Name the KEK by its PKCS#11 URI with id= (custos key list shows it).');
  const k = found[0];
  if (!k) return { kek: null, kwp: probe.aesKwp, oaep };
  const cv = k.keyType === 'aes' ? await hsmCheckValues({ hsm, path: tok.path, token: tok.token }, { label: k.label, idHex: k.idHex, kind: 'secret' }) : null;
  return { kek: { label: k.label, idHex: k.idHex, keyType: k.keyType, bits: k.bits, canWrap: k.usage.wrap, checkValue: cv?.cmac ?? null }, kwp: probe.aesKwp, oaep };
}

/** The workstation's own keys as the archive records them: the KEK (and one being rotated in), every MAC key, every audit key. */
export function ownKeys(a: ArchiveService): OwnKey[] {
  const k = a.info().keys;
  const incoming = a.kekRotationState().incoming;
  return [
    { role: 'archive-kek', idHex: k.kek.idHex },
    ...(incoming ? [{ role: 'archive-kek' as const, idHex: incoming.id }] : []),
    { role: 'archive-mac', idHex: k.mac.idHex },
    // A MAC key being rotated in, or retired by a rotation (kept in the HSM).
    ...a.macKeys().map((m) => ({ role: 'archive-mac' as const, idHex: m.mac_id })),
    ...[k.audit, ...k.audit.retired].map((x) => ({ role: 'audit' as const, idHex: x.idHex })),
  ];
}

/**
 * The wrapping object for the approved target. A KEK is found by the CKA_ID fixed at planning and
 * must still have the approved check value (a key relabelled or replaced since is refused); a
 * public key is the approved SPKI itself, imported for the moment of the wrap. `release` removes
 * what was made here.
 */
export async function prepareTarget(hsm: HsmClient, tok: Tok, t: ExportTarget): Promise<{ ref: ObjectRef; release(): Promise<void> }> {
  if (t.kek) {
    const ref: ObjectRef = { idHex: t.kek.idHex, kind: 'secret' };
    const found = await hsm.call('objects', { ...tok, ref });
    if (found.length !== 1) fail('OBJECT_NOT_FOUND', `The KEK “${t.kek.label}” approved for this export is no longer on the token.`, 'Abort this ceremony; nothing was retrieved.');
    const cv = await hsmCheckValues({ hsm, path: tok.path, token: tok.token }, ref);
    if (cv.cmac !== t.kek.checkValue) fail('CHECK_VALUE_MISMATCH', `The KEK on the token now has check value ${cv.cmac ?? 'none'}, not the ${t.kek.checkValue} approved.`, 'Abort this ceremony and find out who changed the key; nothing was retrieved.');
    if (!found[0]!.usage.wrap) fail('KEY_USAGE_NOT_PERMITTED', `The KEK “${t.kek.label}” may no longer wrap (CKA_WRAP is false).`, 'Abort this ceremony; nothing was retrieved.');
    return { ref, release: async () => undefined };
  }
  const a = pkcs11AttrsFromSpki(Buffer.from(t.publicKey!.spki, 'base64'));
  if (a.keyType !== 'rsa') fail('KEY_TYPE_MISMATCH', 'The approved public key is not an RSA key.', 'Abort this ceremony.');
  const ref: ObjectRef = { idHex: randomBytes(16).toString('hex'), kind: 'public' };
  await hsm.call('importPublic', { ...tok, label: `custos export target ${t.publicKey!.short}`, idHex: ref.idHex!, attrs: { keyType: 'rsa', modulus: a.modulus, publicExponent: a.publicExponent }, usages: ['wrap'], onToken: false });
  return { ref, release: async () => void (await hsm.call('destroy', { ...tok, ref }).catch(() => undefined)) };
}

/** Where a run's wrapped export waits (beside the evidence folder, 0600) until it is saved. */
export function wrappedExportPath(bundleDir: string, run: string): string {
  return join(dirname(bundleDir), 'retrieval-exports', `${run}.wrapped`);
}
