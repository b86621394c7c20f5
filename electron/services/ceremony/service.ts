// The ceremony service: what the app's handlers and the `custos ceremony` commands call. It opens
// the workstation record for each request (read-only to look, bound to the logged-in workstation
// token to act), runs one action through the engine, and answers with the run's view.
//
// Definitions are checked (schema, linter) before anything touches the HSM; a set-up is kept in
// memory until its create-record step has made the record; the Backup Key and shares stay in this
// process (secrets.ts); a run interrupted by a crash is resumed explicitly (resume()).
//
// Over 400 lines because it is the service's one door: planning, acting, the set-up draft, the
// practice record and bundle checks each take a few lines here and delegate (actions.ts, engine.ts).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_DEFINITIONS, builtinDefinition } from '../../../shared/ceremony/builtin';
import { canonicalJson } from '../../../shared/ceremony/canonical';
import type { CeremonyEvent } from '../../../shared/ceremony/contract';
import type { CeremonyDefinition } from '../../../shared/ceremony/definition';
import { retrievalParamsSchema, type SetupParams } from '../../../shared/ceremony/params';
import { defaultPolicy, practicePolicy, type Policy } from '../../../shared/ceremony/policy';
import { currentStep, SYSTEM, type TokenIdentityView } from '../../../shared/ceremony/run';
import { runView, type RunView } from '../../../shared/ceremony/view';
import type { TokenRef } from '../../../shared/keys';
import { matchesSelector, tokenUri } from '../../../shared/pkcs11-uri';
import { CustosError, fail } from '../../../shared/result';
import type { HsmClient } from '../../hsm/client';
import type { ArchiveDoor } from '../archive/door';
import type { ArchiveService } from '../archive/service';
import { DraftRecord, type DraftFile } from './draft';
import * as engine from './engine';
import { verifyBundle, type BundleVerdict } from './evidence';
import { checkedDefinition, resolvePlan, type ParticipantInput } from './plan';
import { hsmObjectOf } from './plan-rotation';
import type { ExportFacts } from './plan-retrieval';
import { exportFacts, ownKeys, wrappedExportPath } from './retrieval-export';
import type { CeremonyRecord, PersonRecord, RunSummary } from './record';
import { SecretStore } from './secrets';
import { ArchiveCeremonyRecord } from './store';
import { stepActor, type StepContext, type StepServices } from './step-context';
import { dispatch, type ActResult, type CeremonyAction } from './actions';
import { backupStatuses, type RecordStatus } from './record-status';

export interface CeremonyServiceDeps {
  hsm: HsmClient;
  door: ArchiveDoor;
  dataDir: string;
  version: string;
  /** A new HSM host process (for the SO's part of a backup commit). */
  newHost(): HsmClient;
  csr: StepServices['csr'];
  /** "app" or "cli": recorded with the OS user as a detail of each audit entry. */
  via: 'app' | 'cli';
  /** Told after every plan and every action that succeeded (the app forwards it to its window). */
  emit?(event: CeremonyEvent): void;
  /** The clock (tests move it to expire challenges). */
  now?(): Date;
  /**
   * The workstation's activity record: a refused or failed action (a wrong card PIN, an approval
   * that does not count) is recorded there, since it leaves no journal entry; and a new record
   * takes over what waited in the pending audit journal.
   */
  activity?: {
    note(ev: { action: string; token?: TokenRef | null; details?: Record<string, string | number | boolean | null> }, outcome: 'failed' | 'refused', code?: string): Promise<void>;
    carry(a: ArchiveService): Promise<number>;
  };
}

function osUser(via: 'app' | 'cli'): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return `${user} (${via})`;
}

export class CeremonyService {
  readonly secrets = new SecretStore();
  private draftLoaded = false;
  private draftState: { record: DraftRecord; session: TokenRef } | null = null;
  /** Runs with a step executing in this process right now (not interrupted, just busy). */
  private readonly busy = new Set<string>();

  /** Long steps in flight that can be cancelled between batches (KEK rotation), by run. */
  private readonly cancels = new Map<string, AbortController>();

  constructor(private readonly deps: CeremonyServiceDeps) {}

  /**
   * Asks the long step of `run` now in flight to stop after its current batch (the step then fails
   * with CEREMONY_INTERRUPTED and is resumed later). False when nothing of that run can be cancelled.
   */
  cancel(run: string): boolean {
    const c = this.cancels.get(run);
    if (!c || c.signal.aborted) return false;
    c.abort();
    return true;
  }

  private get draftFile(): string {
    return join(this.deps.dataDir, 'ceremony-setup-draft.json');
  }

  /** The set-up in progress, if any (read from the data folder once: the CLI runs one step per process). */
  private get draft(): { record: DraftRecord; session: TokenRef } | null {
    if (!this.draftLoaded) {
      this.draftLoaded = true;
      if (existsSync(this.draftFile) && !this.recordPath().exists) {
        try {
          const f = JSON.parse(readFileSync(this.draftFile, 'utf8')) as DraftFile;
          const record = DraftRecord.fromSaved(f);
          this.draftState = { record, session: { module: f.module, token: record.info.token } };
        } catch {
          this.draftState = null;
        }
      }
    }
    return this.draftState;
  }

  private set draft(d: { record: DraftRecord; session: TokenRef } | null) {
    this.draftLoaded = true;
    this.draftState = d;
    if (d) {
      mkdirSync(this.deps.dataDir, { recursive: true, mode: 0o700 });
      const tmp = `${this.draftFile}.tmp-${process.pid}`;
      writeFileSync(tmp, JSON.stringify(d.record.saved()), { mode: 0o600 });
      renameSync(tmp, this.draftFile);
    } else {
      rmSync(this.draftFile, { force: true });
    }
  }

  get bundleDir(): string {
    return join(this.deps.dataDir, 'evidence');
  }

  bundlePath(name: string): string {
    return join(this.bundleDir, name);
  }

  definitions(): Array<{ id: string; revision: number; type: string; title: string; summary: string | null; definition: CeremonyDefinition }> {
    return BUILTIN_DEFINITIONS.map((d) => ({ id: d.id, revision: d.revision, type: d.type, title: d.title, summary: d.summary ?? null, definition: d }));
  }

  /** A definition file's text (YAML or JSON), checked against the record's policy; nothing touches the HSM. */
  async parseDefinition(text: string): Promise<CeremonyDefinition> {
    let value: unknown;
    try {
      value = parseYaml(text, { maxAliasCount: 0, uniqueKeys: true });
    } catch (e) {
      fail('CEREMONY_DEFINITION_INVALID', `The definition file is not valid YAML or JSON (${String((e as Error).message).split('\n')[0]!.slice(0, 160)}).`, 'Correct the file and try again. Nothing was done on the HSM.');
    }
    return checkedDefinition(value, await this.policy());
  }

  private resolveDefinition(def: string | CeremonyDefinition, policy: Policy): CeremonyDefinition {
    if (typeof def === 'string') {
      const d = builtinDefinition(def);
      if (!d) fail('CEREMONY_NOT_FOUND', `There is no built-in ceremony “${def}”.`, `Use one of: ${BUILTIN_DEFINITIONS.map((x) => x.id).join(', ')}, or a definition file.`);
      return checkedDefinition(d, policy);
    }
    return checkedDefinition(def, policy);
  }

  // ---- The record --------------------------------------------------------------------------------

  private recordPath(): { path: string; exists: boolean } {
    return this.deps.door.locate();
  }

  private async read<T>(fn: (r: CeremonyRecord) => T): Promise<T> {
    const { path } = this.recordPath();
    return this.deps.door.read(path, (a) => fn(new ArchiveCeremonyRecord(a, '', osUser(this.deps.via))));
  }

  private async write<T>(session: TokenRef, fn: (r: CeremonyRecord, a: ArchiveService) => Promise<T>): Promise<T> {
    const { path } = this.recordPath();
    return this.deps.door.write(path, session, (a) => fn(new ArchiveCeremonyRecord(a, session.module, osUser(this.deps.via)), a));
  }

  async policy(): Promise<Policy> {
    if (!this.recordPath().exists) return defaultPolicy();
    return this.read((r) => r.policy());
  }

  async status(): Promise<RecordStatus> {
    if (!this.recordPath().exists) return { exists: false, name: null, practice: false, token: null, policy: defaultPolicy(), people: [], backups: [] };
    return this.read((r) => ({
      exists: true,
      name: r.info.name,
      practice: r.info.practice,
      token: r.info.token,
      policy: r.policy(),
      backups: backupStatuses(r, this.deps.now?.() ?? new Date()),
      people: r.people().map((p: PersonRecord) => ({
        id: p.id,
        name: p.name,
        roles: p.roles,
        status: p.status,
        credential: p.credential ? { kind: p.credential.kind, fingerprint: p.credential.fingerprint, card: p.credential.card ? { serial: p.credential.card.serial, model: p.credential.card.model } : null } : null,
      })),
    }));
  }

  async list(): Promise<RunSummary[]> {
    const stored = this.recordPath().exists ? await this.read((r) => r.runs()) : [];
    return [...(this.draft ? this.draft.record.runs() : []), ...stored];
  }

  // ---- Planning ----------------------------------------------------------------------------------

  private async tokenIdentity(session: TokenRef): Promise<TokenIdentityView> {
    await this.deps.hsm.call('load', { path: session.module });
    const slots = await this.deps.hsm.call('slots', { path: session.module });
    const found = slots.filter((s) => s.token && matchesSelector(session.token, { label: s.token.label, serial: s.token.serial, manufacturer: s.token.manufacturer, model: s.token.model }));
    if (found.length !== 1) fail(found.length ? 'TOKEN_AMBIGUOUS' : 'TOKEN_NOT_FOUND', found.length ? `Several tokens match “${session.token}”.` : `No token “${session.token}” is present.`, 'Choose the workstation token by its URI (with its serial number).');
    const t = found[0]!.token!;
    const uri = tokenUri({ label: t.label, serial: t.serial, manufacturer: t.manufacturer, model: t.model });
    return { uri, label: t.label, serial: t.serial, model: t.model, manufacturer: t.manufacturer };
  }

  /**
   * Plans a run. The definition is checked first (an invalid one makes no PKCS#11 call), then the
   * parameters and the people; then the token is asked who it is. Set-up: the run lives in memory
   * until its create-record step; every other run is written to the record at once.
   */
  async plan(session: TokenRef, req: { definition: string | CeremonyDefinition; params: unknown; participants: ParticipantInput[]; by?: string }): Promise<RunView> {
    const view = await this.planRun(session, req);
    this.changed(view);
    return view;
  }

  private async planRun(session: TokenRef, req: { definition: string | CeremonyDefinition; params: unknown; participants: ParticipantInput[]; by?: string }): Promise<RunView> {
    const exists = this.recordPath().exists;
    const recordPolicy = exists ? await this.policy() : null;
    // A set-up's own policy is one of its parameters; the linter checks the definition against it.
    const setupPolicy = !exists ? proposedPolicy(req.params) : null;
    const definition = this.resolveDefinition(req.definition, recordPolicy ?? setupPolicy ?? defaultPolicy());
    if (definition.type === 'workstation-setup') {
      if (exists) fail('INVALID_INPUT', 'This workstation already has a record.', 'To add or retire people, or change the policy, run the enrolment ceremony.');
      const token = await this.tokenIdentity(session);
      const { plan, policy } = resolvePlan({ definition, params: req.params, participants: req.participants }, { record: null, version: this.deps.version, token });
      const record = new DraftRecord(definition, plan, policy, session.module);
      const admin = plan.participants.find((p) => p.roles.includes('administrator'))!;
      await record.createRun(definition, [{ actor: { person: admin.person, name: admin.name, role: 'administrator' }, event: { type: 'run.planned', plan } }]);
      this.draft = { record, session: { module: session.module, token: token.uri } };
      return this.viewOf(record, plan.run);
    }
    if (!exists) fail('RECORD_MISSING', 'This workstation has no record yet.', 'Run the workstation set-up ceremony first.');
    const token = await this.tokenIdentity(session);
    const dest = definition.type === 'restore' ? (req.params as { destination?: { module?: string; token: string } }).destination : undefined;
    const destination = dest ? { module: dest.module ?? session.module, token: await this.tokenIdentity({ module: dest.module ?? session.module, token: dest.token }) } : null;
    const exportFacts = await this.exportFactsFor(session, definition.type, req.params);
    return this.write(session, async (record, archive) => {
      const { plan } = resolvePlan({ definition, params: req.params, participants: req.participants }, { record, version: this.deps.version, token, destination, exportFacts, lookupVersion: (sel) => archive.version(sel), lookupHsmObject: (id) => hsmObjectOf(archive, id), lookupKek: () => archive.kekRotationState(), lookupAuditKey: () => ({ fingerprint: archive.workstation.audit_fingerprint, label: archive.workstation.audit_label, id: archive.workstation.audit_id }), lookupMacKey: () => archive.macRotationState(), lookupOwnKeys: () => ownKeys(archive) });
      const admin = plan.participants.find((p) => p.roles.includes('administrator'));
      const actor = admin ? { person: admin.person, name: admin.name, role: 'administrator' as const } : SYSTEM;
      await record.createRun(definition, [{ actor, event: { type: 'run.planned', plan } }]);
      return this.viewOf(record, plan.run);
    });
  }

  /** A retrieval's export target as the token reports it, read before planning (planning itself does not call the HSM). */
  private async exportFactsFor(session: TokenRef, type: string, raw: unknown): Promise<ExportFacts | undefined> {
    const p = raw as { into?: unknown; wrap?: unknown } | null;
    if (type !== 'retrieval' || !p || p.into !== 'export') return undefined;
    const wrap = retrievalParamsSchema.shape.wrap.safeParse(p.wrap);
    if (!wrap.success || !wrap.data) return undefined; // the parameter check names the problem
    return exportFacts(this.deps.hsm, { path: session.module, token: session.token }, wrap.data);
  }

  /** The wrapped key a retrieval exported, as its retrieve step wrote it (checked against the SHA-256 in the journal). */
  async wrappedExport(run: string): Promise<{ name: string; bytes: Buffer; sha256: string }> {
    const v = await this.view(run);
    const out = v.steps.find((s) => s.kind === 'retrieve')?.outcome as { into?: string; file?: { sha256: string }; mechanism?: string } | null | undefined;
    if (!out || out.into !== 'export' || !out.file) fail('CEREMONY_STEP_BLOCKED', 'This ceremony has exported nothing (yet).', 'Save the export once the retrieve step has run; only a retrieval planned with into: export makes one.');
    const path = wrappedExportPath(this.bundleDir, run);
    if (!existsSync(path)) fail('FILE_NOT_FOUND', 'The wrapped export of this ceremony is no longer on the workstation.', 'Plan a new retrieval if the export is still needed.');
    const bytes = readFileSync(path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== out.file.sha256) fail('RECORD_INVALID', 'The wrapped export on the workstation is not the one the ceremony recorded (its SHA-256 differs).', 'Do not use it; plan a new retrieval.');
    const name = `retrieval-${run.slice(0, 8)}.${out.mechanism === 'aes-kwp' ? 'kwp' : 'rsa-aes-kwp'}.bin`;
    return { name, bytes, sha256 };
  }

  private viewOf(record: CeremonyRecord, run: string): RunView {
    const loaded = engine.loadRun(record, run);
    return runView(loaded.state, { record: record.info.name, secretsHere: this.secrets.has(run) || this.busy.has(run) });
  }

  async view(run: string): Promise<RunView> {
    if (this.draft?.record.run === run) return this.viewOf(this.draft.record, run);
    if (!this.recordPath().exists) fail('CEREMONY_NOT_FOUND', `There is no ceremony ${run}.`, 'List the ceremonies and use one of their ids.');
    return this.read((r) => this.viewOf(r, run));
  }

  // ---- Acting ------------------------------------------------------------------------------------

  /** One action on a run, by the person `by` (register id or name). */
  async act(session: TokenRef, run: string, action: CeremonyAction, by: string | null): Promise<ActResult> {
    let result: ActResult;
    try {
      result = await this.actOn(session, run, action, by);
    } catch (e) {
      // Nothing was journaled (a refused action changes nothing): the activity record keeps it.
      if (e instanceof CustosError) {
        await this.deps.activity
          ?.note({ action: `ceremony.${action.kind}`, token: session, details: { ceremony: run, by: by ?? null, ...(action.kind === 'approve' && 'step' in action ? { step: String(action.step ?? '') } : {}) } }, 'refused', e.appError.code)
          .catch(() => undefined);
      }
      throw e;
    }
    this.changed(result.view);
    return result;
  }

  /** Tells the listener (the app's window) that a run changed; a listener's failure is not the ceremony's. */
  private changed(view: RunView): void {
    try {
      this.deps.emit?.({ type: 'ceremony.changed', run: view.run, status: view.status, step: view.current?.id ?? null });
    } catch {
      /* the step is journaled; a window that missed the event still sees it on its next read */
    }
  }

  private async actOn(session: TokenRef, run: string, action: CeremonyAction, by: string | null): Promise<ActResult> {
    if (this.draft?.record.run === run) return this.actOnDraft(session, action, by);
    if (this.busy.has(run)) fail('CEREMONY_STEP_BLOCKED', 'A step of this ceremony is running right now.', 'Wait for it to finish.');
    this.busy.add(run);
    try {
      return await this.write(session, async (record, archive) => {
        const ctx = this.context(session, record, archive, run, by);
        const extra = await dispatch(ctx, action, this.deps.hsm);
        return { view: runView(ctx.run.state, { record: record.info.name, secretsHere: this.secrets.has(run) }), ...extra };
      });
    } finally {
      this.busy.delete(run);
    }
  }

  private context(session: TokenRef, record: CeremonyRecord, archive: ArchiveService | null, run: string, by: string | null): StepContext {
    const services: StepServices = {
      hsm: this.deps.hsm,
      withArchive: async (fn) => {
        if (!archive) fail('RECORD_MISSING', 'This step needs the workstation record.', 'Run the create-record step first.');
        return fn(archive);
      },
      soHost: () => this.deps.newHost(),
      csr: this.deps.csr,
      bundleDir: this.bundleDir,
      version: this.deps.version,
      progress: (e) => this.deps.emit?.(e),
      cancel: (r) => {
        const c = new AbortController();
        this.cancels.set(r, c);
        return c.signal;
      },
    };
    return { record, secrets: this.secrets, now: this.deps.now ?? (() => new Date()), run: engine.loadRun(record, run), session, services, by };
  }

  // ---- Set-up before the record exists ----------------------------------------------------------

  private async actOnDraft(session: TokenRef, action: CeremonyAction, by: string | null): Promise<ActResult> {
    const d = this.draft!;
    const run = d.record.run;
    const ctx = this.context(d.session, d.record, null, run, by);
    const step = currentStep(ctx.run.state);
    if (action.kind === 'abort') {
      this.draft = null;
      return { view: { ...runView(ctx.run.state, { record: d.record.info.name, secretsHere: false }), status: 'aborted', abortReason: action.reason, current: null } };
    }
    if (step?.kind === 'create-record' && action.kind === 'run') {
      engine.requireRunnable(ctx.run);
      const created = await this.createRecord(d, ctx, by);
      return created;
    }
    if (step?.kind !== 'roll-call' && step?.kind !== 'login' && action.kind !== 'tick' && action.kind !== 'exception') {
      fail('RECORD_MISSING', 'Until the record is created, only the roll call, the login and the witness’s ticks can be done.', 'Do the steps in order.');
    }
    void session;
    const extra = await dispatch(ctx, action, this.deps.hsm);
    this.draft = d;
    return { view: runView(ctx.run.state, { record: d.record.info.name, secretsHere: false }), ...extra };
  }

  private async createRecord(d: { record: DraftRecord; session: TokenRef }, ctx: StepContext, by: string | null): Promise<ActResult> {
    const plan = ctx.run.state.plan;
    const params = plan.params as unknown as SetupParams & { policy: Policy };
    const actor = stepActor(ctx, 'operator');
    const { path } = this.recordPath();
    mkdirSync(this.deps.dataDir, { recursive: true, mode: 0o700 });
    const a = await this.deps.door.init(path, { token: d.session, name: params.recordName, actor: `${actor.name} (Operator)`, tokenUri: d.session.token });
    try {
      const record = new ArchiveCeremonyRecord(a, d.session.module, osUser(this.deps.via));
      const step = currentStep(ctx.run.state)!;
      const ws = a.workstation;
      const events = [
        // The entries made before the record existed keep their times.
        ...d.record.events.map((e, i) => ({ ...e, at: d.record.entries[i]!.at })),
        { actor, event: { type: 'step.completed' as const, step: step.id, outcome: { record: ws.name, archiveId: a.archiveId, kek: ws.kek_label, kekCheck: ws.kek_check, mac: ws.mac_label, auditKey: ws.audit_fingerprint, practice: plan.practice } } },
      ];
      await record.createRun(d.record.definition, events, { profile: { practice: plan.practice } });
      // What was done at this workstation before it had a record now goes into the record's log.
      await this.deps.activity?.carry(a);
      this.draft = null;
      void by;
      return { view: this.viewOf(record, plan.run) };
    } finally {
      a.close();
    }
  }

  /**
   * The demo token path: a practice record on the new demo token, with the practice policy and no
   * people yet (the app then leads to enrolling them). Everything it holds is marked practice.
   */
  async createPracticeRecord(session: TokenRef, userPin: string): Promise<void> {
    if (this.recordPath().exists) return;
    const { path } = this.recordPath();
    mkdirSync(this.deps.dataDir, { recursive: true, mode: 0o700 });
    await this.deps.hsm.call('login', { path: session.module, token: session.token, role: 'user', pin: userPin });
    try {
      const actor = `${osUser(this.deps.via)} (demo token set-up)`;
      const a = await this.deps.door.init(path, { token: session, name: 'Practice workstation (demo token)', actor, tokenUri: session.token });
      try {
        await a.ceremonyRows.initProfile({ practice: true, policy: canonicalJson(practicePolicy()), actor, osUser: osUser(this.deps.via) });
        await this.deps.activity?.carry(a);
      } finally {
        a.close();
      }
    } finally {
      await this.deps.hsm.call('logout', { path: session.module, token: session.token }).catch(() => undefined);
    }
  }

  // ---- Evidence ------------------------------------------------------------------------------------

  /**
   * Verifies a bundle against this workstation's pinned audit key. A production record refuses a
   * practice bundle (a practice run proves nothing about real keys), however well it verifies.
   */
  async verifyBundle(path: string, publicKeyPem?: string): Promise<BundleVerdict> {
    // The record's audit key, and the keys audit key rotations retired: their bundles stay valid.
    const record = this.recordPath().exists ? await this.read((r) => ({ pin: [r.info.auditKey.fingerprint, ...(r.info.auditKey.retired ?? [])], practice: r.info.practice })) : null;
    const v = verifyBundle(path, { pin: publicKeyPem ? null : (record?.pin ?? null), ...(publicKeyPem ? { publicKeyPem } : {}) });
    if (record && !record.practice && v.manifest?.practice) {
      v.checks.push({ check: 'a production record accepts no practice bundle', ok: false, detail: 'this bundle is from a practice ceremony' });
      v.ok = false;
    }
    return v;
  }

  close(): void {
    this.secrets.wipeAll();
    // The set-up draft stays on disk: the next command (or the app) continues it.
    this.draftState = null;
    this.draftLoaded = false;
  }
}

function proposedPolicy(params: unknown): Policy | null {
  if (!params || typeof params !== 'object') return null;
  const p = params as Partial<SetupParams>;
  if (p.policy) return p.policy as Policy;
  return p.practice ? practicePolicy() : defaultPolicy();
}

export { CustosError };


export type { ActResult, CeremonyAction, Proof } from './actions';
export type { BackupStatus, RecordStatus } from './record-status';
