// Re-wrap of archived versions from one Archive KEK to another, inside the HSM (issue #10 part 4,
// docs/ARCHITECTURE.md "Archive KEK rotation"). For each blob:
//
//   1. C_UnwrapKey under the old KEK into a session object (sensitive, private: its value never
//      leaves the token; RFC 5649's integrity check refuses a blob not wrapped under the old KEK)
//   2. C_WrapKey of that object under the new KEK                      → the new blob
//   3. verification: C_UnwrapKey of the new blob under the new KEK into a second session object,
//      C_WrapKey of it under the old KEK, and a byte comparison with the original blob. AES-KWP
//      (RFC 5649 §3, default IV) is deterministic, so equal bytes prove that the new blob holds
//      exactly the archived key material — for secret and private keys alike, which a check value
//      alone could not (private keys have none). Cost: one more unwrap and wrap per version.
//   4. both session objects are destroyed (and go with the session if the host dies)
//
// The plaintext key exists only inside the token. Nothing is written here: the caller commits
// the new blobs (all of a batch in one transaction) only after the whole batch verified.
import type { ObjectRef, UnwrapTemplate } from '../protocol';
import { nativeBatch, packItems, splitOutput } from './batch';
import { fail, p11Failure } from './failure';
import { findOne } from './objects';
import type { TokenContext } from './session';
import { buf, destroyQuietly, keyTemplate, type Handle } from './templates';
import { kwpMechanism, unwrapFailure } from './wrap';
import { WorkingCopies } from './working-copies';

export interface RewrapItem {
  wrapped: Uint8Array;
  kind: UnwrapTemplate['kind'];
  keyType: UnwrapTemplate['keyType'];
}

/** A session object that may be wrapped (extractable) but never read (sensitive). */
const sessionTemplate = (it: RewrapItem): UnwrapTemplate => ({ kind: it.kind, keyType: it.keyType, label: 'custos rewrap', idHex: '', usages: [], extractable: true, onToken: false });

/** A pkcs11js template as the addon takes it: CK_ULONG types, values packed with end offsets. */
function packTemplate(t: ReturnType<typeof keyTemplate>): { types: Buffer; values: Buffer; ends: Uint32Array } {
  const types = Buffer.alloc(t.length * 8);
  const values: Buffer[] = [];
  t.forEach((a, i) => {
    types.writeBigUInt64LE(BigInt(a.type), i * 8);
    const v = a.value;
    if (typeof v === 'boolean') values.push(Buffer.from([v ? 1 : 0]));
    else if (typeof v === 'number') {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(v));
      values.push(b);
    } else if (typeof v === 'string') values.push(Buffer.from(v, 'utf8'));
    else if (v === undefined || v === null) values.push(Buffer.alloc(0));
    else values.push(Buffer.from(v as Uint8Array));
  });
  const { bytes, ends } = packItems(values);
  return { types, values: bytes, ends };
}

/**
 * The same loop in one native call per group of items that share a template and a wrap mechanism
 * (native/p11batch rewrap): no JavaScript-to-native transition per PKCS#11 call. Results and
 * errors are those of the loop below, item for item.
 */
function rewrapNative(ctx: TokenContext, useOld: Handle, useNew: Handle, unwrapMech: number, items: RewrapItem[]): Uint8Array[] | null {
  if (process.arch !== 'x64' && process.arch !== 'arm64') return null; // CK_ULONG packed as 8 bytes
  const native = nativeBatch(ctx.m, items.length);
  // An addon built before `rewrap` existed (a stale build): the item-by-item loop.
  if (!native || typeof native.addon.rewrap !== 'function') return null;
  const out: Uint8Array[] = new Array(items.length);
  const groups = new Map<string, number[]>();
  const wrapMechs = new Map<string, number>();
  items.forEach((it, i) => {
    const bytes = it.kind === 'secret' ? it.wrapped.length - 8 : null;
    const k = `${it.kind}/${it.keyType}/${String(bytes)}`;
    if (!wrapMechs.has(k)) wrapMechs.set(k, kwpMechanism(ctx, 'wrap', bytes));
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  });
  for (const [k, idx] of groups) {
    const first = items[idx[0]!]!;
    const t = packTemplate(keyTemplate(sessionTemplate(first)));
    const input = packItems(idx.map((i) => items[i]!.wrapped));
    // RFC 5649 output of the same key under another KEK has the input's length.
    const output = Buffer.alloc(input.bytes.length);
    let ends: Uint32Array;
    try {
      ends = native.addon.rewrap(native.list, ctx.session, unwrapMech, wrapMechs.get(k)!, useOld, useNew, t.types, t.values, t.ends, input.bytes, input.ends, output);
    } catch (e) {
      const err = e as { method?: string; index?: number };
      const index = idx[err.index ?? 0] ?? 0;
      if (err.method === 'custos:verify') return mismatch(index);
      const f = unwrapFailure(p11Failure(e, err.method ?? 'C_UnwrapKey'));
      return fail({ ...f, details: { ...f.details, index } });
    }
    splitOutput(output, ends).forEach((b, j) => (out[idx[j]!] = b));
  }
  return out;
}

function mismatch(index: number): never {
  return fail({
    code: 'CHECK_VALUE_MISMATCH',
    message: `Item ${index} of the batch did not verify: the key under the new KEK is not the key that was archived.`,
    action: 'Nothing was changed. Stop the rotation and run `custos archive verify`; report the token model and firmware.',
    details: { index },
  });
}

export function rewrap(ctx: TokenContext, from: ObjectRef, to: ObjectRef, items: RewrapItem[]): Uint8Array[] {
  const oldKek = findOne(ctx, { ...from, kind: 'secret' });
  const newKek = findOne(ctx, { ...to, kind: 'secret' });
  const unwrapMech = { mechanism: kwpMechanism(ctx, 'unwrap') };
  const copies = new WorkingCopies(ctx);
  const scratch = Buffer.alloc(8192);
  const out: Uint8Array[] = [];
  // One template and one wrap mechanism per kind of key in the batch, not per item.
  const templates = new Map<string, ReturnType<typeof keyTemplate>>();
  const wrapMechs = new Map<string, { mechanism: number }>();
  try {
    const useOld = copies.of(oldKek, items.length * 2);
    const useNew = copies.of(newKek, items.length * 2);
    const native = rewrapNative(ctx, useOld, useNew, unwrapMech.mechanism, items);
    if (native) return native;
    items.forEach((it, index) => {
      // A secret key's wrapped form is its value plus one block; a private key's (PKCS#8) any length.
      const bytes = it.kind === 'secret' ? it.wrapped.length - 8 : null;
      const mk = String(bytes);
      let wrapMech = wrapMechs.get(mk);
      if (!wrapMech) wrapMechs.set(mk, (wrapMech = { mechanism: kwpMechanism(ctx, 'wrap', bytes) }));
      const tk = `${it.kind}/${it.keyType}`;
      let tmpl = templates.get(tk);
      if (!tmpl) templates.set(tk, (tmpl = keyTemplate(sessionTemplate(it))));
      let first: Handle | null = null;
      let second: Handle | null = null;
      let step = 'C_UnwrapKey';
      try {
        first = ctx.m.p11.C_UnwrapKey(ctx.session, unwrapMech, useOld, buf(it.wrapped), tmpl);
        step = 'C_WrapKey';
        const next = Buffer.from(ctx.m.p11.C_WrapKey(ctx.session, wrapMech, useNew, first, scratch));
        step = 'C_UnwrapKey';
        second = ctx.m.p11.C_UnwrapKey(ctx.session, unwrapMech, useNew, next, tmpl);
        step = 'C_WrapKey';
        const back = ctx.m.p11.C_WrapKey(ctx.session, wrapMech, useOld, second, scratch);
        if (!buf(it.wrapped).equals(back)) mismatch(index);
        out.push(next);
      } catch (e) {
        const f = unwrapFailure(p11Failure(e, step));
        return fail({ ...f, details: { ...f.details, index } });
      } finally {
        destroyQuietly(ctx, first);
        destroyQuietly(ctx, second);
      }
    });
  } finally {
    copies.release();
  }
  return out;
}
