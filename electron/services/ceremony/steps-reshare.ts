// Re-share and custodian change (issue #10 part 7). A quorum of the old holders enters their shares
// (restore's enter-shares, checked one by one against the backup's record), the Backup Key is
// rebuilt in memory and checked against the check value recorded at the backup (restore's
// rebuild-backup-key), and split again for the new holders with the backup's hand-over and
// verification round. The commit records the new share set for the same Backup Key: the wrapped
// keys do not change, so nothing touches the HSM.
//
// What a plain re-share cannot do: make the old shares useless. A threshold of old shares still
// rebuilds the same Backup Key, which still unwraps the same blobs (SLIP-39 and XOR shares carry no
// expiry). The ceremony says so at every step that matters, records which old holders attest that
// they destroyed their share (signed in their own card), and names those who did not.
//
// With rotateBackupKey, the re-share rotates the Backup Key: after the old one is rebuilt and
// checked, a new one is drawn from the token's RNG and it is the new one that is split. At the
// commit (after every new share passed the verification round, under the quorum) both go into the
// HSM as session keys; each target is unwrapped from its old blob into a session object (sensitive,
// not extractable), its check value compared with the one recorded at the backup, and destroyed;
// then the HSM host re-wraps every blob under the new Backup Key (AES-KWP) and proves each new blob
// holds the same key (rewrap.ts); both Backup Keys are destroyed, and the new blobs go into the
// commit's outcome. From then on Custos refuses every
// restore, drill, share audit or re-share of a backup with the old Backup Key (BACKUP_ROTATED).
// In the same commit the old wrapped blobs are shredded from the archive file: every journal entry
// holding one keeps its SHA-256 only (planRedaction; docs/FORMAT.md "Shredded blobs"). Copies in
// evidence bundles cannot be recalled: the check step lists them, to be destroyed.
import { createHash, randomBytes } from 'node:crypto';
import type { RunState } from '../../../shared/ceremony/run';
import { foldJournal, type JournalEvent } from '../../../shared/ceremony/run';
import { resolveSteps } from '../../../shared/ceremony/definition';
import { fail } from '../../../shared/result';
import type { HsmClient } from '../../hsm/client';
import type { UnwrapTemplate } from '../../hsm/protocol';
import { hsmKeyCheck } from '../hsm-kcv';
import { keyCheckValues } from '../kcv';
import { requireRunnable } from './engine';
import type { BackupFacts } from './plan';
import { backupFacts } from './plan';
import { blobSha256, journalEntryHash } from './journal-chain';
import { canonicalJson } from '../../../shared/ceremony/canonical';
import type { CeremonyRecord } from './record';
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
  rotateBackupKey?: boolean;
}

const params = (s: RunState) => s.plan.params as unknown as ResharePlan;

/** What a rotating re-share says after its commit, plainly. */
export const ROTATION_NOTE_SHREDDED =
  'The Backup Key is rotated: the keys are wrapped again under a new Backup Key, which only the new shares rebuild, and Custos refuses any restore, drill or share audit of the old backup. The old wrapped blobs are shredded from this workstation’s archive file (their SHA-256 stays, so old journals still verify). Copies outside it cannot be recalled: the evidence bundles listed at the check step hold them, and with a threshold of old shares they still open the keys — destroy those bundles, and every old holder destroys their sheet.';

/** What a rotating re-share says before its commit about the old shares and the old wrapped blobs, plainly. */
export const ROTATION_NOTE =
  'The Backup Key is rotated: the keys are wrapped again under a new Backup Key, which only the new shares rebuild, and Custos refuses any restore, drill or share audit of the old backup. When the new set is recorded, the old wrapped blobs are shredded from this workstation’s archive file (journal entries written before blobs carried their SHA-256 excepted: the commit names them). Copies outside it cannot be recalled: the evidence bundles listed here hold them, and with a threshold of old shares they still open the keys — destroy those bundles, and every old holder destroys their sheet.';

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
  const rotate = p.rotateBackupKey === true;
  const bundles = rotate ? bundlesHoldingBlobs(ctx.record, p.backup.backupKeyCheck) : [];
  const oldSet = p.previous.scheme === 'xor' ? `${p.previous.count} XOR components (all needed)` : `SLIP-39, any ${p.previous.threshold} of ${p.previous.count}`;
  const newSet = p.scheme === 'xor' ? `${p.holders.length} XOR components (all needed)` : `SLIP-39, any ${p.threshold} of ${p.holders.length}`;
  await complete(ctx, actor, {
    checks: [
      `backup ${p.backup.run}: Backup Key check value ${p.backup.backupKeyCheck}`,
      `old share set: ${oldSet}, held by ${p.oldHolders.map((h) => h.name).join(', ')}`,
      `new share set: ${newSet}, for ${p.holders.map((h) => h.name).join(', ')}`,
      rotate
        ? `Backup Key rotated: a new one for the new set; ${p.targets.map((t) => `“${t.label}”`).join(', ')} re-wrapped under it in the HSM, each check value compared with ${p.backup.run.slice(0, 8)}’s`
        : `keys wrapped under it, unchanged: ${p.targets.map((t) => `“${t.label}”`).join(', ')}`,
      ...(rotate ? [`bundles that hold the old wrapped blobs (to destroy): ${bundles.length ? bundles.map((b) => `${b.name} (${b.type}, ${b.run.slice(0, 8)})`).join(', ') : 'none recorded'}`] : []),
    ],
    ...(rotate ? { rotate: true, oldBlobBundles: bundles } : {}),
    note: rotate ? ROTATION_NOTE : OLD_SHARES_NOTE,
  });
}

/**
 * The evidence bundles this record wrote that hold the blobs of the Backup Key with this check value:
 * the backup's and each re-share's (backup-blobs.json), and each restore's and drill's (its plan in
 * transcript.json). Software cannot recall them; the ceremony lists them to be destroyed.
 */
export function bundlesHoldingBlobs(record: CeremonyRecord, backupKeyCheck: string): Array<{ run: string; type: string; name: string; hash: string }> {
  const out: Array<{ run: string; type: string; name: string; hash: string }> = [];
  const same = (x: unknown) => typeof x === 'string' && x.toLowerCase() === backupKeyCheck.toLowerCase();
  for (const r of record.runs()) {
    if (r.status !== 'completed' || !['backup', 'reshare', 'restore', 'restore-drill'].includes(r.type)) continue;
    const stored = record.loadRun(r.run);
    if (!stored) continue;
    const state = foldJournal(stored.entries, resolveSteps(stored.definition, () => 1));
    if (!state.bundle) continue;
    const out1 = (kind: string) => {
      const st = state.steps.find((x) => x.kind === kind);
      return (st ? state.step[st.id]!.outcome : null) ?? {};
    };
    const holds =
      r.type === 'backup'
        ? same(out1('make-backup-key').checkValue)
        : r.type === 'reshare'
          ? same(out1('commit-reshare').backupKeyCheck ?? out1('rebuild-backup-key').checkValue)
          : same((state.plan.params.backup as { backupKeyCheck?: string } | undefined)?.backupKeyCheck);
    if (holds) out.push({ run: r.run, type: r.type, name: state.bundle.name, hash: state.bundle.hash });
  }
  return out;
}

/** A rotating re-share's new Backup Key: 32 bytes from the token's RNG, in this process's memory only. */
export async function newBackupKey(ctx: StepContext): Promise<{ bk: Buffer; checkValue: string }> {
  const random = await ctx.services.hsm.call('random', { path: ctx.session.module, token: ctx.session.token, length: 32 });
  const bk = Buffer.from(random);
  Buffer.from(random.buffer, random.byteOffset, random.byteLength).fill(0);
  return { bk, checkValue: keyCheckValues('AES', bk).cmac };
}

type Blob = BackupFacts['blobs'][number];

/**
 * Each target unwrapped from its old blob under the old Backup Key (`oldBkId`, in the HSM) into a
 * session object — sensitive and not extractable — whose check value is compared with the one
 * recorded at the backup, then destroyed. Only when every one matched are the blobs re-wrapped
 * under the new Backup Key (`newBkId`) by the HSM host's `rewrap` (electron/hsm/host/rewrap.ts):
 * unwrapped into a session object that may leave the token only wrapped, wrapped under the new key
 * (AES-KWP), and the new blob proved to hold the same key (unwrapped under the new key, wrapped
 * under the old, compared byte for byte with the old blob), inside one call of the host. A check
 * value that does not match stops everything with CHECK_VALUE_MISMATCH before anything is
 * re-wrapped: nothing is returned, so nothing is recorded. No session object outlives the call.
 */
export async function rewrapTargets(hsm: Pick<HsmClient, 'call'>, t: { path: string; token: string }, run: string, oldBkId: string, newBkId: string, targets: readonly Blob[]): Promise<{ blobs: Blob[]; results: Array<{ target: string; label: string; expected: string; got: string; matches: true }> }> {
  const results: Array<{ target: string; label: string; expected: string; got: string; matches: true }> = [];
  for (const b of targets) {
    const keyType = (b.keyType ?? 'aes') as UnwrapTemplate['keyType'];
    const idHex = randomBytes(16).toString('hex');
    const template: UnwrapTemplate = {
      kind: b.kind,
      keyType,
      label: `custos-rewrap/${run}/${b.target}`,
      idHex,
      usages: keyType === 'generic-secret' ? ['sign'] : keyType === 'aes' && b.target === 'archive-kek' ? ['wrap'] : b.kind === 'private' ? ['sign'] : ['encrypt', 'wrap'],
      extractable: false,
      onToken: false,
    };
    const o = await hsm.call('unwrap', { ...t, unwrapping: { idHex: oldBkId, kind: 'secret' }, wrapped: Buffer.from(b.wrapped, 'hex'), mechanism: 'aes-kwp', template });
    let got: string | null;
    try {
      const cv = await hsmKeyCheck({ hsm: hsm as HsmClient, ...t }, { ref: { idHex, kind: b.kind }, kind: b.kind, keyType: o.keyType, canSign: o.usage.sign }, { hmac: true });
      got = (cv.hmac ?? cv.checkValues?.cmac ?? cv.publicKey?.fingerprint.hex ?? null)?.toLowerCase() ?? null;
    } finally {
      await hsm.call('destroy', { ...t, ref: { idHex } }).catch(() => undefined);
    }
    const expected = b.checkValue?.toLowerCase() ?? null;
    if (expected === null || got !== expected) {
      fail('CHECK_VALUE_MISMATCH', `“${b.label}” unwrapped from the old blob with check value ${got ?? '—'}, not ${expected ?? '—'} as recorded at the backup.`, 'Nothing was re-wrapped or recorded: the old backup, its blobs and its shares are as they were. Raise an exception and abort: the backup or its record is not what it should be.');
    }
    results.push({ target: b.target, label: b.label, expected, got, matches: true });
  }
  const wrapped = await hsm.call('rewrap', { ...t, from: { idHex: oldBkId, kind: 'secret' }, to: { idHex: newBkId, kind: 'secret' }, items: targets.map((b) => ({ wrapped: Buffer.from(b.wrapped, 'hex'), kind: b.kind, keyType: (b.keyType ?? 'aes') as UnwrapTemplate['keyType'] })) });
  if (wrapped.length !== targets.length) fail('CHECK_VALUE_MISMATCH', `The HSM re-wrapped ${wrapped.length} of ${targets.length} keys.`, 'Nothing was recorded. Abort and report the token model and firmware.');
  return {
    blobs: targets.map((b, i) => {
      const hex = Buffer.from(wrapped[i]!).toString('hex');
      return { ...b, wrapped: hex, wrappedSha256: blobSha256(hex) };
    }),
    results,
  };
}

/**
 * The journal entries of this record that hold the old blobs' bytes, each with its redacted details:
 * every blob object whose `wrapped` is an old blob loses its bytes and keeps `wrappedSha256`, so the
 * entry hashes as before (journal-chain.ts) and its run's chain still verifies. An entry whose old
 * bytes are not committed to by a digest (written before blobs carried one) would hash differently
 * without them: it is left as it is, and listed (docs/FORMAT.md "Shredded blobs").
 */
export function planRedaction(record: CeremonyRecord, oldHex: ReadonlySet<string>, by: string): { redact: Array<{ run: string; seq: number; details: string }>; kept: Array<{ run: string; seq: number }> } {
  const redact: Array<{ run: string; seq: number; details: string }> = [];
  const kept: Array<{ run: string; seq: number }> = [];
  const hexes = [...oldHex];
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const shred = typeof o.wrapped === 'string' && oldHex.has(o.wrapped) && typeof o.wrappedSha256 === 'string' && o.wrappedSha256 === blobSha256(o.wrapped);
    for (const [k, x] of Object.entries(o)) if (!(shred && k === 'wrapped')) out[k] = strip(x);
    return out;
  };
  for (const r of record.runs()) {
    const stored = record.loadRun(r.run);
    if (!stored) continue;
    for (const e of stored.entries) {
      const text = canonicalJson(e.event);
      if (!hexes.some((h) => text.includes(h))) continue;
      const event = strip(e.event) as JournalEvent;
      const after = canonicalJson(event);
      if (hexes.some((h) => after.includes(h)) || journalEntryHash({ ...e, event }) !== e.hash) {
        kept.push({ run: r.run, seq: e.seq });
        continue;
      }
      redact.push({ run: r.run, seq: e.seq, details: canonicalJson({ event, prev: e.prev, redacted: { version: 1, by } }) });
    }
  }
  return { redact, kept };
}

const newBkIdOf = (run: string) => createHash('sha256').update(`custos-bk/${run}`).digest('hex').slice(0, 32);
const oldBkIdOf = (run: string) => createHash('sha256').update(`custos-bk-old/${run}`).digest('hex').slice(0, 32);

/** Resume after a crash in a rotating commit: the new Backup Key (a token object when the SO made it trusted) is destroyed. */
export async function cleanUpCommitReshare(ctx: StepContext): Promise<void> {
  const t = { path: ctx.session.module, token: ctx.session.token };
  for (const id of [newBkIdOf(ctx.run.state.plan.run), oldBkIdOf(ctx.run.state.plan.run)]) await ctx.services.hsm.call('destroy', { ...t, ref: { idHex: id } }).catch(() => undefined);
}

/**
 * The new share set, recorded for the same Backup Key and blobs; the Backup Key leaves memory. With
 * rotateBackupKey the keys are re-wrapped under the new Backup Key first (see the top).
 */
export async function runCommitReshare(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const p = params(s);
  if (p.rotateBackupKey === true) return commitRotation(ctx);
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
    ...(missing.length
      ? {
          note:
            p.rotateBackupKey === true
              ? `${missing.map((h) => `${h.name} (share ${h.index})`).join(', ')} did not attest: ${missing.length === 1 ? 'that share still rebuilds' : 'those shares still rebuild'}, with others of the old set, the old Backup Key — which Custos no longer uses, but which opens a copy of an old wrapped blob outside Custos (the bundles listed at the check step hold them).`
              : `${missing.map((h) => `${h.name} (share ${h.index})`).join(', ')} did not attest: ${missing.length === 1 ? 'that share stays' : 'those shares stay'} able to rebuild the Backup Key with others of the old set until it is rotated.`,
        }
      : { note: 'Every old holder attested that their share is destroyed.' }),
  });
}

/**
 * The rotating commit: the targets re-wrapped under the new Backup Key, the new set and blobs
 * recorded. No SO PIN: the keys come out of the old blobs under the old Backup Key, which the old
 * quorum has just rebuilt, not out of the token's originals (whose CKA_WRAP_WITH_TRUSTED the
 * backup's commit honours); both Backup Keys are session objects of the user's session.
 */
async function commitRotation(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const p = params(s);
  const actor = stepActor(ctx, 'operator');
  const split = s.steps.find((x) => x.kind === 'split');
  const out = split ? s.step[split.id]!.outcome : null;
  if (!out) fail('CEREMONY_STEP_BLOCKED', 'The new shares have not been made yet.', 'Run the steps in order.');
  const sec = ctx.secrets.get(s.plan.run);
  if (!sec || sec.bk.length !== 32 || sec.oldBk?.length !== 32) fail('CEREMONY_INTERRUPTED', 'The old and new Backup Keys are not in this process any more.', 'Resume the ceremony: the new share set is voided, and the old holders enter their shares again.');
  const rebuilt = s.steps.find((x) => x.kind === 'rebuild-backup-key');
  const newCheck = String(((rebuilt ? s.step[rebuilt.id]!.outcome : null)?.newBackupKey as { checkValue?: string } | undefined)?.checkValue ?? '');
  if (keyCheckValues('AES', sec.bk).cmac !== newCheck) fail('CHECK_VALUE_MISMATCH', 'The new Backup Key in memory is not the one the new shares were made from.', 'Abort the ceremony and plan the re-share again.');
  const record = out.shareSetRecord ? JSON.stringify(out.shareSetRecord) : null;
  const shareSetFingerprint = createHash('sha256').update(record ?? JSON.stringify(out)).digest('hex');
  const t = { path: ctx.session.module, token: ctx.session.token };
  const run = s.plan.run;
  const newId = newBkIdOf(run);
  const oldId = oldBkIdOf(run);
  const hsm = ctx.services.hsm;
  await journaled(ctx, actor, { supersedes: p.backup.run, holders: p.holders.map((h) => h.name), rotate: true, backupKeyId: newId, targets: p.targets.map((x) => x.label) }, async () => {
    let rewrapped: Awaited<ReturnType<typeof rewrapTargets>>;
    try {
      for (const [id, key, label] of [[oldId, sec.oldBk!, `custos-backup-key-old/${run}`], [newId, sec.bk, `custos-backup-key/${run}`]] as const) {
        const value = Buffer.from(key);
        try {
          await hsm.call('importSecretPlain', { ...t, value, template: { kind: 'secret', keyType: 'aes', label, idHex: id, usages: ['wrap'], extractable: false, onToken: false } });
        } finally {
          value.fill(0);
        }
      }
      rewrapped = await rewrapTargets(hsm, t, run, oldId, newId, p.targets.map(({ name: _name, ...b }) => b));
    } finally {
      for (const id of [newId, oldId]) await hsm.call('destroy', { ...t, ref: { idHex: id } }).catch(() => undefined);
    }
    ctx.secrets.wipe(run);
    // Shredded in the same commit that records the new set and blobs: never before, never apart.
    const { redact, kept } = planRedaction(ctx.record, new Set(p.targets.map((b) => b.wrapped).filter((w): w is string => typeof w === 'string')), run);
    return {
      outcome: {
        blobs: rewrapped.blobs,
        results: rewrapped.results,
        backupKeyCheck: newCheck,
        reshareOf: p.backup.run,
        rotatedFrom: { run: p.backup.run, backupKeyCheck: p.backup.backupKeyCheck },
        shareSet: shareSetFingerprint,
        oldSharesValid: false,
        oldBlobsShredded: kept.length === 0,
        shredded: redact.map((x) => ({ run: x.run, seq: x.seq })),
        notShredded: kept,
        note: kept.length ? `${ROTATION_NOTE_SHREDDED} ${kept.length} journal entr${kept.length === 1 ? 'y' : 'ies'} written before blobs carried their SHA-256 (${[...new Set(kept.map((k) => k.run.slice(0, 8)))].join(', ')}) still hold old blobs: they cannot be redacted without breaking their run's hash chain, and stay.` : ROTATION_NOTE_SHREDDED,
      },
      effects: { shareSet: shareSetEffect(run, p, shareSetFingerprint, record), redact },
    };
  });
}
