// Re-share and custodian change (issue #10 part 7). A quorum of the old holders enters their shares
// (restore's enter-shares, checked one by one against the backup's record), the Backup Key is
// rebuilt in memory and checked against the check value recorded at the backup (restore's
// rebuild-backup-key), and split again for the new holders with the backup's hand-over and
// verification round. The commit records the new share set for the same Backup Key: the wrapped
// keys do not change, so nothing touches the HSM.
//
// What a re-share cannot do: make the old shares useless. A threshold of old shares still rebuilds
// the same Backup Key, which still unwraps the same blobs (SLIP-39 and XOR shares carry no expiry).
// The ceremony says so at every step that matters, records which old holders attest that they
// destroyed their share (signed in their own card), and names those who did not. To end the old
// shares' power, rotate the Backup Key: run a new backup of the same keys (a new Backup Key, the
// targets wrapped again), after which the old blobs are no longer the ones a restore uses.
import { createHash } from 'node:crypto';
import type { RunState } from '../../../shared/ceremony/run';
import { fail } from '../../../shared/result';
import { requireRunnable } from './engine';
import type { BackupFacts } from './plan';
import { backupFacts } from './plan';
import { shareSetEffect } from './steps-backup';
import { complete, journaled } from './steps-common';
import { stepActor, type StepContext } from './step-context';

interface ResharePlan {
  backup: { run: string; scheme: 'slip39' | 'xor'; threshold: number; identifier: number | null; backupKeyCheck: string; targets: string[] };
  targets: Array<BackupFacts['blobs'][number] & { name: string }>;
  from: Array<{ person: string; name: string; index: number }>;
  oldHolders: Array<{ person: string; name: string; index: number }>;
  previous: { scheme: string; threshold: number; count: number; identifier: number | null };
  scheme: 'slip39' | 'xor';
  threshold: number;
  holders: Array<{ person: string; name: string }>;
}

const params = (s: RunState) => s.plan.params as unknown as ResharePlan;

export const OLD_SHARES_NOTE =
  'The old shares stay valid: any threshold of them still rebuilds the same Backup Key, which still unwraps the backed-up keys. To make them useless, rotate the Backup Key — run a new backup of the same keys — and have every old holder destroy their sheet.';

/** The backup is still in the record, unchanged since planning; what stays and what changes, in words. */
export async function runCheckReshare(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const actor = stepActor(ctx, 'administrator');
  const p = params(ctx.run.state);
  const now = backupFacts(ctx.record, p.backup.run);
  if (now.backupKeyCheck !== p.backup.backupKeyCheck || now.blobs.length !== p.targets.length || now.blobs.some((b, i) => b.wrapped !== p.targets[i]!.wrapped)) {
    fail('CHECK_VALUE_MISMATCH', `The backup ${p.backup.run.slice(0, 8)} in the record is not what it was when this re-share was planned.`, 'Abort, run `custos archive verify`, and plan the re-share again.');
  }
  const oldSet = p.previous.scheme === 'xor' ? `${p.previous.count} XOR components (all needed)` : `SLIP-39, any ${p.previous.threshold} of ${p.previous.count}`;
  const newSet = p.scheme === 'xor' ? `${p.holders.length} XOR components (all needed)` : `SLIP-39, any ${p.threshold} of ${p.holders.length}`;
  await complete(ctx, actor, {
    checks: [
      `backup ${p.backup.run}: Backup Key check value ${p.backup.backupKeyCheck}`,
      `old share set: ${oldSet}, held by ${p.oldHolders.map((h) => h.name).join(', ')}`,
      `new share set: ${newSet}, for ${p.holders.map((h) => h.name).join(', ')}`,
      `keys wrapped under it, unchanged: ${p.targets.map((t) => `“${t.label}”`).join(', ')}`,
    ],
    note: OLD_SHARES_NOTE,
  });
}

/** The new share set, recorded for the same Backup Key and blobs; the Backup Key leaves memory. */
export async function runCommitReshare(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const p = params(s);
  const actor = stepActor(ctx, 'operator');
  const split = s.steps.find((x) => x.kind === 'split');
  const out = split ? s.step[split.id]!.outcome : null;
  if (!out) fail('CEREMONY_STEP_BLOCKED', 'The new shares have not been made yet.', 'Run the steps in order.');
  const record = out.shareSetRecord ? JSON.stringify(out.shareSetRecord) : null;
  const shareSetFingerprint = createHash('sha256').update(record ?? JSON.stringify(out)).digest('hex');
  // Journaled although the HSM is untouched: the intent names what is about to be recorded.
  await journaled(ctx, actor, { supersedes: p.backup.run, holders: p.holders.map((h) => h.name) }, async () => {
    ctx.secrets.wipe(s.plan.run);
    return {
      outcome: {
        // The blobs of the backup, unchanged: a restore of the new set reads them from here.
        blobs: p.targets.map(({ name: _name, ...b }) => b),
        backupKeyCheck: p.backup.backupKeyCheck,
        reshareOf: p.backup.run,
        shareSet: shareSetFingerprint,
        oldSharesValid: true,
        note: OLD_SHARES_NOTE,
      },
      effects: { shareSet: shareSetEffect(s.plan.run, p, shareSetFingerprint, record) },
    };
  });
}

/** The attestations end: who attested, and whose old share (still valid) nobody vouched for. */
export async function runAttestDone(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const s = ctx.run.state;
  const p = params(s);
  const step = s.steps.find((x) => x.kind === 'attest-destroyed')!;
  const st = s.step[step.id]!;
  const attested = st.progress.filter((x) => x.destroyed === true).map((x) => ({ person: String(x.holder), name: String(x.name), index: Number(x.index) }));
  const missing = p.oldHolders.filter((h) => !attested.some((a) => a.person === h.person));
  await complete(ctx, stepActor(ctx, 'administrator'), {
    attested,
    notAttested: missing,
    ...(missing.length ? { note: `${missing.map((h) => `${h.name} (share ${h.index})`).join(', ')} did not attest: ${missing.length === 1 ? 'that share stays' : 'those shares stay'} able to rebuild the Backup Key with others of the old set until it is rotated.` } : { note: 'Every old holder attested that their share is destroyed.' }),
  });
}
