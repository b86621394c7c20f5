// What an interrupted `archive init` left behind, finished, adopted or cleared — and said so. Run by
// the door before the next init, before every write that logs in to a token, and (without the HSM)
// when the app starts. For each leftover (init-journal.ts) whose process is gone:
//
//   - the archive is at its real name with the journal's archive id: the init had finished and was
//     killed while tidying up → the temporary names go ("finished");
//   - the temporary file holds the committed identity row but was never linked: the archive is
//     complete → it is linked into place ("adopted"), unless another file took the name meanwhile;
//   - otherwise the archive never came to be → its temporary files go, and its planned keys are
//     destroyed in the HSM ("cleaned") as soon as a session on that token is at hand; until then the
//     journal stays, listing them ("pending").
//
// Destroying the keys of a real archive would lose every key archived under them, so a key is
// destroyed only when nothing shows that its archive was ever committed: not at its path, not in its
// temporary file, and no rollback anchor (written after every commit, anchors.ts) for its id.
import { existsSync } from 'node:fs';
import { parsePkcs11Uri } from '../../../shared/pkcs11-uri';
import type { ObjectRef } from '../../hsm/protocol';
import { isRunning, ranAt } from '../process-alive';
import type { AnchorStore } from './anchors';
import type { HsmBinding } from './crypto';
import { findLeftovers, isRunningHere, readJournal, removeJournal, type InitJournal, type Leftover } from './init-journal';
import { archiveIdAt, finishCreate, removeTempSet, reopenCreated } from './open';
import type { AuditDraft } from './store';

export type RecoveryOutcome = 'finished' | 'adopted' | 'cleaned' | 'pending';

export interface InitRecovery {
  outcome: RecoveryOutcome;
  /** The archive the init was making, and its id (null when its journal was unreadable or missing). */
  path: string;
  archiveId: string | null;
  startedAt: string | null;
  /** Labels of the keys destroyed in the HSM, and of those still waiting for a session on their token. */
  destroyed: string[];
  waiting: string[];
  removedFiles: number;
  /** The same, in a sentence for a person. */
  message: string;
}

export interface RecoveryOptions {
  folders: string[];
  /** A logged-in session, to destroy an abandoned init's keys; null: keys wait for the next login. */
  binding: HsmBinding | null;
  /** Whether `binding` is a session on the token this journal's keys were made on. */
  holdsKeys(j: InitJournal): boolean;
  anchors: AnchorStore | null;
  notice(line: string): void;
  /** How long to wait for a dead init's HSM host to finish its last call (it exits within ~2 s: hsm/host/lifeline.ts). */
  hostGraceMs?: number;
}

export async function recoverInterruptedInits(o: RecoveryOptions): Promise<InitRecovery[]> {
  const done: InitRecovery[] = [];
  const seen = new Set<string>();
  for (const folder of o.folders) {
    for (const left of findLeftovers(folder)) {
      if (seen.has(left.tmp)) continue;
      seen.add(left.tmp);
      const r = await recoverOne(left, o);
      if (r) {
        done.push(r);
        o.notice(r.message);
      }
    }
  }
  return done;
}

/** Audit entries for what was recovered, for the archive being written or created at the same time. */
export function recoveryAudit(recovered: InitRecovery[], actor: string): AuditDraft[] {
  return recovered.map((r) => ({
    actor,
    action: 'archive.init-recovery',
    details: { outcome: r.outcome, path: r.path, archiveId: r.archiveId, startedAt: r.startedAt, destroyed: r.destroyed, waiting: r.waiting, removedFiles: r.removedFiles },
  }));
}

async function recoverOne(left: Leftover, o: RecoveryOptions): Promise<InitRecovery | null> {
  if (left.journal && isRunningHere(left.journal)) return null;
  const path = left.tmp.replace(/\.init-\d+-\d+$/, '');
  const j = left.journal ? readJournal(left.journal) : null;
  if (!j) {
    // No journal (a leftover of an older version) or one cut off by a power loss: in both cases no
    // key can be named. The journal is flushed before the first key is made, so a cut-off one
    // means none was; without a journal, keys are not destroyed on a guess.
    if (ranAt(left.pid, left.madeAt)) return null;
    const removed = removeTempSet(left.tmp).length + (left.journal ? 1 : 0);
    if (left.journal) removeJournal(left.journal);
    if (removed === 0) return null;
    const what = left.journal ? 'its journal was cut off before any key was made' : 'it left no journal, so any keys it made cannot be named';
    return result('cleaned', path, null, null, [], [], removed, `Removed ${removed} temporary file(s) of an archive init of ${path} that was interrupted (${what}).`);
  }
  if (!(await writerGone(j, o.hostGraceMs ?? 5000))) return null;
  // Counted now: reopening the temporary file folds its -wal and -shm away.
  const files = countFiles(j.tmp) + 1;

  if (archiveIdAt(j.path) === j.archiveId) {
    removeTempSet(j.tmp);
    removeJournal(left.journal!);
    return result('finished', j.path, j.archiveId, j.startedAt, [], [], files, `An archive init interrupted on ${j.startedAt} had already created ${j.path}; its ${files} leftover file(s) were removed.`);
  }

  const reopened = reopenCreated(j.tmp, j.path);
  if (reopened && reopened.archiveId === j.archiveId) {
    if (!existsSync(j.path)) {
      try {
        finishCreate(reopened.creating);
        removeJournal(left.journal!);
        return result('adopted', j.path, j.archiveId, j.startedAt, [], [], files, `An archive init interrupted on ${j.startedAt} had written the archive completely but not yet put it in place; it is now at ${j.path} (archive ${j.archiveId}).`);
      } catch {
        /* the name was taken in between: fall through to keeping it */
      }
    } else {
      reopened.creating.db.close();
    }
    return result('pending', j.path, j.archiveId, j.startedAt, [], j.keys.map((k) => k.label), 0,
      `An archive init interrupted on ${j.startedAt} wrote a complete archive (${j.archiveId}) but another file now has its name ${j.path}; it was kept at ${j.tmp}, with its keys. Move it to a free name, or delete it and its keys yourself.`);
  }
  reopened?.creating.db.close();

  if (o.anchors?.get(j.archiveId)) {
    // Committed once, yet neither at its path nor in its temporary file: it was moved. Its keys are
    // in use; never destroy them automatically.
    removeJournal(left.journal!);
    return result('pending', j.path, j.archiveId, j.startedAt, [], [], 1, `An archive init interrupted on ${j.startedAt} had committed archive ${j.archiveId}, which is no longer at ${j.path}; its keys were kept.`);
  }

  removeTempSet(j.tmp);
  const removed = files - 1;
  const token = tokenName(j);
  if (!o.binding || !o.holdsKeys(j)) {
    return result('pending', j.path, j.archiveId, j.startedAt, [], j.keys.map((k) => k.label), removed,
      `An archive init of ${j.path} interrupted on ${j.startedAt} left keys on token “${token}” (${j.keys.map((k) => k.label).join(', ')})${removed ? ` and ${removed} temporary file(s), now removed` : ''}. They are destroyed the next time Custos writes to an archive while logged in to that token.`);
  }
  const { destroyed, waiting } = await destroyPlanned(o.binding, j);
  if (waiting.length === 0) removeJournal(left.journal!);
  const outcome: RecoveryOutcome = waiting.length === 0 ? 'cleaned' : 'pending';
  const keys = destroyed.length ? `destroyed ${destroyed.length} of its keys on token “${token}” (${destroyed.join(', ')})` : 'none of its keys had been made';
  const rest = waiting.length ? `; ${waiting.length} key(s) could not be destroyed yet (${waiting.join(', ')}) and are tried again next time` : '';
  return result(outcome, j.path, j.archiveId, j.startedAt, destroyed, waiting, removed + (waiting.length ? 0 : 1),
    `Cleaned up an archive init of ${j.path} interrupted on ${j.startedAt} (the archive was never created): ${keys}; ${removed + (waiting.length ? 0 : 1)} leftover file(s) removed${rest}.`);
}

/** Destroys the journal's keys that exist (both halves of a pair share label and id). */
export async function destroyPlanned(b: HsmBinding, j: Pick<InitJournal, 'keys'>): Promise<{ destroyed: string[]; waiting: string[] }> {
  const destroyed: string[] = [];
  const waiting: string[] = [];
  for (const k of j.keys) {
    const ref: ObjectRef = { label: k.label, idHex: k.idHex };
    try {
      const found = await b.hsm.call('objects', { path: b.module, token: b.token, ref });
      if (found.length === 0) continue;
      await b.hsm.call('destroy', { path: b.module, token: b.token, ref });
      destroyed.push(k.label);
    } catch {
      waiting.push(k.label);
    }
  }
  return { destroyed, waiting };
}

/**
 * True when the init's process is gone and its HSM host has ended too (a host finishes the call it
 * is in before it notices, so a key could still appear after its parent died: wait for it).
 */
async function writerGone(j: InitJournal, graceMs: number): Promise<boolean> {
  const mine = j.writer.pid === process.pid;
  if (!mine && isRunning(j.writer)) return false;
  if (mine || !j.host) return true;
  const until = Date.now() + graceMs;
  while (isRunning(j.host)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function countFiles(tmp: string): number {
  return ['', '-wal', '-shm', '-journal'].filter((s) => existsSync(`${tmp}${s}`)).length;
}

function tokenName(j: InitJournal): string {
  try {
    return parsePkcs11Uri(j.tokenUri ?? j.token).path.token ?? j.token;
  } catch {
    return j.token;
  }
}

function result(outcome: RecoveryOutcome, path: string, archiveId: string | null, startedAt: string | null, destroyed: string[], waiting: string[], removedFiles: number, message: string): InitRecovery {
  return { outcome, path, archiveId, startedAt, destroyed, waiting, removedFiles, message };
}
