// Planning an archive retrieval (issue #10 part 3). The version is read from the archive; for an
// export, the target too is resolved now — the KEK's check value as the token computes it, or the
// receiver's public-key fingerprint — so that it is part of the fingerprint the quorum approves: an
// approval for this version, this purpose and this destination serves no other.
import { randomBytes } from 'node:crypto';
import type { VersionDetail } from '../../../shared/archive/types';
import type { RetrievalParams } from '../../../shared/ceremony/params';
import { RETRIEVED_ID_PREFIX, type KeyEntry, type WrapMechanismName } from '../../../shared/keys';
import { fail } from '../../../shared/result';
import { WORKSTATION_KEY } from '../../../shared/workstation-keys';
import type { WrapProbe } from '../../hsm/protocol';
import { byokProfiles } from '../formats/keywrap';
import { parsePublicKey, spkiFingerprint } from '../formats/publicKey';
import { checkWrapStrength, MIN_WRAPPING_STRENGTH, rsaStrength } from '../key-strength';

/** What the token says about an export's target and its wrap mechanisms (read before planning; planning itself is synchronous). */
export interface ExportFacts {
  kek: { label: string; idHex: string; keyType: string | null; bits: number | null; canWrap: boolean; checkValue: string | null } | null;
  /** The workstation token's RFC 5649 wrap (probe.ts: names are not trusted) and whether it has RSA-OAEP. */
  kwp: WrapProbe['aesKwp'];
  oaep: boolean;
}

/** One of the workstation's own keys, by the CKA_ID the archive records for it (ArchiveService.info). */
export interface OwnKey {
  role: 'archive-kek' | 'archive-mac' | 'audit' | 'backup-key';
  idHex: string;
}

const OWN_WORDS: Record<OwnKey['role'], string> = {
  'archive-kek': 'the Archive KEK',
  'archive-mac': 'the archive MAC key',
  audit: 'an audit signing key of this workstation',
  'backup-key': 'a backup ceremony’s Backup Key',
};

/**
 * An export target that is one of the workstation's own keys is refused before anything else is
 * looked at. Under the Archive KEK the export would be the very blob the archive file already holds
 * (a copy of the archive's protection handed to a receiver, who could then unwrap every version);
 * the MAC, audit and Backup keys each have one job, and wrapping keys for export is none of them.
 * Found by the CKA_ID the archive records and by the labels only Custos gives its own keys.
 */
function refuseOwnKey(k: { label: string; idHex: string | null }, own: readonly OwnKey[]): void {
  const byId = k.idHex === null ? undefined : own.find((o) => o.idHex.toLowerCase() === k.idHex!.toLowerCase())?.role;
  const byLabel = WORKSTATION_KEY.exec(k.label)?.[1] as OwnKey['role'] | undefined;
  const role = byId ?? byLabel;
  if (!role) return;
  const why =
    role === 'archive-kek'
      ? 'every archived version is already wrapped under it, so the export would be what the archive file itself holds, and whoever receives it must hold the Archive KEK, which would then unwrap every version in the archive'
      : 'the workstation’s own keys each keep the archive for one purpose and are never used to wrap a key for another system';
  fail(
    'KEY_PROTECTED',
    `“${k.label}” is ${OWN_WORDS[role]}: it cannot be the target of an export, because ${why}.`,
    role === 'archive-kek'
      ? 'Nothing was planned. Export under the receiver’s own KEK (imported onto the token, e.g. by a component-form ceremony, and named with wrap.kek) or to the receiver’s RSA public key (wrap.publicKey). To carry the whole archive elsewhere, back up the Archive KEK (custos/backup) and copy the archive file.'
      : 'Nothing was planned. Export under the receiver’s own KEK (imported onto the token and named with wrap.kek) or to the receiver’s RSA public key (wrap.publicKey).',
    { role },
  );
}

/** The resolved destination of an export, as the plan (and so the fingerprint) holds it. */
export interface ExportTarget {
  mechanism: Extract<WrapMechanismName, 'aes-kwp' | 'rsa-aes-kwp-sha1' | 'rsa-aes-kwp-sha256'>;
  kek?: { label: string; idHex: string; checkValue: string; bits: number | null };
  publicKey?: { fingerprint: string; short: string; bits: number; profile: string | null; spki: string };
  /** Security strength in bits of the wrap and of the key it carries (NIST SP 800-57 Part 1 Table 2). */
  strength: { wrappingKey: number; target: number; weaker: boolean };
}

/** What the retrieval steps read from the plan (steps-retrieval.ts). */
export interface RetrievalPlan {
  version: { id: string; label: string; version: number; algorithm: string; kind: 'secret' | 'private'; state: string; checkValue: string | null; fingerprint: string | null };
  purpose: string;
  into: 'session' | 'token' | 'export';
  label: string;
  usages: Array<'encrypt' | 'sign' | 'wrap' | 'derive'>;
  validDays: number | null;
  /** The dates set on the object (CKA_START_DATE, CKA_END_DATE), fixed at planning so the quorum approves them. */
  validFrom: string | null;
  validUntil: string | null;
  maxUses: number | null;
  keyIdHex: string;
  export: ExportTarget | null;
}

/** An archived algorithm name ("aes-256", "rsa-3072", "ec-p256", …) as the strength rules take it. */
export function strengthOf(algorithm: string): Pick<KeyEntry, 'label' | 'keyType' | 'bits' | 'curve'> {
  const n = Number(algorithm.replace(/^\D+-?/, '')) || null;
  if (algorithm.startsWith('aes-')) return { label: algorithm, keyType: 'aes', bits: n, curve: null };
  if (algorithm.startsWith('hmac-')) return { label: algorithm, keyType: 'generic-secret', bits: n, curve: null };
  if (algorithm === 'tdes') return { label: algorithm, keyType: 'tdes', bits: 192, curve: null };
  if (algorithm.startsWith('rsa-')) return { label: algorithm, keyType: 'rsa', bits: n, curve: null };
  if (algorithm === 'ed25519') return { label: algorithm, keyType: 'ed25519', bits: 256, curve: 'Ed25519' };
  return { label: algorithm, keyType: 'ec', bits: n, curve: `P-${n}` };
}

const untrusted = (message: string) =>
  fail('WRAP_MECHANISM_UNTRUSTED', message, 'Nothing was retrieved. Export from a token whose AES key wrap with padding reproduces the RFC 5649 vectors (custos key capabilities shows it), or retrieve into the token instead.');

function resolveExport(p: RetrievalParams, v: VersionDetail, facts: ExportFacts | undefined, own: readonly OwnKey[]): ExportTarget {
  if (!facts) fail('INVALID_INPUT', 'The export target could not be read from the token.', 'Log in to the workstation token and plan again.');
  const w = p.wrap!;
  // The audit key is no secret key, so the token search finds nothing by its name: its label says what it is.
  if ('kek' in w) refuseOwnKey(facts.kek ?? { label: w.kek, idHex: null }, own);
  const target = strengthOf(v.summary.algorithm);
  // SoftHSM's padded wrap is RFC 5649 only for key data in whole 8-byte blocks; a private key's
  // PKCS#8 encoding has any length, so such a token cannot export it readably (wrap.ts kwpMechanism).
  if (!facts.kwp || facts.kwp.wrap === 'none') untrusted('This token has no AES key wrap with padding whose output is RFC 5649, so the export could not be read by the receiver.');
  if (facts.kwp!.wrap === 'aligned' && (v.kind === 'private' || target.keyType === 'generic-secret')) {
    untrusted(`This token's AES-KWP output is standard (RFC 5649) only for keys whose length is a multiple of 8 bytes; ${v.kind === 'private' ? 'a private key (PKCS#8)' : 'an HMAC key'} is not always one.`);
  }
  if ('kek' in w) {
    const k = facts.kek;
    if (!k) fail('OBJECT_NOT_FOUND', `No secret key “${w.kek}” is on the workstation token.`, 'Name the KEK by its label or PKCS#11 URI (custos key list), or import it first.');
    if (k.keyType !== 'aes') fail('KEY_TYPE_MISMATCH', `“${k.label}” is not an AES key, so it cannot wrap with AES-KWP (RFC 5649).`, 'Name an AES key-encryption key.');
    if (!k.canWrap) fail('KEY_USAGE_NOT_PERMITTED', `“${k.label}” may not wrap (its CKA_WRAP is false), so the token will not wrap the key under it.`, 'Name a KEK made with the wrap usage; nothing was retrieved.');
    if (!k.checkValue) fail('CHECK_VALUE_MISMATCH', `The token computed no check value for “${k.label}”, so the receiver could not confirm it is their KEK.`, 'Name another KEK.');
    const strength = checkWrapStrength({ label: k.label, keyType: 'aes', bits: k.bits, curve: null }, target, 'aes-kwp', w.allowWeaker === true);
    return { mechanism: 'aes-kwp', kek: { label: k.label, idHex: k.idHex, checkValue: k.checkValue, bits: k.bits }, strength };
  }
  if (!facts.oaep) fail('MECHANISM_UNSUPPORTED', 'This token has no RSA-OAEP (CKM_RSA_PKCS_OAEP), which RSA-OAEP + AES-KWP needs.', 'Export under a KEK on the token instead, or from another token.');
  const parsed = parsePublicKey(w.publicKey);
  if (parsed.kind !== 'rsa') fail('KEY_TYPE_MISMATCH', `The receiver's key is ${parsed.kind === 'ec' ? `an EC ${String(parsed.curve)}` : 'an Ed25519'} key; only an RSA public key can receive a key wrapped with RSA-OAEP + AES-KWP.`, 'Ask the receiver for its RSA wrapping (import) key.');
  const bits = parsed.bits ?? 0;
  if (rsaStrength(bits) < MIN_WRAPPING_STRENGTH) {
    fail('WRAPPING_KEY_TOO_WEAK', `The receiver's RSA key is ${bits} bits, about ${rsaStrength(bits)} bits of security; NIST SP 800-131A allows no key below ${MIN_WRAPPING_STRENGTH} bits to protect another.`, 'Ask the receiver for an RSA key of 2048 bits or more; nothing was retrieved.', { bits });
  }
  let profile: string | null = null;
  let hash: 'sha1' | 'sha256' = 'sha256';
  if (w.profile) {
    const found = byokProfiles().find((x) => x.name.toLowerCase() === w.profile!.toLowerCase());
    if (!found) fail('INVALID_INPUT', `“${w.profile}” is not a profile Custos knows.`, `Use one of: ${byokProfiles().map((x) => x.name).join('; ')}.`);
    if (!found.rsaBits.includes(bits)) fail('INVALID_INPUT', `${found.name} takes RSA keys of ${found.rsaBits.join(', ')} bits; this one is ${bits}.`, 'Check that the public key is the one the service gave for this import method.');
    profile = found.name;
    hash = found.oaepHash;
  }
  const mechanism = hash === 'sha1' ? 'rsa-aes-kwp-sha1' : 'rsa-aes-kwp-sha256';
  const strength = checkWrapStrength({ label: 'the receiver’s public key', keyType: 'rsa', bits, curve: null }, target, mechanism, w.allowWeaker === true);
  const fp = spkiFingerprint(parsed.spki);
  return { mechanism, publicKey: { fingerprint: fp.sha256, short: fp.short, bits, profile, spki: parsed.spki.toString('base64') }, strength };
}

/** YYYY-MM-DD of a date `days` after `from` (UTC). */
const dayOf = (from: Date, days = 0) => new Date(from.getTime() + days * 86_400_000).toISOString().slice(0, 10);

export function resolveRetrieval(p: RetrievalParams, lookupVersion: ((selector: string) => VersionDetail) | undefined, facts: ExportFacts | undefined, now = new Date(), own: readonly OwnKey[] = []): RetrievalPlan & { version: RetrievalPlan['version'] & Record<string, unknown> } {
  if (!lookupVersion) fail('RECORD_MISSING', 'The archive is not open.', 'Log in to the workstation token and plan again.');
  const d = lookupVersion(p.version);
  const v = d.summary;
  if (!v.hasMaterial) fail('KEY_NOT_EXTRACTABLE', `Version ${v.version} of “${v.label}” was destroyed: its material is shredded, only its metadata remains.`, 'Choose another version (the archive search lists them with their states).');
  const exported = p.into === 'export' ? resolveExport(p, d, facts, own) : null;
  return {
    version: { id: v.versionId, keyId: v.keyId, label: v.label, version: v.version, algorithm: v.algorithm, kind: d.kind, state: v.state, checkValue: v.checkValue, checkMethod: d.checkMethod, fingerprint: v.fingerprint, activationDate: v.activationDate, deactivationDate: v.deactivationDate },
    purpose: p.purpose,
    into: p.into,
    label: p.label ?? `${v.label} v${v.version} (${exported ? 'export' : 'retrieved'})`,
    usages: p.usages ?? [],
    validDays: p.validDays ?? null,
    validFrom: p.validDays ? dayOf(now) : null,
    validUntil: p.validDays ? dayOf(now, p.validDays) : null,
    maxUses: p.maxUses ?? null,
    // Fixed now: a retrieval interrupted by a crash is found by it and adopted on resume.
    // CKA_ID: "RETR" and 12 random bytes, so Custos's operations find the key's limits (key-service.ts).
    keyIdHex: RETRIEVED_ID_PREFIX + randomBytes(12).toString('hex'),
    export: exported,
  };
}
