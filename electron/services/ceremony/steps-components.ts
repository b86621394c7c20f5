// Forming a key from XOR key components (issue #10 part 6; PCI PIN Security Requirement 20,
// ANSI X9.24-1 key components). Each component holder, alone at the keyboard, types their component
// and it is checked at once against the check value printed for it — a component typed by the wrong
// holder is named — and kept in this process's memory only. With the quorum's approval the key is
// formed: the components are combined in main, the key enters the HSM wrapped under a transport key
// made inside the token (never as a plaintext C_CreateObject), and the HSM computes the key's check
// value, which must equal the one computed from the components and, where given, the expected one
// (ComponentImportService). Then every component buffer is zeroised.
import { currentStep, type RunState } from '../../../shared/ceremony/run';
import { parseHex, KEY_LENGTHS, type KeyAlgorithm } from '../../../shared/components';
import { fail } from '../../../shared/result';
import type { KeyUsage } from '../../hsm/protocol';
import { matchCheckValue } from '../kcv';
import { ComponentImportService } from '../shares/component-import';
import { append, requireNotInterrupted, requireRunnable, requireRunning } from './engine';
import { complete, journaled } from './steps-common';
import { stepActor, type StepContext } from './step-context';

interface FormPlan {
  label: string;
  algorithm: KeyAlgorithm;
  usages: KeyUsage[];
  extractable: boolean;
  holders: Array<{ person: string; name: string; index: number; checkValue: string }>;
  keyCheckValue: string | null;
}

const params = (s: RunState) => s.plan.params as unknown as FormPlan;
const tok = (ctx: StepContext) => ({ path: ctx.session.module, token: ctx.session.token });

/** The label is free on the workstation token, before any envelope is opened. */
export async function runCheckComponents(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const p = params(ctx.run.state);
  const taken = await ctx.services.hsm.call('objects', { ...tok(ctx), ref: { label: p.label } });
  if (taken.length) fail('INVALID_INPUT', `A key labelled “${p.label}” is already on this token.`, 'Abort, and plan the ceremony with another label. No envelope has been opened.');
  await complete(ctx, stepActor(ctx, 'administrator'), {
    checks: [
      `label “${p.label}” is free on the token`,
      `${p.holders.length} components of a ${p.algorithm} key, each checked against its printed check value: ${p.holders.map((h) => `${h.index}. ${h.name} (${h.checkValue})`).join(', ')}`,
      p.keyCheckValue ? `the formed key must have check value ${p.keyCheckValue}` : 'no check value of the whole key was given: the HSM’s is read aloud',
    ],
  });
}

/** One holder's component, checked against the check value printed for it; kept in memory only. */
export async function enterComponent(ctx: StepContext, holderRef: string, text: string): Promise<{ index: number; entered: number; of: number }> {
  requireRunning(ctx.run);
  requireNotInterrupted(ctx, ctx.run);
  const s = ctx.run.state;
  const step = currentStep(s);
  if (!step || step.kind !== 'enter-components') fail('CEREMONY_STEP_BLOCKED', 'The ceremony is not at the entering of components.', 'Follow the steps in order.');
  // The quorum approves the forming before any envelope is opened (the prerequisites say so).
  requireRunnable(ctx.run);
  const p = params(s);
  const h = p.holders.find((x) => x.person === holderRef || x.name.toLowerCase() === holderRef.toLowerCase());
  if (!h) fail('PERSON_NOT_FOUND', `“${holderRef}” holds no component of this key.`, 'Choose one of the component holders.');
  const done = s.step[step.id]!.holders;
  if (done.includes(h.person)) fail('SHARE_DUPLICATE', `${h.name}’s component was entered already.`, 'The next holder enters their component.');
  const bytes = parseHex(text, { label: `Component ${h.index}`, code: 'COMPONENT_INVALID', expectedBytes: KEY_LENGTHS[p.algorithm], details: { component: h.index } });
  if (!matchCheckValue(p.algorithm, bytes, h.checkValue).matched) {
    const other = p.holders.find((x) => x !== h && matchCheckValue(p.algorithm, bytes, x.checkValue).matched);
    bytes.fill(0);
    if (other) fail('SHARE_WRONG_HOLDER', `This is component ${other.index} (${other.name}’s), not ${h.name}’s component ${h.index}.`, `${h.name} types their own component.`);
    fail('CHECK_VALUE_MISMATCH', `Component ${h.index} as typed does not have the check value printed for it (${h.checkValue}).`, `${h.name} compares it group by group with the sheet and types it again.`);
  }
  const sec = ctx.secrets.get(s.plan.run) ?? { bk: Buffer.alloc(0), shares: new Map(), shareBytes: new Map(), facts: {} };
  const held = Buffer.from(bytes);
  bytes.fill(0);
  sec.shareBytes.set(h.person, held);
  ctx.secrets.set(s.plan.run, sec);
  const entered = done.length + 1;
  const actor = { person: h.person, name: h.name, role: 'custodian' as const };
  ctx.run = await append(ctx, ctx.run, [
    { actor, event: { type: 'step.progress', step: step.id, holder: h.person, outcome: { holder: h.person, name: h.name, index: h.index, checkValue: h.checkValue, matched: true } } },
    ...(entered === p.holders.length ? [{ actor, event: { type: 'step.completed' as const, step: step.id, outcome: { entered, of: p.holders.length } } }] : []),
  ]);
  return { index: h.index, entered, of: p.holders.length };
}

/** The key formed inside the HSM from the components in memory; its HSM check value compared. */
export async function runFormKey(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const p = params(s);
  const sec = ctx.secrets.get(s.plan.run);
  if (!sec || sec.shareBytes.size !== p.holders.length) fail('CEREMONY_INTERRUPTED', 'The components entered are not in this process any more.', 'Resume the ceremony and enter the components again.');
  const actor = stepActor(ctx, 'operator');
  await journaled(ctx, actor, { label: p.label, algorithm: p.algorithm, components: p.holders.length }, async () => {
    // The service zeroises these copies; the secrets are wiped below whatever happens.
    const parts = p.holders.map((h) => Uint8Array.from(sec.shareBytes.get(h.person)!));
    try {
      const r = await new ComponentImportService(ctx.services.hsm).importComponents(ctx.session, {
        algorithm: p.algorithm,
        components: parts,
        componentKcvs: p.holders.map((h) => h.checkValue),
        ...(p.keyCheckValue ? { keyKcv: p.keyCheckValue } : {}),
        label: p.label,
        usages: p.usages,
        extractable: p.extractable,
      });
      return {
        outcome: {
          label: r.key.label,
          idHex: r.key.idHex,
          algorithm: r.algorithm,
          checkValue: (r.hsm.cmac ?? r.expected.cmac).toUpperCase(),
          checkValueLegacy: r.hsm.legacy?.toUpperCase() ?? null,
          expected: p.keyCheckValue,
          transport: r.transport,
          ...(r.warnings.length ? { warnings: r.warnings } : {}),
        },
      };
    } finally {
      for (const x of parts) x.fill(0);
      ctx.secrets.wipe(s.plan.run);
    }
  });
}

/** Resume after a crash in the forming: a key made under the planned label is destroyed (its components are gone with the process, so it cannot be proven), and the components are entered again. */
export async function cleanUpForm(ctx: StepContext): Promise<void> {
  const p = params(ctx.run.state);
  await ctx.services.hsm.call('destroy', { ...tok(ctx), ref: { label: p.label } }).catch(() => undefined);
}
