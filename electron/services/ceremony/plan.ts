// Planning a run: the definition is checked (schema, then linter) before anything else — an invalid
// definition makes no PKCS#11 call at all — then the parameters, then the people: each named person
// must be in the register with the role they take, a witness may not be a custodian where the policy
// says so, and credentials must be of a kind the policy accepts. Only then is the token asked who it
// is (serial, model), and the fingerprint computed over every resolved value.
import type { MacRotationState } from '../archive/mac-rotation';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { canonicalBytes, canonicalJson } from '../../../shared/ceremony/canonical';
import type { CeremonyDefinition, CeremonyType } from '../../../shared/ceremony/definition';
import { checkDefinition, type LintProblem } from '../../../shared/ceremony/lint';
import { PARAM_SCHEMAS, paramProblems, ARCHIVE_TARGETS, type BackupParams, type DestructionParams, type EnrolmentParams, type KekRotationParams, type WorkstationKeyRotationParams, type KeyGenerationParams, type ComponentFormParams, type ComponentCreationParams, type ReshareParams, type RestoreParams, type ShareAuditParams, type RetrievalParams, type RotationParams, type SetupParams } from '../../../shared/ceremony/params';
import { resolveRotation, type RotationLookups } from './plan-rotation';
import type { VersionDetail } from '../../../shared/archive/types';
import { resolveSteps } from '../../../shared/ceremony/definition';
import { foldJournal } from '../../../shared/ceremony/run';
import { defaultPolicy, practicePolicy, type Policy } from '../../../shared/ceremony/policy';
import { ROLE_TITLES, type Role } from '../../../shared/ceremony/roles';
import { FINGERPRINT_FORMAT, type Participant, type RunPlan, type TokenIdentityView } from '../../../shared/ceremony/run';
import { fail } from '../../../shared/result';
import type { PersonRecord, CeremonyRecord } from './record';
import { destructionSubject, resolveDestruction } from './plan-destruction';
import { resolveRetrieval, type ExportFacts, type OwnKey } from './plan-retrieval';
import type { KekRotationState } from '../archive/kek-rotation';

export const definitionHash = (d: CeremonyDefinition): string => createHash('sha256').update(canonicalJson(d), 'utf8').digest('hex');

export function fingerprintOf(plan: Omit<RunPlan, 'fingerprint'>): string {
  return createHash('sha256').update(canonicalBytes({ format: FINGERPRINT_FORMAT, version: 1, ...plan })).digest('hex');
}

export function withFingerprint(plan: Omit<RunPlan, 'fingerprint'>): RunPlan {
  return { ...plan, fingerprint: fingerprintOf(plan) };
}

/** Refuses a definition with every problem listed (as details), before any PKCS#11 call. */
export function checkedDefinition(value: unknown, policy: Policy): CeremonyDefinition {
  const r = checkDefinition(value, policy);
  if (!r.ok) {
    const list = r.problems.slice(0, 12).map((p: LintProblem) => `${p.path ? `${p.path}: ` : ''}${p.message}`);
    fail(
      'CEREMONY_DEFINITION_INVALID',
      `The ceremony definition was refused (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}): ${list.join(' ')}`,
      'Correct the definition file and plan the ceremony again. Nothing was done on the HSM.',
      Object.fromEntries(list.map((l, i) => [`problem${i + 1}`, l])),
    );
  }
  return r.definition;
}

export interface ParticipantInput {
  /** Register id or name. */
  person: string;
  roles: Role[];
}

export interface PlanRequest {
  definition: CeremonyDefinition;
  params: unknown;
  participants: ParticipantInput[];
}

export interface PlanContext {
  record: CeremonyRecord | null;
  version: string;
  token: TokenIdentityView;
  /** Restore: the token the keys go into, when it is not the workstation token. */
  destination?: { module: string; token: TokenIdentityView } | null;
  /** Retrieval: an archived version by id or LABEL@N, as the archive describes it. */
  lookupVersion?: (selector: string) => VersionDetail;
  /** Retrieval with into: export: the target and the wrap mechanisms, as the token reported them. */
  exportFacts?: ExportFacts;
  /** Retrieval with into: export: the workstation's own keys, which an export may not target. */
  lookupOwnKeys?: () => OwnKey[];
  /** Rotation: the token object a version was archived from, if the archive recorded it. */
  lookupHsmObject?: RotationLookups['lookupHsmObject'];
  /** KEK rotation: the archive's KEK and versions, as they are now. */
  lookupKek?: () => KekRotationState;
  /** Workstation key rotation: the archive's audit key as it is now. */
  lookupAuditKey?: () => { fingerprint: string; label: string; id: string };
  /** MAC key rotation: the archive's MAC key, a rotation under way and the MACed rows. */
  lookupMacKey?: () => MacRotationState;
}

/** Applies the definition's fixed values and defaults, then checks the type's parameter schema. */
export function checkedParams<T extends CeremonyType>(def: CeremonyDefinition, raw: unknown): unknown {
  const given = (raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {}) as Record<string, unknown>;
  for (const [name, v] of Object.entries(def.parameters ?? {})) {
    if (v.fixed !== undefined) {
      if (given[name] !== undefined && canonicalJson(given[name]) !== canonicalJson(v.fixed)) {
        fail('INVALID_INPUT', `The definition fixes "${name}" to ${canonicalJson(v.fixed)}; it cannot be changed when planning.`, 'Leave the parameter out, or use another definition.');
      }
      given[name] = v.fixed;
    } else if (v.default !== undefined && given[name] === undefined) {
      given[name] = v.default;
    }
  }
  const parsed = PARAM_SCHEMAS[def.type as T].safeParse(given);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    fail('INVALID_INPUT', `Parameter ${i.path.join('.') || '(all)'}: ${i.message}`, 'Correct the ceremony parameters and plan again.');
  }
  const problems = paramProblems(def.type, parsed.data);
  if (problems.length) fail('INVALID_INPUT', problems.join(' '), 'Correct the ceremony parameters and plan again.');
  return parsed.data;
}

function findPerson(people: PersonRecord[], ref: string): PersonRecord {
  const byId = people.find((p) => p.id === ref);
  if (byId) return byId;
  const byName = people.filter((p) => p.name.toLowerCase() === ref.trim().toLowerCase());
  if (byName.length === 1) return byName[0]!;
  fail('PERSON_NOT_FOUND', `Nobody called "${ref}" is in this workstation's register.`, 'Check the spelling (custos people list), or enrol the person first with the enrolment ceremony.', { person: ref.slice(0, 64) });
}

/** The policy that governs this run: the record's, or (set-up) the one being proposed. */
export function runPolicy(ctx: PlanContext, def: CeremonyDefinition, params: unknown): Policy {
  if (ctx.record) return ctx.record.policy();
  if (def.type === 'workstation-setup') {
    const p = params as SetupParams;
    return p.policy ?? (p.practice ? practicePolicy() : defaultPolicy());
  }
  return defaultPolicy();
}

/** Checks and resolves everything; returns the plan (with its fingerprint) and the policy it used. */
export function resolvePlan(req: PlanRequest, ctx: PlanContext): { plan: RunPlan; policy: Policy } {
  const def = req.definition;
  const params = checkedParams(def, req.params);
  const policy = runPolicy(ctx, def, params);
  const record = ctx.record;
  if (!record && def.type !== 'workstation-setup') {
    fail('RECORD_MISSING', 'This workstation has no record yet.', 'Run the workstation set-up ceremony first (custos ceremony plan custos/workstation-setup).');
  }
  if (record && def.type === 'workstation-setup') fail('INVALID_INPUT', 'This workstation already has a record.', 'To add or retire people, or change the policy, run the enrolment ceremony.');
  const register = record?.people().filter((p) => p.status === 'active') ?? [];

  // Participants: register people (set-up: the people being enrolled, named in the parameters).
  const participants: Participant[] = [];
  const add = (p: Participant) => {
    if (participants.some((x) => x.person === p.person)) fail('INVALID_INPUT', `${p.name} is named twice among the participants.`, 'Name each person once, with all their roles.');
    participants.push(p);
  };
  let resolved: Record<string, unknown>;
  if (def.type === 'workstation-setup') {
    const p = params as SetupParams;
    const people = p.people.map((x) => ({ person: randomUUID(), name: x.name, roles: [...new Set(x.roles)].sort() as Role[], credentialKind: x.credential }));
    for (const x of people) add({ person: x.person, name: x.name, roles: x.roles, credential: null });
    resolved = { recordName: p.recordName, practice: p.practice, policy: policy, people };
  } else {
    for (const x of req.participants) {
      const rec = findPerson(register, x.person);
      const missing = x.roles.filter((r) => !rec.roles.includes(r));
      if (missing.length) fail('ROLE_MISSING', `${rec.name} does not hold the role${missing.length > 1 ? 's' : ''} ${missing.map((r) => ROLE_TITLES[r]).join(', ')} in the register.`, 'Choose someone who holds the role, or change their roles with the enrolment ceremony.');
      add({ person: rec.id, name: rec.name, roles: [...new Set(x.roles)].sort() as Role[], credential: rec.credential ? { kind: rec.credential.kind, fingerprint: rec.credential.fingerprint } : null });
    }
    resolved =
      def.type === 'restore' || def.type === 'restore-drill'
        ? resolveRestore(def.type, params as RestoreParams, register, participants, record!, ctx)
        : def.type === 'retrieval'
          ? (resolveRetrieval(params as RetrievalParams, ctx.lookupVersion, ctx.exportFacts, new Date(), ctx.lookupOwnKeys?.() ?? []) as unknown as Record<string, unknown>)
          : def.type === 'reshare'
            ? resolveReshare(params as ReshareParams, register, participants, record!)
            : def.type === 'share-audit'
              ? resolveShareAudit(params as ShareAuditParams, register, participants, record!)
              : def.type === 'destruction'
                ? resolveDestruction(params as DestructionParams, ctx)
                : def.type === 'rotation'
                  ? (resolveRotation(params as RotationParams, ctx, record!) as unknown as Record<string, unknown>)
                : def.type === 'component-form'
                  ? resolveComponentForm(params as ComponentFormParams, register, participants)
                  : def.type === 'kek-rotation'
                    ? resolveKekRotation(params as KekRotationParams, ctx)
                  : def.type === 'component-creation'
                    ? resolveComponentCreation(params as ComponentCreationParams, register, participants)
                  : def.type === 'workstation-key-rotation'
                    ? resolveWorkstationKeyRotation(params as WorkstationKeyRotationParams, ctx)
                    : resolveTypeParams(def.type, params, register, participants);
    // The policy's floor for a backup's threshold (a re-share makes a backup's share set too).
    if ((def.type === 'backup' || def.type === 'reshare') && (resolved.scheme as string) !== 'xor' && Number(resolved.threshold) < policy.minimumShareThreshold) {
      fail('QUORUM_NOT_MET', `The policy asks for at least ${policy.minimumShareThreshold} shares to restore; this plan sets ${String(resolved.threshold)}.`, `Set the threshold to ${policy.minimumShareThreshold} or more (with at least as many holders).`);
    }
  }

  // Roles: counts within the definition's limits; separation of duties; credential kinds.
  for (const [role, range] of Object.entries(def.roles) as Array<[Role, { min: number; max?: number }]>) {
    const n = participants.filter((p) => p.roles.includes(role)).length;
    if (n < range.min) fail('ROLE_MISSING', `This ceremony needs at least ${range.min} ${ROLE_TITLES[role].toLowerCase()}${range.min === 1 ? '' : 's'}; ${n} ${n === 1 ? 'is' : 'are'} named.`, `Name ${range.min - n} more participant${range.min - n === 1 ? '' : 's'} with that role.`);
    if (range.max !== undefined && n > range.max) fail('INVALID_INPUT', `This ceremony takes at most ${range.max} ${ROLE_TITLES[role].toLowerCase()}${range.max === 1 ? '' : 's'}; ${n} are named.`, 'Name fewer participants with that role.');
  }
  const mayDouble = policy.witnessMayBeCustodian && def.rules?.witnessMayBeCustodian !== false;
  for (const p of participants) {
    if (!mayDouble && p.roles.includes('witness') && p.roles.includes('custodian')) {
      fail('ROLE_CONFLICT', `${p.name} cannot be both witness and custodian in this ceremony: the policy keeps those duties apart.`, 'Name another witness, or another custodian.');
    }
  }
  const forbidPassphrase = policy.passphraseCredentials === 'forbidden' || def.rules?.passphraseCredentials === 'forbidden';
  if (forbidPassphrase) {
    const weak = participants.find((p) => p.credential?.kind === 'passphrase');
    const newWeak = ((resolved.people ?? resolved.add ?? []) as Array<{ name: string; credentialKind: string }>).find((x) => x.credentialKind === 'passphrase');
    if (weak || newWeak) fail('CREDENTIAL_FORBIDDEN', `${(weak ?? newWeak)!.name} has a passphrase credential, which the policy does not accept.`, 'Enrol a card for this person first, or name someone with a card.');
  }
  if (def.type !== 'workstation-setup') {
    const newcomers = new Set(((resolved.add ?? []) as Array<{ person: string }>).map((x) => x.person));
    const noCred = participants.find((p) => !p.credential && !newcomers.has(p.person));
    if (noCred) fail('CARD_WRONG', `${noCred.name} has no credential, so cannot prove presence or approve.`, 'Enrol a card or passphrase for this person with the enrolment ceremony.');
  }

  const subject = subjectOf(def.type, resolved, record);
  const plan = withFingerprint({
    run: randomUUID(),
    definition: { id: def.id, revision: def.revision, type: def.type, title: def.title, hash: definitionHash(def) },
    app: ctx.version,
    practice: record ? record.info.practice : (params as SetupParams).practice,
    workstation: { archiveId: record?.info.archiveId ?? null, name: record?.info.name ?? (params as SetupParams).recordName, token: ctx.token },
    params: resolved,
    participants,
    previousBundle: record ? record.lastBundle(subject) : null,
    amendment: 0,
  });
  return { plan, policy };
}

/** The subject a run's evidence chains on: the key it makes or backs up, or the record itself. */
export function subjectOf(type: CeremonyType, params: Record<string, unknown>, record: CeremonyRecord | null): string {
  if (type === 'key-generation' || type === 'component-form' || type === 'component-creation') return `key:${String(params.label)}`;
  if (type === 'rotation') return `key:${(params.key as { label: string }).label}`;
  if (type === 'retrieval') return `version:${(params.version as { id: string }).id}`;
  if (type === 'kek-rotation') return `archive-kek:${record?.info.archiveId ?? 'new'}`;
  if (type === 'workstation-key-rotation') return `archive-${String(params.key)}-key:${record?.info.archiveId ?? 'new'}`;
  if (type === 'destruction') return destructionSubject(params);
  if (type === 'restore' || type === 'restore-drill' || type === 'reshare' || type === 'share-audit') return `backup:${(params.backup as { targets: string[] }).targets.slice().sort().join(',')}`;
  if (type === 'backup') return `backup:${(params.targets as Array<{ name: string }>).map((t) => t.name).sort().join(',')}`;
  return `record:${record?.info.archiveId ?? 'new'}`;
}

function resolveTypeParams(type: CeremonyType, params: unknown, register: PersonRecord[], participants: Participant[]): Record<string, unknown> {
  const named = (ref: string) => {
    const p = findPerson(register, ref);
    return { person: p.id, name: p.name };
  };
  if (type === 'key-generation') {
    const p = params as KeyGenerationParams;
    for (const c of p.custodians) {
      const rec = findPerson(register, c);
      if (!rec.roles.includes('custodian')) fail('ROLE_MISSING', `${rec.name} is not a custodian, so cannot be responsible for a key.`, 'Name custodians from the register.');
    }
    // The new key's CKA_ID is fixed now: a generation interrupted by a crash is found by it and
    // adopted on resume, never made twice.
    return { ...p, custodians: p.custodians.map(named), keyIdHex: randomBytes(16).toString('hex') };
  }
  if (type === 'backup') {
    const p = params as BackupParams;
    const holders = p.holders.map(named);
    for (const h of holders) {
      const part = participants.find((x) => x.person === h.person);
      if (!part || !part.roles.includes('custodian')) fail('ROLE_MISSING', `${h.name} holds a share, so must take part as a custodian.`, 'Add the holder to the participants with the custodian role.');
    }
    // Sealed shares: each holder's share is sealed to a key on the card they enrolled with, so that
    // card (its serial, read aloud in the fingerprint) is fixed now; a holder without one is refused.
    if (p.scheme === 'sealed') {
      for (const h of holders as Array<{ person: string; name: string; card?: { serial: string; label: string } }>) {
        const c = register.find((r) => r.id === h.person)?.credential?.card;
        if (!c) fail('CARD_WRONG', `${h.name} has no enrolled card, so no share can be sealed to one.`, `Plan the backup with SLIP-39 shares (slip39), or enrol ${h.name} with a card first.`);
        h.card = { serial: c.serial, label: c.label };
      }
    }
    return {
      targets: p.targets.map((t) => ({ name: t, archiveKey: (ARCHIVE_TARGETS as readonly string[]).includes(t) })),
      scheme: p.scheme,
      threshold: p.threshold,
      holders,
      iterationExponent: p.iterationExponent ?? 1,
    };
  }
  if (type === 'enrolment') {
    const p = params as EnrolmentParams;
    const add = p.add.map((x) => {
      if (register.some((r) => r.name.toLowerCase() === x.name.toLowerCase())) fail('PERSON_EXISTS', `${x.name} is already in the register.`, 'Use a name that tells the two people apart, or retire the old entry.');
      return { person: randomUUID(), name: x.name, roles: [...new Set(x.roles)].sort() as Role[], credentialKind: x.credential };
    });
    for (const x of add) participants.push({ person: x.person, name: x.name, roles: x.roles, credential: null });
    return { add, retire: p.retire.map(named), policy: p.policy ?? null };
  }
  return params as Record<string, unknown>;
}

/** The card key a backup sealed a holder's share to, and the SHA-256 of the envelope file written. */
export interface SealedTo {
  spkiSha256: string;
  tokenSerial: string;
  tokenLabel: string;
  keyLabel: string;
  envelopeSha256: string;
}

/** What a restore or a drill needs of the backup it uses, read from that backup's journal. */
export interface BackupFacts {
  run: string;
  scheme: 'slip39' | 'xor';
  threshold: number;
  identifier: number | null;
  backupKeyCheck: string;
  shares: Array<{ holder: string; name: string; index: number; fingerprint: string | null; checkValue: string | null; sealedTo?: SealedTo | null }>;
  blobs: Array<{ target: string; label: string; idHex: string; kind: 'secret' | 'private'; keyType: string | null; checkValue: string | null; checkMethod: string | null; wrapWithTrusted: boolean; wrapped: string; wrappedSha256?: string }>;
}

/**
 * A completed Backup Key rotation (a re-share with rotateBackupKey whose commit is recorded) of the
 * Backup Key with this check value: every backup sharing that key (the backup, and re-shares that
 * kept it) restores nothing in Custos any more.
 */
export function rotationOf(record: CeremonyRecord, backupKeyCheck: string, except: string): { run: string; at: string } | null {
  for (const r of record.runs()) {
    if (r.type !== 'reshare' || r.run === except || r.status === 'aborted') continue;
    const stored = record.loadRun(r.run);
    if (!stored) continue;
    const state = foldJournal(stored.entries, resolveSteps(stored.definition, () => 1));
    const st = state.steps.find((x) => x.kind === 'commit-reshare');
    const o = st ? state.step[st.id]!.outcome : null;
    const from = o?.rotatedFrom as { backupKeyCheck?: string } | undefined;
    if (from?.backupKeyCheck && from.backupKeyCheck.toLowerCase() === backupKeyCheck.toLowerCase()) return { run: r.run, at: (r.endedAt ?? r.startedAt).slice(0, 10) };
  }
  return null;
}

export function backupFacts(record: CeremonyRecord, run: string, opts: { allowRotated?: boolean } = {}): BackupFacts {
  const stored = record.loadRun(run);
  // A re-share makes a new share set for the same Backup Key and blobs: it is a backup to restore from.
  if (!stored || (stored.definition.type !== 'backup' && stored.definition.type !== 'reshare')) fail('CEREMONY_NOT_FOUND', `There is no backup ceremony ${run} in this record.`, 'Name a finished backup or re-share ceremony (custos ceremony list).');
  const state = foldJournal(stored.entries, resolveSteps(stored.definition, () => 1));
  if (state.status !== 'completed') fail('CEREMONY_STEP_BLOCKED', `The backup ${run} did not finish (${state.status}): it has nothing to restore.`, 'Name a completed backup ceremony.');
  const out = (kind: string) => {
    const st = state.steps.find((x) => x.kind === kind);
    return (st ? state.step[st.id]!.outcome : null) ?? {};
  };
  const split = out('split');
  const scheme = split.scheme === 'xor' ? 'xor' : 'slip39';
  // A sealed backup's commit names the card key each share was sealed to (steps-backup.ts).
  const envelopes = ((stored.definition.type === 'backup' ? out('commit-backup').envelopes : null) ?? []) as Array<SealedTo & { holder: string }>;
  const shares = ((split.shares ?? split.components ?? []) as Array<{ holder: string; name: string; index: number; fingerprint?: string; checkValue?: string }>).map((x) => {
    const e = envelopes.find((y) => y.holder === x.holder);
    return {
      holder: x.holder,
      name: x.name,
      index: x.index,
      fingerprint: x.fingerprint ?? null,
      checkValue: x.checkValue ?? null,
      ...(e ? { sealedTo: { spkiSha256: e.spkiSha256, tokenSerial: e.tokenSerial, tokenLabel: e.tokenLabel, keyLabel: e.keyLabel, envelopeSha256: e.envelopeSha256 } } : {}),
    };
  });
  // A re-share records the Backup Key its set rebuilds in its commit (a rotation's is a new one).
  const commit = stored.definition.type === 'reshare' ? out('commit-reshare') : out('commit-backup');
  const backupKeyCheck = String(commit.backupKeyCheck ?? (stored.definition.type === 'reshare' ? out('rebuild-backup-key') : out('make-backup-key')).checkValue ?? '');
  if (!opts.allowRotated && backupKeyCheck) {
    const rotated = rotationOf(record, backupKeyCheck, run);
    if (rotated) {
      fail(
        'BACKUP_ROTATED',
        `The Backup Key of backup ${run.slice(0, 8)} was rotated by the re-share ${rotated.run} (${rotated.at}): its shares and its wrapped keys restore nothing in Custos any more.`,
        `Name the backup made by that re-share instead: ${rotated.run}.`,
        { rotatedBy: rotated.run },
      );
    }
  }
  return {
    run,
    scheme,
    threshold: Number(split.threshold),
    identifier: typeof split.identifier === 'number' ? split.identifier : null,
    backupKeyCheck,
    shares,
    blobs: (commit.blobs ?? []) as BackupFacts['blobs'],
  };
}

/** A person named to hold or handle a share: in the register, and taking part as a custodian. */
function custodianTakingPart(register: PersonRecord[], participants: Participant[], ref: string, doing: string): { person: string; name: string } {
  const person = findPerson(register, ref);
  const part = participants.find((x) => x.person === person.id);
  if (!part || !part.roles.includes('custodian')) fail('ROLE_MISSING', `${person.name} ${doing}, so must take part as a custodian.`, 'Add the holder to the participants with the custodian role.');
  return { person: person.id, name: person.name };
}

/** A holder of one of the backup's shares, with how that share is recognised (its fingerprint, or an XOR component's check value). */
function shareHolder(b: BackupFacts, register: PersonRecord[], participants: Participant[], ref: string, doing: string) {
  const person = findPerson(register, ref);
  const share = b.shares.find((x) => x.holder === person.id);
  if (!share) fail('SHARE_NOT_IN_RECORD', `${person.name} holds no share of this backup.`, `The holders are: ${b.shares.map((x) => x.name).join(', ')}.`);
  custodianTakingPart(register, participants, ref, doing);
  return { person: person.id, name: person.name, index: share.index, fingerprint: share.fingerprint, checkValue: share.checkValue, ...(share.sealedTo ? { sealedTo: share.sealedTo } : {}) };
}

/** Forming a key from components: each holder with their component's number and the check value printed for it. */
function resolveComponentForm(p: ComponentFormParams, register: PersonRecord[], participants: Participant[]): Record<string, unknown> {
  const holders = p.holders.map((ref, i) => ({ ...custodianTakingPart(register, participants, ref, 'holds a component'), index: i + 1, checkValue: p.componentCheckValues[i]!.replace(/\s+/g, '').toUpperCase(), ...(p.envelopes ? { envelope: p.envelopes[i]! } : {}) }));
  return {
    label: p.label,
    algorithm: p.algorithm,
    usages: p.usages,
    extractable: p.extractable ?? false,
    holders,
    keyCheckValue: p.keyCheckValue ? p.keyCheckValue.replace(/\s+/g, '').toUpperCase() : null,
  };
}

/**
 * Creating a key as components: the holders in component order, and the key's CKA_ID fixed now (a
 * key made by an interrupted run is found by it and destroyed before new components are made). The
 * fields the archive step reads (keyType, purpose, tags, custodians) are those of key generation.
 */
function resolveComponentCreation(p: ComponentCreationParams, register: PersonRecord[], participants: Participant[]): Record<string, unknown> {
  const holders = p.holders.map((ref, i) => ({ ...custodianTakingPart(register, participants, ref, 'holds a component'), index: i + 1 }));
  const tdes = p.algorithm.startsWith('tdes');
  return {
    label: p.label,
    algorithm: p.algorithm,
    keyType: tdes ? 'tdes' : p.algorithm,
    bytes: p.algorithm === 'tdes-2key' || p.algorithm === 'aes-128' ? 16 : p.algorithm === 'tdes-3key' || p.algorithm === 'aes-192' ? 24 : 32,
    usages: p.usages,
    extractable: p.extractable ?? false,
    purpose: p.purpose,
    ...(p.description ? { description: p.description } : {}),
    tags: [],
    holders,
    custodians: holders.map(({ person, name }) => ({ person, name })),
    keyIdHex: randomBytes(16).toString('hex'),
  };
}

/** A share audit: the holders who check their share, each with how their share is recognised; any number of them. */
function resolveShareAudit(p: ShareAuditParams, register: PersonRecord[], participants: Participant[], record: CeremonyRecord): Record<string, unknown> {
  const b = backupFacts(record, p.backup);
  const holders = p.holders.map((ref) => shareHolder(b, register, participants, ref, 'checks a share'));
  return {
    backup: { run: b.run, scheme: b.scheme, threshold: b.threshold, identifier: b.identifier, backupKeyCheck: b.backupKeyCheck, targets: b.blobs.map((x) => x.target) },
    holders,
    count: b.shares.length,
  };
}

/**
 * A re-share: the old holders who enter shares (checked against the backup's record, as in a
 * restore), and the new holders with the new scheme and threshold (as in a backup). The blobs do
 * not change: the new set rebuilds the same Backup Key.
 */
function resolveReshare(p: ReshareParams, register: PersonRecord[], participants: Participant[], record: CeremonyRecord): Record<string, unknown> {
  const old = resolveRestore('restore-drill', { backup: p.backup, holders: p.from }, register, participants, record, {} as PlanContext);
  const holders = p.holders.map((ref) => custodianTakingPart(register, participants, ref, 'receives a new share'));
  const b = old.backup as { scheme: string; threshold: number; identifier: number | null };
  const oldHolders = backupFacts(record, p.backup).shares.map((x) => ({ person: x.holder, name: x.name, index: x.index }));
  return {
    backup: old.backup,
    // The split names the Backup Key by its targets' names; a restore of the new set reads the blobs from the commit.
    targets: (old.targets as BackupFacts['blobs']).map((t) => ({ ...t, name: t.target })),
    from: old.holders,
    oldHolders,
    previous: { scheme: b.scheme, threshold: b.threshold, count: oldHolders.length, identifier: b.identifier },
    scheme: p.scheme,
    threshold: p.threshold,
    holders,
    iterationExponent: p.iterationExponent ?? 1,
    rotateBackupKey: p.rotateBackupKey === true,
  };
}

function resolveRestore(type: CeremonyType, p: RestoreParams, register: PersonRecord[], participants: Participant[], record: CeremonyRecord, ctx: PlanContext): Record<string, unknown> {
  const b = backupFacts(record, p.backup);
  const names = p.targets ?? b.blobs.map((x) => x.target);
  const targets = names.map((n) => {
    const blob = b.blobs.find((x) => x.target === n || x.label === n);
    if (!blob) fail('INVALID_INPUT', `The backup ${p.backup} has no key “${n}”.`, `It holds: ${b.blobs.map((x) => x.target).join(', ')}.`);
    return blob;
  });
  const holders = p.holders.map((ref) => shareHolder(b, register, participants, ref, 'enters a share'));
  const needed = b.scheme === 'xor' ? b.shares.length : b.threshold;
  if (holders.length < needed) fail('QUORUM_NOT_MET', `This backup needs ${needed} share${needed === 1 ? '' : 's'} (${b.scheme === 'xor' ? 'every component' : `any ${b.threshold} of ${b.shares.length}`}); ${holders.length} holder${holders.length === 1 ? ' is' : 's are'} named.`, 'Name enough holders.');
  return {
    backup: { run: b.run, scheme: b.scheme, threshold: b.threshold, identifier: b.identifier, backupKeyCheck: b.backupKeyCheck, targets: names },
    targets,
    holders,
    ...(type === 'restore' ? { destination: ctx.destination ? { module: ctx.destination.module, token: ctx.destination.token } : null } : {}),
  };
}

/**
 * Workstation key rotation: the fingerprint the custodians approve names the key being replaced,
 * which must be the archive's now (a key that changed since the planner read it is refused).
 */
function resolveWorkstationKeyRotation(p: WorkstationKeyRotationParams, ctx: PlanContext): Record<string, unknown> {
  if (p.key === 'mac') {
    if (!ctx.lookupMacKey) fail('RECORD_MISSING', 'The archive is not open.', 'Log in to the workstation token and plan again.');
    const m = ctx.lookupMacKey();
    if (m.incoming) fail('INVALID_INPUT', `A MAC key rotation is already under way (new key ${m.incoming.check}${m.incoming.ceremonyId ? `, ceremony ${m.incoming.ceremonyId}` : ''}).`, 'Resume that ceremony (custos ceremony resume RUN) instead of planning another.');
    if (p.current !== m.current.check) fail('CHECK_VALUE_MISMATCH', `The archive’s MAC key has the check value ${m.current.check}, not ${p.current}.`, 'Read the check value again from the archive (custos archive info) and plan with it.');
    return { key: 'mac', mac: { check: m.current.check, label: m.current.label, id: m.current.id }, rows: m.rows };
  }
  if (!ctx.lookupAuditKey) fail('RECORD_MISSING', 'The archive is not open.', 'Log in to the workstation token and plan again.');
  const k = ctx.lookupAuditKey();
  if (p.current !== k.fingerprint) fail('CHECK_VALUE_MISMATCH', `The archive’s audit key has the fingerprint ${k.fingerprint}, not ${p.current}.`, 'Read the fingerprint again from the archive (custos archive info) and plan with it.');
  return { key: p.key, audit: { fingerprint: k.fingerprint, label: k.label, id: k.id } };
}

/**
 * KEK rotation: the planner's confirmation must be what the archive says now, so that the
 * fingerprint the custodians approve names the KEK being replaced and the work to be done. A
 * rotation already under way is resumed through its own run, never planned twice.
 */
function resolveKekRotation(p: KekRotationParams, ctx: PlanContext): Record<string, unknown> {
  if (!ctx.lookupKek) fail('RECORD_MISSING', 'The archive is not open.', 'Log in to the workstation token and plan again.');
  const k = ctx.lookupKek();
  if (k.incoming) {
    fail('INVALID_INPUT', `A KEK rotation is already under way (new KEK ${k.incoming.check}${k.incoming.ceremonyId ? `, ceremony ${k.incoming.ceremonyId}` : ''}).`, 'Resume that ceremony (custos ceremony resume RUN) instead of planning another.');
  }
  if (p.kekCheck !== k.current.check) fail('CHECK_VALUE_MISMATCH', `The Archive KEK’s check value is ${k.current.check}, not ${p.kekCheck}.`, 'Read the check value again from the archive (custos archive info) and plan with it.');
  if (p.versions !== k.versions) fail('INVALID_INPUT', `The archive holds ${k.versions} version(s) with material, not ${p.versions}.`, 'Read the number again (custos archive info) and plan with it.');
  return { kek: { check: k.current.check, label: k.current.label, id: k.current.id }, versions: k.versions };
}

