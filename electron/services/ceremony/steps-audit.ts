// Share audit (issue #10 part 2): each holder checks, alone at the keyboard, that the share they
// keep is still the one recorded for them — it decodes (every word, the checksum), it is of the
// backup's set, and it is this holder's own (its fingerprint, or an XOR component's check value, in
// the backup's record). No share is combined with another and nothing is rebuilt: a holder learns
// that their sheet is still good without anyone else's share being typed. The share's bytes are
// wiped at once; the record keeps who checked, when, and the result — a failed check too, since a
// sheet that no longer reads is what the audit is there to find.
import { currentStep, type RunState } from '../../../shared/ceremony/run';
import { CustosError, fail } from '../../../shared/result';
import { append, requireNotInterrupted, requireRunnable, requireRunning } from './engine';
import { backupFacts } from './plan';
import { checkShare, wordsOf, type RestorePlan, type ShareInput } from './steps-restore';
import { CARD_ACCESS_CODES } from './steps-sealed';
import { complete } from './steps-common';
import { stepActor, type StepContext } from './step-context';

const params = (s: RunState) => s.plan.params as unknown as RestorePlan & { count: number };

/** The backup is still in the record with the same share set as when the audit was planned. */
export async function runCheckAudit(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const p = params(ctx.run.state);
  const now = backupFacts(ctx.record, p.backup.run);
  for (const h of p.holders) {
    const rec = now.shares.find((x) => x.holder === h.person);
    if (!rec || rec.fingerprint !== h.fingerprint || rec.checkValue !== h.checkValue) {
      fail('CHECK_VALUE_MISMATCH', `The record of ${h.name}’s share is not what it was when this audit was planned.`, 'Abort, run `custos archive verify`, and plan the audit again.');
    }
  }
  const set = p.backup.scheme === 'xor' ? `${p.count} XOR components` : `SLIP-39, any ${p.backup.threshold} of ${p.count}`;
  await complete(ctx, stepActor(ctx, 'administrator'), {
    checks: [`backup ${p.backup.run}: ${set}`, ...p.holders.map((h) => `${h.name}: share ${h.index}, recognised by ${h.fingerprint ? `fingerprint ${h.fingerprint}` : `check value ${h.checkValue}`}`)],
  });
}

/** One holder's share, checked on its own; the result (good or not) is recorded, the share is not. */
export async function auditShare(ctx: StepContext, holderRef: string, input: ShareInput): Promise<{ index: number; ok: true }> {
  requireRunning(ctx.run);
  requireNotInterrupted(ctx, ctx.run);
  const s = ctx.run.state;
  const step = currentStep(s);
  if (!step || step.kind !== 'audit-shares') fail('CEREMONY_STEP_BLOCKED', 'The ceremony is not at the checking of shares.', 'Follow the steps in order.');
  requireRunnable(ctx.run);
  const p = params(s);
  const h = p.holders.find((x) => x.person === holderRef || x.name.toLowerCase() === holderRef.toLowerCase());
  if (!h) fail('PERSON_NOT_FOUND', `“${holderRef}” is not one of the holders named for this share audit.`, 'Choose one of the holders.');
  const done = s.step[step.id]!.holders;
  if (done.includes(h.person)) fail('SHARE_DUPLICATE', `${h.name}’s share was checked already in this audit.`, 'The next holder checks their share.');
  const actor = { person: h.person, name: h.name, role: 'custodian' as const };
  let bytes: Buffer;
  try {
    bytes = await checkShare(ctx, p, h, done, await wordsOf(input, h, done));
  } catch (e) {
    // A card that is absent, another card, or a mistyped PIN says nothing about the share: not recorded.
    if (e instanceof CustosError && !CARD_ACCESS_CODES.includes(e.appError.code)) {
      // No `holder` on the event: a failed check does not count as checked; the holder may try again.
      ctx.run = await append(ctx, ctx.run, [{ actor, event: { type: 'step.progress', step: step.id, outcome: { holder: h.person, name: h.name, index: h.index, checked: false, error: e.appError.code } } }]).catch(() => ctx.run);
    }
    throw e;
  }
  bytes.fill(0);
  const all = done.length + 1 === p.holders.length;
  ctx.run = await append(ctx, ctx.run, [
    { actor, event: { type: 'step.progress', step: step.id, holder: h.person, outcome: { holder: h.person, name: h.name, index: h.index, checked: true, recognisedBy: h.fingerprint ? 'fingerprint' : 'check value', ...(typeof input === 'string' ? {} : { from: 'sealed' }) } } },
    ...(all ? [{ actor, event: { type: 'step.completed' as const, step: step.id, outcome: { checked: p.holders.map((x) => x.name), of: p.count } } }] : []),
  ]);
  return { index: h.index, ok: true };
}

/**
 * Closes the audit when a sheet did not pass: every holder has either passed or tried, and each
 * failed share becomes an exception the administrator decides and the witness acknowledges before
 * the sign-off (typically: run a re-share or a new backup, since that share may no longer count).
 */
export async function runAuditDone(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const s = ctx.run.state;
  const p = params(s);
  const step = currentStep(s)!;
  const st = s.step[step.id]!;
  const passed = p.holders.filter((h) => st.holders.includes(h.person));
  const tried = (h: { person: string }) => st.progress.some((x) => x.holder === h.person && x.checked === false);
  const untried = p.holders.filter((h) => !passed.includes(h) && !tried(h));
  if (untried.length) fail('CEREMONY_STEP_BLOCKED', `${untried.map((h) => h.name).join(', ')} ${untried.length === 1 ? 'has' : 'have'} not checked a share yet.`, 'Each holder named checks their share before the audit is closed.');
  const failed = p.holders.filter((h) => !passed.includes(h));
  const codes = (h: { person: string }) => [...new Set(st.progress.filter((x) => x.holder === h.person && x.checked === false).map((x) => String(x.error)))].join(', ');
  const exceptions = failed.map((h) => ({
    type: 'exception.raised' as const,
    id: crypto.randomUUID(),
    step: step.id,
    expected: `${h.name}’s share (share ${h.index}) reads and is the one recorded for them.`,
    happened: `It did not pass (${codes(h)}): this share may no longer count towards a restore.`,
  }));
  const actor = stepActor(ctx, 'administrator');
  await complete(ctx, actor, { checked: passed.map((h) => h.name), failed: failed.map((h) => ({ name: h.name, index: h.index, errors: codes(h) })), of: p.count }, exceptions);
}
