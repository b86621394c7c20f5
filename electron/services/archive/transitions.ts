// Lifecycle steps on archived versions (NIST SP 800-57 Pt 1 Rev 5 §7; the state machine is in
// shared/archive/lifecycle.ts): a version's row after a step, and a step as one commit; activating
// while another version is active is a rotation, done in the same transaction.
import { allowedActions, datesAfter, isLifecycleAction, MATERIAL_GONE, transitionFor, type KeyState, type LifecycleAction } from '../../../shared/archive/lifecycle';
import { RECORDS } from '../../../shared/archive/canonical';
import { plannedDates } from '../../../shared/archive/policy';
import type { VersionSummary } from '../../../shared/archive/types';
import { textProblem } from '../../../shared/archive/validate';
import { fail, invalidInput } from '../../../shared/result';
import { requireStore, type ArchiveContext } from './context';
import { archiveError, FIX_INPUT } from './errors';
import { keyRow, resolveVersion, summary } from './queries';
import { datesOf, datesRow, type KeyRow, type VersionRow } from './rows';
import { nowIso, type AuditDraft, type RowWrite } from './store';

/** The row of `v` after `action` at `at`, as an update planned from its current MAC; refuses a step the lifecycle does not allow. */
export function transitionWrite(v: VersionRow, action: LifecycleAction, at: string, key: KeyRow): { write: RowWrite; to: KeyState } {
  const to = transitionFor(v.state, action);
  if (!to) {
    throw archiveError(
      'LIFECYCLE_TRANSITION_INVALID',
      `Version ${v.version} of this key is ${v.state}; it cannot be ${pastTense(action)}.`,
      `From ${v.state} the possible steps are: ${allowedActions(v.state).join(', ') || 'none (final state)'}.`,
      { from: v.state, action },
    );
  }
  const p = to === 'active' && v.state === 'pre-active' ? plannedDates(at, { originatorUsageMonths: key.oup_months, recipientExtraMonths: key.rup_extra_months }) : null;
  const dates = datesAfter(v.state, to, datesOf(v), at, p);
  const { mac, ...values } = v;
  const row: Record<string, unknown> = {
    ...values,
    state: to,
    ...datesRow(dates),
    rotation_due: p ? p.rotationDue : v.rotation_due,
    revision: v.revision + 1,
    updated_at: nowIso(),
  };
  // Destruction shreds the archived material; the metadata stays (SP 800-57 §8.3.4).
  if (MATERIAL_GONE.includes(to)) row.wrapped = null;
  return { write: { spec: RECORDS.version, op: 'update', row, expectMac: mac }, to };
}

/**
 * A lifecycle step on one version. Activating a version while another version of the same key
 * is active is a rotation: the old one is deactivated in the same transaction.
 */
export async function transition(ctx: ArchiveContext, selector: string, action: LifecycleAction, opts: { actor: string; reason?: string }): Promise<VersionSummary> {
  const store = requireStore(ctx);
  if (!isLifecycleAction(action)) invalidInput(`"${String(action)}" is not a lifecycle action.`, 'Use activate, suspend, resume, deactivate, compromise or destroy.');
  if (opts.reason !== undefined) {
    const p = textProblem('The reason', opts.reason);
    if (p) invalidInput(p, FIX_INPUT);
  }
  const target = resolveVersion(ctx, selector);
  let shredded = false;
  await store.commit(() => {
    const v = ctx.db.prepare('SELECT * FROM key_versions WHERE id = ?').get(target.id) as VersionRow;
    const key = keyRow(ctx, v.key_id);
    const now = nowIso();
    const rows: RowWrite[] = [];
    const audit: AuditDraft[] = [];
    if (action === 'activate' || action === 'resume') {
      const other = ctx.db.prepare("SELECT * FROM key_versions WHERE key_id = ? AND state = 'active' AND id <> ?").get(v.key_id, v.id) as VersionRow | undefined;
      if (other && action === 'resume') {
        throw archiveError(
          'ARCHIVE_CONFLICT',
          `Version ${other.version} of "${key.label}" became active while version ${v.version} was suspended; only one version may be active.`,
          `Deactivate version ${v.version} instead, or deactivate version ${other.version} first.`,
        );
      }
      if (other) {
        rows.push(transitionWrite(other, 'deactivate', now, key).write);
        audit.push({ actor: opts.actor, action: 'version.deactivate', row: 0, keyId: key.id, details: { label: key.label, version: other.version, from: 'active', to: 'deactivated', reason: `rotation to version ${v.version}` } });
      }
    }
    const { write, to } = transitionWrite(v, action, now, key);
    shredded = MATERIAL_GONE.includes(to) && v.wrapped !== null;
    rows.push(write);
    audit.push({ actor: opts.actor, action: `version.${action}`, row: rows.length - 1, keyId: key.id, details: { label: key.label, version: v.version, from: v.state, to, reason: opts.reason ?? null, ...(shredded ? { shredded: true } : {}) } });
    return { rows, audit };
  });
  if (shredded) {
    // secure_delete zeroed the freed space in the database pages; the old page images are still in
    // the WAL until a checkpoint copies the new pages back and truncates it.
    try {
      ctx.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      /* a reader holds an old snapshot; the next checkpoint does it */
    }
  }
  return summary(ctx, target.id);
}

function pastTense(a: LifecycleAction): string {
  return { activate: 'activated', suspend: 'suspended', resume: 'resumed', deactivate: 'deactivated', compromise: 'marked compromised', destroy: 'destroyed' }[a];
}

/**
 * Shredding archived material on a workstation record needs the custodians' quorum (issue #10
 * part 5): the lifecycle step "destroy" is refused at the front doors (the app's archive screen,
 * `custos archive state`) once the archive holds a workstation record, and is done by the
 * destruction ceremony, which calls `transition` itself under its approvals. A plain archive with no
 * record (one made with `archive init` alone) keeps the direct step, audited as before.
 */
export function refuseDestroyOutsideCeremony(hasRecord: boolean, action: string, version: string): void {
  if (action !== 'destroy' || !hasRecord) return;
  fail(
    'KEY_PROTECTED',
    `Shredding archived key material needs the custodians' quorum on this workstation: “${version}” is destroyed by a destruction ceremony, not by a lifecycle step.`,
    `Nothing was changed. Plan a destruction: custos ceremony plan custos/destruction --params destroy.yaml (with versions: ["${version}"] and the reason), or “Destroy in a ceremony…” on the version view.`,
  );
}
