// The ceremony service: what the app's handlers and the `custos ceremony` commands call. It opens
// the workstation record for each request (read-only to look, bound to the logged-in workstation
// token to act), runs one action through the engine, and answers with the run's view.
//
// Definitions are checked (schema, linter) before anything touches the HSM; a set-up is kept in
// memory until its create-record step has made the record; the Backup Key and shares stay in this
// process (secrets.ts); a run interrupted by a crash is resumed explicitly (resume()).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_DEFINITIONS, builtinDefinition } from '../../../shared/ceremony/builtin';
import { canonicalJson } from '../../../shared/ceremony/canonical';
import type { CeremonyEvent } from '../../../shared/ceremony/contract';
import type { CeremonyDefinition } from '../../../shared/ceremony/definition';
import type { SetupParams } from '../../../shared/ceremony/params';
import { defaultPolicy, practicePolicy, type Policy } from '../../../shared/ceremony/policy';
import type { Role } from '../../../shared/ceremony/roles';
import { currentStep, inFlightStep, SYSTEM, type TokenIdentityView } from '../../../shared/ceremony/run';
import { runView, secretSectionOpen, type RunView } from '../../../shared/ceremony/view';
import type { TokenRef } from '../../../shared/keys';
import { matchesSelector, tokenUri } from '../../../shared/pkcs11-uri';
import { CustosError, fail } from '../../../shared/result';
import type { HsmClient } from '../../hsm/client';
import type { ArchiveDoor } from '../archive/door';
import type { ArchiveService } from '../archive/service';
import type { CardAccess } from './credentials';
import { DraftRecord, type DraftFile } from './draft';
import * as engine from './engine';
import { verifyBundle, type BundleVerdict } from './evidence';
import { checkedDefinition, resolvePlan, type ParticipantInput } from './plan';
import type { CeremonyRecord, PersonRecord, RunSummary } from './record';
import { SecretStore } from './secrets';
import { ArchiveCeremonyRecord } from './store';
import { stepActor, type StepContext, type StepServices } from './step-context';
import * as backup from './steps-backup';
import * as common from './steps-common';
import * as keygen from './steps-keygen';
import * as people from './steps-people';
import * as restore from './steps-restore';
import * as retrieval from './steps-retrieval';

export type Proof = { card: CardAccess } | { passphrase: string };

export type CeremonyAction =
  | { kind: 'run' }
  | { kind: 'login'; pin: string | null }
  | { kind: 'present'; person: string; proof: Proof }
  | { kind: 'confirm-fingerprint'; fingerprint: string }
  | { kind: 'enrol'; person: string; proof: Proof }
  | { kind: 'approve'; step: string; person: string; proof: Proof }
  /** An approval signed elsewhere (a card on another reader): the challenge it answers and its signature. */
  | { kind: 'approve-signed'; step: string; person: string; counter: number; nonce: string; fingerprint: string; signature: string }
  /** The current challenge of a step, to sign elsewhere (issued if there is none or it expired). */
  | { kind: 'challenge'; step: string }
  | { kind: 'reveal'; holder: string }
  | { kind: 'handed-over'; holder: string }
  | { kind: 'verify-share'; holder: string; share: string }
  | { kind: 'commit'; soPin: string | null }
  /** Restore and drill: one holder's share, checked as it is entered. */
  | { kind: 'enter-share'; holder: string; share: string }
  /** Restore and drill: unwrap the keys; `destPin` logs in to a destination that is not the workstation token. */
  | { kind: 'unwrap'; destPin: string | null }
  | { kind: 'tick'; step?: string }
  | { kind: 'exception'; role: Role; step: string | null; expected: string; happened: string }
  | { kind: 'decide'; id: string; decision: string }
  | { kind: 'acknowledge'; id: string }
  | { kind: 'abort'; reason: string }
  | { kind: 'resume' };

export interface ActResult {
  view: RunView;
  /** hand-over only: the share of the holder whose turn it is (never journaled, never stored). */
  reveal?: ReturnType<typeof backup.reveal>;
  /** sign-off only: where the evidence bundle was written. */
  bundle?: { path: string; hash: string };
  /** challenge only: what an approval made elsewhere must sign (with the person and their credential). */
  challenge?: { run: string; fingerprint: string; step: string; counter: number; nonce: string };
}

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
}

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

  constructor(private readonly deps: CeremonyServiceDeps) {}

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
    return this.write(session, async (record, archive) => {
      const { plan } = resolvePlan({ definition, params: req.params, participants: req.participants }, { record, version: this.deps.version, token, destination, lookupVersion: (sel) => archive.version(sel) });
      const admin = plan.participants.find((p) => p.roles.includes('administrator'));
      const actor = admin ? { person: admin.person, name: admin.name, role: 'administrator' as const } : SYSTEM;
      await record.createRun(definition, [{ actor, event: { type: 'run.planned', plan } }]);
      return this.viewOf(record, plan.run);
    });
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
    const result = await this.actOn(session, run, action, by);
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
        const extra = await this.dispatch(ctx, action);
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
    };
    return { record, secrets: this.secrets, now: this.deps.now ?? (() => new Date()), run: engine.loadRun(record, run), session, services, by };
  }

  private async dispatch(ctx: StepContext, action: CeremonyAction): Promise<Omit<ActResult, 'view'>> {
    const r = ctx.run;
    const deps = { ...ctx, hsm: this.deps.hsm };
    const person = (ref: string) => {
      const p = r.state.plan.participants.find((x) => x.person === ref || x.name.toLowerCase() === ref.toLowerCase());
      if (!p) fail('PERSON_NOT_FOUND', `“${ref}” is not a participant of this ceremony.`, 'Name one of the participants.');
      return p.person;
    };
    const by = (role: Role) => {
      if (ctx.by) return person(ctx.by);
      const holders = r.state.plan.participants.filter((p) => p.roles.includes(role));
      if (holders.length === 1) return holders[0]!.person;
      return fail('ROLE_MISSING', `Say who is acting (the ${role}).`, 'Name the person (in the CLI: --as NAME).');
    };
    switch (action.kind) {
      case 'present':
        ctx.run = await engine.present(deps, r, { person: person(action.person), proof: action.proof });
        return {};
      case 'confirm-fingerprint':
        ctx.run = await engine.confirmFingerprint(ctx, r, { by: by('administrator'), fingerprint: action.fingerprint });
        return {};
      case 'approve':
        ctx.run = await engine.approve(deps, r, { step: action.step, person: person(action.person), proof: action.proof });
        return {};
      case 'approve-signed': {
        const step = r.state.steps.find((x) => x.id === action.step);
        const role = step?.kind === 'sign-off' ? 'witness' : (step?.quorum?.role ?? 'custodian');
        ctx.run = await engine.recordApproval(ctx, r, { step: action.step, person: person(action.person), role, counter: action.counter, nonce: action.nonce, fingerprint: action.fingerprint, signature: action.signature });
        return {};
      }
      case 'challenge': {
        engine.requireRunning(r);
        const c = await engine.challengeFor(ctx, r, action.step);
        ctx.run = c.loaded;
        return { challenge: { step: action.step, counter: c.counter, nonce: c.nonce, run: r.state.plan.run, fingerprint: r.state.plan.fingerprint } };
      }
      case 'tick': {
        const step = action.step ?? lastDone(r);
        ctx.run = await engine.tick(ctx, r, { by: by('witness'), step });
        return {};
      }
      case 'exception':
        ctx.run = await engine.raiseException(ctx, r, { by: by(action.role), role: action.role, step: action.step, expected: action.expected, happened: action.happened });
        return {};
      case 'decide':
        ctx.run = await engine.decideException(ctx, r, { by: by('administrator'), id: action.id, decision: action.decision });
        return {};
      case 'acknowledge':
        ctx.run = await engine.acknowledgeException(ctx, r, { by: by('witness'), id: action.id });
        return {};
      case 'abort':
        ctx.run = await engine.abort(ctx, r, { by: by('administrator'), reason: action.reason });
        return {};
      case 'resume':
        // Only the administrator decides how an interrupted ceremony goes on.
        engine.actorOf(r.state, by('administrator'), 'administrator');
        await this.resume(ctx);
        return {};
      case 'enrol':
        await people.enrolPerson(ctx, { person: action.person, proof: action.proof });
        return {};
      case 'reveal':
        return { reveal: backup.reveal(ctx, action.holder) };
      case 'handed-over':
        await backup.handedOver(ctx, action.holder);
        return {};
      case 'verify-share':
        await backup.verifyShare(ctx, action.holder, action.share);
        return {};
      case 'commit':
        engine.requireRunnable(ctx.run, stepIdOf(ctx, 'commit-backup'));
        await backup.runCommitBackup(ctx, action.soPin);
        return {};
      case 'enter-share':
        await restore.enterShare(ctx, action.holder, action.share);
        return {};
      case 'unwrap': {
        engine.requireRunnable(ctx.run, stepIdOf(ctx, 'unwrap-targets'));
        const d = restore.destinationOf(ctx);
        if (d.separate && action.destPin) await this.deps.hsm.call('login', { path: d.path, token: d.token, role: 'user', pin: action.destPin });
        try {
          await restore.runUnwrap(ctx);
        } finally {
          if (d.separate && action.destPin) await this.deps.hsm.call('logout', { path: d.path, token: d.token }).catch(() => undefined);
        }
        return {};
      }
      case 'login':
        engine.requireRunnable(ctx.run);
        if (currentStep(ctx.run.state)?.kind !== 'login') fail('CEREMONY_STEP_BLOCKED', 'The ceremony is not at the login step.', 'Log in when the ceremony reaches that step.');
        await common.runLogin(ctx, action.pin);
        return {};
      case 'run':
        return this.runStep(ctx);
    }
  }

  /** The current step's own work, for steps that need no more than "do it now". */
  private async runStep(ctx: StepContext): Promise<Omit<ActResult, 'view'>> {
    engine.requireNotInterrupted(ctx, ctx.run);
    const step = engine.requireRunnable(ctx.run);
    const type = ctx.run.state.plan.definition.type;
    switch (step.kind) {
      case 'roll-call':
        await common.runRollCall(ctx);
        break;
      case 'read-fingerprint':
        await common.runReadFingerprint(ctx);
        break;
      case 'login':
        await common.runLogin(ctx, null);
        break;
      case 'check':
        await (type === 'backup' ? backup.runCheckBackup(ctx) : type === 'restore' || type === 'restore-drill' ? restore.runCheckRestore(ctx) : type === 'retrieval' ? retrieval.runCheckRetrieval(ctx) : keygen.runCheckKeygen(ctx));
        break;
      case 'retrieve':
        await retrieval.runRetrieve(ctx);
        break;
      case 'rebuild-backup-key':
        await restore.runRebuild(ctx);
        break;
      case 'enter-shares':
        fail('CEREMONY_STEP_BLOCKED', 'Each holder enters their share, one at a time.', 'Enter the shares (custos ceremony restore-shares, or the screen).');
        break;
      case 'unwrap-targets':
        await this.dispatch(ctx, { kind: 'unwrap', destPin: null });
        break;
      case 'enrol':
        await people.runEnrolDone(ctx);
        break;
      case 'set-policy':
        await people.runSetPolicy(ctx);
        break;
      case 'generate':
        await keygen.runGenerate(ctx);
        break;
      case 'show-check-value':
        await keygen.runShowCheckValue(ctx);
        break;
      case 'test-operation':
        await keygen.runTestOperation(ctx);
        break;
      case 'archive':
        await keygen.runArchive(ctx);
        break;
      case 'csr':
        await keygen.runCsr(ctx);
        break;
      case 'make-backup-key':
        await backup.runMakeBackupKey(ctx);
        break;
      case 'split':
        await backup.runSplit(ctx);
        break;
      case 'print':
        await common.complete(ctx, SYSTEM, { printed: true });
        break;
      case 'sign-off': {
        const b = await common.runSignOff(ctx);
        return { bundle: { path: b.bundle, hash: b.hash } };
      }
      case 'hand-over':
      case 'verify-shares':
        fail('CEREMONY_STEP_BLOCKED', `“${step.title}” is done one holder at a time.`, step.kind === 'hand-over' ? 'Show the next holder their share (reveal), then confirm it was written down.' : 'Each holder enters their share.');
        break;
      case 'commit-backup':
        fail('CEREMONY_STEP_BLOCKED', 'The commit needs the SO PIN.', 'The SO PIN holder enters the SO PIN (commit).');
        break;
      case 'create-record':
        fail('INVALID_INPUT', 'This workstation already has a record.', 'Nothing to create.');
    }
    return {};
  }

  /**
   * After a crash: a step that was started and never finished is adopted (the key made with the
   * planned CKA_ID, the version archived with this run's id) or marked failed so it runs again; a
   * backup whose Backup Key and shares were lost with the process has its share set voided and the
   * secret part starts again. Nothing half-done survives.
   */
  private async resume(ctx: StepContext): Promise<void> {
    engine.requireRunning(ctx.run);
    const s = ctx.run.state;
    const flight = inFlightStep(s);
    const how: string[] = [];
    if (flight) {
      let adopted = false;
      if (flight.kind === 'generate') adopted = await keygen.adoptGenerated(ctx);
      else if (flight.kind === 'archive') adopted = await keygen.adoptArchived(ctx);
      else if (flight.kind === 'retrieve') adopted = await retrieval.adoptRetrieved(ctx);
      else if (flight.kind === 'commit-backup') await backup.cleanUpCommit(ctx);
      else if (flight.kind === 'unwrap-targets') await restore.cleanUpUnwrap(ctx);
      if (adopted) how.push(`step “${flight.title}” had finished in the HSM: its result was adopted`);
      else if (flight.kind !== 'commit-backup' && flight.kind !== 'unwrap-targets') {
        ctx.run = await engine.append(ctx, ctx.run, [{ actor: SYSTEM, event: { type: 'step.failed', step: flight.id, error: { code: 'CEREMONY_INTERRUPTED', message: 'Interrupted before it finished; nothing was made. Run the step again.' } } }]);
        how.push(`step “${flight.title}” had not finished: it runs again`);
      }
    }
    const lost = !this.secrets.has(s.plan.run) && secretSectionOpen(ctx.run.state);
    if (lost) {
      const first = ctx.run.state.steps.find((x) => x.secret)!;
      ctx.run = await engine.append(ctx, ctx.run, [{ actor: SYSTEM, event: { type: 'shares.voided', step: first.id, reason: 'The Backup Key and its shares lived only in the memory of the process that stopped. Any share already handed over is void: a new Backup Key and new shares are made.' } }]);
      how.push('the half-made share set is void; a new one is made');
    }
    ctx.run = await engine.append(ctx, ctx.run, [{ actor: SYSTEM, event: { type: 'run.resumed', step: currentStep(ctx.run.state)?.id ?? null, how: how.join('; ') || 'nothing was in progress' } }]);
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
    const extra = await this.dispatch(ctx, action);
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
    const record = this.recordPath().exists ? await this.read((r) => ({ pin: r.info.auditKey.fingerprint, practice: r.info.practice })) : null;
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

function lastDone(r: engine.LoadedRun): string {
  const done = [...r.state.steps].reverse().find((x) => ['done', 'skipped'].includes(r.state.step[x.id]!.status));
  if (!done) fail('CEREMONY_STEP_BLOCKED', 'No step is done yet, so there is nothing to tick.', 'Tick a step after it is done.');
  return done.id;
}

function stepIdOf(ctx: StepContext, kind: string): string {
  const st = ctx.run.state.steps.find((x) => x.kind === kind);
  if (!st) fail('CEREMONY_STEP_BLOCKED', `This ceremony has no ${kind} step.`, 'Check the ceremony’s definition.');
  return st.id;
}

export { CustosError };

/** Completed backups, each with the date of its last successful drill or restore and when the next drill is due. */
function backupStatuses(r: CeremonyRecord, now: Date): BackupStatus[] {
  const runs = r.runs();
  const interval = r.policy().drillIntervalMonths;
  const out: BackupStatus[] = [];
  const drills = runs.filter((x) => (x.type === 'restore-drill' || x.type === 'restore') && x.status === 'completed');
  const drilled = new Map<string, string>();
  for (const d of drills) {
    const stored = r.loadRun(d.run);
    const planned = stored?.entries[0]?.event;
    const of = planned?.type === 'run.planned' ? (planned.plan.params.backup as { run?: string } | undefined)?.run : undefined;
    if (of && d.endedAt && (!drilled.has(of) || drilled.get(of)! < d.endedAt)) drilled.set(of, d.endedAt);
  }
  for (const b of runs.filter((x) => x.type === 'backup' && x.status === 'completed')) {
    const stored = r.loadRun(b.run);
    const planned = stored?.entries[0]?.event;
    if (!stored || planned?.type !== 'run.planned') continue;
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
    });
  }
  return out;
}
