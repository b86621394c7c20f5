// What people do at this workstation outside a ceremony — logins (success and failure), PIN
// changes, key generation, destruction, relabelling, copying and import, CSRs, wraps and unwraps,
// share checks and drills — each recorded in the workstation record's signed audit log with the
// named person and their roles (the operating-system user and the front end stay as details).
//
// Who acts: a person in the record's register, named by the operator — the app asks at login, the
// CLI takes --as (or CUSTOS_AS). With a production record a security-relevant action needs a named,
// active person holding the operator or administrator role; without one it is refused (and the
// refusal is audited). The name is stated, not proven: the token's PIN opens the HSM, the name says
// who typed it. Proof of presence (a card signature) is what ceremonies add.
//
// Where the entry goes: straight into the record's log when the record's token is logged in in this
// process; otherwise (no record yet, a failed login, a command on another token) into the pending
// journal (pending.ts), which the next write to the record carries over. So nothing done before the
// set-up ceremony goes unaudited: the set-up carries it into the new record.
import { readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { OperatorPolicy, OperatorView } from '../../../shared/contract';
import type { TokenRef } from '../../../shared/keys';
import { parsePkcs11Uri, uriMatchesToken } from '../../../shared/pkcs11-uri';
import { CustosError } from '../../../shared/result';
import type { HsmClient } from '../../hsm/client';
import type { DetailValue, EntryDraft } from '../audit/chain';
import type { ArchiveDoor, FrontEnd } from '../archive/door';
import type { ArchiveService } from '../archive/service';
import { PendingJournal, type PendingDraft, type PendingRead } from './pending';

export interface ActivityDeps {
  /** None for commands that never touch a token (share checks): their entries then wait in the pending journal. */
  hsm: HsmClient | null;
  dataDir: string;
  via: FrontEnd;
  /** The modules the record's token may be in (the configured ones), besides the action's own. */
  modules(): string[];
  /** Told when an entry could not be written anywhere (the action itself stands). */
  log?(line: string): void;
}

export interface ActivityEvent {
  /** e.g. token.login, key.generate, key.destroy, key.csr, key.wrap, shares.verify */
  action: string;
  token?: TokenRef | null;
  objectType?: string | null;
  objectId?: string | null;
  keyId?: string | null;
  details?: Record<string, DetailValue>;
  /** Who may do it besides operators and administrators (a custodian checks their own share). */
  alsoRoles?: string[];
}

type Operator = OperatorView;

const ACTING_ROLES = ['operator', 'administrator'];

interface RecordInfo {
  path: string;
  tokenUri: string | null;
  profile: 'plain' | 'practice' | 'production';
  people: Array<Operator & { status: string }>;
}

function osUser(via: FrontEnd): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry (containers) */
  }
  return `${user} (${via})`;
}

const keyOf = (t: TokenRef): string => `${t.module}\n${t.token}`;

export class Activity {
  readonly pending: PendingJournal;
  /** The CLI's --as: the person acting for every action of this command. */
  private stated: string | null = null;
  /** The app: who logged in to each token (a window's login names the person). */
  private readonly signedIn = new Map<string, string>();
  private doorPromise: Promise<ArchiveDoor> | null = null;
  private ceremony = false;

  constructor(private readonly deps: ActivityDeps) {
    this.pending = new PendingJournal(deps.dataDir);
  }

  /** The CLI: the person named with --as acts for the whole command. */
  actAs(person: string | null): void {
    this.stated = person && person.trim() ? person.trim() : null;
  }

  /**
   * The CLI's ceremony commands: the workstation login that opens each command is recorded, but no
   * operator need be named for it — the ceremony's journal names who does each step, and its
   * quorum rules decide who may.
   */
  withinCeremony(): void {
    this.ceremony = true;
  }

  /** The app: the person who logged in to `t` acts for what is done with it until logout. */
  signIn(t: TokenRef, person: string | null): void {
    if (person) this.signedIn.set(keyOf(t), person);
    else this.signedIn.delete(keyOf(t));
  }

  signOut(t: TokenRef): void {
    this.signedIn.delete(keyOf(t));
  }

  /**
   * A token someone is signed in to in this window, for an action that touches no token (saving an
   * evidence bundle): the person at the screen is the one who logged in. Null when none or several
   * are, so that no one is named for another.
   */
  signedInToken(): TokenRef | null {
    const people = new Set(this.signedIn.values());
    if (this.signedIn.size === 0 || people.size !== 1) return null;
    const [k] = [...this.signedIn.keys()];
    const i = k!.indexOf('\n');
    return { module: k!.slice(0, i), token: k!.slice(i + 1) };
  }

  private door(): Promise<ArchiveDoor> {
    // The archive code (SQLite, the store) loads only when an action is recorded: a CLI command
    // that records nothing does not pay for it.
    // Without an HSM client the door is only read (door.read needs no HSM); writes go to the pending journal.
    this.doorPromise ??= import('../archive/door').then((m) => new m.ArchiveDoor(this.deps.hsm as HsmClient, this.deps.dataDir, (line) => this.deps.log?.(line), this.deps.via));
    return this.doorPromise;
  }

  private async recordInfo(): Promise<RecordInfo | null> {
    // Most commands before set-up find no archive at all: look at the folder's names before loading
    // the archive code (the door then checks each candidate's header).
    let names: string[] = [];
    try {
      names = readdirSync(this.deps.dataDir);
    } catch {
      return null;
    }
    if (!names.some((n) => /\.(sqlite|sqlite3|db|archive)$/i.test(n))) return null;
    const door = await this.door();
    const { path, exists } = door.locate();
    if (!exists) return null;
    return door.read(path, (a) => {
      const profile = a.ceremonyRows.profile();
      return {
        path,
        tokenUri: a.workstation.token_uri,
        profile: profile ? (profile.practice ? 'practice' : 'production') : 'plain',
        people: a.ceremonyRows.people().map((p) => ({ person: p.id, name: p.name, roles: p.roles, status: p.status })),
      };
    });
  }

  /** Who may act here, and whether naming one is required (production records). */
  async operatorPolicy(): Promise<OperatorPolicy> {
    const rec = await this.recordInfo();
    if (!rec) return { record: 'none', required: false, people: [] };
    const people = rec.people.filter((p) => p.status === 'active' && p.roles.some((r) => ACTING_ROLES.includes(r))).map(({ person, name, roles }) => ({ person, name, roles }));
    return { record: rec.profile, required: rec.profile === 'production', people };
  }

  /**
   * The named person for an action on `t`, checked against the register: unknown, retired or
   * without the operator or administrator role is refused; none named is refused on a production
   * record.
   */
  private resolve(rec: RecordInfo | null, t: TokenRef | null | undefined, alsoRoles: string[] = []): Operator | null {
    const acting = [...ACTING_ROLES, ...alsoRoles];
    const named = (t ? this.signedIn.get(keyOf(t)) : undefined) ?? this.stated;
    if (!rec) {
      if (named) refuse('RECORD_MISSING', `“${named}” cannot be found: this workstation has no record of people yet.`, 'Leave out --operator until the workstation set-up ceremony has enrolled the people.');
      return null;
    }
    if (!named) {
      if (rec.profile === 'production' && !this.ceremony) refuse('OPERATOR_REQUIRED', 'This workstation’s record asks who does this: no person was named.', 'Name yourself as an enrolled operator or administrator: --operator NAME in the CLI (or CUSTOS_OPERATOR), or choose your name when you log in in the app.');
      return null;
    }
    const wanted = named.toLowerCase();
    const p = rec.people.find((x) => x.person === named || x.name.toLowerCase() === wanted);
    if (!p) refuse('PERSON_NOT_FOUND', `No person “${named}” is enrolled at this workstation.`, 'Give your name (or register id) as the record has it; `custos people` lists them.');
    if (p.status !== 'active') refuse('PERSON_NOT_FOUND', `${p.name} is no longer an active person at this workstation (${p.status}).`, 'An active operator must do this; the enrolment ceremony adds people.');
    if (!p.roles.some((r) => acting.includes(r))) refuse('ROLE_MISSING', `${p.name} holds no ${acting.join(' or ')} role.`, `Someone with the ${acting.join(' or ')} role must do this; the enrolment ceremony can give the role.`);
    return { person: p.person, name: p.name, roles: p.roles };
  }

  /**
   * Runs a security-relevant action and records it: refused before it starts when the person may
   * not act (the refusal is recorded), then recorded as done or failed (with the error's code).
   */
  async run<T>(ev: ActivityEvent, fn: () => Promise<T>, after?: (result: T) => Partial<ActivityEvent>): Promise<T> {
    // A record that cannot be read (damaged, rolled back) does not stop the work: the entry then
    // waits in the pending journal, naming the record's error. The name is stated, not proven, so
    // refusing here would protect nothing; the archive's own checks report the damage.
    let recordError: string | null = null;
    const rec = await this.recordInfo().catch((e: unknown) => {
      recordError = e instanceof CustosError ? e.appError.code : 'INTERNAL';
      return null;
    });
    if (recordError) ev = { ...ev, details: { ...ev.details, record_unreadable: recordError } };
    let who: Operator | null;
    try {
      who = recordError ? null : this.resolve(rec, ev.token, ev.alsoRoles);
    } catch (e) {
      if (e instanceof CustosError) await this.write(rec, ev, null, 'refused', e.appError.code);
      throw e;
    }
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      await this.write(rec, ev, who, 'failed', e instanceof CustosError ? e.appError.code : 'INTERNAL');
      throw e;
    }
    const extra = after?.(result) ?? {};
    await this.write(rec, { ...ev, ...extra, details: { ...ev.details, ...extra.details } }, who, 'ok');
    return result;
  }

  /**
   * The actor for an archive operation (which writes its own audit entries): the named person as
   * "Name (roles)", checked as for any action (refused on a production record without one), else
   * the OS user and front end.
   */
  async actorText(t?: TokenRef | null): Promise<string> {
    const rec = await this.recordInfo().catch(() => null);
    const who = this.resolve(rec, t);
    return who ? actorOf(who) : `${osUser(this.deps.via)}, no person named`;
  }

  /** Records an action already done elsewhere (e.g. the app's drill finishing), with this process's person. */
  async note(ev: ActivityEvent, outcome: 'ok' | 'failed' | 'refused' = 'ok', code?: string): Promise<void> {
    const rec = await this.recordInfo().catch(() => null);
    let who: Operator | null = null;
    try {
      who = this.resolve(rec, ev.token, ev.alsoRoles);
    } catch {
      /* recorded without a person; the refusal belongs to the action, which happened already */
    }
    await this.write(rec, ev, who, outcome, code);
  }

  private draft(ev: ActivityEvent, who: Operator | null, outcome: string, code?: string): PendingDraft {
    const actor = who ? actorOf(who) : `${osUser(this.deps.via)}, no person named`;
    const details: Record<string, DetailValue> = {
      ...(ev.details ?? {}),
      outcome,
      ...(code ? { error: code } : {}),
      person: who ? who.person : null,
      roles: who ? who.roles : [],
      identified: who ? 'stated' : 'none',
      os_user: osUser(this.deps.via),
      ...(ev.token ? { token: ev.token.token } : {}),
      ...(this.ceremony ? { within: 'ceremony' } : {}),
    };
    return {
      at: new Date().toISOString(),
      actor,
      action: ev.action,
      object_type: ev.objectType ?? null,
      object_id: ev.objectId ?? null,
      key_id: ev.keyId ?? null,
      details,
    };
  }

  private async write(rec: RecordInfo | null, ev: ActivityEvent, who: Operator | null, outcome: string, code?: string): Promise<void> {
    const d = this.draft(ev, who, outcome, code);
    try {
      const session = rec ? await this.recordSession(rec, ev.token) : null;
      if (rec && session) {
        const door = await this.door();
        await door.write(rec.path, session, async (a) => {
          await this.carry(a);
          await a.note([{ actor: d.actor, action: d.action, objectType: d.object_type, objectId: d.object_id, keyId: d.key_id, details: d.details }]);
        });
        return;
      }
    } catch {
      /* the record could not take it now: it waits in the pending journal */
    }
    try {
      this.pending.append([d]);
    } catch (e) {
      this.deps.log?.(`audit entry for ${d.action} could not be written: ${(e as Error).message}`);
    }
  }

  /**
   * Carries the pending journal into the record's log (one commit, with a summary entry saying how
   * many entries came over and whether their chain was whole). Called with the record open for
   * writing: by every recorded action, and by the set-up ceremony once it has made the record.
   */
  async carry(a: ArchiveService): Promise<number> {
    return this.pending.drain(
      async (read) => {
        await a.note([...read.entries.map(carried), summary(read)]);
      },
      (id) => a.hasPendingEntry(id),
    );
  }

  /** The record's token, logged in as user in this process: the action's own token first, then the configured modules. */
  private async recordSession(rec: RecordInfo, t: TokenRef | null | undefined): Promise<TokenRef | null> {
    if (!rec.tokenUri || !this.deps.hsm) return null;
    let uri;
    try {
      uri = parsePkcs11Uri(rec.tokenUri);
    } catch {
      return null;
    }
    const modules = [...new Set([...(t ? [t.module] : []), ...this.deps.modules()])];
    for (const path of modules) {
      let slots;
      try {
        slots = await this.deps.hsm.call('slots', { path });
      } catch {
        continue; // not loaded in this process: nothing is logged in there
      }
      for (const s of slots) {
        if (s.token && s.token.loggedIn === 'user' && uriMatchesToken(uri, s.token)) return { module: path, token: rec.tokenUri };
      }
    }
    return null;
  }
}

const actorOf = (who: Operator): string => `${who.name} (${who.roles.join(', ')})`;

function refuse(code: 'RECORD_MISSING' | 'OPERATOR_REQUIRED' | 'PERSON_NOT_FOUND' | 'ROLE_MISSING', message: string, action: string): never {
  throw new CustosError({ code, message, action });
}

function carried(e: PendingRead['entries'][number]): EntryDraft {
  return { actor: e.actor, action: e.action, objectType: e.object_type, objectId: e.object_id, keyId: e.key_id, details: { ...e.details, pending: e.id, pending_at: e.at } };
}

function summary(read: PendingRead): EntryDraft {
  return {
    actor: 'Custos',
    action: 'audit.pending-carried',
    details: { entries: read.entries.length, chain: read.brokenAt === null ? 'whole' : `broken at entry ${read.brokenAt}`, torn_last_line: read.torn, unreadable_lines: read.unreadable },
  };
}
