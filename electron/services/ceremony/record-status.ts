// The record as the Ceremonies screen's header and the drill dashboard show it: the register, the
// policy, and every completed backup with its last drill and when the next is due.
import type { Policy } from '../../../shared/ceremony/policy';
import type { Role } from '../../../shared/ceremony/roles';
import { CustosError } from '../../../shared/result';
import { backupFacts } from './plan';
import type { CeremonyRecord } from './record';

export interface BackupStatus {
  run: string;
  at: string;
  targets: string[];
  scheme: string;
  threshold: number;
  holders: string[];
  /** The last drill (or restore) that proved the shares rebuild the key, if any. */
  lastDrill: string | null;
  /** When the next drill is due under the policy's interval. */
  drillDue: string;
  overdue: boolean;
  /** A re-share: the backup (or earlier re-share) whose share set it replaced; the same Backup Key. */
  reshareOf: string | null;
  /** Re-shares of this share set. Its shares stay valid all the same, until the Backup Key is rotated. */
  resharedBy: string[];
  /** The last completed share audit of this set (its holders checked their shares), if any. */
  lastAudit: string | null;
}

export interface RecordStatus {
  exists: boolean;
  name: string | null;
  practice: boolean;
  token: string | null;
  policy: Policy;
  /** Every completed backup with its drill status (issue #10: drills due or overdue show on a dashboard). */
  backups: BackupStatus[];
  people: Array<{ id: string; name: string; roles: Role[]; status: string; credential: { kind: string; fingerprint: string; card: { serial: string; model: string } | null } | null }>;
}

/** The backup (its run) that a run's plan names: a drill's, a restore's, an audit's or a re-share's. */
function backupNamedBy(r: CeremonyRecord, run: string): string | undefined {
  const planned = r.loadRun(run)?.entries[0]?.event;
  return planned?.type === 'run.planned' ? (planned.plan.params.backup as { run?: string } | undefined)?.run : undefined;
}

/** For each backup, when the latest completed run of these types that names it ended. */
function latestByBackup(r: CeremonyRecord, runs: ReturnType<CeremonyRecord['runs']>, types: string[]): Map<string, string> {
  const latest = new Map<string, string>();
  for (const x of runs) {
    if (!types.includes(x.type) || x.status !== 'completed' || !x.endedAt) continue;
    const of = backupNamedBy(r, x.run);
    if (of && (!latest.has(of) || latest.get(of)! < x.endedAt)) latest.set(of, x.endedAt);
  }
  return latest;
}

/** Completed backups, each with the date of its last successful drill or restore and when the next drill is due. */
export function backupStatuses(r: CeremonyRecord, now: Date): BackupStatus[] {
  const runs = r.runs();
  const interval = r.policy().drillIntervalMonths;
  const out: BackupStatus[] = [];
  const audited = latestByBackup(r, runs, ['share-audit']);
  const drilled = latestByBackup(r, runs, ['restore-drill', 'restore']);
  const sets = runs.filter((x) => (x.type === 'backup' || x.type === 'reshare') && x.status === 'completed');
  const reshareOf = new Map<string, string>();
  for (const b of sets.filter((x) => x.type === 'reshare')) {
    const of = backupNamedBy(r, b.run);
    if (of) reshareOf.set(b.run, of);
  }
  for (const b of sets) {
    const stored = r.loadRun(b.run);
    const planned = stored?.entries[0]?.event;
    if (!stored || planned?.type !== 'run.planned') continue;
    // A backup whose Backup Key a re-share rotated restores nothing any more: no drill is due for it.
    if (rotatedAway(r, b.run)) continue;
    const p = planned.plan.params as { targets: Array<string | { name: string }>; scheme: string; threshold: number; holders: Array<{ name: string }> };
    const last = drilled.get(b.run) ?? null;
    const from = new Date(last ?? b.endedAt ?? b.startedAt);
    const due = new Date(from);
    due.setUTCMonth(due.getUTCMonth() + interval);
    out.push({
      run: b.run,
      at: b.endedAt ?? b.startedAt,
      targets: p.targets.map((t) => (typeof t === 'string' ? t : t.name)),
      scheme: p.scheme,
      threshold: p.threshold,
      holders: p.holders.map((h) => h.name),
      lastDrill: last,
      drillDue: due.toISOString(),
      overdue: due <= now,
      reshareOf: reshareOf.get(b.run) ?? null,
      resharedBy: [...reshareOf].filter(([, of]) => of === b.run).map(([run]) => run),
      lastAudit: audited.get(b.run) ?? null,
    });
  }
  return out;
}

function rotatedAway(r: CeremonyRecord, run: string): boolean {
  try {
    backupFacts(r, run);
    return false;
  } catch (e) {
    return e instanceof CustosError && e.appError.code === 'BACKUP_ROTATED';
  }
}
