// Restore and restore drill (issue #10 parts 1 and 2): a quorum of holders enters their shares,
// the Backup Key is rebuilt in memory and checked against the check value recorded at the backup,
// and each backed-up key is unwrapped into the HSM and its check value compared with the one
// recorded at the backup. A drill unwraps into session objects only (gone with the session, and
// destroyed at once): nothing is imported into the production token. The Backup Key goes into the
// HSM as a session object for the moment the unwrapping takes, and is zeroised in memory after.
//
// Each share is checked as it is entered, on its own: it must decode, belong to the backup's set
// (its identifier), be the share recorded for that holder (its fingerprint in the backup's record),
// and not be one already entered — so a wrong share is named before anyone else types theirs.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { currentStep, type RunState } from '../../../shared/ceremony/run';
import { combineComponents } from '../../../shared/components/xor';
import { shareFingerprint } from '../../../shared/shares/record';
import { combineMnemonics, decodeMnemonic, webCryptoSlip39 } from '../../../shared/slip39';
import { CustosError, fail } from '../../../shared/result';
import type { UnwrapTemplate } from '../../hsm/protocol';
import { hsmKeyCheck } from '../hsm-kcv';
import { keyCheckValues } from '../kcv';
import { append, requireNotInterrupted, requireRunnable, requireRunning } from './engine';
import { backupFacts, type BackupFacts, type SealedTo } from './plan';
import { complete, journaled } from './steps-common';
import { newBackupKey } from './steps-reshare';
import { stepActor, type StepContext } from './step-context';

export interface RestorePlan {
  backup: { run: string; scheme: 'slip39' | 'xor'; threshold: number; identifier: number | null; backupKeyCheck: string; targets: string[] };
  targets: BackupFacts['blobs'];
  holders: Array<{ person: string; name: string; index: number; fingerprint: string | null; checkValue: string | null; sealedTo?: SealedTo }>;
  destination?: { module: string; token: { uri: string; label: string; serial: string } } | null;
  /** A re-share: the old holders who enter shares (`holders` are then the new holders). */
  from?: RestorePlan['holders'];
}

const params = (s: RunState) => s.plan.params as unknown as RestorePlan;

/** The token the keys go into: the destination named at planning, or the workstation token. */
function destination(ctx: StepContext): { path: string; token: string; label: string } {
  const d = params(ctx.run.state).destination;
  return d ? { path: d.module, token: d.token.uri, label: d.token.label } : { path: ctx.session.module, token: ctx.session.token, label: ctx.run.state.plan.workstation.token.label };
}

const drill = (s: RunState) => s.plan.definition.type === 'restore-drill';
/** Who enters shares: the restore's holders, or a re-share's old holders. */
const entering = (p: RestorePlan) => p.from ?? p.holders;
const what = (s: RunState) => (drill(s) ? 'drill' : s.plan.definition.type === 'reshare' ? 're-share' : s.plan.definition.type === 'share-audit' ? 'share audit' : 'restore');

/**
 * A share of the backup whose holder is not named for this run: named all the same (from the
 * backup's record), so the room learns whose share was typed, not only that it is not this holder's.
 */
function unnamedOwner(ctx: StepContext, p: RestorePlan, match: (x: BackupFacts['shares'][number]) => boolean): BackupFacts['shares'][number] | null {
  try {
    return backupFacts(ctx.record, p.backup.run).shares.find((x) => match(x) && !entering(p).some((h) => h.person === x.holder)) ?? null;
  } catch {
    return null; // the backup's record unreadable: the plain refusal below still holds
  }
}
const needed = (p: RestorePlan) => (p.backup.scheme === 'xor' ? entering(p).length : p.backup.threshold);

/** The keys are not on the destination already (restore), and the backup's blobs are all there. */
export async function runCheckRestore(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const actor = stepActor(ctx, 'administrator');
  const p = params(ctx.run.state);
  const d = destination(ctx);
  // A backup whose Backup Key was rotated since this was planned restores nothing (BACKUP_ROTATED).
  backupFacts(ctx.record, p.backup.run);
  const checks: string[] = [`backup ${p.backup.run}: ${p.backup.scheme === 'xor' ? `${p.holders.length} XOR components` : `SLIP-39, any ${p.backup.threshold} shares`}`];
  for (const t of p.targets) {
    if (!/^[0-9a-f]+$/.test(t.wrapped) || t.wrapped.length < 48) fail('WRAPPED_KEY_INVALID', `The backup’s blob for “${t.label}” is not a wrapped key.`, 'Check the record (custos archive verify).');
    if (!drill(ctx.run.state)) {
      const there = await ctx.services.hsm.call('objects', { path: d.path, token: d.token, ref: { idHex: t.idHex } });
      const sameLabel = await ctx.services.hsm.call('objects', { path: d.path, token: d.token, ref: { label: t.label } });
      if (there.length || sameLabel.length) fail('INVALID_INPUT', `“${t.label}” is already on token “${d.label}”.`, 'Restore into a token that does not hold it (a new or replacement HSM); to prove the backup works without importing, run a restore drill.');
    }
    checks.push(`“${t.label}” (${t.keyType ?? t.kind}) ready, check value to expect ${t.checkValue ?? '—'}`);
  }
  await complete(ctx, actor, { checks, destination: d.label });
}

/** One holder's share, checked alone: decoded, of this set, this holder's own, not entered before. */
/** What a holder gives: typed words, or a way to get them (an envelope opened in their card: steps-sealed.ts). */
export type ShareInput = string | { sealed: (h: Holder, done: readonly string[]) => Promise<string> };
export const wordsOf = (input: ShareInput, h: Holder, done: readonly string[]): Promise<string> => (typeof input === 'string' ? Promise.resolve(input) : input.sealed(h, done));

export async function enterShare(ctx: StepContext, holderRef: string, input: ShareInput): Promise<{ index: number; entered: number; needed: number }> {
  requireRunning(ctx.run);
  requireNotInterrupted(ctx, ctx.run);
  const s = ctx.run.state;
  const step = currentStep(s);
  if (!step || step.kind !== 'enter-shares') fail('CEREMONY_STEP_BLOCKED', 'The ceremony is not at the entering of shares.', 'Follow the steps in order.');
  // The quorum (restore) must have approved before anyone types a share: the prerequisites say so.
  requireRunnable(ctx.run);
  const p = params(s);
  const h = entering(p).find((x) => x.person === holderRef || x.name.toLowerCase() === holderRef.toLowerCase());
  if (!h) fail('PERSON_NOT_FOUND', `“${holderRef}” is not one of the holders named for this ${what(s)}.`, 'Choose one of the holders.');
  const done = s.step[step.id]!.holders;
  if (done.includes(h.person)) fail('SHARE_DUPLICATE', `${h.name}’s share was entered already; the same share counts once.`, 'The next holder enters their share.');
  const sec = ctx.secrets.get(s.plan.run) ?? { bk: Buffer.alloc(0), shares: new Map(), shareBytes: new Map(), facts: {} };
  const record = await checkShare(ctx, p, h, done, await wordsOf(input, h, done));
  sec.shareBytes.set(h.person, record);
  ctx.secrets.set(s.plan.run, sec);
  const entered = done.length + 1;
  // The share that completes the set closes the step in the same write.
  const actor = { person: h.person, name: h.name, role: 'custodian' as const };
  ctx.run = await append(ctx, ctx.run, [
    { actor, event: { type: 'step.progress', step: step.id, holder: h.person, outcome: { holder: h.person, name: h.name, index: h.index, entered: true, ...(typeof input === 'string' ? {} : { from: 'sealed' }) } } },
    ...(entered >= needed(p) ? [{ actor, event: { type: 'step.completed' as const, step: step.id, outcome: { entered, needed: needed(p) } } }] : []),
  ]);
  return { index: h.index, entered, needed: needed(p) };
}

export type Holder = RestorePlan['holders'][number];

/**
 * One share, checked alone against the backup's record: it decodes, belongs to the backup's set, is
 * the share recorded for this holder, and is not one entered already (`done`). A wrong one is named
 * (whose it is, if it is another holder's). Returns the share's bytes for the caller to keep or wipe.
 */
export async function checkShare(ctx: StepContext, p: RestorePlan, h: Holder, done: readonly string[], text: string): Promise<Buffer> {
  let record: Buffer;
  if (p.backup.scheme === 'xor') {
    const hex = text.replace(/\s+/g, '');
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) fail('COMPONENT_INVALID', 'A component of this backup is 64 hexadecimal digits (16 groups of 4).', 'Type the component again from your sheet.');
    record = Buffer.from(hex, 'hex');
    const kcv = keyCheckValues('AES', record).cmac;
    const owner = entering(p).find((x) => x.checkValue === kcv);
    if (kcv !== h.checkValue) {
      record.fill(0);
      if (owner) fail('SHARE_WRONG_HOLDER', `This is component ${owner.index} (${owner.name}’s), not ${h.name}’s component ${h.index}.`, `${h.name} types their own component.`);
      const other = unnamedOwner(ctx, p, (x) => x.checkValue === kcv);
      if (other) fail('SHARE_WRONG_HOLDER', `This is component ${other.index} (${other.name}’s, who is not named to enter one here), not ${h.name}’s component ${h.index}.`, `${h.name} types their own component.`);
      fail('CHECK_VALUE_MISMATCH', `Component ${h.index} as entered does not have the check value recorded for it (${h.checkValue}); it has ${kcv}.`, `${h.name} checks the component against their sheet and types it again.`);
    }
  } else {
    let share;
    try {
      share = decodeMnemonic(text);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new CustosError({ code: code === 'UNKNOWN_WORD' ? 'SHARE_UNKNOWN_WORD' : code === 'WORD_COUNT' ? 'SHARE_WORD_COUNT' : code === 'CHECKSUM' ? 'SHARE_CHECKSUM' : 'SHARE_INVALID', message: 'The share as entered is not a valid SLIP-39 share (a word is misspelt, missing, or out of order).', action: 'Type the share again from your sheet.' });
    }
    if (p.backup.identifier !== null && share.identifier !== p.backup.identifier) {
      fail('SHARE_SET_MISMATCH', `This share is from another set (set ${share.identifier}), not from this backup’s (set ${p.backup.identifier}).`, `${h.name} enters the share they received at the backup ceremony of ${p.backup.run.slice(0, 8)}.`);
    }
    const fp = await shareFingerprint(share);
    if (fp !== h.fingerprint) refuseOtherShare(ctx, p, h, done, fp, 'This is');
    record = Buffer.from(text.trim().toLowerCase().split(/\s+/).join(' '), 'utf8');
  }
  return record;
}

/**
 * A share (typed, or named by a sealed envelope's header) whose fingerprint is not `h`'s: says whose
 * it is — entered already, another named holder's, a holder's not named here — or that the record
 * does not list it for `h`. `lead` begins the sentence ("This is", "This envelope holds").
 */
export function refuseOtherShare(ctx: StepContext, p: RestorePlan, h: Holder, done: readonly string[], fp: string, lead: string): never {
  const owner = entering(p).find((x) => x.fingerprint === fp);
  if (owner && done.includes(owner.person)) fail('SHARE_DUPLICATE', `${lead} share ${owner.index}, which ${owner.name} has entered already.`, `${h.name} enters their own share.`);
  if (owner) fail('SHARE_WRONG_HOLDER', `${lead} share ${owner.index} (${owner.name}’s), not ${h.name}’s share ${h.index}.`, `${h.name} enters their own share.`);
  const other = unnamedOwner(ctx, p, (x) => x.fingerprint === fp);
  if (other) fail('SHARE_WRONG_HOLDER', `${lead} share ${other.index} (${other.name}’s, who is not named to enter one in this ${what(ctx.run.state)}), not ${h.name}’s share ${h.index}.`, `${h.name} enters their own share.`);
  return fail('SHARE_NOT_IN_RECORD', `${lead === 'This is' ? 'This share of the set is' : `${lead} a share that is`} not the one recorded for ${h.name} (share ${h.index}).`, `${h.name} checks the share against their sheet.`);
}

export async function runRebuild(ctx: StepContext): Promise<void> {
  requireRunnable(ctx.run);
  const actor = stepActor(ctx, 'operator');
  const s = ctx.run.state;
  const p = params(s);
  const sec = ctx.secrets.get(s.plan.run);
  if (!sec || sec.shareBytes.size < needed(p)) fail('CEREMONY_INTERRUPTED', 'The shares entered are not in this process any more.', 'Resume the ceremony and enter the shares again.');
  let bk: Buffer;
  if (p.backup.scheme === 'xor') {
    const r = combineComponents([...sec.shareBytes.values()], 'AES');
    bk = Buffer.from(r.key);
    r.key.fill(0);
  } else {
    const words = [...sec.shareBytes.values()].map((b) => b.toString('utf8'));
    bk = Buffer.from(await combineMnemonics(words, new Uint8Array(0), webCryptoSlip39(globalThis.crypto)));
  }
  for (const b of sec.shareBytes.values()) b.fill(0);
  sec.shareBytes.clear();
  const kcv = keyCheckValues('AES', bk).cmac;
  const expected = Buffer.from(p.backup.backupKeyCheck.toLowerCase(), 'utf8');
  const got = Buffer.from(kcv.toLowerCase(), 'utf8');
  if (expected.length !== got.length || !timingSafeEqual(expected, got)) {
    bk.fill(0);
    ctx.secrets.wipe(s.plan.run);
    fail('CHECK_VALUE_MISMATCH', `The rebuilt Backup Key has check value ${kcv}, not ${p.backup.backupKeyCheck} as recorded at the backup: the shares are not of this backup, or one was copied wrongly.`, 'Resume the ceremony and enter the shares again; check each sheet against its fingerprint.');
  }
  // A re-share rotating the Backup Key: the new one is drawn now, and is what the split divides.
  const rotation = s.plan.definition.type === 'reshare' && (s.plan.params as { rotateBackupKey?: boolean }).rotateBackupKey === true ? await newBackupKey(ctx) : null;
  ctx.secrets.set(s.plan.run, rotation ? { ...sec, bk: rotation.bk, oldBk: bk } : { ...sec, bk });
  await complete(ctx, actor, { checkValue: kcv, matches: true, ...(rotation ? { newBackupKey: { bytes: 32, source: 'the token’s random number generator', checkValue: rotation.checkValue } } : {}) });
}

/** The Backup Key into the HSM (a session object), each key unwrapped and its check value compared. */
export async function runUnwrap(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  const p = params(s);
  const sec = ctx.secrets.get(s.plan.run);
  if (!sec || sec.bk.length !== 32) fail('CEREMONY_INTERRUPTED', 'The rebuilt Backup Key is not in this process any more.', 'Resume the ceremony and enter the shares again.');
  const d = destination(ctx);
  const isDrill = drill(s);
  const actor = stepActor(ctx, 'operator');
  const bkId = randomBytes(16).toString('hex');
  const made: string[] = [];
  await journaled(ctx, actor, { into: d.label, drill: isDrill, targets: p.targets.map((t) => t.label) }, async () => {
    const hsm = ctx.services.hsm;
    const value = Buffer.from(sec.bk);
    try {
      await hsm.call('importSecretPlain', { path: d.path, token: d.token, value, template: { kind: 'secret', keyType: 'aes', label: `custos-restore-bk/${s.plan.run}`, idHex: bkId, usages: ['wrap'], extractable: false, onToken: false } });
    } finally {
      value.fill(0);
    }
    const results: Array<Record<string, unknown>> = [];
    try {
      for (const t of p.targets) {
        const keyType = (t.keyType ?? 'aes') as UnwrapTemplate['keyType'];
        const idHex = isDrill ? randomBytes(16).toString('hex') : t.idHex;
        const template: UnwrapTemplate = {
          kind: t.kind,
          keyType,
          label: isDrill ? `custos-drill/${s.plan.run}/${t.target}` : t.label,
          idHex,
          usages: keyType === 'generic-secret' ? ['sign'] : keyType === 'aes' && t.target === 'archive-kek' ? ['wrap'] : t.kind === 'private' ? ['sign'] : ['encrypt', 'wrap'],
          extractable: !isDrill,
          onToken: !isDrill,
          wrapWithTrusted: !isDrill && t.wrapWithTrusted,
        };
        const o = await hsm.call('unwrap', { path: d.path, token: d.token, unwrapping: { idHex: bkId, kind: 'secret' }, wrapped: Buffer.from(t.wrapped, 'hex'), mechanism: 'aes-kwp', template });
        made.push(idHex);
        const cv = await hsmKeyCheck({ hsm, path: d.path, token: d.token }, { ref: { idHex, kind: t.kind }, kind: t.kind, keyType: o.keyType, canSign: o.usage.sign }, { hmac: true });
        const got = (cv.hmac ?? cv.checkValues?.cmac ?? cv.publicKey?.fingerprint.hex ?? null)?.toLowerCase() ?? null;
        const expected = t.checkValue?.toLowerCase() ?? null;
        results.push({ target: t.target, label: t.label, expected, got, matches: expected !== null && got === expected });
        if (expected === null || got !== expected) {
          fail('CHECK_VALUE_MISMATCH', `“${t.label}” unwrapped with check value ${got ?? '—'}, not ${expected ?? '—'} as recorded at the backup.`, 'Nothing was kept. Raise an exception: the backup or the record is not what it should be.');
        }
      }
    } catch (e) {
      // Nothing half-restored stays behind.
      for (const id of made) await hsm.call('destroy', { path: d.path, token: d.token, ref: { idHex: id } }).catch(() => undefined);
      throw e;
    } finally {
      await hsm.call('destroy', { path: d.path, token: d.token, ref: { idHex: bkId } }).catch(() => undefined);
      ctx.secrets.wipe(s.plan.run);
    }
    if (isDrill) for (const id of made) await hsm.call('destroy', { path: d.path, token: d.token, ref: { idHex: id } }).catch(() => undefined);
    return { outcome: { into: d.label, drill: isDrill, kept: !isDrill, results } };
  });
}

/** Resume after a crash in the unwrapping: whatever it had restored is destroyed (the check step proved none of it was there before). */
export async function cleanUpUnwrap(ctx: StepContext): Promise<void> {
  const s = ctx.run.state;
  if (drill(s)) return; // session objects went with the session
  const d = destination(ctx);
  for (const t of params(s).targets) await ctx.services.hsm.call('destroy', { path: d.path, token: d.token, ref: { idHex: t.idHex } }).catch(() => undefined);
}

/** The destination token, for the service to log in to when it is not the workstation token. */
export function destinationOf(ctx: StepContext): { path: string; token: string; label: string; separate: boolean } {
  return { ...destination(ctx), separate: !!params(ctx.run.state).destination };
}
