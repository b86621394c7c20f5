// Shares sealed to the holders' cards in the ceremonies (issue #10 part 1): a backup's SLIP-39
// shares are sealed (custos.sealedshare v1) to a key on each holder's own card — a SoftHSM2 token,
// the same one they enrolled with — and a drill, a restore into a fresh SoftHSM2 token (and into
// the NSS softoken where it is installed), a share audit, a re-share and the CLI's restore sitting take the
// envelope and the card's PIN instead of typed words. Every wrong envelope, card or PIN is refused
// with its own code, before the card is touched where the header already says what is wrong, and
// the holder may try again; the words never appear in a result, an error, the journal or the record.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyService } from '../../electron/services/key-service';
import { CardShareService, serializeSealedShare, type SealedShare } from '../../electron/services/shares/index';
import type { RunView } from '../../shared/ceremony/view';
import { tokenUri } from '../../shared/pkcs11-uri';
import type { AppError } from '../../shared/result';
import { createShareSetRecord, parseShareSetRecordJson, type ShareSetRecord } from '../../shared/shares';
import { splitSecret, webCryptoSlip39 } from '../../shared/slip39';
import { failure } from '../helpers/hsm-ops';
import { NSS_DB_TOKEN, NSS_MODULE, nssAvailable, nssDb, type NssFixture } from '../helpers/nss';
import { DIST, SOFTHSM_MODULE } from '../helpers/softhsm';
import { cast, ceremonyFixture, PEOPLE, rollCall, runSetup, WS, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let nss: NssFixture | null = null;
const REPLACEMENT = { label: 'Replacement HSM', so: '11223344', user: '55667788' };
const everyone = PEOPLE.map((p) => p.name);
const HOLDERS = ['Ann Archer', 'Ben Baker', 'Cat Cole'];
let backupRun = '';
let record: ShareSetRecord;
const shares: Record<string, string> = {};
/** Each holder's share sealed to their own card, as the envelope file's text. */
const envelope: Record<string, string> = {};
const cardUri: Record<string, string> = {};

const card = (name: string, over: { token?: string; pin?: string } = {}) => {
  const p = f.person(name);
  return { module: SOFTHSM_MODULE, token: over.token ?? p.card, pin: over.pin ?? p.pin };
};
const unseal = (run: string, holder: string, env: string, c = card(holder)) => f.service.act(f.session, run, { kind: 'unseal-share', holder, envelope: env, card: c }, null);
const refusal = (p: Promise<unknown>) => failure(p);

/** No two consecutive words of any share in `text`. */
function expectNoShareWords(text: string): void {
  const t = text.toLowerCase();
  for (const m of Object.values(shares)) {
    const w = m.split(' ');
    for (let i = 0; i + 1 < w.length; i++) expect(t).not.toContain(`${w[i]} ${w[i + 1]}`);
  }
}

async function makeBackup(): Promise<void> {
  let v = await f.service.plan(f.session, { definition: 'custos/backup', params: { targets: ['archive-kek', 'archive-mac'], scheme: 'slip39', threshold: 2, holders: HOLDERS }, participants: cast() });
  const run = v.run;
  v = await rollCall(f, run, everyone);
  v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'commit-backup', person: c, proof: f.card(c) });
  v = await f.act(run, { kind: 'run' }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Otto Operator');
  record = parseShareSetRecordJson(JSON.stringify((v.steps.find((s) => s.kind === 'split')!.outcome as { shareSetRecord: unknown }).shareSetRecord));
  for (const h of HOLDERS) {
    shares[h] = (await f.service.act(f.session, run, { kind: 'reveal', holder: h }, null)).reveal!.share;
    v = await f.act(run, { kind: 'handed-over', holder: h });
  }
  for (const h of HOLDERS) v = await f.act(run, { kind: 'verify-share', holder: h, share: shares[h]! });
  v = await f.act(run, { kind: 'commit', soPin: WS.so }, 'Otto Operator');
  v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
  v = await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  expect(done.view.status).toBe('completed');
  backupRun = run;
}

/** A share-sealing key on each holder's card (RSA for Ann, EC P-256 for Ben and Cat), and each share sealed to its holder's card. */
async function sealShares(): Promise<void> {
  const keys = new KeyService(f.hsm);
  const cards = new CardShareService(f.hsm);
  const slots = await f.hsm.call('slots', { path: SOFTHSM_MODULE });
  for (const [h, type, usages] of [
    ['Ann Archer', 'rsa-2048', ['wrap']],
    ['Ben Baker', 'ec-p256', ['derive']],
    ['Cat Cole', 'ec-p256', ['derive']],
  ] as const) {
    const p = f.person(h);
    const t = { module: SOFTHSM_MODULE, token: tokenUri(slots.find((s) => s.token?.label === p.card)!.token!) };
    cardUri[h] = t.token;
    await f.hsm.call('login', { path: t.module, token: t.token, role: 'user', pin: p.pin });
    await keys.generate(t, { type, label: 'custodian', usages: [...usages], extractable: false });
    await f.hsm.call('logout', { path: t.module, token: t.token });
  }
  for (const h of HOLDERS) envelope[h] = serializeSealedShare(await cards.sealToToken({ module: SOFTHSM_MODULE, token: cardUri[h]! }, 'custodian', { mnemonic: shares[h]!, record, holder: h }));
}

const sealTo = async (h: string, who: string, rec = record, mnemonic = shares[who]!) =>
  serializeSealedShare(await new CardShareService(f.hsm).sealToToken({ module: SOFTHSM_MODULE, token: cardUri[h]! }, 'custodian', { mnemonic, record: rec, holder: who }));

beforeAll(async () => {
  nss = nssAvailable() ? nssDb('custos-sealed-nss-') : null;
  f = await ceremonyFixture('custos-sealed-', undefined, { extraTokens: [REPLACEMENT], env: nss ? { CUSTOS_NSS_CONFIGDIR: nss.dir } : {} });
  await runSetup(f);
  await makeBackup();
  await sealShares();
}, 300_000);

afterAll(async () => {
  await f?.close();
  nss?.cleanup();
});

async function upToShares(definition: string, params: Record<string, unknown>, approvers: string[] = []): Promise<string> {
  let v = await f.service.plan(f.session, { definition, params, participants: cast() });
  const run = v.run;
  v = await rollCall(f, run, everyone);
  v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  for (const c of approvers) v = await f.act(run, { kind: 'approve', step: 'unwrap-targets', person: c, proof: f.card(c) });
  return run;
}

/** Signs the run off; returns its transcript (the bundle's record of every step's progress). */
async function signOff(run: string): Promise<{ steps: Array<{ kind: string; progress: Array<Record<string, unknown>> }> }> {
  await f.act(run, { kind: 'tick' }, 'Wes Witness');
  await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  expect(done.view.status).toBe('completed');
  expect((await f.service.verifyBundle(done.bundle!.path)).ok).toBe(true);
  return JSON.parse(readFileSync(join(done.bundle!.path, 'transcript.json'), 'utf8'));
}

describe('a drill with shares sealed to the holders’ cards', () => {
  it('opens each envelope in its holder’s card, checks it like a typed share, and refuses every wrong envelope, card and PIN by name', async () => {
    const run = await upToShares('custos/restore-drill', { backup: backupRun, holders: ['Ann Archer', 'Ben Baker'] });
    const errors: AppError[] = [];
    const expectRefused = async (p: Promise<unknown>, code: string, message?: RegExp) => {
      const e = await refusal(p);
      errors.push(e);
      expect(e.code, e.message).toBe(code);
      if (message) expect(e.message).toMatch(message);
      return e;
    };

    // The header says what is wrong: refused before any card is touched (no host call at all).
    const before = f.calls.n;
    await expectRefused(unseal(run, 'Ann Archer', envelope['Ben Baker']!), 'SHARE_WRONG_HOLDER', /This envelope holds share 2 \(Ben Baker’s\), not Ann Archer’s share 1/);
    await expectRefused(unseal(run, 'Ann Archer', envelope['Cat Cole']!), 'SHARE_WRONG_HOLDER', /Cat Cole’s, who is not named/);
    await expectRefused(unseal(run, 'Ann Archer', '{"format":"custos.sealedshare"'), 'SEALED_SHARE_INVALID');
    await expectRefused(unseal(run, 'Ann Archer', JSON.stringify({ ...JSON.parse(envelope['Ann Archer']!), version: 2 })), 'SEALED_SHARE_INVALID', /version 2/);
    // Ann's own share, but sealed to Cat's card: not the card Ann enrolled.
    await expectRefused(unseal(run, 'Ann Archer', await sealTo('Cat Cole', 'Ann Archer'), card('Cat Cole')), 'SEALED_SHARE_WRONG_RECIPIENT', /not to Ann Archer’s enrolled card/);
    // A share of another set, sealed to Ann's card.
    const other = (await splitSecret({ secret: new Uint8Array(32).fill(7), groupThreshold: 1, groups: [{ threshold: 2, count: 3 }], iterationExponent: 0 }, webCryptoSlip39(globalThis.crypto))).flat();
    const otherRecord = await createShareSetRecord({ mnemonics: [other], holders: HOLDERS, createdAt: '2026-12-01T09:00:00Z', ceremonyId: 'OTHER', label: 'Another backup' });
    await expectRefused(unseal(run, 'Ann Archer', await sealTo('Ann Archer', 'Ann Archer', otherRecord, other[0]!)), 'SHARE_SET_MISMATCH', new RegExp(`set ${otherRecord.set.identifier}, not of this backup’s set ${record.set.identifier}`));
    const afterHeaders = f.calls.n;
    expect(afterHeaders - before).toBe(0);

    // The card: another holder's card is refused before its PIN is tried; a card not inserted is named.
    await expectRefused(unseal(run, 'Ann Archer', envelope['Ann Archer']!, card('Ann Archer', { token: f.person('Ben Baker').card })), 'CARD_WRONG', /not the card this share was sealed to/);
    await expectRefused(unseal(run, 'Ann Archer', envelope['Ann Archer']!, card('Ann Archer', { token: 'Card Nobody' })), 'TOKEN_NOT_FOUND');
    await expectRefused(unseal(run, 'Ann Archer', envelope['Ann Archer']!, card('Ann Archer', { pin: '999999' })), 'PIN_INCORRECT');
    // Tampered: one byte of the ciphertext, then one of the header (both covered by the GCM tag, checked in the card).
    const env = JSON.parse(envelope['Ann Archer']!) as SealedShare;
    const flip = (h: string, at: number) => h.slice(0, at) + (h[at] === '0' ? '1' : '0') + h.slice(at + 1);
    await expectRefused(unseal(run, 'Ann Archer', JSON.stringify({ ...env, ciphertext: flip(env.ciphertext, 10) })), 'DECRYPTION_FAILED');
    await expectRefused(unseal(run, 'Ann Archer', JSON.stringify({ ...env, createdAt: env.createdAt, share: { ...env.share, holder: 'Ann  Archer' } })), 'DECRYPTION_FAILED');
    // Nothing was recorded for Ann; none of it left a word of a share anywhere.
    let v = await f.service.view(run);
    expect(v.current!.input).toMatchObject({ kind: 'enter-share', holders: [{ done: false }, { done: false }] });

    // Her own envelope, her card, her PIN: accepted after all those tries.
    v = (await unseal(run, 'Ann Archer', envelope['Ann Archer']!)).view;
    expect(v.current!.input).toMatchObject({ kind: 'enter-share', holders: [{ done: true }, { done: false }] });
    expect(JSON.stringify(v)).not.toContain(shares['Ann Archer']!.split(' ').slice(3, 6).join(' '));
    // The same envelope twice, or presented by Ben: counted once.
    await expectRefused(unseal(run, 'Ann Archer', envelope['Ann Archer']!), 'SHARE_DUPLICATE');
    await expectRefused(unseal(run, 'Ben Baker', envelope['Ann Archer']!, card('Ann Archer')), 'SHARE_DUPLICATE', /share 1, which Ann Archer has entered already/);
    // Ben's envelope in his card (EC P-256, ECDH in the card) completes the step.
    v = (await unseal(run, 'Ben Baker', envelope['Ben Baker']!)).view;
    expect(v.steps.find((s) => s.kind === 'enter-shares')!.status).toBe('done');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const out = v.steps.find((s) => s.kind === 'unwrap-targets')!.outcome as { results: Array<{ matches: boolean }>; drill: boolean };
    expect(out.drill).toBe(true);
    expect(out.results.map((r) => r.matches)).toEqual([true, true]);
    const transcript = await signOff(run);

    expect(errors).toHaveLength(13);
    for (const e of errors) expectNoShareWords(`${e.message} ${e.action} ${JSON.stringify(e.details ?? {})}`);
    for (const file of ['archive.sqlite', 'archive.sqlite-wal']) if (existsSync(join(f.dataDir, file))) expectNoShareWords(readFileSync(join(f.dataDir, file)).toString('latin1'));
    expectNoShareWords(JSON.stringify(transcript));
    // The record says both shares came from envelopes opened in the holders' cards.
    const entered = transcript.steps.find((s) => s.kind === 'enter-shares')!.progress;
    expect(entered.map((p) => [p.name, p.from])).toEqual([['Ann Archer', 'sealed'], ['Ben Baker', 'sealed']]);
  }, 300_000);
});

describe('a restore from sealed shares', () => {
  it('restores the Archive KEK and MAC key into a fresh SoftHSM token from two envelopes opened in the holders’ cards', async () => {
    const run = await upToShares('custos/restore', { backup: backupRun, holders: ['Ben Baker', 'Cat Cole'], destination: { token: REPLACEMENT.label } }, ['Ann Archer', 'Ben Baker']);
    await f.hsm.call('login', { path: SOFTHSM_MODULE, token: REPLACEMENT.label, role: 'user', pin: REPLACEMENT.user });
    try {
      await unseal(run, 'Cat Cole', envelope['Cat Cole']!);
      // A typed share and an envelope mix: Ben types his.
      await f.act(run, { kind: 'enter-share', holder: 'Ben Baker', share: shares['Ben Baker']! });
      await f.act(run, { kind: 'run' }, 'Otto Operator');
      const v = await f.act(run, { kind: 'unwrap', destPin: null }, 'Otto Operator');
      const out = v.steps.find((s) => s.kind === 'unwrap-targets')!.outcome as { results: Array<{ matches: boolean }>; kept: boolean };
      expect(out.kept).toBe(true);
      expect(out.results.every((r) => r.matches)).toBe(true);
      // The keys are on the new token, under the ids recorded at the backup.
      const targets = (v.params.targets as Array<{ idHex: string }>).map((t) => t.idHex);
      for (const idHex of targets) expect(await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: REPLACEMENT.label, ref: { idHex } })).not.toHaveLength(0);
      await signOff(run);
    } finally {
      await f.hsm.call('logout', { path: SOFTHSM_MODULE, token: REPLACEMENT.label }).catch(() => undefined);
    }
  }, 300_000);

  it.skipIf(!nssAvailable())('restores the same backup into the NSS softoken from two envelopes', async () => {
    const run = await upToShares('custos/restore', { backup: backupRun, holders: ['Ann Archer', 'Cat Cole'], destination: { module: NSS_MODULE, token: NSS_DB_TOKEN } }, ['Ben Baker', 'Cat Cole']);
    await unseal(run, 'Ann Archer', envelope['Ann Archer']!);
    await unseal(run, 'Cat Cole', envelope['Cat Cole']!);
    await f.act(run, { kind: 'run' }, 'Otto Operator');
    const v = await f.act(run, { kind: 'unwrap', destPin: null }, 'Otto Operator');
    const out = v.steps.find((s) => s.kind === 'unwrap-targets')!.outcome as { results: Array<{ matches: boolean }> };
    expect(out.results.length).toBe(2);
    expect(out.results.every((r) => r.matches)).toBe(true);
    await signOff(run);
  }, 300_000);
});

describe('a share audit with sealed shares', () => {
  it('each holder proves their envelope opens in their card and matches the record; a card problem is not a failed check, a tampered envelope is', async () => {
    let v = await f.service.plan(f.session, { definition: 'custos/share-audit', params: { backup: backupRun, holders: HOLDERS }, participants: cast() });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    expect(v.current!.input.kind).toBe('audit-share');
    v = (await unseal(run, 'Ann Archer', envelope['Ann Archer']!)).view;
    // Ben mistypes his card's PIN: not a verdict on his share, nothing recorded.
    expect((await refusal(unseal(run, 'Ben Baker', envelope['Ben Baker']!, card('Ben Baker', { pin: '000000' })))).code).toBe('PIN_INCORRECT');
    v = await f.service.view(run);
    expect(v.current!.input).toMatchObject({ kind: 'audit-share', holders: [{ done: true }, { done: false, failed: false }, { done: false }] });
    // His envelope altered: it does not open, and that is what the audit is for.
    const env = JSON.parse(envelope['Ben Baker']!) as SealedShare;
    expect((await refusal(unseal(run, 'Ben Baker', JSON.stringify({ ...env, iv: env.iv.replace(/^./, (c) => (c === '0' ? '1' : '0')) })))).code).toBe('DECRYPTION_FAILED');
    v = await f.service.view(run);
    expect(v.current!.input).toMatchObject({ kind: 'audit-share', holders: [{ done: true }, { done: false, failed: true }, { done: false }] });
    // He may try again with the envelope as written; Cat types hers.
    v = (await unseal(run, 'Ben Baker', envelope['Ben Baker']!)).view;
    v = await f.act(run, { kind: 'audit-share', holder: 'Cat Cole', share: shares['Cat Cole']! });
    const out = v.steps.find((s) => s.kind === 'audit-shares')!.outcome as { checked: string[] };
    expect(out.checked).toEqual(HOLDERS);
    await signOff(run);
  }, 300_000);
});

describe('the CLI’s restore sitting with envelopes', () => {
  const CLI = join(DIST, 'cli.cjs');
  function cli(args: string[], input: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, '--data-dir', f.dataDir, '--module', SOFTHSM_MODULE, ...args], { env: { ...f.fx.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        for (const p of PEOPLE) expect(stdout + stderr, 'a PIN was printed').not.toContain(p.pin);
        expectNoShareWords(stdout + stderr);
        resolve({ code, signal, stdout, stderr });
      });
      child.stdin.end(input);
    });
  }

  it('takes `envelope`, the file and the card’s PIN per holder; a wrong PIN is retried; killed after the first share, the run resumes and the shares are entered again', async () => {
    const run = await upToShares('custos/restore-drill', { backup: backupRun, holders: ['Ann Archer', 'Cat Cole'] });
    const pinFile = join(f.fx.dir, 'ws.pin');
    writeFileSync(pinFile, `${WS.user}\n`, { mode: 0o600 });
    const files: Record<string, string> = {};
    for (const h of HOLDERS) {
      files[h] = join(f.fx.dir, `${h.split(' ')[0]}.sealed.json`);
      writeFileSync(files[h]!, envelope[h]!);
    }
    const sitting = ['--token', WS.label, '--pin-file', pinFile, '--json', 'ceremony', 'restore-shares', '--run', run];
    const pin = (h: string) => f.person(h).pin;
    // Ann opens her envelope (a wrong PIN first); then the process dies before Cat's turn.
    const first = await cli(sitting, `envelope\n${files['Ann Archer']}\n111111\nenvelope\n${files['Ann Archer']}\n${pin('Ann Archer')}\n`, { CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: 'enter-share:1' });
    expect(first.signal, first.stdout + first.stderr).toBe('SIGKILL');
    const ev1 = first.stdout.split('\n').filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; code?: string });
    expect(ev1.map((e) => e.code ?? e.event)).toEqual(['PIN_INCORRECT', 'accepted']);
    expect(first.stderr).toMatch(/sealed to card "Card Ann"/);

    // Ann's share lived only in the process that died: the run says so, and resumes by voiding it.
    const st = await f.service.view(run);
    expect(st.status).toBe('interrupted');
    const r = await cli(['--token', WS.label, '--pin-file', pinFile, '--json', 'ceremony', 'resume', '--run', run, '--as', 'Ada Admin'], '');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as RunView).current!.input).toMatchObject({ kind: 'enter-share', holders: [{ done: false }, { done: false }] });

    // Second sitting: Ann's envelope again, Cat presents Ann's envelope first (refused), then her own.
    const second = await cli(sitting, `envelope\n${files['Ann Archer']}\n${pin('Ann Archer')}\nenvelope\n${files['Ann Archer']}\n${pin('Ann Archer')}\nenvelope\n${files['Cat Cole']}\n${pin('Cat Cole')}\n`);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const ev2 = second.stdout.split('\n').filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; code?: string; results?: Array<{ matches: boolean }> });
    expect(ev2.filter((e) => e.event !== 'unwrapped').map((e) => e.code ?? e.event)).toEqual(['accepted', 'SHARE_DUPLICATE', 'accepted']);
    expect(ev2.find((e) => e.event === 'unwrapped')!.results!.every((x) => x.matches)).toBe(true);
    await signOff(run);
  }, 300_000);

  it('audits in one sitting: Ben opens his envelope in his card, Cat types hers; the record says which came from a card', async () => {
    let v = await f.service.plan(f.session, { definition: 'custos/share-audit', params: { backup: backupRun, holders: ['Ben Baker', 'Cat Cole'] }, participants: cast() });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    await f.act(run, { kind: 'run' }, 'Ada Admin');
    const pinFile = join(f.fx.dir, 'ws.pin');
    writeFileSync(pinFile, `${WS.user}\n`, { mode: 0o600 });
    const file = join(f.fx.dir, 'ben-audit.sealed.json');
    writeFileSync(file, envelope['Ben Baker']!);
    const r = await cli(['--token', WS.label, '--pin-file', pinFile, '--json', 'ceremony', 'audit-shares', '--run', run], `envelope\n${file}\n${f.person('Ben Baker').pin}\n${shares['Cat Cole']}\n`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const ev = r.stdout.split('\n').filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; holder: string });
    expect(ev.map((e) => `${e.holder}:${e.event}`)).toEqual(['Ben Baker:checked', 'Cat Cole:checked']);
    const t = await signOff(run);
    expect(t.steps.find((s) => s.kind === 'audit-shares')!.progress.map((p) => [p.name, p.from ?? 'typed'])).toEqual([['Ben Baker', 'sealed'], ['Cat Cole', 'typed']]);
  }, 300_000);
});

describe('a re-share from sealed old shares', () => {
  it('rebuilds the Backup Key from two old shares opened in their holders’ cards; an old holder not named to enter one is refused by name', async () => {
    const params = { backup: backupRun, from: ['Ann Archer', 'Cat Cole'], scheme: 'slip39', threshold: 2, holders: ['Ben Baker', 'Ann Archer', 'Cat Cole'] };
    let v = await f.service.plan(f.session, { definition: 'custos/reshare', params, participants: cast() });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    // Before the quorum: no envelope is opened.
    expect((await refusal(unseal(run, 'Ann Archer', envelope['Ann Archer']!))).code).toBe('QUORUM_NOT_MET');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'commit-reshare', person: c, proof: f.card(c) });
    expect((await refusal(unseal(run, 'Ann Archer', envelope['Ben Baker']!))).message).toMatch(/Ben Baker’s, who is not named to enter one in this re-share/);
    await unseal(run, 'Ann Archer', envelope['Ann Archer']!);
    await unseal(run, 'Cat Cole', envelope['Cat Cole']!);
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    expect(v.steps.find((s) => s.kind === 'rebuild-backup-key')!.outcome!.matches).toBe(true);
    await f.act(run, { kind: 'abort', reason: 'test over: the rebuild from sealed shares is what was to be shown' }, 'Ada Admin');
  }, 300_000);
});
