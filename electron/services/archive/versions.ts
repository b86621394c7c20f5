// Archiving key versions (`custos archive add`, the Archive screen's "Add key"), in named steps:
//
//   1. checkItems          every input rule, before the HSM is asked anything
//   2. inspectItems        what the HSM says about each key (class, algorithm, check value or
//                          fingerprint; hsmkeys.ts), one look-up per distinct key object
//   3. requireStandardKwp  private keys only where the token's AES-KWP is RFC 5649 for any length
//   4. wrapAll             every version's material wrapped under the Archive KEK, in the HSM
//   5. planAdd             rows, audit entries (and a rotation's deactivation), committed with
//                          their MACs and a signed checkpoint in one transaction (store.ts)
//
// Private keys: SoftHSM's AES-KWP output is RFC 5649 only for key data whose length is a multiple
// of 8 bytes (the host's probe; PKCS#8 encodings have any length), and CKM_AES_KEY_WRAP (RFC 3394)
// needs a multiple of 8 too. A blob that only SoftHSM can read defeats the archive's purpose
// (recovery with standard tools, docs/FORMAT.md), so private keys are archived only on tokens whose
// KWP passes the probe for every length (probe.wrap === 'any'); elsewhere add() refuses them with
// WRAP_MECHANISM_UNTRUSTED and says what to do. AES, TDES and HMAC keys (16/24/32 bytes) work on
// every token whose KWP reads RFC 5649.
import { RECORDS } from '../../../shared/archive/canonical';
import { datesAfter, type KeyState, type LifecycleDates } from '../../../shared/archive/lifecycle';
import { checkPolicyMonths, DEFAULT_POLICIES, isIsoDate, isPurpose, plannedDates, type Purpose } from '../../../shared/archive/policy';
import { WRAP_MECHANISM_KWP } from '../../../shared/archive/types';
import { labelProblem, normalizeTags, tagProblem, textProblem } from '../../../shared/archive/validate';
import type { AddedVersion } from '../../../shared/contract';
import { CustosError, invalidInput } from '../../../shared/result';
import type { ObjectRef } from '../../hsm/protocol';
import { needsHsm, requireHsm, requireStore, type ArchiveContext } from './context';
import type { HsmBinding } from './crypto';
import { archiveError, FIX_INPUT } from './errors';
import { inspectKey, type InspectedKey } from './hsmkeys';
import { datesRow, type KeyRow, type VersionRow } from './rows';
import { newId, nowIso, type AuditDraft, type Mutation, type RowWrite } from './store';
import { transitionWrite } from './transitions';

export interface AddItem {
  /** The HSM key to archive (label and/or CKA_ID; kind optional). */
  hsm: ObjectRef;
  /** The RFC 7512 URI or label the operator gave, recorded for the record. */
  sourceUri?: string;
  key: {
    label: string;
    purpose?: Purpose;
    tags?: string[];
    custodians?: string[];
    description?: string;
    policy?: { originatorUsageMonths: number; recipientExtraMonths: number };
  };
  /** Make the new version the active one (a rotation if another version is active). */
  activate?: boolean;
  /**
   * When the version became active, if earlier than now: keys that were in use before they were
   * archived keep their real dates (the old-data question depends on them). Needs `activate`.
   */
  activationDate?: string;
  ceremonyId?: string;
}

/** What archiving one version reports: the contract's AddedVersion, as the app shows it. */
export type AddResult = AddedVersion;

/** Archives one version per item; all of them, or (on any error) none. */
export async function addVersions(ctx: ArchiveContext, items: AddItem[], actor: string): Promise<AddResult[]> {
  const store = requireStore(ctx);
  const b = requireHsm(ctx);
  if (items.length === 0) return [];
  checkItems(items);
  const inspected = await inspectItems(b, items);
  await requireStandardKwp(b, inspected);
  const wrapped = await wrapAll(ctx, inspected.map((k) => k.ref));
  let results: AddResult[] = [];
  await store.commit(() => {
    // The blobs were wrapped under the KEK this process knows; inside the write lock, that must
    // still be the archive's KEK — another process (a KEK rotation) may have replaced it since.
    const now = ctx.db.prepare('SELECT kek_check FROM workstation').get() as { kek_check: string } | undefined;
    if (now && now.kek_check !== ctx.ws.kek_check) {
      throw archiveError('ARCHIVE_CONFLICT', 'The Archive KEK was rotated by another process since this archive was opened; nothing was archived.', 'Open the archive again (restart the app or run the command again) and archive the key again.');
    }
    const plan = planAdd(ctx, items, inspected, wrapped, actor);
    results = plan.results;
    return plan.mutation;
  });
  return results;
}

/** Step 1: the input rules (labels, purposes, tags, text, policy, activation dates). */
function checkItems(items: AddItem[]): void {
  const activating = new Set<string>();
  for (const it of items) {
    const p = labelProblem(it.key.label);
    if (p) invalidInput(p, FIX_INPUT);
    if (it.key.purpose !== undefined && !isPurpose(it.key.purpose)) invalidInput(`"${String(it.key.purpose)}" is not a purpose.`, `Use one of: ${Object.keys(DEFAULT_POLICIES).join(', ')}.`);
    for (const t of normalizeTags(it.key.tags ?? [])) {
      const tp = tagProblem(t);
      if (tp) invalidInput(tp, FIX_INPUT);
    }
    if (it.key.description !== undefined) {
      const dp = textProblem('The description', it.key.description);
      if (dp) invalidInput(dp, FIX_INPUT);
    }
    if (it.key.policy) {
      const pp = checkPolicyMonths(it.key.policy.originatorUsageMonths, it.key.policy.recipientExtraMonths);
      if (pp) invalidInput(pp, FIX_INPUT);
    }
    if (it.activationDate !== undefined) {
      if (!it.activate) invalidInput('An activation date needs the version to be activated.', 'Add --activate, or leave the date out.');
      if (!isIsoDate(it.activationDate) || it.activationDate > nowIso() || it.activationDate < '1970-01-01T00:00:00.000Z') {
        invalidInput('The activation date must be an ISO 8601 UTC time in the past.', 'For example 2024-03-01T00:00:00.000Z.');
      }
    }
    if (it.activate) {
      if (activating.has(it.key.label)) invalidInput(`Two versions of "${it.key.label}" would become active in one step.`, 'Activate one version per key at a time.');
      activating.add(it.key.label);
    }
  }
}

/** Step 2: what the HSM says about each key (one look-up per distinct key object). */
function inspectItems(b: HsmBinding, items: AddItem[]): Promise<InspectedKey[]> {
  const seen = new Map<string, Promise<InspectedKey>>();
  return Promise.all(
    items.map((it) => {
      const k = JSON.stringify([it.hsm.label ?? null, it.hsm.idHex ?? null, it.hsm.kind ?? null]);
      if (!seen.has(k)) seen.set(k, inspectKey(b, it.hsm));
      return seen.get(k)!;
    }),
  );
}

/** Step 3: private keys only on a token whose AES-KWP is RFC 5649 for every length (see the top). */
async function requireStandardKwp(b: HsmBinding, inspected: InspectedKey[]): Promise<void> {
  if (!inspected.some((k) => k.kind === 'private')) return;
  const probe = await b.hsm.call('probeWrap', { path: b.module, token: b.token });
  if (probe.aesKwp?.wrap !== 'any') {
    throw new CustosError({
      code: 'WRAP_MECHANISM_UNTRUSTED',
      message:
        "This token's AES key wrap with padding is standard (RFC 5649) only for key data that is a multiple of 8 bytes. A private key (PKCS#8) has no such length, so its archived form could only be read back by this kind of token, not with OpenSSL or another HSM.",
      action:
        'Archive private keys on an HSM whose AES-KWP passes the RFC 5649 vectors for any length, or keep them in the HSM and back them up with the vendor\'s tools. AES, TDES and HMAC keys can be archived here.',
      details: { notes: probe.notes.join('; ').slice(0, 300) },
    });
  }
}

/** Step 4: every version's material wrapped under the Archive KEK, inside the HSM (batched). */
async function wrapAll(ctx: ArchiveContext, refs: ObjectRef[]): Promise<Uint8Array[]> {
  if (!ctx.crypto) needsHsm();
  try {
    return await ctx.crypto.wrap(refs);
  } catch (e) {
    if (e instanceof CustosError && e.appError.code === 'KEY_USAGE_NOT_PERMITTED') {
      throw new CustosError({ ...e.appError, message: 'The HSM refused to wrap the key under the Archive KEK (the key or the KEK does not permit it).', action: 'Check that the key is extractable and that the Archive KEK is the one this archive was made with (custos archive verify).' });
    }
    throw e;
  }
}

/** Rows and audit entries being planned; `push` ties an entry to the row it records. */
class Plan {
  readonly rows: RowWrite[] = [];
  readonly audit: AuditDraft[] = [];
  push(write: RowWrite, entry: Omit<AuditDraft, 'row'>): void {
    this.rows.push(write);
    this.audit.push({ ...entry, row: this.rows.length - 1 });
  }
}

/** The look-ups a plan makes, prepared once per plan (an add may carry thousands of items). */
function lookups(ctx: ArchiveContext) {
  return {
    keyByLabel: ctx.db.prepare('SELECT * FROM keys WHERE label = ?'),
    maxVersion: ctx.db.prepare('SELECT coalesce(max(version), 0) AS v FROM key_versions WHERE key_id = ?'),
    activeOf: ctx.db.prepare("SELECT * FROM key_versions WHERE key_id = ? AND state = 'active'"),
  };
}
type Lookups = ReturnType<typeof lookups>;

/** A key of this add: its row (existing or new) and the next version number to give it. */
interface KeyPlan {
  key: KeyRow;
  next: number;
  fresh: boolean;
}

/** Step 5: the rows and audit entries, planned from the current state (re-run if a writer intervened). */
function planAdd(ctx: ArchiveContext, items: AddItem[], inspected: InspectedKey[], wrapped: Uint8Array[], actor: string): { mutation: Mutation; results: AddResult[] } {
  const now = nowIso();
  const q = lookups(ctx);
  const plan = new Plan();
  const results: AddResult[] = [];
  const keys = new Map<string, KeyPlan>();
  items.forEach((it, i) => {
    const info = inspected[i]!;
    let entry = keys.get(it.key.label);
    if (!entry) {
      entry = planKey(ctx, q, plan, it, info, now, actor);
      keys.set(it.key.label, entry);
    }
    const key = entry.key;
    const versionNumber = entry.next++;
    const { state, dates, rotationDue } = it.activate ? planActivation(q, plan, it, entry, versionNumber, now, actor) : { state: 'pre-active' as KeyState, dates: NO_DATES, rotationDue: null };
    const v = {
      id: newId(),
      key_id: key.id,
      version: versionNumber,
      algorithm: info.algorithm,
      kind: info.kind,
      purpose: key.purpose,
      state,
      source_uri: it.sourceUri ?? null,
      check_method: info.checkMethod,
      check_value: info.checkValue,
      check_legacy: info.checkLegacy,
      fingerprint: info.fingerprint,
      public_spki: info.publicSpki,
      wrap_mechanism: WRAP_MECHANISM_KWP,
      kek_check: ctx.ws.kek_check,
      wrapped: wrapped[i]!,
      created_at: now,
      ...datesRow(dates),
      rotation_due: rotationDue,
      ceremony_id: it.ceremonyId ?? null,
      origin_archive: ctx.archiveId,
      revision: 1,
      updated_at: now,
    };
    plan.push(
      { spec: RECORDS.version, op: 'insert', row: v },
      {
        actor,
        action: 'version.add',
        keyId: key.id,
        details: {
          label: key.label,
          version: versionNumber,
          algorithm: info.algorithm,
          from: null,
          to: state,
          check: info.checkValue,
          checkMethod: info.checkMethod,
          fingerprint: info.fingerprint,
          kek: ctx.ws.kek_check,
          source: it.sourceUri ?? null,
          hsmObject: { label: info.object.label, id: info.object.idHex },
        },
      },
    );
    results.push({ versionId: v.id, keyId: key.id, label: key.label, version: versionNumber, algorithm: info.algorithm, state, checkValue: info.checkValue, fingerprint: info.fingerprint });
  });
  return { mutation: { rows: plan.rows, audit: plan.audit }, results };
}

const NO_DATES: LifecycleDates = { activationDate: null, protectStopDate: null, processStopDate: null, deactivationDate: null, compromiseDate: null, destroyedDate: null };

/** The key a version joins: the archived key with that label (same purpose), or a new key row. */
function planKey(ctx: ArchiveContext, q: Lookups, plan: Plan, it: AddItem, info: InspectedKey, now: string, actor: string): KeyPlan {
  const existing = q.keyByLabel.get(it.key.label) as KeyRow | undefined;
  if (existing) {
    if (it.key.purpose && it.key.purpose !== existing.purpose) {
      invalidInput(`The key "${it.key.label}" is archived with purpose ${existing.purpose}, not ${it.key.purpose}.`, 'A new version keeps the purpose of its key; leave --purpose out or use another label.');
    }
    const next = (q.maxVersion.get(existing.id) as { v: number }).v + 1;
    return { key: existing, next, fresh: false };
  }
  const purpose = it.key.purpose ?? invalidInput(`"${it.key.label}" is a new key: its purpose is needed.`, `Pass --purpose (one of: ${Object.keys(DEFAULT_POLICIES).join(', ')}).`);
  // NIST SP 800-57 Pt 1 Table 1 cryptoperiods by purpose, unless the operator gave a policy.
  const policy = DEFAULT_POLICIES[purpose];
  const key = {
    id: newId(),
    label: it.key.label,
    purpose,
    algorithm: info.algorithm,
    policy_id: it.key.policy ? 'custom' : policy.id,
    oup_months: it.key.policy?.originatorUsageMonths ?? policy.originatorUsageMonths,
    rup_extra_months: it.key.policy?.recipientExtraMonths ?? policy.recipientExtraMonths,
    tags: JSON.stringify(normalizeTags(it.key.tags ?? [])),
    custodians: JSON.stringify([...new Set(it.key.custodians ?? [])].sort()),
    description: it.key.description ?? null,
    created_at: now,
    origin_archive: ctx.archiveId,
    revision: 1,
    updated_at: now,
  };
  plan.push(
    { spec: RECORDS.key, op: 'insert', row: key },
    { actor, action: 'key.create', keyId: key.id, details: { label: key.label, purpose, policy: key.policy_id, oupMonths: key.oup_months, tags: JSON.parse(key.tags) as string[] } },
  );
  return { key: key as unknown as KeyRow, next: 1, fresh: true };
}

/** An activated version's state and dates; the key's active version, if any, is deactivated (a rotation). */
function planActivation(q: Lookups, plan: Plan, it: AddItem, entry: KeyPlan, versionNumber: number, now: string, actor: string): { state: KeyState; dates: LifecycleDates; rotationDue: string } {
  const key = entry.key;
  const at = it.activationDate ?? now;
  if (!entry.fresh) {
    const old = q.activeOf.get(key.id) as VersionRow | undefined;
    if (old) {
      if (old.activation_date !== null && old.activation_date > at) {
        invalidInput(`Version ${versionNumber} of "${key.label}" cannot become active before version ${old.version} did (${old.activation_date}).`, 'Check the activation date.');
      }
      plan.push(transitionWrite(old, 'deactivate', at, key).write, {
        actor,
        action: 'version.deactivate',
        keyId: key.id,
        details: { label: key.label, version: old.version, from: 'active', to: 'deactivated', reason: 'rotation' },
      });
    }
  }
  const p = plannedDates(at, { originatorUsageMonths: key.oup_months, recipientExtraMonths: key.rup_extra_months });
  return { state: 'active', dates: datesAfter('pre-active', 'active', NO_DATES, at, p), rotationDue: p.rotationDue };
}
