// XOR key components into the HSM (DESIGN.md ceremony 9, "enter to form a key in the HSM").
//
// The components are parsed, checked against their check values and combined here, in the main
// process (never in the renderer); the combined key enters the token wrapped under an ephemeral
// RSA-2048 transport key made inside the token (RSA-OAEP-SHA1, RFC 8017 §7.1, encrypted in Node),
// not as a plaintext C_CreateObject. Then the token computes the new key's check value itself
// (host checkValue: AES-CMAC per ANSI X9.24-1:2017, TDES-ECB legacy) and it must equal the value
// computed from the components; otherwise the new key is destroyed and CHECK_VALUE_MISMATCH raised.
// Every buffer that held a component or the key is zeroised.
//
// Fallback: a token without RSA-OAEP unwrap gets the key by C_CreateObject with its value, and only
// when the caller allows it explicitly (allowPlaintext); the result says which way the key went in.
import { constants as cryptoConstants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { algorithmName, combineComponents, KEY_LENGTHS, parseHex, type KeyAlgorithm } from '../../../shared/components';
import type { KeyEntry, TokenRef } from '../../../shared/keys';
import { CustosError, fail } from '../../../shared/result';
import type { HsmClient } from '../../hsm/client';
import type { KeyUsage, RawObject, UnwrapTemplate } from '../../hsm/protocol';
import { isCheckValueSyntax, keyCheckValues, matchCheckValue, type KeyCheckValues } from '../kcv';
import { groupKeys } from '../key-refs';

export interface ComponentImportInput {
  algorithm: KeyAlgorithm;
  /** The components: hexadecimal text as typed (groups and spaces allowed), or bytes. Bytes are zeroised here. */
  components: ReadonlyArray<string | Uint8Array>;
  /** Expected check value of each component, in order (2 to 8 bytes of either method, as printed). */
  componentKcvs: readonly string[];
  /** Expected check value of the combined key, if one was written down. */
  keyKcv?: string;
  label: string;
  usages: KeyUsage[];
  /** Extractable under wrap (never in plaintext). Default false. */
  extractable?: boolean;
  /** Allow the plaintext C_CreateObject fallback on a token without RSA-OAEP unwrap. Default false. */
  allowPlaintext?: boolean;
  /** The new key's CKA_ID (hex), when the caller fixed it in advance (a ceremony's plan); random otherwise. */
  idHex?: string;
}

export interface ComponentImportResult {
  key: KeyEntry;
  algorithm: string;
  /** Check values computed from the components, in Node. */
  expected: KeyCheckValues;
  /** Check values the HSM computed from the key it holds. */
  hsm: { cmac: string | null; legacy: string | null };
  componentKcvs: KeyCheckValues[];
  /** How the key entered the token. */
  transport: 'rsa-oaep-sha1' | 'plaintext';
  parityAdjusted: boolean;
  warnings: string[];
}

const USAGES: KeyUsage[] = ['encrypt', 'wrap', 'sign'];

type Hsm = Pick<HsmClient, 'call'>;

export class ComponentImportService {
  constructor(private readonly hsm: Hsm) {}

  private tok(t: TokenRef) {
    return { path: t.module, token: t.token };
  }

  /** Checks everything that needs no secret and no token change: done before any component is parsed. */
  private validate(input: ComponentImportInput): void {
    if (input.algorithm !== 'AES' && input.algorithm !== 'TDES') fail('INVALID_INPUT', 'The algorithm must be AES or TDES.', 'Choose AES or TDES.');
    if (typeof input.label !== 'string' || input.label.trim() === '' || input.label.length > 128) {
      fail('INVALID_INPUT', 'The new key needs a label of 1 to 128 characters.', 'Give the key a label that names it in ceremonies.');
    }
    const bad = input.usages.filter((u) => !USAGES.includes(u));
    if (input.usages.length === 0 || bad.length) {
      fail('INVALID_INPUT', input.usages.length === 0 ? 'The new key needs at least one usage.' : `A ${input.algorithm} key cannot be used for ${bad.join(', ')}.`, `Choose from: ${USAGES.join(', ')}.`);
    }
    if (input.componentKcvs.length !== input.components.length) {
      fail('INVALID_INPUT', `${input.componentKcvs.length} check values were given for ${input.components.length} components; every component is confirmed by its own check value.`, 'Give one check value per component, in order.');
    }
    for (const [i, k] of [...input.componentKcvs, ...(input.keyKcv === undefined ? [] : [input.keyKcv])].entries()) {
      if (!isCheckValueSyntax(k)) fail('INVALID_INPUT', `Check value ${i + 1} is not 4 to 16 hexadecimal digits (an even number).`, 'Copy the check values as printed, e.g. 08D7B4 or 7AD3 86C3 76.');
    }
  }

  /**
   * Combines the components in this process, confirms each by its check value, and imports the key
   * into the token as a new sensitive key whose in-HSM check value must match. Nothing is created on
   * the token when any check fails; a key whose in-HSM check value differs is destroyed.
   */
  async importComponents(t: TokenRef, input: ComponentImportInput): Promise<ComponentImportResult> {
    const owned: Uint8Array[] = [];
    try {
      this.validate(input);
      // Labels name keys in ceremonies: refuse a duplicate before anything is made.
      const existing = await this.hsm.call('objects', { ...this.tok(t), ref: { label: input.label } });
      if (existing.length) fail('INVALID_INPUT', `A key labelled "${input.label}" already exists on this token; nothing was imported.`, 'Choose another label.');

      const alg = input.algorithm;
      const lengths = KEY_LENGTHS[alg];
      const parts: Uint8Array[] = [];
      for (const [i, c] of input.components.entries()) {
        const label = `Component ${i + 1}`;
        const bytes =
          typeof c === 'string'
            ? parseHex(c, { label, code: 'COMPONENT_INVALID', expectedBytes: i === 0 ? lengths : parts[0]!.length, details: { component: i + 1 } })
            : c;
        owned.push(bytes);
        if (typeof c !== 'string' && !(i === 0 ? lengths.includes(bytes.length) : bytes.length === parts[0]!.length)) {
          fail('COMPONENT_INVALID', `${label} is ${bytes.length} bytes long, which does not fit.`, 'Check the component for missing or extra groups of digits.', { component: i + 1 });
        }
        parts.push(bytes);
      }
      const componentKcvs = parts.map((p) => keyCheckValues(alg, p));
      input.componentKcvs.forEach((want, i) => {
        if (!matchCheckValue(alg, parts[i]!, want).matched) {
          throw new CustosError({
            code: 'CHECK_VALUE_MISMATCH',
            message: `Component ${i + 1} does not have the expected check value ${want.replace(/\s+/g, '').toUpperCase()}; nothing was imported.`,
            action: `Component ${i + 1} was mistyped or is not a component of this key: compare it group by group with the original.`,
            details: { component: i + 1, expected: want, cmac: componentKcvs[i]!.cmac, legacy: componentKcvs[i]!.legacy },
          });
        }
      });
      const combined = combineComponents(parts, alg);
      owned.push(combined.key);
      const expected = keyCheckValues(alg, combined.key);
      if (input.keyKcv !== undefined && !matchCheckValue(alg, combined.key, input.keyKcv).matched) {
        fail(
          'CHECK_VALUE_MISMATCH',
          `The combined key does not have the expected check value ${input.keyKcv.replace(/\s+/g, '').toUpperCase()}; nothing was imported.`,
          'A component is wrong or missing although each matched its check value. Check every component against its original.',
          { expected: input.keyKcv, cmac: expected.cmac, legacy: expected.legacy },
        );
      }

      // A two-key TDES key K1‖K2 is stored as the three-key DES3 key K1‖K2‖K1 (keying option 2,
      // NIST SP 800-67 Rev. 2 §3.1): same cipher, same check values, and every token has CKK_DES3.
      const value = new Uint8Array(alg === 'TDES' ? 24 : combined.key.length);
      owned.push(value);
      value.set(combined.key);
      if (alg === 'TDES' && combined.key.length === 16) value.set(combined.key.subarray(0, 8), 16);
      const template: UnwrapTemplate = {
        kind: 'secret',
        keyType: alg === 'AES' ? 'aes' : 'tdes',
        label: input.label,
        idHex: input.idHex ?? randomBytes(16).toString('hex'),
        usages: input.usages,
        extractable: input.extractable ?? false,
        onToken: true,
      };
      const { object, transport } = await this.enter(t, value, template, input.allowPlaintext ?? false);
      const hsm = await this.verifyInToken(t, object, alg, expected);
      const [key] = groupKeys(t.token, [object]);
      return {
        key: key!,
        algorithm: algorithmName(alg, combined.key.length),
        expected,
        hsm,
        componentKcvs,
        transport,
        parityAdjusted: combined.parityAdjusted.length > 0,
        warnings: combined.warnings,
      };
    } finally {
      for (const b of owned) b.fill(0);
    }
  }

  /** Puts `value` into the token: wrapped under an ephemeral in-token RSA key, or (if allowed) plaintext. */
  private async enter(t: TokenRef, value: Uint8Array, template: UnwrapTemplate, allowPlaintext: boolean): Promise<{ object: RawObject; transport: 'rsa-oaep-sha1' | 'plaintext' }> {
    let transport;
    try {
      // RSA-2048 generation can take tens of seconds on a slow token.
      transport = await this.hsm.call('importSecretBegin', this.tok(t), { timeoutMs: 120_000 });
    } catch (e) {
      const unsupported = e instanceof CustosError && e.appError.code === 'MECHANISM_UNSUPPORTED';
      if (!unsupported || !allowPlaintext) throw e;
      // The documented fallback: the key value crosses to the token in the clear (host process only).
      const copy = Uint8Array.from(value);
      try {
        return { object: await this.hsm.call('importSecretPlain', { ...this.tok(t), value: copy, template }), transport: 'plaintext' };
      } finally {
        copy.fill(0);
      }
    }
    let wrapped: Buffer;
    try {
      const rsa = createPublicKey({ key: { kty: 'RSA', n: Buffer.from(transport.modulus).toString('base64url'), e: Buffer.from(transport.publicExponent).toString('base64url') }, format: 'jwk' });
      // SHA-1 OAEP: what SoftHSM and most tokens can unwrap (DESIGN.md); a 2048-bit key carries up to 214 bytes.
      wrapped = publicEncrypt({ key: rsa, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, value);
    } catch (e) {
      await this.hsm.call('importSecretAbort', { ...this.tok(t), transportId: transport.transportId }).catch(() => undefined);
      throw e;
    }
    // importSecretWrapped destroys the transport pair whatever happens.
    const object = await this.hsm.call('importSecretWrapped', { ...this.tok(t), transportId: transport.transportId, wrapped, template });
    return { object, transport: 'rsa-oaep-sha1' };
  }

  /** The token's own check value of the new key must equal the one computed from the components. */
  private async verifyInToken(t: TokenRef, object: RawObject, alg: KeyAlgorithm, expected: KeyCheckValues): Promise<{ cmac: string | null; legacy: string | null }> {
    const ref = { idHex: object.idHex, label: object.label, kind: 'secret' as const };
    const destroy = () => this.hsm.call('destroy', { ...this.tok(t), ref }).catch(() => undefined);
    let cv;
    try {
      cv = await this.hsm.call('checkValue', { ...this.tok(t), ref });
    } catch (e) {
      await destroy();
      throw e;
    }
    const hsm = { cmac: cv.cmacHex, legacy: cv.ecbHex };
    // AES: the CMAC method is the standard one (X9.24-1:2017); TDES: the legacy ECB method. Either
    // method the token computed must agree, and at least the standard one must be there.
    const primary = alg === 'AES' ? hsm.cmac : hsm.legacy;
    const agrees = (got: string | null, want: string) => got === null || got === want.slice(0, got.length);
    if (primary === null) {
      await destroy();
      fail('MECHANISM_UNSUPPORTED', `The token cannot compute the ${alg === 'AES' ? 'AES-CMAC' : 'TDES-ECB'} check value of the new key, so the import cannot be confirmed; the key was destroyed.`, 'Use a token that supports AES-CMAC (or DES3-ECB for TDES).', cv.note ? { note: cv.note } : undefined);
    }
    if (!agrees(hsm.cmac, expected.cmac) || !agrees(hsm.legacy, expected.legacy)) {
      await destroy();
      fail(
        'CHECK_VALUE_MISMATCH',
        `The key in the token has check value ${(primary ?? '').toUpperCase()}, not ${(alg === 'AES' ? expected.cmac : expected.legacy).toUpperCase()} as computed from the components; the new key was destroyed.`,
        'The key was damaged on its way into the token. Try again; if it repeats, stop and record the exception.',
        { expectedCmac: expected.cmac, expectedLegacy: expected.legacy, hsmCmac: hsm.cmac ?? 'none', hsmLegacy: hsm.legacy ?? 'none' },
      );
    }
    return hsm;
  }
}
