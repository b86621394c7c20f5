// Destruction under dual control (issue #10 part 5): the check and destroy steps, and resume.
//
// The check step (after the login) finds each token key, reads its check value, looks for every
// other copy Custos can see (copies.ts-style rules below, docs/ARCHITECTURE.md "Destruction"), says
// what stops working, raises one exception for each last copy and each workstation key, and amends
// the plan so that the fingerprint covers label, CKA_ID, algorithm and check value of each item.
// The destroy step needs the custodians' approvals (bound to that fingerprint), the witness's tick
// of the fingerprint step, and every exception decided and acknowledged; it journals its intent,
// destroys (C_DestroyObject; the archive's shred), then proves each item gone by a fresh lookup.
// NIST SP 800-88 Rev. 1 §4.7 asks for a record of each sanitisation: the certificate is built from
// these outcomes at sign-off (destruction-certificate.ts).
import { randomUUID } from 'node:crypto';
import { SYSTEM, type JournalEvent } from '../../../shared/ceremony/run';
import { fail } from '../../../shared/result';
import type { RawObject } from '../../hsm/protocol';
import { hsmKeyCheck, type HsmScope } from '../hsm-kcv';
import { WORKSTATION_KEY } from '../key-checks';
import { append, requireRunnable } from './engine';
import { backupFacts, withFingerprint } from './plan';
import type { DestructionPlan, PlannedVersion, ResolvedTokenKey } from './plan-destruction';
import { complete, crashHook, journaled } from './steps-common';
import { stepActor, type StepContext } from './step-context';

const params = (ctx: StepContext) => ctx.run.state.plan.params as unknown as DestructionPlan;
const tok = (ctx: StepContext) => ({ path: ctx.session.module, token: ctx.session.token });
const scope = (ctx: StepContext): HsmScope => ({ hsm: ctx.services.hsm, ...tok(ctx) });
const KEY_KINDS = ['secret', 'private', 'public'];

/** What the check step found about one item, as the run screen and the certificate show it. */
export interface CheckedItem {
  item: string;
  where: 'token' | 'archive';
  label: string;
  idHex: string | null;
  versionId: string | null;
  algorithm: string;
  checkValue: string | null;
  checkMethod: string | null;
  state: string | null;
  /** Every other copy Custos found (token objects, archived versions with material, backups). */
  copies: string[];
  lastCopy: boolean;
  /** For the workstation's own keys: what stops working once it is gone. */
  stops: string | null;
}

// ---- identifying keys -------------------------------------------------------------------------

const algorithmOf = (o: RawObject) => [o.keyType ?? 'unknown', o.bits ? String(o.bits) : null, o.curve].filter(Boolean).join('-');

async function keyObjects(ctx: StepContext, ref: { idHex?: string; label?: string }): Promise<RawObject[]> {
  return (await ctx.services.hsm.call('objects', { ...tok(ctx), ref })).filter((o) => KEY_KINDS.includes(o.kind));
}

/** The check values by which a key is recognised elsewhere: X9.24-1 CMAC/legacy, Custos's HMAC value, or the SPKI SHA-256. */
async function identify(ctx: StepContext, objs: RawObject[]): Promise<{ checkValue: string | null; checkMethod: ResolvedTokenKey['checkMethod']; values: string[] }> {
  const secret = objs.find((o) => o.kind === 'secret');
  try {
    if (secret) {
      const cv = await hsmKeyCheck(scope(ctx), { ref: { idHex: secret.idHex, kind: 'secret' }, kind: 'secret', keyType: secret.keyType, canSign: secret.usage.sign }, { hmac: true });
      if (cv.hmac) return { checkValue: cv.hmac, checkMethod: 'hmac-sha256-zeros', values: [cv.hmac] };
      const values = [cv.checkValues?.cmac, cv.checkValues?.legacy].filter((x): x is string => !!x);
      return { checkValue: cv.checkValues?.cmac ?? cv.checkValues?.legacy ?? null, checkMethod: cv.checkValues?.cmac ? 'aes-cmac' : cv.checkValues?.legacy ? 'tdes-ecb' : null, values };
    }
    const pair = objs[0]!;
    const cv = await hsmKeyCheck(scope(ctx), { ref: { idHex: pair.idHex }, kind: 'public' });
    const hex = cv.publicKey?.fingerprint.hex ?? null;
    return { checkValue: hex, checkMethod: hex ? 'spki-sha256' : null, values: hex ? [hex] : [] };
  } catch {
    // A key whose check value the token will not compute (no usage for it, or a private key whose
    // public half is gone) is still named by label and CKA_ID; it then has no copy Custos can match.
    return { checkValue: null, checkMethod: null, values: [] };
  }
}

async function resolveKey(ctx: StepContext, selector: string): Promise<ResolvedTokenKey & { values: string[] }> {
  const id = /^id:([0-9a-fA-F]{2,128})$/.exec(selector);
  const objs = await keyObjects(ctx, id ? { idHex: id[1]!.toLowerCase() } : { label: selector });
  if (!objs.length) fail('OBJECT_NOT_FOUND', `There is no key “${selector}” on the workstation token.`, 'Check the label or id (custos key list), abort this ceremony and plan it again with the right key. Nothing was destroyed.');
  const ids = new Set(objs.map((o) => o.idHex));
  const count = (k: string) => objs.filter((o) => o.kind === k).length;
  if (ids.size > 1 || count('secret') > 1 || count('private') > 1 || count('public') > 1) {
    fail('OBJECT_AMBIGUOUS', `Several keys on the token answer to “${selector}” (ids ${[...ids].join(', ')}).`, 'Abort, and plan again naming the key by its id ("id:HEX", shown by custos key list). Nothing was destroyed.');
  }
  const o = objs.find((x) => x.kind !== 'public') ?? objs[0]!;
  const cv = await identify(ctx, objs);
  const objects: ResolvedTokenKey['objects'] = count('secret') ? 'secret' : count('private') && count('public') ? 'pair' : count('private') ? 'private' : 'public';
  const ws = WORKSTATION_KEY.exec(o.label);
  return { selector, label: o.label, idHex: o.idHex, objects, algorithm: algorithmOf(o), checkValue: cv.checkValue, checkMethod: cv.checkMethod, workstationKey: ws ? ws[1]! : null, values: cv.values };
}

// ---- copies and consequences -----------------------------------------------------------------

/**
 * Other copies of a key, as far as this workstation can see: another object on the workstation
 * token with the same check value; an archived version with material (not destroyed here) with the
 * same check value or public-key fingerprint; a wrapped blob of a completed backup ceremony with
 * the same check value. Copies elsewhere (another HSM, a partner) are invisible to Custos, which is
 * why the last copy it can see needs an exception, not a refusal.
 */
async function copiesOf(ctx: StepContext, x: { label: string; kind: 'secret' | 'private'; keyType: string | null; values: string[] }, going: { ids: Set<string>; versions: Set<string> }): Promise<string[]> {
  if (!x.values.length) return [];
  const found: string[] = [];
  const all = (await ctx.services.hsm.call('objects', { ...tok(ctx), ref: {} })).filter((o) => o.kind === x.kind && (x.keyType === null || o.keyType === x.keyType) && !going.ids.has(o.idHex));
  for (const o of all) {
    const cv = await identify(ctx, [o]);
    if (cv.values.some((v) => x.values.includes(v))) found.push(`token object “${o.label}” (id ${o.idHex})`);
  }
  const versions = await ctx.services.withArchive(async (a) => a.search({ label: x.label, limit: 200 }).items);
  for (const v of versions) {
    if (!v.hasMaterial || going.versions.has(v.versionId)) continue;
    if ((v.checkValue && x.values.includes(v.checkValue)) || (v.fingerprint && x.values.includes(v.fingerprint))) found.push(`archived version ${v.label}@${v.version} (${v.state})`);
  }
  for (const r of ctx.record.runs()) {
    if (r.type !== 'backup' || r.status !== 'completed') continue;
    try {
      for (const b of backupFacts(ctx.record, r.run, { allowRotated: true }).blobs) if (b.checkValue && x.values.includes(b.checkValue)) found.push(`backup ${r.run.slice(0, 8)} of ${r.startedAt.slice(0, 10)} (“${b.label}”, wrapped under its Backup Key; the shares rebuild it)`);
    } catch {
      // A backup whose blobs cannot be read is no copy Custos can count on.
    }
  }
  return found;
}

/** What stops working when one of the workstation's own keys goes; MAC and audit keys in use are refused. */
function consequences(ctx: StepContext, k: ResolvedTokenKey, versionsUnderKek: number): string | null {
  const info = ctx.record.info;
  switch (k.workstationKey) {
    case 'archive-kek':
      return k.idHex === info.kek.idHex
        ? `This is the Archive KEK in use. Every archived version is wrapped under it: after this, none of the archive’s ${versionsUnderKek} version${versionsUnderKek === 1 ? '' : 's'} that still have material can be retrieved, restored, exported or backed up, and no new version can be archived. Only a restore of a backup of this KEK (custos/restore) brings it back.`
        : 'This is an earlier Archive KEK, no longer the one in use: any archived version still wrapped under it (a rotation not finished) can never be unwrapped again.';
    case 'archive-mac':
      if (k.idHex === info.mac.idHex) {
        fail('KEY_PROTECTED', `“${k.label}” is the archive MAC key in use: the record (including this ceremony’s own journal) is verified with it, so the ceremony could not record its own end and the archive could never be verified again.`, 'Rotate the MAC key first (its rotation ceremony), then destroy the old key in a new destruction ceremony. Nothing was destroyed.');
      }
      return 'This is an earlier archive MAC key, no longer the one in use: rows still carrying a MAC under it can no longer be verified (custos archive verify reports them).';
    case 'audit':
      if (k.checkValue === info.auditKey.fingerprint) {
        fail('KEY_PROTECTED', `“${k.label}” is the audit key in use: it signs every audit entry and evidence bundle, so this ceremony could not sign its own bundle and the archive would refuse every write.`, 'Rotate the audit key first (its rotation ceremony keeps the old public key), then destroy the old key in a new destruction ceremony. Nothing was destroyed.');
      }
      return 'This is an earlier audit key, no longer the one in use: nothing new can be signed with it; old checkpoints and bundles still verify with its public key, which the record keeps.';
    case 'backup-key':
      return 'This is a backup ceremony’s Backup Key left on the token: the backups wrapped under it can still be restored from their shares.';
    default:
      return null;
  }
}

// ---- check ------------------------------------------------------------------------------------

export async function runCheckDestruction(ctx: StepContext): Promise<void> {
  const step = requireRunnable(ctx.run);
  const actor = stepActor(ctx, 'administrator');
  const p = params(ctx);
  const keys = [];
  for (const k of p.keys) keys.push(await resolveKey(ctx, k.selector));
  if (new Set(keys.map((k) => k.idHex)).size !== keys.length) fail('INVALID_INPUT', 'The same key is named twice (by label and by id).', 'Abort, and plan the ceremony again naming each key once. Nothing was destroyed.');
  const going = { ids: new Set(keys.map((k) => k.idHex)), versions: new Set(p.versions.map((v) => v.id)) };

  const items: CheckedItem[] = [];
  const kekVersions = keys.some((k) => k.workstationKey === 'archive-kek') ? await ctx.services.withArchive(async (a) => a.info().counts.versions) : 0;
  for (const k of keys) {
    const stops = consequences(ctx, k, kekVersions);
    const kind = k.objects === 'secret' ? 'secret' : 'private';
    const copies = await copiesOf(ctx, { label: k.label, kind, keyType: null, values: k.values }, going);
    items.push({ item: `key ${k.label}`, where: 'token', label: k.label, idHex: k.idHex, versionId: null, algorithm: k.algorithm, checkValue: k.checkValue, checkMethod: k.checkMethod, state: null, copies, lastCopy: copies.length === 0, stops });
  }
  for (const v of p.versions) {
    const d = await ctx.services.withArchive(async (a) => a.version(v.id));
    if (!d.summary.hasMaterial) fail('INVALID_INPUT', `Version ${v.version} of “${v.label}” was destroyed since the ceremony was planned.`, 'Abort this ceremony; nothing more was destroyed.');
    if (d.summary.checkValue !== v.checkValue || d.summary.fingerprint !== v.fingerprint) fail('CHECK_VALUE_MISMATCH', `Version ${v.version} of “${v.label}” no longer has the check value it had when the ceremony was planned.`, 'Abort, and run `custos archive verify`.');
    const values = [v.checkValue, v.fingerprint].filter((x): x is string => !!x);
    const copies = await copiesOf(ctx, { label: v.label, kind: v.kind, keyType: null, values }, going);
    items.push({ item: `version ${v.label}@${v.version}`, where: 'archive', label: v.label, idHex: null, versionId: v.id, algorithm: v.algorithm, checkValue: v.checkValue ?? v.fingerprint, checkMethod: v.checkMethod ?? (v.fingerprint ? 'spki-sha256' : null), state: d.summary.state, copies, lastCopy: copies.length === 0, stops: null });
  }

  // One exception per item that needs one: the destroy step waits until the administrator has
  // decided each (the decision is the recorded reason) and the witness has acknowledged it.
  const raised: JournalEvent[] = [];
  for (const it of items) {
    if (it.lastCopy) {
      raised.push({
        type: 'exception.raised',
        id: randomUUID(),
        step: step.id,
        expected: `Another copy of ${it.item} remains after the destruction (on the token, in the archive, or in a backup).`,
        happened: `This is the last copy Custos can see of ${it.item} (${it.algorithm.toUpperCase()}, check value ${it.checkValue ? (it.checkValue.length <= 16 ? it.checkValue.toUpperCase() : `${it.checkValue.slice(0, 16)}…`) : 'none'}): once destroyed, anything still protected by it can never be opened again.`,
      });
    }
    if (it.stops) {
      raised.push({ type: 'exception.raised', id: randomUUID(), step: step.id, expected: 'The workstation’s own keys are kept.', happened: `${it.item} is one of the workstation’s own keys. ${it.stops}` });
    }
  }
  const s = ctx.run.state;
  const { fingerprint: _old, ...rest } = s.plan;
  void _old;
  const resolved: DestructionPlan = { ...p, keys: keys.map(({ values: _v, ...k }) => (void _v, k)), resolved: true };
  const plan = withFingerprint({ ...rest, params: resolved as unknown as Record<string, unknown>, amendment: s.plan.amendment + 1 });
  ctx.run = await append(ctx, ctx.run, [
    ...raised.map((event) => ({ actor: SYSTEM, event })),
    { actor, event: { type: 'step.completed', step: step.id, outcome: { items, reason: p.reason, exceptions: raised.length } } },
    { actor: SYSTEM, event: { type: 'run.amended', plan, reason: 'The keys were found on the token: their labels, ids, algorithms and check values are now part of the fingerprint.' } },
  ]);
  crashHook(`${step.id}:done`);
}

// ---- destroy ----------------------------------------------------------------------------------

export interface DestroyedItem {
  item: string;
  where: 'token' | 'archive';
  label: string;
  idHex: string | null;
  versionId: string | null;
  /** How it went: "C_DestroyObject", "archive shred", or that it was found gone (and why that is not a second destruction). */
  how: string;
  deactivated?: boolean;
  at: string;
  /** The fresh lookup after the destruction. */
  proof: string;
}

const interruptedBefore = (ctx: StepContext, stepId: string) =>
  ctx.run.stored.entries.some((e) => e.event.type === 'step.failed' && e.event.step === stepId && e.event.error.code === 'CEREMONY_INTERRUPTED');

async function destroyTokenKey(ctx: StepContext, k: ResolvedTokenKey, again: boolean): Promise<DestroyedItem> {
  const before = await keyObjects(ctx, { idHex: k.idHex });
  let how = 'C_DestroyObject';
  if (!before.length) how = again ? 'not found when the step ran again: the interrupted attempt had destroyed it' : 'not found when the step ran: it was destroyed outside this ceremony after the check';
  // By class, so a certificate or data object sharing the CKA_ID is left alone.
  for (const kind of ['private', 'public', 'secret'] as const) if (before.some((o) => o.kind === kind)) await ctx.services.hsm.call('destroy', { ...tok(ctx), ref: { idHex: k.idHex, kind } });
  const after = await keyObjects(ctx, { idHex: k.idHex });
  if (after.length) fail('FUNCTION_FAILED', `“${k.label}” is still on the token after C_DestroyObject.`, 'Raise an exception; the token refused the destruction (CKA_DESTROYABLE false, or a read-only token).');
  return { item: `key ${k.label}`, where: 'token', label: k.label, idHex: k.idHex, versionId: null, how, at: new Date().toISOString(), proof: `C_FindObjects for CKA_ID ${k.idHex} on the workstation token finds 0 key objects` };
}

async function shredVersion(ctx: StepContext, v: PlannedVersion, by: string, reason: string, again: boolean): Promise<DestroyedItem> {
  return ctx.services.withArchive(async (a) => {
    let d = a.version(v.id);
    let how = 'archive shred (wrapped blob overwritten and deleted; metadata kept, state destroyed)';
    let deactivated = false;
    if (!d.summary.hasMaterial) {
      how = again ? 'found shredded when the step ran again: the interrupted attempt had shredded it' : 'found shredded when the step ran: it was destroyed outside this ceremony after the check';
      // The lifecycle allows no active → destroyed: a version planned active was deactivated on the way.
      deactivated = v.deactivateFirst;
    } else {
      if (['active', 'suspended'].includes(d.summary.state)) {
        if (!v.deactivateFirst) fail('LIFECYCLE_TRANSITION_INVALID', `Version ${v.version} of “${v.label}” became ${d.summary.state} after planning; it must be deactivated first.`, 'Abort, and plan again (with deactivateActive if the ceremony should deactivate it).');
        await a.transition(v.id, 'deactivate', { actor: by, reason: `Deactivated before destruction: ${reason}`.slice(0, 500) });
        deactivated = true;
      }
      await a.transition(v.id, 'destroy', { actor: by, reason: reason.slice(0, 500) });
      d = a.version(v.id);
    }
    if (d.summary.hasMaterial || !d.summary.state.startsWith('destroyed')) fail('FUNCTION_FAILED', `Version ${v.version} of “${v.label}” still has material after the shred.`, 'Raise an exception and run `custos archive verify`.');
    return { item: `version ${v.label}@${v.version}`, where: 'archive', label: v.label, idHex: null, versionId: v.id, how, ...(deactivated ? { deactivated } : {}), at: d.destroyedDate ?? new Date().toISOString(), proof: `the archive row shows state ${d.summary.state}, no material (${d.wrappedBytes ?? 0} wrapped bytes)` };
  });
}

export async function runDestroy(ctx: StepContext): Promise<void> {
  const step = requireRunnable(ctx.run);
  const p = params(ctx);
  if (!p.resolved) fail('CEREMONY_STEP_BLOCKED', 'The keys have not been checked yet.', 'Run the check step first.');
  const actor = stepActor(ctx, 'operator');
  const again = interruptedBefore(ctx, step.id);
  const keys = p.keys as ResolvedTokenKey[];
  const intent = { keys: keys.map((k) => ({ label: k.label, idHex: k.idHex })), versions: p.versions.map((v) => v.id) };
  await journaled(ctx, actor, intent, async () => {
    const destroyed: DestroyedItem[] = [];
    // Archived material first, then token objects: a crash in between leaves the token key (which
    // the check step counted) rather than a version with no key to match it.
    for (const v of p.versions) {
      destroyed.push(await shredVersion(ctx, v, `${actor.name} (Operator), ceremony ${ctx.run.state.plan.run.slice(0, 8)}`, p.reason, again));
      crashHook(`${step.id}:item`);
    }
    for (const k of keys) {
      destroyed.push(await destroyTokenKey(ctx, k, again));
      crashHook(`${step.id}:item`);
    }
    return { outcome: { destroyed, reason: p.reason } };
  });
}

/** Resume: every item already gone (checked by lookup) is adopted as destroyed; otherwise the step runs again and skips what is gone. */
export async function adoptDestroyed(ctx: StepContext): Promise<boolean> {
  const p = params(ctx);
  const keys = p.keys as ResolvedTokenKey[];
  const destroyed: DestroyedItem[] = [];
  const at = new Date().toISOString();
  // The same order as the step itself: archived material first.
  for (const v of p.versions) {
    const d = await ctx.services.withArchive(async (a) => a.version(v.id));
    if (d.summary.hasMaterial) return false;
    destroyed.push({ item: `version ${v.label}@${v.version}`, where: 'archive', label: v.label, idHex: null, versionId: v.id, how: 'found shredded on resume: the interrupted step had shredded it', ...(v.deactivateFirst ? { deactivated: true } : {}), at: d.destroyedDate ?? at, proof: `the archive row shows state ${d.summary.state}, no material (${d.wrappedBytes ?? 0} wrapped bytes)` });
  }
  for (const k of keys) {
    if ((await keyObjects(ctx, { idHex: k.idHex })).length) return false;
    destroyed.push({ item: `key ${k.label}`, where: 'token', label: k.label, idHex: k.idHex, versionId: null, how: 'found destroyed on resume: the interrupted step had destroyed it', at, proof: `C_FindObjects for CKA_ID ${k.idHex} on the workstation token finds 0 key objects` });
  }
  await complete(ctx, SYSTEM, { destroyed, reason: p.reason, adopted: true });
  return true;
}
