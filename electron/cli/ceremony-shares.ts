// `custos ceremony shares`: the secret part of a backup, in one process, because the Backup Key and
// its shares exist only in this process's memory. One holder at a time: the terminal names the
// holder, waits until they are alone at the screen, shows only their share, waits until they have
// written it down, and clears the screen before the next. Then each holder re-enters their share
// (without echo on a terminal), and only when all have passed does the SO enter the SO PIN for the
// commit. If anything stops this command, the run is interrupted: `ceremony resume` voids the
// half-handed-out set and this command makes a new one.
//
// Prompts go to stderr; with --json, each share shown and each verdict is one JSON line on stdout
// (for scripted drills in a lab — never on a workstation with a log that outlives the ceremony).
import { createInterface, type Interface } from 'node:readline';
import type { RunView } from '../../shared/ceremony/view';
import { CustosError, invalidInput } from '../../shared/result';
import { crashHook } from '../services/ceremony/steps-common';
import type { Services } from '../services/index';
import { runText } from './ceremony-text';
import { pctEncode } from '../../shared/pkcs11-uri';
import { checkOutputFile, writeOutputFile } from './files';
import { promptHidden, readInputFile } from './input';
import { describeRecipient, envelopeTokenSelector, parseSealedShareJson } from '../services/shares/sealed';
import type { GlobalOptions } from './output';
import { readSecret } from './secrets';

/** Lines from the terminal (hidden where asked) or, when stdin is a pipe, one per question. */
class Prompter {
  private rl: Interface | null = null;
  private lines: AsyncIterableIterator<string> | null = null;

  async ask(question: string, hidden = false): Promise<string> {
    if (process.stdin.isTTY) {
      if (hidden) {
        const b = await promptHidden(question);
        const s = b.toString('utf8');
        b.fill(0);
        return s;
      }
      this.rl ??= createInterface({ input: process.stdin, output: process.stderr });
      return new Promise((resolve) => this.rl!.question(question, resolve));
    }
    process.stderr.write(question + '\n');
    this.rl ??= createInterface({ input: process.stdin });
    this.lines ??= this.rl[Symbol.asyncIterator]();
    const next = await this.lines.next();
    if (next.done) throw new CustosError({ code: 'INVALID_INPUT', message: 'The input ended before the ceremony step was done.', action: 'Run `custos ceremony resume` and then this command again.' });
    return next.value;
  }

  close(): void {
    this.rl?.close();
  }
}

const CLEAR = '\x1b[2J\x1b[3J\x1b[H';

/** What one sitting at the terminal uses: where words go, the prompts, and the run's actions. */
export interface Sitting {
  say: (text: string) => void;
  emit: (obj: Record<string, unknown>) => void;
  ask: Prompter;
  act: (action: Parameters<Services['ceremonies']['act']>[2], by?: string | null) => ReturnType<Services['ceremonies']['act']>;
  opts: GlobalOptions;
  /** The PKCS#11 module of the holders' cards (sealed shares): --card-module, else the workstation's. */
  cardModule: string;
}

export function sitting(s: Services, t: { module: string; token: string }, opts: GlobalOptions, run: string, cardModule?: string): Sitting {
  return {
    say: (text: string) => process.stderr.write(text + '\n'),
    emit: (obj: Record<string, unknown>) => void (opts.json && process.stdout.write(JSON.stringify(obj) + '\n')),
    ask: new Prompter(),
    act: (action, by = null) => s.ceremonies.act(t, run, action, by),
    opts,
    cardModule: cardModule ?? t.module,
  };
}

/** What a holder types instead of their share to open the share sealed to their card. */
const ENVELOPE = 'envelope';

/**
 * A share typed, or — when the holder types `envelope` — the share sealed to their card: the
 * envelope file's path, the card (the one the envelope names, else asked), and its PIN (hidden on a
 * terminal); the card opens it in main and the words never reach this process's output.
 */
function typedOrSealed(sit: Sitting, holder: { person: string; name: string }, kind: 'enter-share' | 'audit-share'): (typed: string) => Promise<RunView> {
  return async (typed) => {
    if (typed.trim().toLowerCase() !== ENVELOPE) {
      return (await sit.act({ kind, holder: holder.person, share: typed })).view;
    }
    const path = (await sit.ask.ask(`${holder.name}, the path of your sealed share (the envelope file): `)).trim();
    const envelope = readInputFile(path, 'sealed share').toString('utf8');
    const env = parseSealedShareJson(envelope);
    const named = envelopeTokenSelector(env);
    if (named) sit.say(`It is sealed to ${describeRecipient(env)}. Insert that card.`);
    const token = named ?? (await sit.ask.ask(`${holder.name}, your card (its label or PKCS#11 URI): `)).trim();
    const pin = await sit.ask.ask(`PIN of ${holder.name}'s card: `, true);
    return (await sit.act({ kind: 'unseal-share', holder: holder.person, envelope, card: { module: sit.cardModule, token, pin } })).view;
  };
}

/**
 * One person types a secret (no echo on a terminal) until main accepts it, three tries at most.
 * Each refusal is said and emitted with its code, never with what was typed. When the tries run out
 * the refusal is thrown, or, with `giveUp: 'skip'`, null comes back and the sitting goes on.
 */
async function typeUntilAccepted(
  sit: Sitting,
  x: { name: string; prompt: string; send: (typed: string) => Promise<RunView>; accepted: string; event: string; refused?: { word: string; event: string }; onRefused?: () => Promise<void>; giveUp?: 'throw' | 'skip' },
): Promise<RunView | null> {
  const refused = x.refused ?? { word: 'Not accepted', event: 'refused' };
  for (let attempt = 1; ; attempt++) {
    const typed = await sit.ask.ask(x.prompt, true);
    try {
      const v = await x.send(typed);
      sit.say(x.accepted);
      sit.emit({ event: x.event, holder: x.name });
      return v;
    } catch (e) {
      if (!(e instanceof CustosError)) throw e;
      await x.onRefused?.();
      sit.say(`${refused.word}: ${e.appError.message}\n  ${e.appError.action}`);
      sit.emit({ event: refused.event, holder: x.name, code: e.appError.code });
      if (attempt >= 3) {
        if (x.giveUp === 'skip') return null;
        throw e;
      }
    }
  }
}

export async function runSharesSitting(s: Services, t: { module: string; token: string }, opts: GlobalOptions, o: { run: string; soPinFile?: string; clear: boolean; envelope?: string[]; cardModule?: string }): Promise<RunView> {
  const sit = sitting(s, t, opts, o.run, o.cardModule);
  const { say, ask, act } = sit;
  // Sealed shares: "NAME=FILE" per holder, each a new file in a folder that exists, checked before
  // the Backup Key is made (otherwise the operator is asked at each holder's turn).
  const envelopes = new Map<string, string>();
  for (const x of o.envelope ?? []) {
    const at = x.indexOf('=');
    if (at < 1 || at === x.length - 1) invalidInput(`--envelope "${x}" is not NAME=FILE.`, 'Give each holder’s envelope file as --envelope "Ann Archer=/media/usb/ann.sealed.json".');
    const file = x.slice(at + 1).trim();
    checkOutputFile(file, 'sealed share', { fresh: true });
    if ([...envelopes.values()].includes(file)) invalidInput(`${file} is named for two holders.`, 'Give each holder their own envelope file.', { path: file });
    envelopes.set(x.slice(0, at).trim().toLowerCase(), file);
  }
  try {
    let v = await s.ceremonies.view(o.run);
    if (envelopes.size && v.params.scheme !== 'sealed') invalidInput('--envelope names where a sealed share is written, and this backup’s shares are not sealed to cards.', 'Leave out --envelope; the shares are shown to their holders one at a time.');
    const secretKinds = ['make-backup-key', 'split', 'hand-over', 'verify-shares', 'commit-backup'];
    if (!v.current || !secretKinds.includes(v.current.kind)) invalidInput(`The ceremony is at “${v.current?.title ?? v.status}”, not at the Backup Key.`, 'Finish the steps before it (custos ceremony status shows them).');
    if (v.current.kind !== 'make-backup-key') invalidInput('This backup’s shares were made by a process that has stopped, so they are lost.', 'Run `custos ceremony resume --run ID`: the half-made share set is voided; then run this command again.');
    if (v.current.input.kind === 'approve') invalidInput(`The commit needs ${v.current.input.threshold} custodian approvals before any share is made: ${v.current.needs.join(' ')}`, 'Collect them with `custos ceremony approve --step commit-backup`.');
    v = (await act({ kind: 'run' })).view;
    say(`Backup Key made from the token's random number generator (check value ${String(v.steps.find((x) => x.kind === 'make-backup-key')?.outcome?.checkValue ?? '')}).`);
    v = (await act({ kind: 'run' })).view;
    const split = v.steps.find((x) => x.kind === 'split')!.outcome!;
    say(`Split into ${String(split.count)} ${split.scheme === 'xor' ? 'XOR components (all needed)' : `SLIP-39 shares (any ${String(split.threshold)} rebuild the key)`}.`);

    v = v.current?.input.kind === 'hand-over' && v.current.input.sealed ? await sealAndVerify(v, sit, envelopes) : await handOutAndVerify(v, sit, o.clear);

    // Commit under the SO.
    if (v.current?.kind !== 'commit-backup') return v;
    say('\nEvery share passed. The SO enters the SO PIN; the Backup Key becomes a trusted key in the HSM for the moment it takes to wrap the targets.');
    const so = o.soPinFile ? await readSecret({ file: o.soPinFile, prompt: 'SO PIN: ' }) : { value: await ask.ask('SO PIN: ', true), wipe: () => undefined };
    try {
      v = (await act({ kind: 'commit', soPin: so.value })).view;
    } finally {
      so.wipe();
    }
    say(`Committed: ${((v.steps.find((x) => x.kind === 'commit-backup')?.outcome?.blobs as unknown[]) ?? []).length} targets wrapped under the Backup Key; the Backup Key is destroyed in the HSM and wiped from memory.`);
    if (!opts.json) say(runText(v));
    return v;
  } finally {
    ask.close();
  }
}


/** A card selector that names exactly the holder's enrolled card (RFC 7512: serial and token label). */
const cardSelector = (c: { serial: string; label: string }) => `pkcs11:serial=${pctEncode(c.serial)};token=${pctEncode(c.label)}`;

/**
 * The hand-over of a sealed backup: each holder in turn inserts their enrolled card and types its
 * PIN; main seals their share to it and proves it opens there; the envelope is written to the
 * holder's file (new, never overwritten). Then the verification round: each file, read back, is
 * opened in its holder's card. No word of a share ever reaches this process's output.
 */
async function sealAndVerify(v: RunView, sit: Sitting, named: Map<string, string>): Promise<RunView> {
  const { say, emit, ask, act } = sit;
  const written = new Map<string, string>();
  const card = async (h: { name: string; card?: { serial: string; label: string } }, pin: string) => ({ module: sit.cardModule, token: h.card ? cardSelector(h.card) : (await ask.ask(`${h.name}, your card (its label or PKCS#11 URI): `)).trim(), pin });
  while (v.current?.input.kind === 'hand-over') {
    const next = v.current.input.holders.find((h) => !h.done)!;
    say(`\n=== SEAL: ${next.name} ===\n${next.name} inserts the card they enrolled with${next.card ? ` ("${next.card.label}", serial ${next.card.serial})` : ''}. The share is sealed to it and never shown.`);
    let file = named.get(next.name.toLowerCase()) ?? null;
    for (let attempt = 1; file === null; attempt++) {
      const f = (await ask.ask(`File for ${next.name}'s sealed share (a new file, e.g. on their USB stick): `)).trim();
      try {
        checkOutputFile(f, 'sealed share', { fresh: true });
        file = f;
      } catch (e) {
        if (!(e instanceof CustosError) || attempt >= 3) throw e;
        say(`Not usable: ${e.appError.message}\n  ${e.appError.action}`);
      }
    }
    let sealed: NonNullable<Awaited<ReturnType<Sitting['act']>>['sealed']> | null = null;
    for (let attempt = 1; !sealed; attempt++) {
      const pin = await ask.ask(`PIN of ${next.name}'s card: `, true);
      try {
        sealed = (await act({ kind: 'seal-share', holder: next.person, card: await card(next, pin) })).sealed!;
      } catch (e) {
        if (!(e instanceof CustosError)) throw e;
        say(`Not sealed: ${e.appError.message}\n  ${e.appError.action}`);
        emit({ event: 'refused', holder: next.name, code: e.appError.code });
        if (attempt >= 3) throw e;
      }
    }
    const k = sealed.sealedTo;
    writeOutputFile(file, sealed.envelope, 'sealed share', { mode: 0o600, fresh: true });
    written.set(next.person, file);
    say(`${next.name}'s share is sealed to ${k.generated ? 'a sealing key made now on' : 'the sealing key on'} card "${k.tokenLabel}" (serial ${k.tokenSerial}; ${k.keyType === 'rsa' ? 'RSA' : 'EC P-256'} key fingerprint ${k.spkiSha256.slice(0, 16)}…), opened once in the card to prove it, and written to ${file} (SHA-256 ${k.envelopeSha256.slice(0, 16)}…).`);
    emit({ event: 'sealed', holder: next.name, index: sealed.index, file, envelopeSha256: k.envelopeSha256, spkiSha256: k.spkiSha256, tokenSerial: k.tokenSerial, generated: k.generated });
    v = (await act({ kind: 'envelope-saved', holder: next.person })).view;
    crashHook(`seal:${sealed.index}`);
  }
  while (v.current?.input.kind === 'verify-share') {
    const next = v.current.input.holders.find((h) => !h.done)!;
    const file = written.get(next.person)!;
    say(`\n=== VERIFICATION: ${next.name} ===\nThe envelope in ${file} is opened in ${next.name}'s card.`);
    const envelope = readInputFile(file, 'sealed share').toString('utf8');
    v = (await typeUntilAccepted(sit, {
      name: next.name,
      prompt: `PIN of ${next.name}'s card: `,
      send: async (pin) => (await act({ kind: 'unseal-share', holder: next.person, envelope, card: await card(next, pin) })).view,
      accepted: `${next.name}'s envelope opens in their card to their share.`,
      event: 'verified',
    }))!;
  }
  return v;
}

/** The hand-over (each holder alone sees their share) and the verification round (each re-enters it). */
async function handOutAndVerify(v: RunView, sit: Sitting, clear: boolean): Promise<RunView> {
  const { say, emit, ask, act, opts } = sit;
    // Hand-over: one holder at a time.
    while (v.current?.input.kind === 'hand-over') {
      const next = v.current.input.holders.find((h) => !h.done)!;
      say(`\n=== HAND-OVER: ${next.name} ===\nOnly ${next.name} looks at the screen now. Everyone else: look away.`);
      await ask.ask(`Press Enter when ${next.name} is alone at the screen.`);
      const r = await act({ kind: 'reveal', holder: next.person });
      const share = r.reveal!;
      const words = share.share.split(' ');
      const grid = share.scheme === 'xor' ? [share.share] : words.map((w, i) => `${String(i + 1).padStart(2)}. ${w.padEnd(10)}`).reduce<string[]>((rows, cell, i) => (i % 4 === 0 ? [...rows, cell] : [...rows.slice(0, -1), rows[rows.length - 1] + cell]), []);
      say(`${share.name}: share ${share.index} of ${share.of}${share.fingerprint ? `, fingerprint ${share.fingerprint}` : ''}${share.checkValue ? `, check value ${share.checkValue}` : ''}`);
      if (opts.json) emit({ event: 'share', holder: share.name, index: share.index, share: share.share });
      else say(grid.join('\n'));
      await ask.ask(`${share.name}: write every word down, check it, then press Enter.`);
      if (clear && process.stderr.isTTY) process.stderr.write(CLEAR);
      v = (await act({ kind: 'handed-over', holder: next.person })).view;
      crashHook(`hand-over:${share.index}`);
    }

    // Verification round: each holder re-enters their own share.
    while (v.current?.input.kind === 'verify-share') {
      const next = v.current.input.holders.find((h) => !h.done)!;
      say(`\n=== VERIFICATION: ${next.name} ===`);
      v = (await typeUntilAccepted(sit, {
        name: next.name,
        prompt: `${next.name}, type your share from what you wrote down: `,
        send: async (typed) => (await act({ kind: 'verify-share', holder: next.person, share: typed })).view,
        accepted: `${next.name}'s share is correct.`,
        event: 'verified',
      }))!;
    }

  return v;
}

/**
 * `custos ceremony restore-shares`: a restore's (or a drill's) secret part in one process — each
 * holder in turn types their share (checked at once, on its own), the Backup Key is rebuilt and
 * its check value compared, the keys are unwrapped and theirs compared. The shares and the Backup
 * Key exist only in this process's memory.
 */
export async function runRestoreSitting(s: Services, t: { module: string; token: string }, opts: GlobalOptions, o: { run: string; destPinFile?: string; cardModule?: string }): Promise<RunView> {
  const sit = sitting(s, t, opts, o.run, o.cardModule);
  const { say, emit, ask, act } = sit;
  try {
    let v = await s.ceremonies.view(o.run);
    if (v.current?.kind !== 'enter-shares') invalidInput(`The ceremony is at “${v.current?.title ?? v.status}”, not at the entering of shares.`, 'Finish the steps before it first (custos ceremony status).');
    if (v.current.input.kind === 'approve') invalidInput(`The restore needs ${v.current.input.threshold} custodian approvals before any share is entered: ${v.current.needs.join(' ')}`, 'Collect them with `custos ceremony approve --step unwrap-targets`.');
    v = await enterShares(v, sit);
    v = (await act({ kind: 'run' })).view;
    say(`Backup Key rebuilt; its check value ${String(v.steps.find((x) => x.kind === 'rebuild-backup-key')?.outcome?.checkValue ?? '')} is the one recorded at the backup.`);
    const dest = v.current?.input.kind === 'unwrap' ? v.current.input.destination : null;
    const pin = dest && o.destPinFile ? await readSecret({ file: o.destPinFile, prompt: `PIN of the destination token "${dest}": ` }) : null;
    try {
      v = (await act({ kind: 'unwrap', destPin: pin?.value ?? null })).view;
    } finally {
      pin?.wipe();
    }
    const results = (v.steps.find((x) => x.kind === 'unwrap-targets')?.outcome?.results ?? []) as Array<{ label: string; expected: string; got: string; matches: boolean }>;
    for (const r of results) say(`${r.label}: check value ${r.got} ${r.matches ? '= recorded' : `≠ recorded ${r.expected}`}`);
    emit({ event: 'unwrapped', results });
    if (!opts.json) say(runText(v));
    return v;
  } finally {
    ask.close();
  }
}

/** Each holder in turn types their share or opens the one sealed to their card, alone at the keyboard; each is checked at once, on its own. */
async function enterShares(v: RunView, sit: Sitting): Promise<RunView> {
  const { say } = sit;
  while (v.current?.input.kind === 'enter-share') {
    const input = v.current.input;
    const next = input.holders.find((h) => !h.done)!;
    say(`\n=== SHARE ${input.holders.filter((h) => h.done).length + 1} of ${input.needed}: ${next.name} ===\n${next.name} alone at the keyboard; everyone else looks away.`);
    v = (await typeUntilAccepted(sit, {
      name: next.name,
      prompt: `${next.name}, type your share (or \`${ENVELOPE}\` to open the one sealed to your card): `,
      send: typedOrSealed(sit, next, 'enter-share'),
      accepted: `${next.name}'s share is accepted.`,
      event: 'accepted',
    }))!;
    crashHook(`enter-share:${input.holders.filter((h) => h.done).length + 1}`);
  }
  return v;
}

/**
 * `custos ceremony reshare-shares`: a re-share's secret part in one process — the old holders type
 * their shares, the Backup Key is rebuilt and checked, split for the new holders, handed out one
 * holder at a time and verified, and the new share set committed. Nothing touches the HSM.
 */
export async function runReshareSitting(s: Services, t: { module: string; token: string }, opts: GlobalOptions, o: { run: string; clear: boolean; cardModule?: string }): Promise<RunView> {
  const sit = sitting(s, t, opts, o.run, o.cardModule);
  const { say, ask, act } = sit;
  try {
    let v = await s.ceremonies.view(o.run);
    if (v.type !== 'reshare') invalidInput('This ceremony is not a re-share.', 'Use `custos ceremony shares` for a backup and `custos ceremony restore-shares` for a restore or a drill.');
    if (v.current?.kind !== 'enter-shares') invalidInput(`The ceremony is at “${v.current?.title ?? v.status}”, not at the entering of the old shares.`, v.status === 'interrupted' ? 'Run `custos ceremony resume --run ID` first: the shares entered or made by the process that stopped are void.' : 'Finish the steps before it first (custos ceremony status).');
    if (v.current.input.kind === 'approve') invalidInput(`The new share set needs ${v.current.input.threshold} custodian approvals before any share is entered: ${v.current.needs.join(' ')}`, 'Collect them with `custos ceremony approve --step commit-reshare`.');
    v = await enterShares(v, sit);
    v = (await act({ kind: 'run' })).view;
    const rebuilt = v.steps.find((x) => x.kind === 'rebuild-backup-key')?.outcome;
    const rotation = rebuilt?.newBackupKey as { checkValue: string } | undefined;
    say(`Backup Key rebuilt; its check value ${String(rebuilt?.checkValue ?? '')} is the one recorded at the backup.`);
    if (rotation) say(`The Backup Key is rotated: a new one (check value ${rotation.checkValue}) is split for the new holders.`);
    v = (await act({ kind: 'run' })).view;
    const split = v.steps.find((x) => x.kind === 'split')!.outcome!;
    say(`Split again into ${String(split.count)} ${split.scheme === 'xor' ? 'XOR components (all needed)' : `SLIP-39 shares (any ${String(split.threshold)} rebuild the key)`}.`);
    v = await handOutAndVerify(v, sit, o.clear);
    if (v.current?.kind !== 'commit-reshare') return v;
    v = (await act({ kind: 'run' })).view;
    if (rotation) {
      const out = v.steps.find((x) => x.kind === 'commit-reshare')?.outcome;
      for (const r of (out?.results ?? []) as Array<{ label: string; got: string }>) say(`${r.label}: check value ${r.got} = recorded; re-wrapped under the new Backup Key`);
      say(`\nThe new share set and the re-wrapped keys are recorded; both Backup Keys are destroyed in the HSM and wiped from memory.\n${String(out?.note ?? '')}`);
    } else {
      say(`\nThe new share set is recorded for the same Backup Key; the wrapped keys are unchanged, and the Backup Key is wiped from memory.\n${String(v.steps.find((x) => x.kind === 'commit-reshare')?.outcome?.note ?? '')}`);
    }
    if (!opts.json) say(runText(v));
    return v;
  } finally {
    ask.close();
  }
}

/**
 * `custos ceremony audit-shares`: each holder named for a share audit types their share, alone at
 * the keyboard; each is checked on its own against the backup's record and not kept. A holder whose
 * share does not pass gets three tries; then the next holder comes. At the end the audit is closed:
 * a share that did not pass becomes an exception to decide before the sign-off.
 */
export async function runAuditSitting(s: Services, t: { module: string; token: string }, opts: GlobalOptions, o: { run: string; cardModule?: string }): Promise<RunView> {
  const sit = sitting(s, t, opts, o.run, o.cardModule);
  const { say, ask, act } = sit;
  try {
    let v = await s.ceremonies.view(o.run);
    if (v.current?.kind !== 'audit-shares' || v.current.input.kind !== 'audit-share') invalidInput(`The ceremony is at “${v.current?.title ?? v.status}”, not at the checking of shares.`, 'Finish the steps before it first (custos ceremony status).');
    const skipped = new Set<string>();
    for (;;) {
      const input: RunView['current'] = v.current;
      if (input?.input.kind !== 'audit-share') break;
      const next = input.input.holders.find((h) => !h.done && !skipped.has(h.person));
      if (!next) break;
      say(`\n=== SHARE ${next.index}: ${next.name} ===\n${next.name} alone at the keyboard; everyone else looks away.`);
      const checked = await typeUntilAccepted(sit, {
        name: next.name,
        prompt: `${next.name}, type your share (or \`${ENVELOPE}\` to open the one sealed to your card): `,
        send: typedOrSealed(sit, next, 'audit-share'),
        accepted: `${next.name}'s share is good: it is of this backup's set and is the one recorded for ${next.name}.`,
        event: 'checked',
        refused: { word: 'Did not pass', event: 'failed' },
        // A failed check is recorded (it does not count): the view moves on with it.
        onRefused: async () => {
          v = await s.ceremonies.view(o.run);
        },
        giveUp: 'skip',
      });
      if (checked) v = checked;
      else skipped.add(next.person);
    }
    if (v.current?.kind === 'audit-shares') {
      v = (await act({ kind: 'run' })).view;
      say('The audit is closed; each share that did not pass is recorded as an exception for the administrator to decide before the sign-off.');
    }
    if (!opts.json) say(runText(v));
    return v;
  } finally {
    ask.close();
  }
}

/**
 * `custos ceremony enter-components`: forming a key from XOR components in one sitting — each holder
 * in turn types their component (no echo on a terminal), checked at once against the check value
 * printed with it; then the key is formed inside the HSM and its check value compared.
 */
export async function runComponentSitting(s: Services, t: { module: string; token: string }, opts: GlobalOptions, o: { run: string }): Promise<RunView> {
  const sit = sitting(s, t, opts, o.run);
  const { say, emit, ask, act } = sit;
  try {
    let v = await s.ceremonies.view(o.run);
    if (v.current?.kind !== 'enter-components') invalidInput(`The ceremony is at “${v.current?.title ?? v.status}”, not at the entering of components.`, v.status === 'interrupted' ? 'Run `custos ceremony resume --run ID` first: components entered in the process that stopped are gone.' : 'Finish the steps before it first (custos ceremony status).');
    if (v.current.input.kind === 'approve') invalidInput(`Forming the key needs ${v.current.input.threshold} custodian approvals before any envelope is opened: ${v.current.needs.join(' ')}`, 'Collect them with `custos ceremony approve --step form-key`.');
    while (v.current?.input.kind === 'enter-component') {
      const next = v.current.input.holders.find((h) => !h.done)!;
      say(`\n=== COMPONENT ${next.index}: ${next.name} ===\n${next.envelope ? `Before it is opened, everyone compares the envelope's serial number with the record's: ${next.envelope}, and checks that the envelope is intact.\n` : ''}${next.name} alone at the keyboard; everyone else looks away. Its printed check value: ${next.checkValue}.`);
      v = (await typeUntilAccepted(sit, {
        name: next.name,
        prompt: `${next.name}, type component ${next.index}: `,
        send: async (typed) => (await act({ kind: 'enter-component', holder: next.person, component: typed })).view,
        accepted: `Component ${next.index} matches its check value.`,
        event: 'accepted',
      }))!;
    }
    v = (await act({ kind: 'run' })).view;
    const out = v.steps.find((x) => x.kind === 'form-key')?.outcome ?? {};
    say(`Key “${String(out.label)}” formed inside the HSM; its check value is ${String(out.checkValue)}${out.expected ? ' — the expected one' : ''}. Read it aloud. The components are wiped from memory.`);
    emit({ event: 'formed', checkValue: out.checkValue });
    if (!opts.json) say(runText(v));
    return v;
  } finally {
    ask.close();
  }
}
