// The limits of a retrieved key (issue #10 part 3). PKCS#11 has no attribute that limits how often a
// key may be used, and v3.0 §4.7 stores CKA_START_DATE / CKA_END_DATE "for reference only": no token
// refuses a key past them (and pkcs11js cannot read them back from SoftHSM). So the limits live
// beside the key on the same token: a private, modifiable CKO_DATA object whose CKA_APPLICATION names
// Custos and whose label names the key's CKA_ID, holding JSON (docs/FORMAT.md). Only Custos's own
// operations read and advance it; anyone with the user PIN and another tool is held by nothing.
import type { KeyLimits } from '../protocol';
import { CKA, CKO } from '../protocol/constants';
import { p11 } from './failure';
import type { TokenContext } from './session';
import type { Handle } from './templates';

export const LIMITS_APPLICATION = 'custos.key-limits v1';

// SoftHSM keeps a data object's CKA_VALUE read-only once made (CKR_ATTRIBUTE_READ_ONLY), so the
// limits are the value and the count so far is the label: "custos limits <CKA_ID hex> used <n>".
const labelPrefix = (keyIdHex: string) => `custos limits ${keyIdHex} used `;

function find(ctx: TokenContext, keyIdHex: string): { h: Handle; used: number } | null {
  p11('C_FindObjectsInit', () =>
    ctx.m.p11.C_FindObjectsInit(ctx.session, [
      { type: CKA.CLASS, value: CKO.DATA },
      { type: CKA.APPLICATION, value: LIMITS_APPLICATION },
    ]),
  );
  let hs: Handle[];
  try {
    hs = p11('C_FindObjects', () => ctx.m.p11.C_FindObjects(ctx.session, 256));
  } finally {
    ctx.m.p11.C_FindObjectsFinal(ctx.session);
  }
  const prefix = labelPrefix(keyIdHex);
  for (const h of hs) {
    const label = (p11('C_GetAttributeValue', () => ctx.m.p11.C_GetAttributeValue(ctx.session, h, [{ type: CKA.LABEL }]))[0]?.value as Buffer | undefined)?.toString('utf8') ?? '';
    if (!label.startsWith(prefix)) continue;
    const n = Number(label.slice(prefix.length));
    // A label that is not a count holds the key back rather than freeing it.
    return { h, used: Number.isInteger(n) && n >= 0 ? n : Number.MAX_SAFE_INTEGER };
  }
  return null;
}

const encode = (l: KeyLimits) => Buffer.from(JSON.stringify({ validFrom: l.validFrom, validUntil: l.validUntil, maxUses: l.maxUses }), 'utf8');

function decode(v: Buffer | undefined, used: number): KeyLimits {
  try {
    const o = JSON.parse((v ?? Buffer.alloc(0)).toString('utf8')) as Partial<KeyLimits>;
    const date = (d: unknown) => (typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d) ? d : null);
    const n = (x: unknown) => (typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : null);
    return { validFrom: date(o.validFrom), validUntil: date(o.validUntil), maxUses: n(o.maxUses), used };
  } catch {
    // An unreadable record holds the key back rather than freeing it.
    return { validFrom: null, validUntil: '0000-01-01', maxUses: 0, used };
  }
}

export function keyLimits(
  ctx: TokenContext,
  p: { keyIdHex: string; create?: KeyLimits & { onToken: boolean }; use?: { today: string }; remove?: boolean },
): { limits: KeyLimits; counted: boolean; refused?: 'before' | 'after' | 'uses' } | null {
  if (p.create) {
    const { onToken, ...limits } = p.create;
    p11('C_CreateObject', () =>
      ctx.m.p11.C_CreateObject(ctx.session, [
        { type: CKA.CLASS, value: CKO.DATA },
        { type: CKA.TOKEN, value: onToken },
        { type: CKA.PRIVATE, value: true },
        { type: CKA.MODIFIABLE, value: true },
        { type: CKA.APPLICATION, value: LIMITS_APPLICATION },
        { type: CKA.LABEL, value: `${labelPrefix(p.keyIdHex)}${limits.used}` },
        { type: CKA.VALUE, value: encode(limits) },
      ]),
    );
    return { limits, counted: false };
  }
  const found = find(ctx, p.keyIdHex);
  if (found === null) return null;
  const { h } = found;
  const limits = decode(p11('C_GetAttributeValue', () => ctx.m.p11.C_GetAttributeValue(ctx.session, h, [{ type: CKA.VALUE }]))[0]?.value as Buffer | undefined, found.used);
  if (p.remove) {
    p11('C_DestroyObject', () => ctx.m.p11.C_DestroyObject(ctx.session, h));
    return { limits, counted: false };
  }
  if (!p.use) return { limits, counted: false };
  const today = p.use.today;
  if (limits.validFrom && today < limits.validFrom) return { limits, counted: false, refused: 'before' };
  if (limits.validUntil && today > limits.validUntil) return { limits, counted: false, refused: 'after' };
  if (limits.maxUses === null) return { limits, counted: false };
  if (limits.used >= limits.maxUses) return { limits, counted: false, refused: 'uses' };
  const next = { ...limits, used: limits.used + 1 };
  p11('C_SetAttributeValue', () => ctx.m.p11.C_SetAttributeValue(ctx.session, h, [{ type: CKA.LABEL, value: `${labelPrefix(p.keyIdHex)}${next.used}` }]));
  return { limits: next, counted: true };
}
