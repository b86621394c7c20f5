// A workstation for ceremony tests: a SoftHSM2 token as the workstation HSM, and one SoftHSM2 token
// per person as their card, each with its own PIN; the ceremony service over a real record.
import { join } from 'node:path';
import { HsmClient } from '../../electron/hsm/client';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { Activity } from '../../electron/services/activity/activity';
import type { CeremonyEvent } from '../../shared/ceremony/contract';
import { ArchiveDoor } from '../../electron/services/archive/door';
import { CeremonyService, type CeremonyAction, type Proof } from '../../electron/services/ceremony/service';
import { KeyService } from '../../electron/services/key-service';
import type { Role } from '../../shared/ceremony/roles';
import type { RunView } from '../../shared/ceremony/view';
import type { TokenRef } from '../../shared/keys';
import { HOST_SCRIPT, requireBuild, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';

export const WS = { label: 'Workstation', so: '87654321', user: '13572468' };

export interface Person {
  name: string;
  roles: Role[];
  card: string;
  pin: string;
}

export const PEOPLE: Person[] = [
  { name: 'Ada Admin', roles: ['administrator'], card: 'Card Ada', pin: '100001' },
  { name: 'Otto Operator', roles: ['operator'], card: 'Card Otto', pin: '100002' },
  { name: 'Ann Archer', roles: ['custodian'], card: 'Card Ann', pin: '100003' },
  { name: 'Ben Baker', roles: ['custodian'], card: 'Card Ben', pin: '100004' },
  { name: 'Cat Cole', roles: ['custodian'], card: 'Card Cat', pin: '100005' },
  { name: 'Wes Witness', roles: ['witness'], card: 'Card Wes', pin: '100006' },
];

export interface CeremonyFixture {
  fx: SoftHsmFixture;
  hsm: HsmClient;
  service: CeremonyService;
  session: TokenRef;
  dataDir: string;
  /** Counts host calls, to prove that a refused definition made none. */
  calls: { n: number };
  /** Every event the service emitted (ceremony.changed, progress), in order. */
  events: CeremonyEvent[];
  /** Moves the service's clock (challenges expire after 15 minutes). */
  advance(ms: number): void;
  person(name: string): Person;
  card(name: string): Proof;
  act(run: string, action: CeremonyAction, by?: string | null): Promise<RunView>;
  close(): Promise<void>;
}

/** The workstation HSM: SoftHSM2's "Workstation" token unless a test names another (the NSS softoken). */
export interface WorkstationToken {
  module: string;
  token: string;
  pin: string;
}

export async function ceremonyFixture(prefix: string, people: Person[] = PEOPLE, opts: { extraTokens?: Array<{ label: string; so: string; user: string }>; env?: NodeJS.ProcessEnv; workstation?: WorkstationToken } = {}): Promise<CeremonyFixture> {
  requireBuild();
  const fx = softhsm(prefix);
  fx.initToken(WS.label, { so: WS.so, user: WS.user });
  for (const p of people) fx.initToken(p.card, { user: p.pin });
  // Tokens made by another process appear to a running host only after a new C_Initialize: make them all first.
  for (const t of opts.extraTokens ?? []) fx.initToken(t.label, { so: t.so, user: t.user });
  Object.assign(fx.env, opts.env ?? {});
  const calls = { n: 0 };
  const hsm = new HsmClient(nodeHostSpawner(HOST_SCRIPT, fx.env));
  const counted = new Proxy(hsm, {
    get(target, prop, receiver) {
      if (prop === 'call') {
        return (...args: Parameters<HsmClient['call']>) => {
          calls.n++;
          return target.call(...args);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  const ws = opts.workstation ?? { module: SOFTHSM_MODULE, token: WS.label, pin: WS.user };
  await hsm.call('login', { path: ws.module, token: ws.token, role: 'user', pin: ws.pin });
  const dataDir = join(fx.dir, 'data');
  const keys = new KeyService(hsm);
  let offset = 0;
  const events: CeremonyEvent[] = [];
  const service = new CeremonyService({
    emit: (e) => events.push(e),
    now: () => new Date(Date.now() + offset),
    hsm: counted,
    door: new ArchiveDoor(hsm, dataDir),
    dataDir,
    version: '0.1.0-test',
    newHost: () => new HsmClient(nodeHostSpawner(HOST_SCRIPT, fx.env)),
    csr: (t, selector, subject) => keys.csr(t, selector, subject),
    via: 'cli',
    activity: new Activity({ hsm, dataDir, via: 'cli', modules: () => [...new Set([SOFTHSM_MODULE, ws.module])] }),
  });
  const session: TokenRef = { module: ws.module, token: ws.token };
  const person = (name: string) => people.find((p) => p.name === name || p.name.startsWith(name))!;
  return {
    fx,
    hsm,
    service,
    session,
    dataDir,
    calls,
    events,
    advance: (ms) => (offset += ms),
    person,
    card: (name) => ({ card: { module: SOFTHSM_MODULE, token: person(name).card, pin: person(name).pin } }),
    act: async (run, action, by = null) => (await service.act(session, run, action, by)).view,
    async close() {
      service.close();
      await hsm.close();
      fx.cleanup();
    },
  };
}

export const setupParams = (practice = false, token = WS.label) => ({
  recordName: 'Test workstation',
  token: `pkcs11:token=${encodeURIComponent(token)}`,
  practice,
  people: PEOPLE.map((p) => ({ name: p.name, roles: p.roles, credential: 'card' as const })),
});

/** Runs a workstation set-up to the end; returns the run id and the bundle. */
export async function runSetup(f: CeremonyFixture, practice = false): Promise<{ run: string; bundle: string }> {
  let v = await f.service.plan(f.session, { definition: 'custos/workstation-setup', params: setupParams(practice, f.session.token), participants: [] });
  const run = v.run;
  v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // roll call: the administrator reads the names
  v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // create-record
  v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
  for (const p of PEOPLE) v = await f.act(run, { kind: 'enrol', person: p.name, proof: f.card(p.name) });
  v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // every one enrolled
  v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
  v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  for (const c of ['Ann Archer', 'Ben Baker']) v = await f.act(run, { kind: 'approve', step: 'set-policy', person: c, proof: f.card(c) });
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
  v = await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  if (done.view.status !== 'completed' || !done.bundle) throw new Error(`set-up did not complete: ${JSON.stringify(done.view.current)}`);
  return { run, bundle: done.bundle.path };
}

/** Plans a ceremony with the usual cast. */
export function cast(custodians: string[] = ['Ann Archer', 'Ben Baker', 'Cat Cole']) {
  return [
    { person: 'Ada Admin', roles: ['administrator' as const] },
    { person: 'Otto Operator', roles: ['operator' as const] },
    ...custodians.map((c) => ({ person: c, roles: ['custodian' as const] })),
    { person: 'Wes Witness', roles: ['witness' as const] },
  ];
}

/** Every participant proves presence with their card. */
export async function rollCall(f: CeremonyFixture, run: string, names: string[]): Promise<RunView> {
  for (const n of names) await f.act(run, { kind: 'present', person: n, proof: f.card(n) });
  return f.act(run, { kind: 'run' }, 'Ada Admin');
}
