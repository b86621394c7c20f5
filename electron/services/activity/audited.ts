// The token and key services as the front ends see them: every security-relevant call goes through
// Activity.run, so it is refused when the person may not act here and recorded (done, failed or
// refused) in the workstation record's audit log. The services underneath stay free of auditing;
// ceremonies call them directly and record their steps in their own journal.
//
// Recorded: logins (user and SO, success and failure), PIN changes, module add/remove,
// the demo token, key generate / relabel / destroy / copy / import / unwrap, CSRs and wraps. Not
// recorded one by one: signatures, verifications, encryption, decryption, MACs and random bytes —
// the login that opens them is, and recording each would put an archive commit in every one.
import type { GeneratedKey, KeyDetail, KeyEntry, KeyTypeName, TokenRef, WrapMechanismName } from '../../../shared/keys';
import type { SlotEntry } from '../../../shared/contract';
import type { HsmClient } from '../../hsm/client';
import type { KeyUsage } from '../../hsm/protocol';
import type { ConfigStore } from '../config';
import type { DemoEnvironment } from '../demo';
import type { CsrExtensions, CsrSignatureAlgorithm } from '../formats/csr';
import { KeyService, type ExpiredKey } from '../key-service';
import { TokenService } from '../tokens';
import type { PinLimits } from '../../../shared/pin-length';
import type { WrapVerdict } from '../key-strength';
import type { DetailValue } from '../audit/chain';
import type { Activity } from './activity';

const keyDetails = (k: { label: string; idHex?: string | null; keyType?: string | null; kind?: string | null }) => ({
  label: k.label,
  ...(k.idHex ? { id: k.idHex } : {}),
  ...(k.keyType ? { type: k.keyType } : {}),
  ...(k.kind ? { kind: k.kind } : {}),
});

export class AuditedKeyService extends KeyService {
  constructor(
    hsm: HsmClient,
    private readonly activity: Activity,
  ) {
    super(hsm);
  }

  override generate(t: TokenRef, opts: { type: KeyTypeName; label: string; usages: KeyUsage[]; extractable: boolean }): Promise<GeneratedKey> {
    return this.activity.run(
      { action: 'key.generate', token: t, details: { label: opts.label, type: opts.type, usages: opts.usages, extractable: opts.extractable } },
      () => super.generate(t, opts),
      (k) => ({ keyId: k.idHex ?? null, details: { id: k.idHex ?? null, ...(k.checkValue?.cmac ? { check_value: k.checkValue.cmac } : {}), ...(k.fingerprint ? { fingerprint: k.fingerprint } : {}) } }),
    );
  }

  override csr(t: TokenRef, selector: string, subject: string, algorithm?: CsrSignatureAlgorithm, extensions?: CsrExtensions): Promise<string> {
    return this.activity.run({ action: 'key.csr', token: t, details: { key: selector, subject, ...(algorithm ? { algorithm } : {}) } }, () => super.csr(t, selector, subject, algorithm, extensions));
  }

  override relabel(t: TokenRef, selector: string, newLabel: string): Promise<KeyEntry> {
    return this.activity.run({ action: 'key.relabel', token: t, details: { key: selector, new_label: newLabel } }, () => super.relabel(t, selector, newLabel), (k) => ({ keyId: k.idHex ?? null }));
  }

  override destroy(t: TokenRef, selector: string, confirmLabel: string): Promise<{ destroyed: number; key: KeyEntry }> {
    return this.activity.run(
      { action: 'key.destroy', token: t, details: { key: selector } },
      () => super.destroy(t, selector, confirmLabel),
      (r) => ({ keyId: r.key.idHex ?? null, details: { ...keyDetails(r.key), objects: r.destroyed } }),
    );
  }

  override destroyExpired(t: TokenRef): Promise<Array<ExpiredKey & { destroyed: number }>> {
    return this.activity.run(
      { action: 'key.destroy-expired', token: t, details: {} },
      () => super.destroyExpired(t),
      (r) => ({ details: { keys: r.map((x) => ({ ...keyDetails(x.key), why: x.why, ...(x.limits.validUntil ? { valid_until: x.limits.validUntil } : {}), ...(x.limits.maxUses !== null ? { uses: `${x.limits.used}/${x.limits.maxUses}` } : {}), objects: x.destroyed })) } }),
    );
  }

  override wrap(t: TokenRef, wrappingSelector: string, targetSelector: string, mechanism: WrapMechanismName, opts: { allowWeaker?: boolean } = {}): Promise<{ wrapped: Buffer; strength: WrapVerdict }> {
    return this.activity.run(
      { action: 'key.wrap', token: t, details: { wrapping_key: wrappingSelector, key: targetSelector, mechanism, ...(opts.allowWeaker ? { allow_weaker: true } : {}) } },
      () => super.wrap(t, wrappingSelector, targetSelector, mechanism, opts),
      (r) => ({ details: { strength: JSON.parse(JSON.stringify(r.strength)) as DetailValue } }),
    );
  }

  override unwrap(
    t: TokenRef,
    unwrappingSelector: string,
    wrapped: Uint8Array,
    mechanism: WrapMechanismName,
    opts: { type: KeyTypeName; label: string; usages: KeyUsage[]; extractable: boolean },
  ): Promise<KeyDetail> {
    return this.activity.run(
      { action: 'key.unwrap', token: t, details: { unwrapping_key: unwrappingSelector, mechanism, label: opts.label, type: opts.type, usages: opts.usages, extractable: opts.extractable } },
      () => super.unwrap(t, unwrappingSelector, wrapped, mechanism, opts),
      (k) => ({ keyId: k.idHex ?? null, details: { id: k.idHex ?? null, ...(k.checkValue?.cmac ? { check_value: k.checkValue.cmac } : {}) } }),
    );
  }

  override importPublic(t: TokenRef, text: string, label: string, usages: KeyUsage[]): Promise<KeyDetail> {
    return this.activity.run(
      { action: 'key.import-public', token: t, details: { label, usages } },
      () => super.importPublic(t, text, label, usages),
      (k) => ({ keyId: k.idHex ?? null, details: { id: k.idHex ?? null, ...(k.fingerprint ? { fingerprint: k.fingerprint } : {}) } }),
    );
  }

  override copy(from: TokenRef, to: TokenRef, selector: string, newLabel?: string): Promise<KeyDetail> {
    return this.activity.run(
      { action: 'key.copy', token: from, details: { key: selector, to: to.token, ...(newLabel ? { new_label: newLabel } : {}) } },
      () => super.copy(from, to, selector, newLabel),
      (k) => ({ keyId: k.idHex ?? null, details: { ...(k.checkValue?.cmac ? { check_value: k.checkValue.cmac } : {}) } }),
    );
  }
}

export class AuditedTokenService extends TokenService {
  constructor(
    hsm: HsmClient,
    config: ConfigStore,
    demo: DemoEnvironment,
    private readonly activity: Activity,
  ) {
    super(hsm, config, demo);
  }

  /**
   * Logs in, as `person` where the window names one (the CLI names its person once, with --as).
   * The person then acts for everything done with this token until logout.
   */
  override async login(module: string, token: string, pin: string, role: 'user' | 'so', requireConfigured = true, limits?: PinLimits, person?: string | null): Promise<SlotEntry> {
    const t = { module, token };
    if (person !== undefined) this.activity.signIn(t, person);
    try {
      return await this.activity.run({ action: 'token.login', token: t, details: { role } }, () => super.login(module, token, pin, role, requireConfigured, limits));
    } catch (e) {
      if (person !== undefined) this.activity.signOut(t);
      throw e;
    }
  }

  override async logout(module: string, token: string, requireConfigured = true): Promise<SlotEntry> {
    // Ending a session is not audited (every CLI command ends with one); it ends the person's turn.
    const slot = await super.logout(module, token, requireConfigured);
    this.activity.signOut({ module, token });
    return slot;
  }

  override changePin(module: string, token: string, oldPin: string, newPin: string, role: 'user' | 'so', requireConfigured = true, limits?: PinLimits): Promise<void> {
    // super.changePin logs in through this.login, which records the login; this records the change.
    return this.activity.run({ action: 'token.change-pin', token: { module, token }, details: { role } }, () => super.changePin(module, token, oldPin, newPin, role, requireConfigured, limits));
  }

  override addModule(path: string) {
    return this.activity.run({ action: 'module.add', details: { path } }, () => super.addModule(path));
  }

  override removeModule(path: string) {
    return this.activity.run({ action: 'module.remove', details: { path } }, () => super.removeModule(path));
  }

  override createDemo(soPin: string, userPin: string): Promise<SlotEntry> {
    return this.activity.run({ action: 'token.create-demo' }, () => super.createDemo(soPin, userPin), (s) => ({ details: { token: s.token?.uri ?? null } }));
  }
}
