// Key management on a token: what the Keys screen and the `custos key …` commands call. The HSM
// host does the PKCS#11 work; this service turns user references (label or PKCS#11 URI) into object
// references, adds URIs, check values and fingerprints, and builds public-key exports and CSRs.
import { randomBytes } from 'node:crypto';
import type { GeneratedKey, KeyDetail, KeyEntry, TokenCapabilities, TokenRef } from '../../shared/keys';
import { KEY_TYPES, RETRIEVED_ID_PREFIX, SIGN_MECHANISMS, WRAP_MECHANISMS, type KeyTypeName, type SignMechanismName, type WrapMechanismName } from '../../shared/keys';
import { CustosError, fail } from '../../shared/result';
import type { HsmClient } from '../hsm/client';
import { CKM, MECHANISM_NAMES } from '../hsm/protocol/constants';
import type { KeyLimits, KeyUsage, ObjectRef, PublicKeyAttrs, RawObject, WrapProbe } from '../hsm/protocol';
import type { CsrExtensions, CsrSignatureAlgorithm } from './formats/csr';
import { ecdsaRawToDer } from './formats/ecdsa';
import { checkLabelText, refuseWorkstationKey, requireKeyFor, requireWrappingKeyFor, WORKSTATION_KEY } from './key-checks';
import { groupKeys, parseKeyRef } from './key-refs';
import { checkWrapStrength, MIN_WRAPPING_STRENGTH, rsaStrength, type WrapVerdict } from './key-strength';

// Public keys and CSRs are DER built with @peculiar/asn1-*, which costs a one-shot CLI call more than
// its own work (issue #12 part 7): loaded when a public key is read or a CSR made, not for a signature.
const publicKeys = () => import('./formats/publicKey');
const csrs = () => import('./formats/csr');
/** Check values and fingerprints of keys in the HSM (hsm-kcv.ts reads public keys, so it loads the ASN.1 code too). */
const checks = () => import('./hsm-kcv');

export type { TokenRef };

const TYPE_USAGES: Record<KeyTypeName, KeyUsage[]> = Object.fromEntries(KEY_TYPES.map((t) => [t.type, t.usages as KeyUsage[]])) as Record<KeyTypeName, KeyUsage[]>;

function mechanismsNeeded(type: KeyTypeName): number[] {
  if (type.startsWith('aes')) return [CKM.AES_KEY_GEN];
  if (type === 'hmac-256') return [CKM.GENERIC_SECRET_KEY_GEN];
  if (type === 'tdes') return [CKM.DES3_KEY_GEN];
  if (type.startsWith('rsa')) return [CKM.RSA_PKCS_KEY_PAIR_GEN];
  if (type === 'ed25519') return [CKM.EC_EDWARDS_KEY_PAIR_GEN, CKM.EDDSA];
  return [CKM.EC_KEY_PAIR_GEN, CKM.ECDSA];
}

function signNeeds(m: SignMechanismName): number[] {
  switch (m) {
    case 'ecdsa-sha256':
    case 'ecdsa-sha384':
      return [CKM.ECDSA];
    case 'rsa-pkcs1-sha256':
    case 'rsa-pkcs1-sha384':
      return [CKM.RSA_PKCS];
    case 'rsa-pss-sha256':
    case 'rsa-pss-sha384':
      return [CKM.RSA_PKCS_PSS];
    case 'ed25519':
      return [CKM.EDDSA];
    case 'hmac-sha256':
      return [CKM.SHA256_HMAC];
    case 'hmac-sha384':
      return [CKM.SHA384_HMAC];
    case 'hmac-sha512':
      return [CKM.SHA512_HMAC];
    case 'aes-cmac':
      return [CKM.AES_CMAC];
  }
}

/** A retrieved key that Custos no longer uses, and why. */
export interface ExpiredKey {
  key: KeyEntry;
  why: 'end-date' | 'uses';
  limits: KeyLimits;
}

export class KeyService {
  constructor(
    private readonly hsm: HsmClient,
    /** The clock the validity dates are compared with (tests move it). */
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * A retrieved key's limits, held here because no token holds them: PKCS#11 v3.0 §4.7 stores
   * CKA_START_DATE / CKA_END_DATE "for reference only" and has no use count. For a key whose CKA_ID
   * marks it as retrieved, the limits record beside it (host/limits.ts) is checked and one use
   * counted on `today`; outside its dates KEY_EXPIRED, with no uses left KEY_USES_EXHAUSTED.
   * Another PKCS#11 tool with the user PIN is held by neither: docs/FORMAT.md says so.
   */
  private async withinLimits(t: TokenRef, k: KeyEntry): Promise<void> {
    if (!k.idHex.startsWith(RETRIEVED_ID_PREFIX)) return;
    const r = await this.hsm.call('keyLimits', { ...this.tok(t), keyIdHex: k.idHex, use: { today: this.today() } });
    if (!r?.refused) return;
    const l = r.limits;
    const remove = 'Remove it with `custos key expired --destroy` (audited), or retrieve the version again under quorum.';
    if (r.refused === 'after') fail('KEY_EXPIRED', `The retrieved key "${k.label}" was valid until ${l.validUntil}; Custos no longer uses it.`, remove, { validUntil: l.validUntil ?? '' });
    if (r.refused === 'before') fail('KEY_EXPIRED', `The retrieved key "${k.label}" is valid only from ${l.validFrom}.`, 'Wait until that day, or check the workstation clock.', { validFrom: l.validFrom ?? '' });
    fail('KEY_USES_EXHAUSTED', `The retrieved key "${k.label}" has been used the ${l.maxUses} time${l.maxUses === 1 ? '' : 's'} its retrieval allowed.`, remove, { maxUses: l.maxUses ?? 0 });
  }

  private today(): string {
    return this.now().toISOString().slice(0, 10);
  }

  /** Retrieved keys past their end date or with no uses left: what `custos key expired` lists (and may destroy). */
  async expired(t: TokenRef): Promise<ExpiredKey[]> {
    const today = this.today();
    const out: ExpiredKey[] = [];
    for (const k of await this.list(t)) {
      if (!k.idHex.startsWith(RETRIEVED_ID_PREFIX)) continue;
      const r = await this.hsm.call('keyLimits', { ...this.tok(t), keyIdHex: k.idHex });
      if (!r) continue;
      const l = r.limits;
      if (l.validUntil && today > l.validUntil) out.push({ key: k, why: 'end-date', limits: l });
      else if (l.maxUses !== null && l.used >= l.maxUses) out.push({ key: k, why: 'uses', limits: l });
    }
    return out;
  }

  /** Destroys every key `expired` lists, with its limits record; a key still valid is never touched. */
  async destroyExpired(t: TokenRef): Promise<Array<ExpiredKey & { destroyed: number }>> {
    const done: Array<ExpiredKey & { destroyed: number }> = [];
    for (const x of await this.expired(t)) {
      refuseWorkstationKey(x.key, 'destroy');
      const r = await this.hsm.call('destroy', { ...this.tok(t), ref: this.refOf(x.key) });
      await this.hsm.call('keyLimits', { ...this.tok(t), keyIdHex: x.key.idHex, remove: true });
      done.push({ ...x, destroyed: r.destroyed });
    }
    return done;
  }

  private tok(t: TokenRef) {
    return { path: t.module, token: t.token };
  }

  async capabilities(t: TokenRef): Promise<TokenCapabilities> {
    const mechs = await this.hsm.call('mechanisms', this.tok(t));
    const has = new Set(mechs.map((m) => m.type));
    let probe: WrapProbe;
    try {
      probe = await this.hsm.call('probeWrap', this.tok(t));
    } catch (e) {
      probe = { aesKw: null, aesKwp: null, notes: [`the wrap probe failed: ${e instanceof CustosError ? e.appError.message : 'unknown error'}`] };
    }
    const keyTypes = KEY_TYPES.filter((k) => mechanismsNeeded(k.type).every((m) => has.has(m))).map((k) => k.type);
    const sign = SIGN_MECHANISMS.filter((m) => signNeeds(m).every((x) => has.has(x)));
    const wrap = WRAP_MECHANISMS.filter((w) => {
      if (w === 'aes-kw') return probe.aesKw !== null;
      if (w === 'aes-kwp') return probe.aesKwp !== null && probe.aesKwp.wrap !== 'none';
      if (w.startsWith('rsa-aes')) return has.has(CKM.RSA_PKCS_OAEP) && probe.aesKwp !== null && probe.aesKwp.wrap !== 'none';
      return has.has(CKM.RSA_PKCS_OAEP);
    });
    return {
      mechanisms: mechs,
      keyTypes,
      sign,
      wrap,
      wrapProbe: {
        aesKw: probe.aesKw === null ? null : (MECHANISM_NAMES[probe.aesKw] ?? String(probe.aesKw)),
        aesKwp: probe.aesKwp === null ? null : { mechanism: MECHANISM_NAMES[probe.aesKwp.mechanism] ?? String(probe.aesKwp.mechanism), wrap: probe.aesKwp.wrap },
        notes: probe.notes,
      },
      rsaAesNative: has.has(CKM.RSA_AES_KEY_WRAP),
    };
  }

  async list(t: TokenRef): Promise<KeyEntry[]> {
    return groupKeys(t.token, await this.hsm.call('objects', { ...this.tok(t), ref: {} }));
  }

  private async one(t: TokenRef, selector: string): Promise<KeyEntry> {
    const ref = parseKeyRef(selector);
    const found = groupKeys(t.token, await this.hsm.call('objects', { ...this.tok(t), ref }));
    if (found.length === 0) {
      fail('OBJECT_NOT_FOUND', `There is no key "${selector}" on this token.`, 'Check the label or URI with `custos key list` (log in first: private keys are hidden until then).');
    }
    if (found.length > 1) fail('OBJECT_AMBIGUOUS', `${found.length} keys match "${selector}".`, 'Name the key by its PKCS#11 URI, which includes its id.');
    return found[0]!;
  }

  /**
   * A label for a new key (or a new label for a key): 1 to 128 characters without control
   * characters, and not already on the token: ceremonies, the archive and the CLI name keys by
   * label, so a second key with the same label would make every later reference ambiguous.
   */
  private async freshLabel(t: TokenRef, label: string): Promise<void> {
    checkLabelText(label);
    if (WORKSTATION_KEY.test(label)) fail('INVALID_INPUT', 'Labels starting “custos-archive-”, “custos-audit/” or “custos-backup-key/” are kept for the workstation’s own keys.', 'Choose another label.');
    const existing = await this.hsm.call('objects', { ...this.tok(t), ref: { label } });
    if (existing.length) {
      fail('INVALID_INPUT', `A key labelled "${label}" already exists on this token.`, 'Choose another label: labels name keys in ceremonies and must be unique.');
    }
  }

  private refOf(k: KeyEntry, kind?: ObjectRef['kind']): ObjectRef {
    return { idHex: k.idHex, label: k.label, ...(kind ? { kind } : {}) };
  }

  async spki(t: TokenRef, k: KeyEntry): Promise<Buffer> {
    const attrs: PublicKeyAttrs = await this.hsm.call('publicKey', { ...this.tok(t), ref: this.refOf(k) });
    const { ecSpkiFromPkcs11, rsaSpkiFromPkcs11 } = await publicKeys();
    return attrs.keyType === 'rsa' ? rsaSpkiFromPkcs11(attrs.modulus!, attrs.publicExponent!) : ecSpkiFromPkcs11(attrs.ecParams!, attrs.ecPoint!);
  }

  async show(t: TokenRef, selector: string): Promise<KeyDetail> {
    const k = await this.one(t, selector);
    return this.detail(t, k);
  }

  private async detail(t: TokenRef, k: KeyEntry): Promise<KeyDetail> {
    const { hsmKeyCheck } = await checks();
    const c = await hsmKeyCheck({ hsm: this.hsm, ...this.tok(t) }, { ref: this.refOf(k), kind: k.kind === 'secret' ? 'secret' : 'public' });
    if (c.publicKey) {
      const { spki, fingerprint: fp } = c.publicKey;
      const { spkiToPem } = await publicKeys();
      return { ...k, checkValue: null, fingerprint: { sha256: fp.sha256, short: fp.short }, publicKeyPem: spkiToPem(spki) };
    }
    return { ...k, checkValue: c.checkValues, fingerprint: null, publicKeyPem: null };
  }

  async generate(t: TokenRef, opts: { type: KeyTypeName; label: string; usages: KeyUsage[]; extractable: boolean }): Promise<GeneratedKey> {
    const allowed = TYPE_USAGES[opts.type];
    const bad = opts.usages.filter((u) => !allowed.includes(u));
    if (bad.length) fail('INVALID_INPUT', `A ${opts.type} key cannot be used for ${bad.join(', ')}.`, `Choose from: ${allowed.join(', ')}.`);
    await this.freshLabel(t, opts.label);
    // CKA_ID: 16 random bytes shared by both halves of a pair (the convention p11-kit and OpenSC
    // use to link a private key, its public key and certificate).
    const idHex = randomBytes(16).toString('hex');
    const objs = await this.hsm.call('generate', { ...this.tok(t), spec: { type: opts.type, label: opts.label, idHex, usages: opts.usages, extractable: opts.extractable } });
    const [entry] = groupKeys(t.token, objs);
    return this.detail(t, entry!);
  }

  async exportPublic(t: TokenRef, selector: string, format: 'pem' | 'jwk'): Promise<string> {
    const k = await this.one(t, selector);
    if (k.kind === 'secret') fail('KEY_TYPE_MISMATCH', 'A secret key has no public key to export.', 'Choose an RSA, EC or Ed25519 key.');
    const spki = await this.spki(t, k);
    const { spkiToJwk, spkiToPem } = await publicKeys();
    return format === 'pem' ? spkiToPem(spki) : JSON.stringify(spkiToJwk(spki), null, 2) + '\n';
  }

  async csr(t: TokenRef, selector: string, subject: string, algorithm?: CsrSignatureAlgorithm, extensions?: CsrExtensions): Promise<string> {
    const k = await this.one(t, selector);
    if (k.kind !== 'pair' && k.kind !== 'private') fail('KEY_TYPE_MISMATCH', 'A CSR needs a private key on the token.', 'Choose an RSA, EC or Ed25519 key pair.');
    const alg: CsrSignatureAlgorithm =
      algorithm ?? (k.keyType === 'rsa' ? 'rsa-pkcs1-sha256' : k.keyType === 'ed25519' ? 'ed25519' : k.curve === 'P-384' ? 'ecdsa-sha384' : 'ecdsa-sha256');
    const spki = await this.spki(t, k);
    const { buildCsr } = await csrs();
    const { pem } = await buildCsr({
      subject,
      spki,
      signatureAlgorithm: alg,
      ...(extensions ? { extensions } : {}),
      sign: async (tbs) => {
        const [sig] = await this.hsm.call('sign', { ...this.tok(t), ref: this.refOf(k, 'private'), mechanism: alg, data: [tbs] });
        // PKCS#11 CKM_ECDSA gives raw r‖s; X.509 wants the DER SEQUENCE (RFC 3279 §2.2.3).
        return alg.startsWith('ecdsa') ? ecdsaRawToDer(sig!) : Buffer.from(sig!);
      },
    });
    return pem;
  }

  async relabel(t: TokenRef, selector: string, newLabel: string): Promise<KeyEntry> {
    const k = await this.one(t, selector);
    refuseWorkstationKey(k, 'relabel');
    if (newLabel === k.label) return k;
    await this.freshLabel(t, newLabel);
    const objs = await this.hsm.call('setLabel', { ...this.tok(t), ref: this.refOf(k), newLabel });
    return groupKeys(t.token, objs)[0]!;
  }

  /** Destroys both halves of a pair. `confirmLabel` must repeat the key's label (dual check). */
  async destroy(t: TokenRef, selector: string, confirmLabel: string): Promise<{ destroyed: number; key: KeyEntry }> {
    const k = await this.one(t, selector);
    refuseWorkstationKey(k, 'destroy');
    if (confirmLabel !== k.label) {
      fail('INVALID_INPUT', 'The confirmation does not match the key label; nothing was destroyed.', `Type the key's label exactly ("${k.label}") to confirm.`);
    }
    const r = await this.hsm.call('destroy', { ...this.tok(t), ref: this.refOf(k) });
    return { destroyed: r.destroyed, key: k };
  }

  async sign(t: TokenRef, selector: string, mechanism: SignMechanismName, data: Uint8Array): Promise<Buffer> {
    const k = await this.one(t, selector);
    requireKeyFor(mechanism, k);
    await this.withinLimits(t, k);
    const [sig] = await this.hsm.call('sign', { ...this.tok(t), ref: this.refOf(k, k.kind === 'secret' ? 'secret' : 'private'), mechanism, data: [data] });
    return Buffer.from(sig!);
  }

  async verify(t: TokenRef, selector: string, mechanism: SignMechanismName, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const k = await this.one(t, selector);
    requireKeyFor(mechanism, k);
    await this.withinLimits(t, k);
    const r = await this.hsm.call('verify', { ...this.tok(t), ref: this.refOf(k, k.kind === 'secret' ? 'secret' : 'public'), mechanism, data, signature });
    return r.valid;
  }

  async encrypt(t: TokenRef, selector: string, mechanism: 'aes-gcm' | 'rsa-oaep-sha1' | 'rsa-oaep-sha256', data: Uint8Array, aad?: Uint8Array) {
    const k = await this.one(t, selector);
    requireKeyFor(mechanism, k);
    await this.withinLimits(t, k);
    const [r] = await this.hsm.call('encrypt', { ...this.tok(t), ref: this.refOf(k), mechanism, data: [data], ...(aad ? { aad } : {}) });
    return r!;
  }

  async decrypt(t: TokenRef, selector: string, mechanism: 'aes-gcm' | 'rsa-oaep-sha1' | 'rsa-oaep-sha256', ciphertext: Uint8Array, iv?: Uint8Array, aad?: Uint8Array) {
    const k = await this.one(t, selector);
    requireKeyFor(mechanism, k);
    await this.withinLimits(t, k);
    return (await this.hsm.call('decrypt', { ...this.tok(t), ref: this.refOf(k), mechanism, ciphertext, ...(iv ? { iv } : {}), ...(aad ? { aad } : {}) })).plaintext;
  }

  async random(t: TokenRef, length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 1 || length > 65536) fail('INVALID_INPUT', 'Ask for 1 to 65536 random bytes.', 'Give a length in bytes.');
    return this.hsm.call('random', { ...this.tok(t), length });
  }

  /**
   * Wraps a key for export. The wrapping key must fit the mechanism (AES for AES-KW/KWP, RSA for the
   * OAEP ones) and be at least as strong as the key (key-strength.ts), unless `allowWeaker` says the
   * receiver accepts nothing stronger; the verdict comes back with the wrapped bytes.
   */
  async wrap(t: TokenRef, wrappingSelector: string, targetSelector: string, mechanism: WrapMechanismName, opts: { allowWeaker?: boolean } = {}): Promise<{ wrapped: Buffer; strength: WrapVerdict }> {
    const wk = await this.one(t, wrappingSelector);
    const target = await this.one(t, targetSelector);
    if (target.extractable === false) {
      fail('KEY_NOT_EXTRACTABLE', `The key "${target.label}" was created non-extractable: it can never leave the token, not even wrapped.`, 'Generate the key again with "extractable under wrap" if it must be backed up or exported.');
    }
    requireWrappingKeyFor(mechanism, wk);
    const strength = checkWrapStrength(wk, target, mechanism, opts.allowWeaker === true);
    await this.withinLimits(t, wk);
    await this.withinLimits(t, target);
    const wrappingKind = mechanism.startsWith('aes') ? 'secret' : 'public';
    const [w] = await this.hsm.call('wrap', {
      ...this.tok(t),
      wrapping: this.refOf(wk, wrappingKind),
      targets: [this.refOf(target, target.kind === 'secret' ? 'secret' : 'private')],
      mechanism,
    });
    return { wrapped: Buffer.from(w!), strength };
  }

  /** Unwraps a key into the token (it arrives sensitive; extractable only if asked). */
  async unwrap(
    t: TokenRef,
    unwrappingSelector: string,
    wrapped: Uint8Array,
    mechanism: WrapMechanismName,
    opts: { type: KeyTypeName; label: string; usages: KeyUsage[]; extractable: boolean },
  ): Promise<KeyDetail> {
    const uk = await this.one(t, unwrappingSelector);
    await this.withinLimits(t, uk);
    const info = KEY_TYPES.find((k) => k.type === opts.type)!;
    const bad = opts.usages.filter((u) => !info.usages.includes(u));
    if (bad.length) fail('INVALID_INPUT', `A ${opts.type} key cannot be used for ${bad.join(', ')}.`, `Choose from: ${info.usages.join(', ')}.`);
    await this.freshLabel(t, opts.label);
    const keyType = opts.type.startsWith('aes') ? 'aes' : opts.type === 'hmac-256' ? 'generic-secret' : opts.type === 'tdes' ? 'tdes' : opts.type.startsWith('rsa') ? 'rsa' : opts.type === 'ed25519' ? 'ed25519' : 'ec';
    const idHex = randomBytes(16).toString('hex');
    const obj = await this.hsm.call('unwrap', {
      ...this.tok(t),
      unwrapping: this.refOf(uk, mechanism.startsWith('aes') ? 'secret' : 'private'),
      wrapped,
      mechanism,
      template: { kind: info.family === 'symmetric' ? 'secret' : 'private', keyType, label: opts.label, idHex, usages: opts.usages, extractable: opts.extractable, onToken: true },
    });
    const [entry] = groupKeys(t.token, [obj]);
    return this.detail(t, entry!);
  }

  /**
   * Imports a public key (PEM or JWK), typically a cloud KMS's import wrapping key for
   * "bring your own key": wrap usage by default, so the token can RSA-OAEP-wrap keys to it.
   * Accepted: RSA of 1024 to 16384 bits (SPKI or PKCS#1 PEM, or JWK), EC P-256/P-384/P-521 and
   * Ed25519 (SPKI PEM or JWK). Only RSA keys wrap or encrypt here (RSA-OAEP), and only from 2048
   * bits (112 bits, SP 800-131A Rev. 2 §6); a smaller one may only verify old signatures.
   */
  async importPublic(t: TokenRef, text: string, label: string, usages: KeyUsage[]): Promise<KeyDetail> {
    const { parsePublicKey, pkcs11AttrsFromSpki } = await publicKeys();
    const parsed = parsePublicKey(text);
    const transport = usages.filter((u) => u === 'wrap' || u === 'encrypt');
    if (transport.length && parsed.kind !== 'rsa') {
      const what = parsed.kind === 'ec' ? `EC ${String(parsed.curve)}` : 'Ed25519';
      fail('INVALID_INPUT', `An ${what} public key cannot ${transport.join(' or ')} in Custos: only RSA public keys do (RSA-OAEP).`, 'Import it with --usage sign (to verify signatures), or ask for an RSA wrapping key.');
    }
    if (transport.length && rsaStrength(parsed.bits ?? 0) < MIN_WRAPPING_STRENGTH) {
      fail(
        'WRAPPING_KEY_TOO_WEAK',
        `This RSA-${parsed.bits} key gives about ${rsaStrength(parsed.bits ?? 0)} bits of security; NIST SP 800-131A allows no key below ${MIN_WRAPPING_STRENGTH} bits to ${transport.join(' or ')}.`,
        'Ask the receiver for an RSA key of 2048 bits or more (3072 or more to carry AES-128, 15360 for AES-256 at full strength). To verify old signatures only, import it with --usage sign.',
        { bits: parsed.bits ?? 0 },
      );
    }
    await this.freshLabel(t, label);
    const a = pkcs11AttrsFromSpki(parsed.spki);
    const attrs: PublicKeyAttrs =
      a.keyType === 'rsa'
        ? { keyType: 'rsa', modulus: a.modulus, publicExponent: a.publicExponent }
        : { keyType: a.keyType === 'ec' ? 'ec' : 'ed25519', ecParams: a.ecParams, ecPoint: a.ecPoint };
    const obj = await this.hsm.call('importPublic', { ...this.tok(t), label, idHex: randomBytes(16).toString('hex'), attrs, usages, onToken: true });
    const [entry] = groupKeys(t.token, [obj]);
    return this.detail(t, entry!);
  }

  /**
   * Copies a secret key to another token without it ever being in the clear outside a token: the
   * destination makes an ephemeral RSA transport key pair (session objects), the source wraps the
   * key to its public half with RSA-OAEP, the destination unwraps it and the pair is destroyed.
   * Both tokens then compute the check value, which must match; otherwise the copy is destroyed.
   * Private keys are not copied this way: RSA-OAEP cannot carry them, and composed RSA-AES output is
   * not trustworthy on every token (see the wrap probe); use an archive backup instead.
   */
  async copy(from: TokenRef, to: TokenRef, selector: string, newLabel?: string): Promise<KeyDetail> {
    const k = await this.one(from, selector);
    if (k.kind !== 'secret') {
      fail('MECHANISM_UNSUPPORTED', 'Only secret keys (AES, TDES, HMAC) can be copied between tokens directly.', 'Back up the key pair through the archive and restore it on the other token.');
    }
    if (k.extractable === false) {
      fail('KEY_NOT_EXTRACTABLE', `The key "${k.label}" was created non-extractable: it can never leave its token, not even wrapped.`, 'Generate a new key on the other token instead.');
    }
    const keyType = k.keyType === 'aes' ? 'aes' : k.keyType === 'tdes' ? 'tdes' : k.keyType === 'generic-secret' ? 'generic-secret' : null;
    if (!keyType) fail('KEY_TYPE_MISMATCH', 'This kind of secret key cannot be copied.', 'Copy AES, TDES or HMAC keys only.');
    const usages: KeyUsage[] = [];
    if (k.usage.encrypt || k.usage.decrypt) usages.push('encrypt');
    if (k.usage.sign || k.usage.verify) usages.push('sign');
    if (k.usage.wrap || k.usage.unwrap) usages.push('wrap');
    const transport = await this.hsm.call('importSecretBegin', this.tok(to));
    let sessionPub: RawObject | null = null;
    try {
      sessionPub = await this.hsm.call('importPublic', {
        ...this.tok(from),
        label: 'custos copy transport (ephemeral)',
        idHex: transport.transportId,
        attrs: { keyType: 'rsa', modulus: transport.modulus, publicExponent: transport.publicExponent },
        usages: ['wrap'],
        onToken: false,
      });
      const [wrapped] = await this.hsm.call('wrap', {
        ...this.tok(from),
        wrapping: { idHex: transport.transportId, kind: 'public' },
        targets: [this.refOf(k, 'secret')],
        mechanism: 'rsa-oaep-sha1',
      });
      const obj = await this.hsm.call('importSecretWrapped', {
        ...this.tok(to),
        transportId: transport.transportId,
        wrapped: wrapped!,
        template: { kind: 'secret', keyType: keyType!, label: newLabel ?? k.label, idHex: k.idHex, usages, extractable: true, onToken: true },
      });
      const [entry] = groupKeys(to.token, [obj]);
      const copied = await this.detail(to, entry!);
      const original = await this.detail(from, k);
      const same = (a: string | null | undefined, b: string | null | undefined) => !a || !b || a === b;
      if (!same(copied.checkValue?.cmac, original.checkValue?.cmac) || !same(copied.checkValue?.legacy, original.checkValue?.legacy)) {
        await this.hsm.call('destroy', { ...this.tok(to), ref: { idHex: k.idHex, label: newLabel ?? k.label, kind: 'secret' } });
        fail('CHECK_VALUE_MISMATCH', 'The copy on the other token has a different check value; it was destroyed.', 'Try again; if it repeats, one of the tokens is faulty.');
      }
      return copied;
    } catch (e) {
      await this.hsm.call('importSecretAbort', { ...this.tok(to), transportId: transport.transportId }).catch(() => undefined);
      throw e;
    } finally {
      if (sessionPub) await this.hsm.call('destroy', { ...this.tok(from), ref: { idHex: transport.transportId, kind: 'public' } }).catch(() => undefined);
    }
  }
}
