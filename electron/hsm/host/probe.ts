// What a token can do, inside the HSM host process: its mechanism list, and which key-wrap
// mechanisms really are RFC 3394 / RFC 5649 (probeWrap). Results are cached per token in the
// library's probe table (LoadedModule.probes).
import * as pkcs11js from 'pkcs11js';
import type { MechanismEntry, WrapProbe } from '../protocol';
import { CKA, CKK, CKM, MECHANISM_NAMES } from '../protocol/constants';
import { p11, p11Failure } from './failure';
import type { TokenContext } from './session';
import { createSecret, destroyQuietly, secretFlags, secretKeyTemplate, type Handle, type Protection } from './templates';
import { KWP_ALIGNED_VECTORS, RFC3394_VECTORS, RFC5649_VECTORS, type WrapVector } from './wrap-vectors';

// Names for every mechanism pkcs11js knows (v2.40), plus the v3.0 ones it lacks (constants.ts).
const PKCS11JS_NAMES = new Map<number, string>(
  Object.entries(pkcs11js as unknown as Record<string, unknown>)
    .filter((e): e is [string, number] => e[0].startsWith('CKM_') && typeof e[1] === 'number')
    .map(([name, value]) => [value, name]),
);

function mechanismName(type: number): string {
  return MECHANISM_NAMES[type] ?? PKCS11JS_NAMES.get(type) ?? `CKM_0x${type.toString(16)}`;
}

export function mechanisms(ctx: TokenContext): MechanismEntry[] {
  const list = p11('C_GetMechanismList', () => ctx.m.p11.C_GetMechanismList(ctx.slot));
  return list.map((type) => {
    let info = { minKeySize: 0, maxKeySize: 0, flags: 0 };
    try {
      info = ctx.m.p11.C_GetMechanismInfo(ctx.slot, type);
    } catch {
      /* listed but not described: keep zeros */
    }
    return { type, name: mechanismName(type), ...info };
  });
}

/** The mechanisms the token lists, read once per token: signing and sealing ask on every call. */
export function listedMechanisms(ctx: TokenContext): Set<number> {
  const key = `mechs:${ctx.key}`;
  let set = ctx.m.probes.get(key) as Set<number> | undefined;
  if (!set) {
    set = new Set(p11('C_GetMechanismList', () => ctx.m.p11.C_GetMechanismList(ctx.slot)));
    ctx.m.probes.set(key, set);
  }
  return set;
}

/** Probe vectors are public values: as public, readable session objects they need no login. */
const PUBLIC_VALUE: Protection = { privateObject: false, sensitive: false, extractable: true };

/** The unwrapped vector key, read back to compare (its usages do not matter: it is never used). */
const UNWRAPPED_VECTOR = secretKeyTemplate(CKK.GENERIC_SECRET, { onToken: false }, PUBLIC_VALUE, [
  { type: CKA.SIGN, value: false },
  { type: CKA.VERIFY, value: false },
  { type: CKA.DERIVE, value: false },
]);

/**
 * Mechanism names are not trusted: NSS's CKM_AES_KEY_WRAP_PAD is PKCS#7-padded KW, not RFC 5649
 * (RFC 5649 is CKM_AES_KEY_WRAP_KWP there). Each candidate must reproduce the RFC vectors, in both
 * directions, with throw-away session keys, before Custos uses it.
 */
export function probeWrap(ctx: TokenContext): WrapProbe {
  const cached = ctx.m.probes.get(`wrap:${ctx.key}`) as WrapProbe | undefined;
  if (cached) return cached;
  const notes: string[] = [];
  /** Unwraps the vector's ciphertext and re-wraps the result: each direction's verdict. */
  const check = (mech: number, v: WrapVector): { unwrap: boolean; wrap: boolean } => {
    let kek: Handle | null = null;
    let unwrapped: Handle | null = null;
    const verdict = { unwrap: false, wrap: false };
    try {
      kek = createSecret(ctx, Buffer.from(v.kek, 'hex'), CKK.AES, PUBLIC_VALUE, secretFlags({ wrap: true, unwrap: true }));
      unwrapped = ctx.m.p11.C_UnwrapKey(ctx.session, { mechanism: mech }, kek, Buffer.from(v.ciphertext, 'hex'), UNWRAPPED_VECTOR);
      const [value] = ctx.m.p11.C_GetAttributeValue(ctx.session, unwrapped, [{ type: CKA.VALUE }]);
      verdict.unwrap = value?.value.toString('hex') === v.plaintext;
      const rewrapped = ctx.m.p11.C_WrapKey(ctx.session, { mechanism: mech }, kek, unwrapped, Buffer.alloc(v.ciphertext.length / 2 + 16));
      verdict.wrap = rewrapped.toString('hex') === v.ciphertext;
    } catch (e) {
      notes.push(`${MECHANISM_NAMES[mech] ?? mech}: ${p11Failure(e, 'probe').details?.ckr ?? 'failed'} on a ${v.plaintext.length / 2}-byte vector`);
    } finally {
      destroyQuietly(ctx, unwrapped);
      destroyQuietly(ctx, kek);
    }
    return verdict;
  };
  const listed = new Set(p11('C_GetMechanismList', () => ctx.m.p11.C_GetMechanismList(ctx.slot)));
  let aesKw: number | null = null;
  if (listed.has(CKM.AES_KEY_WRAP)) {
    const results = RFC3394_VECTORS.map((v) => check(CKM.AES_KEY_WRAP, v));
    if (results.every((r) => r.unwrap && r.wrap)) aesKw = CKM.AES_KEY_WRAP;
    else notes.push('CKM_AES_KEY_WRAP is listed but does not reproduce the RFC 3394 vectors; not used');
  }
  let aesKwp: WrapProbe['aesKwp'] = null;
  for (const mech of [CKM.AES_KEY_WRAP_KWP, CKM.AES_KEY_WRAP_PAD]) {
    if (!listed.has(mech)) continue;
    const unaligned = RFC5649_VECTORS.map((v) => check(mech, v));
    const aligned = KWP_ALIGNED_VECTORS.map((v) => check(mech, v));
    const all = [...unaligned, ...aligned];
    if (!all.every((r) => r.unwrap)) {
      notes.push(`${MECHANISM_NAMES[mech]} is listed but does not read RFC 5649 data; not used for AES-KWP`);
      continue;
    }
    const wrap = all.every((r) => r.wrap) ? 'any' : aligned.every((r) => r.wrap) ? 'aligned' : 'none';
    if (wrap !== 'any') {
      notes.push(
        `${MECHANISM_NAMES[mech]} reads RFC 5649 data but its wrap output is RFC 5649 ${wrap === 'aligned' ? 'only for key data that is a multiple of 8 bytes' : 'in no tested case'}`,
      );
    }
    aesKwp = { mechanism: mech, wrap };
    break;
  }
  const result = { aesKw, aesKwp, notes };
  ctx.m.probes.set(`wrap:${ctx.key}`, result);
  return result;
}
