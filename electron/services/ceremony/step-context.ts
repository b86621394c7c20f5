// What a step executor works with: the run, the record, the workstation token, the services a step
// calls (keys, archive), this process's secrets, and who asked. Executors return nothing: they
// append what happened to the journal (engine.append) and leave the run re-read in `ctx.run`.
import type { TokenRef } from '../../../shared/keys';
import type { Role } from '../../../shared/ceremony/roles';
import type { Actor, RunState } from '../../../shared/ceremony/run';
import type { HsmClient } from '../../hsm/client';
import type { CeremonyEvent } from '../../../shared/ceremony/contract';
import type { ArchiveService } from '../archive/service';
import type { CeremonyRecord } from './record';
import { actorOf, type EngineContext, type LoadedRun } from './engine';
import { ROLE_TITLES } from '../../../shared/ceremony/roles';
import { fail } from '../../../shared/result';

export interface StepServices {
  hsm: HsmClient;
  /** Runs `fn` on the workstation's archive opened for writing (bound to the logged-in token). */
  withArchive<T>(fn: (a: ArchiveService) => Promise<T>): Promise<T>;
  /** A second HSM host process for the SO's part of the backup commit (the SO and the user cannot be logged in at once in one process). */
  soHost(): HsmClient;
  /** A PKCS#10 request signed in the HSM by the key `selector` (the key service's). */
  csr(t: TokenRef, selector: string, subject: string): Promise<string>;
  /** Where evidence bundles are written. */
  bundleDir: string;
  version: string;
  /** Long steps (KEK rotation) report progress here: the app forwards it as the `progress` event. */
  progress?(event: Extract<CeremonyEvent, { type: 'progress' }>): void;
  /** Long steps stop between batches when this run's signal is aborted (the app's Cancel). */
  cancel?(run: string): AbortSignal;
}

export interface StepContext extends EngineContext {
  run: LoadedRun;
  record: CeremonyRecord;
  session: TokenRef;
  services: StepServices;
  /** The person asking for the action (CLI --as, or the person chosen on the screen). */
  by: string | null;
}

/**
 * The actor of the current step: the named person, who must take part in the step's role; when
 * nobody is named, the one participant with that role (refused when there are several).
 */
export function stepActor(ctx: StepContext, role: Role): Actor {
  const s: RunState = ctx.run.state;
  if (ctx.by) {
    const p = s.plan.participants.find((x) => x.person === ctx.by || x.name.toLowerCase() === ctx.by!.toLowerCase());
    if (!p) fail('PERSON_NOT_FOUND', `“${ctx.by}” is not a participant of this ceremony.`, 'Name one of the participants (custos ceremony status lists them).');
    return actorOf(s, p.person, role);
  }
  const holders = s.plan.participants.filter((x) => x.roles.includes(role));
  if (holders.length !== 1) fail('ROLE_MISSING', `Say who is acting: this step is done by the ${ROLE_TITLES[role].toLowerCase()}${holders.length > 1 ? ', and several take part' : ''}.`, 'Name the person (in the CLI: --as NAME).');
  return actorOf(s, holders[0]!.person, role);
}
