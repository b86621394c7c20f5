// Creating a key as XOR key components (issue #10 part 6; PCI PIN Security Requirement 20, ANSI
// X9.24-1 key components under split knowledge and dual control).
//
//   check             the label and the planned CKA_ID are free; the token can hold, and compute the
//                     check value of, a key of this type, and take it in under an RSA-OAEP transport key
//   make-components   with the quorum's approval: n components from the token's random number
//                     generator; the key they form enters the HSM wrapped under a transport key made
//                     inside it (ComponentImportService, as component-form), and the HSM's check value
//                     of it must equal the one computed from the components. The components stay in
//                     this process's memory only
//   print-components  one holder at a time: their sheet (component-sheet.ts) and nobody else's
//   seal-components   each holder types the component check value from their sheet (a misprint is
//                     caught now) and the serial number of the tamper-evident envelope they sealed it
//                     in; the last one wipes the components
//
// A crash between make-components and the last seal loses the components: resume voids them, and
// make-components, run again, first destroys the key the lost components formed (found by its
// planned CKA_ID). Sheets printed before the crash are void, and the record says so.
import { timingSafeEqual } from 'node:crypto';
import { currentStep, type RunState } from '../../../shared/ceremony/run';
import { algorithmName, setOddParity, type KeyAlgorithm } from '../../../shared/components';
import { fail } from '../../../shared/result';
import type { KeyUsage, MechanismEntry } from '../../hsm/protocol';
import { CKM } from '../../hsm/protocol/constants';
import { keyCheckValues } from '../kcv';
import { ComponentImportService } from '../shares/component-import';
import { renderComponentSheet } from '../shares/component-sheet';
import { append, requireNotInterrupted, requireRunnable, requireRunning } from './engine';
import { complete, journaled } from './steps-common';
import { stepActor, type StepContext } from './step-context';

interface CreatePlan {
  label: string;
  algorithm: 'aes-128' | 'aes-192' | 'aes-256' | 'tdes-2key' | 'tdes-3key';
  bytes: number;
  usages: KeyUsage[];
  extractable: boolean;
  holders: Array<{ person: string; name: string; index: number }>;
  keyIdHex: string;
}

const params = (s: RunState) => s.plan.params as unknown as CreatePlan;
const tok = (ctx: StepContext) => ({ path: ctx.session.module, token: ctx.session.token });
const familyOf = (p: CreatePlan): KeyAlgorithm => (p.algorithm.startsWith('tdes') ? 'TDES' : 'AES');
/** X9.24-1:2017: AES keys are checked by the CMAC method only; TDES keys by the legacy method, as payment HSMs show them. */
const methodOf = (alg: KeyAlgorithm) => (alg === 'AES' ? 'AES-CMAC, X9.24-1:2017' : 'TDES-ECB, X9.24-1 legacy');
const CKF_UNWRAP = 0x40000;

/** What the token lacks to take this key in and check it: an empty list when it has everything. Pure, for the tests. */
export function componentKeyGaps(algorithm: CreatePlan['algorithm'], bytes: number, mechs: readonly Pick<MechanismEntry, 'type' | 'minKeySize' | 'maxKeySize' | 'flags'>[]): string[] {
  const has = (type: number, size?: number) => mechs.some((m) => m.type === type && (size === undefined || m.maxKeySize === 0 || (m.minKeySize <= size && size <= m.maxKeySize)));
  const gaps: string[] = [];
  if (algorithm.startsWith('tdes')) {
    if (!has(CKM.DES3_ECB)) gaps.push('Triple DES keys (CKM_DES3_ECB, needed for the key and its check value)');
  } else if (!has(CKM.AES_CMAC, bytes)) {
    // PKCS#11 gives AES key sizes in bytes.
    gaps.push(`AES-${bytes * 8} keys with CMAC (CKM_AES_CMAC, needed for the X9.24-1 check value)`);
  }
  if (!mechs.some((m) => m.type === CKM.RSA_PKCS_OAEP && (m.flags & CKF_UNWRAP) !== 0) || !has(CKM.RSA_PKCS_KEY_PAIR_GEN)) gaps.push('RSA-OAEP unwrap with a key pair made inside it (the transport the key enters by)');
  return gaps;
}

/** Changes nothing: the label and CKA_ID are free, and the token can hold and check this kind of key. */
export async function runCheckCreation(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const p = params(ctx.run.state);
  const checks: string[] = [];
  if ((await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { label: p.label } })).length) fail('INVALID_INPUT', `A key labelled “${p.label}” is already on this token.`, 'Abort, and plan the ceremony again with another label. Nothing has been made.');
  if ((await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { idHex: p.keyIdHex } })).length) fail('INVALID_INPUT', 'An object with the id planned for the new key already exists on this token.', 'Abort and plan the ceremony again (a new id is chosen).');
  checks.push(`label “${p.label}” is free on the token`);
  const gaps = componentKeyGaps(p.algorithm, p.bytes, await ctx.services.hsm.call('mechanisms', tok(ctx)));
  if (gaps.length) fail('MECHANISM_UNSUPPORTED', `This token cannot take a ${algorithmName(familyOf(p), p.bytes)} key made from components: it lacks ${gaps.join('; and ')}.`, 'Abort, and plan the ceremony for a key type the token supports (Keys → capabilities lists them), or use another token. Nothing has been made.');
  checks.push(`the token holds ${algorithmName(familyOf(p), p.bytes)} keys and computes their check value`);
  if (p.extractable) {
    const existing = await ctx.services.withArchive(async (a) => a.search({ label: p.label }).items.length);
    if (existing) fail('INVALID_INPUT', `The archive already holds a key labelled “${p.label}”.`, 'Plan again with another label.');
    checks.push('the archive has no key with this label');
  }
  checks.push(`${p.holders.length} components, one each for ${p.holders.map((h) => `${h.index}. ${h.name}`).join(', ')}`);
  await complete(ctx, stepActor(ctx, 'administrator'), { checks });
}

/** The components from the token's RNG; the key they form made inside the HSM and its check value compared. */
export async function runMakeComponents(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const p = params(s);
  const alg = familyOf(p);
  const t = tok(ctx);
  const actor = stepActor(ctx, 'operator');
  // A key formed by components that died with an earlier process cannot be proven by anyone: gone.
  const stale = await ctx.services.hsm.call('destroy', { ...t, ref: { idHex: p.keyIdHex } }).catch(() => ({ destroyed: 0 }));
  await journaled(ctx, actor, { label: p.label, idHex: p.keyIdHex, algorithm: p.algorithm, components: p.holders.length, ...(stale.destroyed ? { destroyedStale: stale.destroyed } : {}) }, async () => {
    const random = await ctx.services.hsm.call('random', { ...t, length: p.bytes * p.holders.length });
    const held: Buffer[] = [];
    try {
      for (let i = 0; i < p.holders.length; i++) {
        const c = Buffer.from(random.subarray(i * p.bytes, (i + 1) * p.bytes));
        // DES key bytes carry odd parity by custom (components too); the cipher ignores the bit.
        if (alg === 'TDES') setOddParity(c);
        held.push(c);
      }
    } finally {
      random.fill(0);
    }
    try {
      const kcvs = held.map((c) => keyCheckValues(alg, c));
      const primary = (k: { cmac: string; legacy: string }) => (alg === 'AES' ? k.cmac : k.legacy).toUpperCase();
      // The service zeroises the copies it is given; `held` stays for the sheets.
      const r = await new ComponentImportService(ctx.services.hsm).importComponents(ctx.session, {
        algorithm: alg,
        components: held.map((c) => Uint8Array.from(c)),
        componentKcvs: kcvs.map(primary),
        label: p.label,
        usages: p.usages,
        extractable: p.extractable,
        idHex: p.keyIdHex,
      });
      ctx.secrets.set(s.plan.run, { bk: Buffer.alloc(0), shares: new Map(), shareBytes: new Map(p.holders.map((h, i) => [h.person, held[i]!])), facts: {} });
      held.length = 0;
      return {
        outcome: {
          label: r.key.label,
          idHex: r.key.idHex,
          algorithm: r.algorithm,
          checkValue: primary(r.expected),
          checkMethod: methodOf(alg),
          checkValueCmac: r.expected.cmac.toUpperCase(),
          checkValueLegacy: r.expected.legacy.toUpperCase(),
          source: 'the token’s random number generator',
          transport: r.transport,
          components: p.holders.map((h, i) => ({ holder: h.person, name: h.name, index: h.index, checkValue: primary(kcvs[i]!) })),
        },
      };
    } finally {
      for (const c of held) c.fill(0);
    }
  });
}

function made(s: RunState): { checkValue: string; checkMethod: string; algorithm: string; components: Array<{ holder: string; checkValue: string }> } {
  const st = s.steps.find((x) => x.kind === 'make-components');
  const o = st ? s.step[st.id]!.outcome : null;
  if (!o) fail('CEREMONY_STEP_BLOCKED', 'The components have not been made yet.', 'Run the steps in order.');
  return o as unknown as ReturnType<typeof made>;
}

function holderTurn(ctx: StepContext, kind: 'print-components' | 'seal-components', ref: string) {
  requireRunning(ctx.run);
  requireNotInterrupted(ctx, ctx.run);
  const s = ctx.run.state;
  const step = currentStep(s);
  if (!step || step.kind !== kind) fail('CEREMONY_STEP_BLOCKED', `The ceremony is not at “${kind === 'print-components' ? 'Print each holder’s component sheet' : 'Check each sheet and seal it'}”.`, 'Follow the steps in order.');
  requireRunnable(ctx.run);
  const p = params(s);
  const h = p.holders.find((x) => x.person === ref || x.name.toLowerCase() === ref.toLowerCase());
  if (!h) fail('PERSON_NOT_FOUND', `“${ref}” holds no component of this key.`, 'Choose one of the component holders.');
  const sec = ctx.secrets.get(s.plan.run);
  if (!sec || sec.shareBytes.size !== p.holders.length) fail('CEREMONY_INTERRUPTED', 'The components are not in this process any more: they were lost when the process that made them stopped.', 'Resume the ceremony: the components are voided, and new ones are made and printed.');
  return { s, p, step, h, done: s.step[step.id]!.holders, component: sec.shareBytes.get(h.person)! };
}

export interface ComponentSheet {
  holder: string;
  name: string;
  index: number;
  of: number;
  fileName: string;
  /** The PDF: it holds the component. Write it, then zeroise it. */
  pdf: Buffer;
}

/** The sheet of the holder whose turn it is — and nobody else's. Not journaled: it is the secret. */
export async function componentSheet(ctx: StepContext, holder: string): Promise<ComponentSheet> {
  const { s, p, h, done, component } = holderTurn(ctx, 'print-components', holder);
  const next = p.holders.find((x) => !done.includes(x.person))!;
  if (h.person !== next.person) fail('CEREMONY_STEP_BLOCKED', `It is ${next.name}’s turn, not ${h.name}’s: one holder at a time, in order.`, `${next.name} comes to the printer; everyone else stays away from it.`);
  const m = made(s);
  const pdf = await renderComponentSheet({
    holder: h.name,
    index: h.index,
    of: p.holders.length,
    keyLabel: p.label,
    algorithm: m.algorithm,
    keyCheckValue: m.checkValue,
    method: m.checkMethod,
    component,
    componentCheckValue: m.components.find((c) => c.holder === h.person)!.checkValue,
    ceremonyId: s.plan.run,
    at: s.startedAt,
    practice: s.plan.practice,
  });
  const slug = h.name.normalize('NFKD').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase() || 'holder';
  return { holder: h.person, name: h.name, index: h.index, of: p.holders.length, fileName: `component-${h.index}-of-${p.holders.length}-${slug}.pdf`, pdf };
}

/** The holder has their sheet in hand (it printed, and nobody else took it). */
export async function componentPrinted(ctx: StepContext, holder: string): Promise<void> {
  const { p, step, h, done } = holderTurn(ctx, 'print-components', holder);
  const next = p.holders.find((x) => !done.includes(x.person))!;
  if (h.person !== next.person) fail('CEREMONY_STEP_BLOCKED', `It is ${next.name}’s turn, not ${h.name}’s.`, 'Print the sheets one holder at a time, in order.');
  const actor = { person: h.person, name: h.name, role: 'custodian' as const };
  ctx.run = await append(ctx, ctx.run, [
    { actor, event: { type: 'step.progress', step: step.id, holder: h.person, outcome: { holder: h.person, name: h.name, index: h.index, printed: true } } },
    ...(done.length + 1 === p.holders.length ? [{ actor, event: { type: 'step.completed' as const, step: step.id, outcome: { printed: p.holders.length } } }] : []),
  ]);
}

const hexOf = (t: string) => t.replace(/\s+/g, '').toUpperCase();
const ENVELOPE = /^[A-Za-z0-9][A-Za-z0-9 ./_-]{0,63}$/;

/**
 * The verification round: the holder types the component check value printed on their sheet (or the
 * whole component), and the serial number of the envelope it is sealed in. A wrong value is refused,
 * and recorded as a failed try, before anything about the envelope is kept.
 */
export async function sealComponent(ctx: StepContext, holder: string, typed: string, envelope: string): Promise<{ index: number; sealed: number; of: number }> {
  const { s, p, step, h, done, component } = holderTurn(ctx, 'seal-components', holder);
  if (done.includes(h.person)) fail('SHARE_DUPLICATE', `${h.name}’s sheet is checked and sealed already.`, 'The next holder checks theirs.');
  const m = made(s);
  const want = m.components.find((c) => c.holder === h.person)!.checkValue;
  const got = hexOf(typed);
  const isComponent = (c: Buffer) => got.length === c.length * 2 && /^[0-9A-F]+$/.test(got) && timingSafeEqual(Buffer.from(got, 'hex'), c);
  const actor = { person: h.person, name: h.name, role: 'custodian' as const };
  if (got !== want && !isComponent(component)) {
    const other = m.components.find((c) => c.holder !== h.person && c.checkValue === got);
    const code = other ? 'SHARE_WRONG_HOLDER' : 'CHECK_VALUE_MISMATCH';
    ctx.run = await append(ctx, ctx.run, [{ actor, event: { type: 'step.progress', step: step.id, outcome: { holder: h.person, name: h.name, index: h.index, checked: false, error: code } } }]).catch(() => ctx.run);
    if (other) {
      const o = p.holders.find((x) => x.person === other.holder)!;
      fail('SHARE_WRONG_HOLDER', `That is the check value of component ${o.index} (${o.name}’s), not of ${h.name}’s component ${h.index}.`, `${h.name} reads the check value from their own sheet; if the sheets were swapped, swap them back before sealing.`);
    }
    fail('CHECK_VALUE_MISMATCH', `The check value typed for component ${h.index} is not the one made for it.`, `${h.name} reads the component check value from the sheet again, digit by digit. If the sheet shows something else, it is misprinted: do not seal it — raise an exception and abort, so new components are made.`);
  }
  const serial = envelope.trim();
  // The serial goes into the record and the bundle: a component typed into its field by mistake
  // (the two fields sit side by side) must not, and is not echoed back either.
  const serialHex = hexOf(serial);
  if (/^[0-9A-F]+$/.test(serialHex) && [...ctx.secrets.get(s.plan.run)!.shareBytes.values()].some((c) => serialHex.length === c.length * 2 && timingSafeEqual(Buffer.from(serialHex, 'hex'), c))) {
    fail('INVALID_INPUT', `What was typed as ${h.name}’s envelope serial is a component, not a serial number; it was not recorded.`, `${h.name} types the serial number printed on the envelope.`);
  }
  if (!serial) fail('INVALID_INPUT', `No envelope serial number was given for ${h.name}’s component ${h.index}.`, 'Seal the sheet in a tamper-evident envelope and type the serial number printed on it.');
  if (!ENVELOPE.test(serial)) fail('INVALID_INPUT', `“${serial.slice(0, 64)}” does not look like an envelope serial number.`, 'Type the serial as printed on the envelope: letters, digits, spaces and . / _ - only, up to 64 characters.');
  const sealedBy = s.step[step.id]!.progress.filter((x) => x.envelope !== undefined);
  const twin = sealedBy.find((x) => String(x.envelope).toUpperCase() === serial.toUpperCase());
  if (twin) fail('INVALID_INPUT', `Envelope ${serial} already holds ${String(twin.name)}’s component ${String(twin.index)}.`, `Each component goes in its own envelope: ${h.name} uses a new one and types its serial.`, { envelope: serial });
  const sealed = done.length + 1;
  ctx.run = await append(ctx, ctx.run, [
    { actor, event: { type: 'step.progress', step: step.id, holder: h.person, outcome: { holder: h.person, name: h.name, index: h.index, checkValue: want, checked: true, envelope: serial } } },
    ...(sealed === p.holders.length
      ? [{ actor, event: { type: 'step.completed' as const, step: step.id, outcome: { sealed, envelopes: [...sealedBy.map((x) => ({ holder: x.holder, name: x.name, index: x.index, envelope: x.envelope })), { holder: h.person, name: h.name, index: h.index, envelope: serial }] } } }]
      : []),
  ]);
  // Every sheet is checked and sealed: the components are not needed here any more.
  if (sealed === p.holders.length) ctx.secrets.wipe(s.plan.run);
  return { index: h.index, sealed, of: p.holders.length };
}
