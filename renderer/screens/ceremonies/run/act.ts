import type { ActView, CeremonyActionInput } from '../../../../shared/ceremony/contract';
import type { Role } from '../../../../shared/ceremony/roles';
import type { StepKind } from '../../../../shared/ceremony/definition';
import type { RunView } from '../../../../shared/ceremony/view';
import type { TokenRef } from '../../../../shared/keys';
import type { AppError, Result } from '../../../../shared/result';
import { useAction } from '../../../hooks/useAction';
import { useCeremony } from '../../../stores/ceremony';
import { namesList, orList, personWithRole } from '../words';

export interface Actor {
  person: string;
  name: string;
  role: Role;
}

export interface StepAct {
  busy: boolean;
  error: AppError | null;
  reset(): void;
  /** One action by `by` (a participant's id); null when a click came while one was out. */
  act(action: CeremonyActionInput, by: string | null): Promise<Result<ActView> | null>;
}

/** Busy, error and act() for one panel of the run: every action goes through the store to main. */
export function useStepAct(run: string, session: TokenRef | null): StepAct {
  const { busy, error, run: go, reset } = useAction();
  return {
    busy,
    error,
    reset,
    act: async (action, by) => {
      if (!session) return null;
      return go(() => useCeremony.getState().act(session, { run, by, action }));
    },
  };
}

/** The people who may act on the current input (the first is asked first). */
export function candidatesOf(view: RunView): Actor[] {
  const cur = view.current;
  if (!cur) return [];
  if (cur.input.kind === 'verify-share') return cur.input.holders.filter((h) => !h.done).map((h) => ({ person: h.person, name: h.name, role: 'custodian' as Role }));
  return cur.actors;
}

const credentialKindOf = (view: RunView, person: string) => view.participants.find((p) => p.person === person)?.credential?.kind ?? 'card';

/** The banner's words: who acts now, what they do, and what everyone else does meanwhile. */
export function actingWords(view: RunView, actor: Actor | null, wsLoggedIn: boolean, enrolWith: 'card' | 'passphrase' = 'card', destinationPin = false): { who: string; what: string; note?: string } | null {
  const cur = view.current;
  if (!cur || !actor) return null;
  const n = cur.index + 1;
  const others = candidatesOf(view)
    .filter((c) => c.person !== actor.person)
    .map((c) => c.name);
  const then = others.length ? `Then: ${namesList(others)}.` : undefined;
  const who = personWithRole(actor);
  const input = cur.input;
  switch (input.kind) {
    case 'presence':
      return { who, what: credentialKindOf(view, actor.person) === 'card' ? 'prove you are here: insert your card and enter its PIN' : 'prove you are here: type your passphrase', ...(then ? { note: then } : {}) };
    case 'enrol':
      return enrolWith === 'card'
        ? { who, what: 'insert your own card, choose it below and enter its PIN', note: `Your key pair is made inside your card. Everyone else: look away from the keyboard.${then ? ` ${then}` : ''}` }
        : { who, what: 'choose your passphrase and type it twice', note: `Keep it to yourself: it is your credential from now on. Everyone else: look away from the keyboard.${then ? ` ${then}` : ''}` };
    case 'approve': {
      const step = view.steps.find((s) => s.id === input.step);
      const have = view.approvals.filter((a) => a.step === input.step).length;
      return {
        who,
        what: `approve “${step?.title ?? input.step}” with your card (${have} of ${input.threshold} approvals so far)`,
        note: `Your card signs the ceremony fingerprint below: check that its words are the ones read aloud.${others.length ? ` ${others.length === 1 ? '' : others.length === 2 ? 'Either ' : 'Any of '}${orList(others)} may approve instead.` : ''}`,
      };
    }
    case 'sign-off':
      return { who, what: 'sign off with your card: you confirm every step was done as read and every exception decided' };
    case 'tick': {
      const step = view.steps.find((s) => s.id === input.step);
      return { who, what: `tick step ${(step?.index ?? 0) + 1} “${step?.title ?? input.step}” if it was done as read`, note: `Step ${n} starts once it is ticked.` };
    }
    case 'confirm-fingerprint':
      return { who, what: 'read the fingerprint words aloud; confirm when every participant has said “confirmed”', note: 'Everyone: compare the words with your own screen or printed script.' };
    case 'login':
      return wsLoggedIn ? { who, what: 'confirm that the workstation HSM is logged in' } : { who, what: 'enter the workstation HSM’s user PIN', note: 'Everyone else: look away from the keyboard.' };
    case 'hand-over':
      if (input.sealed) return { who, what: 'insert your card and enter its PIN: your share is sealed to it, never shown; then save the envelope to your own media', note: 'Everyone else: look away from the keyboard while the PIN is typed.' };
      return { who, what: 'only you look at the screen now: show your share and write it down', note: 'Everyone else: look away from the screen until the share is hidden again.' };
    case 'verify-share':
      if (input.sealed) return { who, what: 'load the envelope you saved and open it in your card, with its PIN', note: `Everyone else: look away from the keyboard.${then ? ` ${then}` : ''}` };
      return { who, what: 'type your share from what you wrote down', note: `Everyone else: look away from the screen.${then ? ` ${then}` : ''}` };
    case 'run':
      if (cur.kind === 'commit-backup') return { who, what: 'commit the backup: the SO enters the SO PIN', note: 'Everyone else: look away from the keyboard.' };
      if (cur.kind === 'sign-off') return { who, what: 'finish the ceremony: Custos writes the signed evidence bundle' };
      return { who, what: runWords(cur.kind, n, view.params.key).what };
    case 'enter-share':
      return { who, what: 'type your share from your share sheet, alone at the keyboard (or open the one sealed to your card, with its PIN)', note: `Everyone else: look away from the screen and the keyboard.${then ? ` ${then}` : ''}` };
    case 'unwrap':
      return view.type === 'restore-drill'
        ? { who, what: 'unwrap the keys into a session and compare their check values', note: 'Everyone: read the check values aloud as they appear. Nothing is kept.' }
        : destinationPin
          ? { who, what: `enter the user PIN of “${input.destination}” and restore the keys into it`, note: 'Everyone else: look away from the keyboard. Then read the check values aloud as they appear.' }
          : { who, what: `restore the keys into ${input.destination ? `“${input.destination}”` : 'the workstation token'}`, note: 'Everyone: read the check values aloud as they appear.' };
    case 'enter-component':
      return { who, what: 'open your sealed envelope and type your component, alone at the keyboard', note: `It is checked at once against the check value printed with it. Everyone else: look away from the screen and the keyboard.${then ? ` ${then}` : ''}` };
    case 'component-sheet':
      return { who, what: 'save your component sheet and print it: only you take it from the printer', note: `Everyone else: stay away from the screen and the printer.${then ? ` ${then}` : ''}` };
    case 'seal-component':
      return { who, what: 'type the component check value from your sheet, seal the sheet in its tamper-evident envelope and type the envelope’s serial number', note: `A misprint is caught now, before anyone leaves.${then ? ` ${then}` : ''}` };
    case 'audit-share':
      return { who, what: 'type your share from your share sheet, alone at the keyboard (or open the one sealed to your card, with its PIN): it is checked on its own and not kept', note: `Everyone else: look away from the screen and the keyboard.${then ? ` ${then}` : ''}` };
    case 'attest':
      return { who, what: 'destroy your old share sheet in front of the witness, then sign with your card that it is destroyed', note: `Sign only if it is destroyed: the record keeps your signature.${then ? ` ${then}` : ''}` };
    case 'none':
      return null;
  }
}

/** What "run" does for each kind of step, for the banner and the button: the plain-language line. */
export function runWords(kind: StepKind, n: number, key?: unknown): { what: string; button: string } {
  if (kind === 'rotate-workstation-key' && key === 'mac') return { what: 'make the new MAC key in the HSM, check every row under the old key and re-MAC it under the new one, then hand over', button: 'Rotate the MAC key now' };
  const words: Partial<Record<StepKind, { what: string; button: string }>> = {
    'roll-call': { what: 'read each name and role aloud; when everyone has answered “present”, record the roll call', button: 'Everyone is present: record the roll call' },
    'read-fingerprint': { what: 'record that the fingerprint was read aloud and confirmed', button: 'Record the fingerprint as confirmed' },
    check: { what: 'run the checks before anything is changed', button: 'Run the checks' },
    'create-record': { what: 'create the workstation record and the archive’s keys in the HSM', button: 'Create the record and its keys now' },
    enrol: { what: 'everyone is enrolled: close the enrolment', button: 'Everyone is enrolled: close the enrolment' },
    'set-policy': { what: 'the quorum has approved: put the people and the policy into force', button: 'Put the people and the policy into force' },
    generate: { what: 'the quorum has approved: generate the key inside the HSM', button: 'Generate the key now' },
    'show-check-value': { what: 'read the check value aloud; the witness writes it on the script', button: 'The check value was read aloud and written down' },
    'test-operation': { what: 'test the new key with a round trip in the HSM', button: 'Test the key now' },
    archive: { what: 'archive the key under the Archive KEK', button: 'Archive the key now' },
    csr: { what: 'make the certificate signing request in the HSM (skipped when none was asked for)', button: 'Make the certificate request now' },
    'make-backup-key': { what: 'make the Backup Key from the HSM’s random number generator', button: 'Make the Backup Key now' },
    split: { what: 'split the Backup Key into one share per holder (nothing is shown yet)', button: 'Split the Backup Key now' },
    print: { what: 'print the ceremony record for signatures', button: 'The record is printed' },
    'rebuild-backup-key': { what: 'rebuild the Backup Key from the shares entered and compare its check value with the backup’s', button: 'Rebuild the Backup Key now' },
    'form-key': { what: 'form the key inside the HSM from the components and compare its check value', button: 'Form the key now' },
    'commit-reshare': { what: 'record the new share set (when the Backup Key is rotated, the keys are first re-wrapped under the new one in the HSM, each check value compared)', button: 'Record the new share set now' },
    retrieve: { what: 'retrieve the archived key and compare its check value', button: 'Retrieve the key now' },
    'restrict-old': { what: 'turn off encrypt, sign and wrap on the old version’s object (it keeps decrypting and verifying)', button: 'Stop the old version protecting now' },
    'rotate-workstation-key': { what: 'make the new audit key in the HSM and hand over to it: the old key signs the handover, the new key signs it too', button: 'Rotate the audit key now' },
  };
  return words[kind] ?? { what: `do step ${n} now`, button: `Do step ${n} now` };
}
