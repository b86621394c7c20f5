// What one action does (the service's `act` runs it inside the record's write): the engine's checks
// and then the step's own work. Every action names who does it; `by` resolves roles where the
// action does not name a person itself.
import { currentStep, inFlightStep, SYSTEM } from '../../../shared/ceremony/run';
import type { Role } from '../../../shared/ceremony/roles';
import { secretSectionOpen } from '../../../shared/ceremony/view';
import type { RunView } from '../../../shared/ceremony/view';
import { fail } from '../../../shared/result';
import type { HsmClient } from '../../hsm/client';
import type { CardAccess } from './credentials';
import * as engine from './engine';
import type { StepContext } from './step-context';
import * as backup from './steps-backup';
import * as backupSealed from './steps-backup-sealed';
import type { SealedHandOver } from './steps-backup-sealed';
import * as common from './steps-common';
import * as keygen from './steps-keygen';
import * as people from './steps-people';
import * as restore from './steps-restore';
import * as audit from './steps-audit';
import * as components from './steps-components';
import * as creation from './steps-component-create';
import * as reshare from './steps-reshare';
import * as sealed from './steps-sealed';
import * as kek from './steps-kek';
import * as wskey from './steps-workstation-key';
import * as retrieval from './steps-retrieval';
import * as destruction from './steps-destruction';
import * as rotation from './steps-rotation';

export type Proof = { card: CardAccess } | { passphrase: string };

export type CeremonyAction =
  | { kind: 'run' }
  | { kind: 'login'; pin: string | null }
  | { kind: 'present'; person: string; proof: Proof }
  | { kind: 'attest'; person: string; proof: Proof }
  /** Share audit: one holder's share, checked on its own against the record and not kept. */
  | { kind: 'audit-share'; holder: string; share: string }
  /** Forming a key: one holder's component, checked against its printed check value as it is entered. */
  | { kind: 'enter-component'; holder: string; component: string }
  /** Creating components: the sheet of the holder whose turn it is (main only: the CLI writes it, the app's save writes it). */
  | { kind: 'component-sheet'; holder: string }
  | { kind: 'component-printed'; holder: string }
  /** Creating components: the check value read from the sheet, and the envelope it is sealed in. */
  | { kind: 'seal-component'; holder: string; checkValue: string; envelope: string }
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
  /** A sealed backup's hand-over: the holder's share sealed to their own card; then the envelope written to its file. */
  | { kind: 'seal-share'; holder: string; card: CardAccess }
  | { kind: 'sealed-envelope'; holder: string }
  | { kind: 'envelope-saved'; holder: string }
  | { kind: 'commit'; soPin: string | null }
  /** Restore and drill: one holder's share, checked as it is entered. */
  | { kind: 'enter-share'; holder: string; share: string }
  /** Restore, drill, re-share, share audit: one holder's share sealed to their card, opened in it (steps-sealed.ts). */
  | { kind: 'unseal-share'; holder: string; envelope: string; card: CardAccess }
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
  /** seal-share and sealed-envelope only: the holder's envelope (no secret in it) and the card key it is sealed to. */
  sealed?: SealedHandOver;
  /** component-sheet only: the holder's sheet (a PDF holding the component; never sent to the window). */
  sheet?: creation.ComponentSheet;
  /** sign-off only: where the evidence bundle was written. */
  bundle?: { path: string; hash: string };
  /** challenge only: what an approval made elsewhere must sign (with the person and their credential). */
  challenge?: { run: string; fingerprint: string; step: string; counter: number; nonce: string };
}

export async function dispatch(ctx: StepContext, action: CeremonyAction, hsm: HsmClient): Promise<Omit<ActResult, 'view'>> {
  const r = ctx.run;
  const deps = { ...ctx, hsm };
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
      await resume(ctx);
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
    case 'seal-share':
      return { sealed: await backupSealed.sealToCard(ctx, action.holder, action.card) };
    case 'sealed-envelope':
      return { sealed: backupSealed.sealedEnvelope(ctx, action.holder) };
    case 'envelope-saved':
      await backupSealed.envelopeSaved(ctx, action.holder);
      return {};
    case 'commit':
      engine.requireRunnable(ctx.run, stepIdOf(ctx, 'commit-backup'));
      await backup.runCommitBackup(ctx, action.soPin);
      return {};
    case 'enter-share':
      await restore.enterShare(ctx, action.holder, action.share);
      return {};
    case 'unseal-share': {
      const kind = currentStep(ctx.run.state)?.kind;
      // A sealed backup's verification round: the envelope just written, opened in the holder's card.
      if (kind === 'verify-shares') {
        await backupSealed.verifySealedShare(ctx, action.holder, action.envelope, action.card);
        return {};
      }
      if (kind !== 'enter-shares' && kind !== 'audit-shares') fail('CEREMONY_STEP_BLOCKED', 'The ceremony is not at the entering or checking of shares.', 'Present the envelope when the ceremony reaches that step.');
      const p = ctx.run.state.plan.params as unknown as restore.RestorePlan;
      const input = { sealed: (h: restore.Holder, done: readonly string[]) => sealed.openSealedShare(ctx, p, h, done, { envelope: action.envelope, card: action.card }) };
      await (kind === 'enter-shares' ? restore.enterShare(ctx, action.holder, input) : audit.auditShare(ctx, action.holder, input));
      return {};
    }
    case 'attest':
      ctx.run = await engine.attest(deps, r, { person: person(action.person), proof: action.proof });
      return {};
    case 'audit-share':
      await audit.auditShare(ctx, action.holder, action.share);
      return {};
    case 'enter-component':
      await components.enterComponent(ctx, action.holder, action.component);
      return {};
    case 'component-sheet':
      return { sheet: await creation.componentSheet(ctx, action.holder) };
    case 'component-printed':
      await creation.componentPrinted(ctx, action.holder);
      return {};
    case 'seal-component':
      await creation.sealComponent(ctx, action.holder, action.checkValue, action.envelope);
      return {};
    case 'unwrap': {
      engine.requireRunnable(ctx.run, stepIdOf(ctx, 'unwrap-targets'));
      const d = restore.destinationOf(ctx);
      if (d.separate && action.destPin) await hsm.call('login', { path: d.path, token: d.token, role: 'user', pin: action.destPin });
      try {
        await restore.runUnwrap(ctx);
      } finally {
        if (d.separate && action.destPin) await hsm.call('logout', { path: d.path, token: d.token }).catch(() => undefined);
      }
      return {};
    }
    case 'login':
      engine.requireRunnable(ctx.run);
      if (currentStep(ctx.run.state)?.kind !== 'login') fail('CEREMONY_STEP_BLOCKED', 'The ceremony is not at the login step.', 'Log in when the ceremony reaches that step.');
      await common.runLogin(ctx, action.pin);
      return {};
    case 'run':
      return runStep(ctx, hsm);
  }
}

/** The current step's own work, for steps that need no more than "do it now". */
async function runStep(ctx: StepContext, hsm: HsmClient): Promise<Omit<ActResult, 'view'>> {
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
      if (type === 'rotation') {
        await rotation.runCheckRotation(ctx);
        break;
      }
      await (type === 'backup'
        ? backup.runCheckBackup(ctx)
        : type === 'restore' || type === 'restore-drill'
          ? restore.runCheckRestore(ctx)
          : type === 'retrieval'
            ? retrieval.runCheckRetrieval(ctx)
            : type === 'reshare'
              ? reshare.runCheckReshare(ctx)
              : type === 'share-audit'
                ? audit.runCheckAudit(ctx)
                : type === 'destruction'
                  ? destruction.runCheckDestruction(ctx)
                : type === 'component-form'
                  ? components.runCheckComponents(ctx)
                  : type === 'kek-rotation'
                    ? kek.runCheckKek(ctx)
                  : type === 'component-creation'
                    ? creation.runCheckCreation(ctx)
                  : type === 'workstation-key-rotation'
                    ? wskey.runCheckWorkstationKey(ctx)
                    : keygen.runCheckKeygen(ctx));
      break;
    case 'commit-reshare':
      await reshare.runCommitReshare(ctx);
      break;
    case 'attest-destroyed':
      await reshare.runAttestDone(ctx);
      break;
    case 'audit-shares':
      await audit.runAuditDone(ctx);
      break;
    case 'enter-components':
      fail('CEREMONY_STEP_BLOCKED', 'Each holder enters their component, one at a time.', 'Enter the components (custos ceremony enter-components, or the screen).');
      break;
    case 'form-key':
      await components.runFormKey(ctx);
      break;
    case 'make-components':
      await creation.runMakeComponents(ctx);
      break;
    case 'print-components':
    case 'seal-components':
      fail('CEREMONY_STEP_BLOCKED', `“${step.title}” is done one holder at a time.`, step.kind === 'print-components' ? 'Print the next holder’s sheet (custos ceremony component-sheets, or the screen).' : 'Each holder types the check value from their sheet and the envelope’s serial number.');
      break;
    case 'retrieve':
      await retrieval.runRetrieve(ctx);
      break;
    case 'destroy':
      await destruction.runDestroy(ctx);
      break;
    case 'rotate-kek':
      await kek.runRotateKek(ctx);
      break;
    case 'rotate-workstation-key':
      await wskey.runRotateWorkstationKey(ctx);
      break;
    case 'rebuild-backup-key':
      await restore.runRebuild(ctx);
      break;
    case 'enter-shares':
      fail('CEREMONY_STEP_BLOCKED', 'Each holder enters their share, one at a time.', 'Enter the shares (custos ceremony restore-shares, or the screen).');
      break;
    case 'unwrap-targets':
      await dispatch(ctx, { kind: 'unwrap', destPin: null }, hsm);
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
      await (type === 'rotation' ? rotation.runArchiveRotation(ctx) : keygen.runArchive(ctx));
      break;
    case 'restrict-old':
      await rotation.runRestrictOld(ctx);
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
export async function resume(ctx: StepContext): Promise<void> {
  engine.requireRunning(ctx.run);
  const s = ctx.run.state;
  const flight = inFlightStep(s);
  const how: string[] = [];
  if (flight) {
    let adopted = false;
    if (flight.kind === 'generate') adopted = await keygen.adoptGenerated(ctx);
    else if (flight.kind === 'archive') adopted = await (s.plan.definition.type === 'rotation' ? rotation.adoptArchivedRotation(ctx) : keygen.adoptArchived(ctx));
    else if (flight.kind === 'retrieve') adopted = await retrieval.adoptRetrieved(ctx);
    else if (flight.kind === 'destroy') adopted = await destruction.adoptDestroyed(ctx);
    else if (flight.kind === 'commit-backup') await backup.cleanUpCommit(ctx);
    else if (flight.kind === 'unwrap-targets') await restore.cleanUpUnwrap(ctx);
    else if (flight.kind === 'commit-reshare') await reshare.cleanUpCommitReshare(ctx);
    else if (flight.kind === 'form-key') await components.cleanUpForm(ctx);
    if (adopted) how.push(`step “${flight.title}” had finished in the HSM: its result was adopted`);
    else if (flight.kind !== 'commit-backup' && flight.kind !== 'unwrap-targets') {
      ctx.run = await engine.append(ctx, ctx.run, [{ actor: SYSTEM, event: { type: 'step.failed', step: flight.id, error: { code: 'CEREMONY_INTERRUPTED', message: 'Interrupted before it finished; nothing was made. Run the step again.' } } }]);
      how.push(`step “${flight.title}” had not finished: it runs again`);
    }
  }
  const lost = !ctx.secrets.has(s.plan.run) && secretSectionOpen(ctx.run.state);
  if (lost) {
    const first = ctx.run.state.steps.find((x) => x.secret)!;
    ctx.run = await engine.append(ctx, ctx.run, [{ actor: SYSTEM, event: { type: 'shares.voided', step: first.id, reason: s.plan.definition.type === 'component-creation' ? 'The components lived only in the memory of the process that stopped. Any sheet already printed is void and is to be destroyed: the key they formed is destroyed, and new components are made.' : 'The Backup Key and its shares lived only in the memory of the process that stopped. Any share already handed over is void: a new Backup Key and new shares are made.' } }]);
    how.push('the half-made share set is void; a new one is made');
  }
  ctx.run = await engine.append(ctx, ctx.run, [{ actor: SYSTEM, event: { type: 'run.resumed', step: currentStep(ctx.run.state)?.id ?? null, how: how.join('; ') || 'nothing was in progress' } }]);
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

