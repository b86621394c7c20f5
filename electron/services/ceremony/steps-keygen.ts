// Key generation: strict checks before any change, generation inside the HSM under the quorum's
// approval (with the CKA_ID fixed at planning, so an interrupted generation is adopted on resume,
// never repeated), the check value read aloud, a round trip with the new key, archiving when it is
// extractable under wrap, and a CSR where one was asked for.
import { createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import type { KeyGenerationParams } from '../../../shared/ceremony/params';
import { SYSTEM, type RunState } from '../../../shared/ceremony/run';
import { KEY_TYPES, type SignMechanismName } from '../../../shared/keys';
import { fail } from '../../../shared/result';
import type { ObjectRef, RawObject } from '../../hsm/protocol';
import { CKM } from '../../hsm/protocol/constants';
import { hsmKeyCheck } from '../hsm-kcv';
import { requireRunnable } from './engine';
import { complete, journaled, skip } from './steps-common';
import { stepActor, type StepContext } from './step-context';

type GenParams = Omit<KeyGenerationParams, 'custodians'> & { keyIdHex: string; custodians: Array<{ person: string; name: string }> };

const params = (s: RunState) => s.plan.params as unknown as GenParams;
const tok = (ctx: StepContext) => ({ path: ctx.session.module, token: ctx.session.token });
const family = (p: GenParams) => KEY_TYPES.find((k) => k.type === p.keyType)!.family;
const mainRef = (p: GenParams): ObjectRef => ({ idHex: p.keyIdHex, kind: family(p) === 'symmetric' ? 'secret' : 'private' });

export const GEN_MECHANISM: Record<string, number> = {
  'aes-128': CKM.AES_KEY_GEN,
  'aes-192': CKM.AES_KEY_GEN,
  'aes-256': CKM.AES_KEY_GEN,
  'hmac-256': CKM.GENERIC_SECRET_KEY_GEN,
  tdes: CKM.DES3_KEY_GEN,
  'rsa-2048': CKM.RSA_PKCS_KEY_PAIR_GEN,
  'rsa-3072': CKM.RSA_PKCS_KEY_PAIR_GEN,
  'rsa-4096': CKM.RSA_PKCS_KEY_PAIR_GEN,
  'ec-p256': CKM.EC_KEY_PAIR_GEN,
  'ec-p384': CKM.EC_KEY_PAIR_GEN,
  ed25519: CKM.EC_EDWARDS_KEY_PAIR_GEN,
};

/** Checks that change nothing: the token is the one planned, the label is free, the mechanism is there. */
export async function runCheckKeygen(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const actor = stepActor(ctx, 'administrator');
  const s = ctx.run.state;
  const p = params(s);
  const checks: string[] = [];
  const slots = await ctx.services.hsm.call('slots', { path: ctx.session.module });
  const planned = s.plan.workstation.token;
  const here = slots.find((x) => x.token && x.token.serial === planned.serial && x.token.label === planned.label);
  if (!here) fail('TOKEN_NOT_FOUND', `The token planned (“${planned.label}”, serial ${planned.serial}) is not present.`, 'Insert the planned token, or abort and plan the ceremony again for this one.');
  checks.push(`token “${planned.label}” serial ${planned.serial} present`);
  const taken = await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { label: p.label } });
  if (taken.length) fail('INVALID_INPUT', `A key labelled “${p.label}” already exists on this token.`, 'Abort, and plan the ceremony again with another label: labels name keys in ceremonies and must be unique.');
  const sameId = await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { idHex: p.keyIdHex } });
  if (sameId.length) fail('INVALID_INPUT', 'An object with the id planned for the new key already exists on this token.', 'Abort and plan the ceremony again (a new id is chosen).');
  checks.push(`label “${p.label}” is free`);
  const mechs = await ctx.services.hsm.call('mechanisms', tok(ctx));
  const need = GEN_MECHANISM[p.keyType]!;
  if (!mechs.some((m) => m.type === need)) fail('MECHANISM_UNSUPPORTED', `This token cannot generate ${p.keyType} keys.`, 'Abort, and plan the ceremony for a key type the token supports (Keys → capabilities lists them).');
  checks.push(`mechanism 0x${need.toString(16)} for ${p.keyType} supported`);
  if (p.extractable) {
    const existing = await ctx.services.withArchive(async (a) => a.search({ label: p.label }).items.length);
    if (existing) fail('INVALID_INPUT', `The archive already holds a key labelled “${p.label}”.`, 'To make a new version of that key, use a rotation; otherwise plan again with another label.');
    checks.push('the archive has no key with this label');
  }
  await complete(ctx, actor, { checks });
}

async function describeNew(ctx: StepContext, p: GenParams, made: RawObject[]): Promise<Record<string, unknown>> {
  const main = made.find((o) => o.kind === (family(p) === 'symmetric' ? 'secret' : 'private'));
  if (!main) fail('INTERNAL', 'The HSM did not report the new key.', 'Check the token’s key list, then resume the ceremony.');
  const check = await hsmKeyCheck({ hsm: ctx.services.hsm, ...tok(ctx) }, { ref: mainRef(p), kind: main.kind as 'secret' | 'private', keyType: main.keyType, canSign: main.usage.sign }, { hmac: true });
  return {
    label: main.label,
    idHex: main.idHex,
    keyType: p.keyType,
    extractable: main.extractable === true,
    sensitive: main.sensitive === true,
    ...(check.checkValues ? { checkValue: check.checkValues.cmac, legacyCheckValue: check.checkValues.legacy } : {}),
    ...(check.hmac ? { checkValue: check.hmac, checkMethod: 'hmac-sha256-zeros' } : {}),
    ...(check.publicKey ? { fingerprint: check.publicKey.fingerprint.hex, spki: check.publicKey.spki.toString('hex') } : {}),
  };
}

export async function runGenerate(ctx: StepContext): Promise<void> {
  const p = params(ctx.run.state);
  const actor = stepActor(ctx, 'operator');
  await journaled(ctx, actor, { label: p.label, idHex: p.keyIdHex, keyType: p.keyType }, async () => {
    const made = await ctx.services.hsm.call('generate', {
      ...tok(ctx),
      spec: { type: p.keyType, label: p.label, idHex: p.keyIdHex, usages: p.usages, extractable: p.extractable },
    });
    return { outcome: await describeNew(ctx, p, made) };
  });
}

/** Resume: a generation that was cut off is adopted if the key is there (found by its planned CKA_ID). */
export async function adoptGenerated(ctx: StepContext): Promise<boolean> {
  const p = params(ctx.run.state);
  const found = await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { idHex: p.keyIdHex } });
  if (found.length === 0) return false;
  const outcome = await describeNew(ctx, p, found);
  await complete(ctx, SYSTEM, { ...outcome, adopted: true });
  return true;
}

export async function runShowCheckValue(ctx: StepContext): Promise<void> {
  const gen = generated(ctx.run.state);
  await complete(ctx, stepActor(ctx, 'administrator'), { readAloud: (gen.checkValue as string | undefined) ?? (gen.fingerprint as string | undefined) ?? null });
}

function generated(s: RunState): Record<string, unknown> {
  const step = s.steps.find((x) => x.kind === 'generate');
  const out = step ? s.step[step.id]!.outcome : null;
  if (!out) fail('CEREMONY_STEP_BLOCKED', 'The key has not been generated yet.', 'Run the generation step first.');
  return out;
}

const SIGN_FOR: Record<string, SignMechanismName> = {
  'hmac-256': 'hmac-sha256',
  'rsa-2048': 'rsa-pkcs1-sha256',
  'rsa-3072': 'rsa-pkcs1-sha256',
  'rsa-4096': 'rsa-pkcs1-sha256',
  'ec-p256': 'ecdsa-sha256',
  'ec-p384': 'ecdsa-sha384',
  ed25519: 'ed25519',
  'aes-128': 'aes-cmac',
  'aes-192': 'aes-cmac',
  'aes-256': 'aes-cmac',
};

/** A round trip with the new key, by what it may do: encrypt/decrypt, sign/verify (and verify in Node too), or wrap/unwrap. */
export async function runTestOperation(ctx: StepContext): Promise<void> {
  const p = params(ctx.run.state);
  const gen = generated(ctx.run.state);
  const actor = stepActor(ctx, 'operator');
  const t = tok(ctx);
  const hsm = ctx.services.hsm;
  const data = randomBytes(32);
  const isAes = p.keyType.startsWith('aes');
  if (isAes && p.usages.includes('encrypt')) {
    const [ct] = await hsm.call('encrypt', { ...t, ref: mainRef(p), mechanism: 'aes-gcm', data: [data] });
    const { plaintext } = await hsm.call('decrypt', { ...t, ref: mainRef(p), mechanism: 'aes-gcm', ciphertext: ct!.ciphertext, iv: ct!.iv ?? undefined });
    if (!Buffer.from(plaintext).equals(data)) fail('CHECK_VALUE_MISMATCH', 'The new key did not decrypt what it encrypted.', 'Raise an exception: the key must not be used.');
    await complete(ctx, actor, { test: 'AES-GCM encrypt and decrypt of 32 random bytes', passed: true });
    return;
  }
  if (p.usages.includes('sign') && SIGN_FOR[p.keyType]) {
    const mech = SIGN_FOR[p.keyType]!;
    const [sig] = await hsm.call('sign', { ...t, ref: mainRef(p), mechanism: mech, data: [data] });
    const verifyRef: ObjectRef = family(p) === 'symmetric' ? mainRef(p) : { idHex: p.keyIdHex, kind: 'public' };
    const { valid } = await hsm.call('verify', { ...t, ref: verifyRef, mechanism: mech, data, signature: sig! });
    let independent: boolean | null = null;
    if (typeof gen.spki === 'string') {
      const key = createPublicKey({ key: Buffer.from(gen.spki, 'hex'), format: 'der', type: 'spki' });
      const alg = mech === 'ed25519' ? null : mech.endsWith('384') ? 'sha384' : 'sha256';
      independent = nodeVerify(alg, data, mech.startsWith('ecdsa') ? { key, dsaEncoding: 'ieee-p1363' } : key, Buffer.from(sig!));
    }
    if (!valid || independent === false) fail('SIGNATURE_INVALID', 'A signature made with the new key did not verify.', 'Raise an exception: the key must not be used.');
    await complete(ctx, actor, { test: `${mech} sign and verify${independent ? ' (verified in the HSM and independently)' : ''}`, passed: true });
    return;
  }
  if (p.usages.includes('wrap') && family(p) === 'symmetric') {
    // Wrap a throw-away session key with the new key and unwrap it again; the check values must match.
    const probeId = randomBytes(8).toString('hex');
    await hsm.call('generate', { ...t, spec: { type: 'aes-256', label: `ceremony-test-${probeId}`, idHex: probeId, usages: ['encrypt'], extractable: true } });
    try {
      const [wrapped] = await hsm.call('wrap', { ...t, wrapping: mainRef(p), targets: [{ idHex: probeId, kind: 'secret' }], mechanism: p.keyType === 'tdes' ? 'aes-kw' : 'aes-kwp' });
      const back = await hsm.call('unwrap', { ...t, unwrapping: mainRef(p), wrapped: wrapped!, mechanism: 'aes-kwp', template: { kind: 'secret', keyType: 'aes', label: `ceremony-test-back-${probeId}`, idHex: `${probeId}ff`, usages: ['encrypt'], extractable: false, onToken: false } });
      const a = await hsm.call('checkValue', { ...t, ref: { idHex: probeId, kind: 'secret' } });
      const b = await hsm.call('checkValue', { ...t, ref: { idHex: back.idHex, kind: 'secret' } });
      if (a.cmacHex !== b.cmacHex) fail('CHECK_VALUE_MISMATCH', 'A key wrapped and unwrapped with the new key came back different.', 'Raise an exception: the key must not be used.');
      await complete(ctx, actor, { test: 'AES-KWP wrap and unwrap of a throw-away key; check values match', passed: true });
    } finally {
      await hsm.call('destroy', { ...t, ref: { idHex: probeId } }).catch(() => undefined);
    }
    return;
  }
  if (p.usages.includes('encrypt') && p.keyType.startsWith('rsa')) {
    const [ct] = await hsm.call('encrypt', { ...t, ref: { idHex: p.keyIdHex, kind: 'public' }, mechanism: 'rsa-oaep-sha1', data: [data] });
    const { plaintext } = await hsm.call('decrypt', { ...t, ref: mainRef(p), mechanism: 'rsa-oaep-sha1', ciphertext: ct!.ciphertext });
    if (!Buffer.from(plaintext).equals(data)) fail('CHECK_VALUE_MISMATCH', 'The new key did not decrypt what it encrypted.', 'Raise an exception: the key must not be used.');
    await complete(ctx, actor, { test: 'RSA-OAEP encrypt and decrypt of 32 random bytes', passed: true });
    return;
  }
  await skip(ctx, `No round trip is possible for a ${p.keyType} key with usages ${p.usages.join(', ')}.`);
}

export async function runArchive(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const p = params(s);
  if (!p.extractable) {
    await skip(ctx, 'The key is not extractable: it never leaves the HSM, so there is nothing to archive.');
    return;
  }
  const actor = stepActor(ctx, 'operator');
  await journaled(ctx, actor, { label: p.label, idHex: p.keyIdHex }, async () => {
    const [added] = await ctx.services.withArchive((a) =>
      a.add(
        [
          {
            hsm: mainRef(p),
            key: { label: p.label, purpose: p.purpose, tags: p.tags, custodians: p.custodians.map((c) => c.person), ...(p.description ? { description: p.description } : {}) },
            activate: true,
            ceremonyId: s.plan.run,
          },
        ],
        `${actor.name} (Operator)`,
      ),
    );
    return { outcome: { versionId: added!.versionId, version: added!.version } };
  });
}

/** Resume: an archiving that was cut off is adopted if the version is in the archive with this run's id. */
export async function adoptArchived(ctx: StepContext): Promise<boolean> {
  const p = params(ctx.run.state);
  const hit = await ctx.services.withArchive(async (a) => a.search({ label: p.label }).items[0] ?? null);
  if (!hit) return false;
  await complete(ctx, SYSTEM, { versionId: hit.versionId, version: hit.version, adopted: true });
  return true;
}

export async function runCsr(ctx: StepContext): Promise<void> {
  const p = params(ctx.run.state);
  if (!p.csrSubject) {
    await skip(ctx, 'No certificate signing request was asked for.');
    return;
  }
  const actor = stepActor(ctx, 'operator');
  const pem = await ctx.services.csr(ctx.session, `pkcs11:id=${p.keyIdHex.replace(/../g, '%$&')};type=private`, p.csrSubject);
  await complete(ctx, actor, { subject: p.csrSubject, csrPem: pem });
}
