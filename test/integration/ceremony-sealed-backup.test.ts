// A backup whose SLIP-39 shares are sealed to the holders' cards at the ceremony (scheme "sealed"):
// no share is ever shown or written down. Each holder's card is a SoftHSM2 token, the one they
// enrolled with; at their turn Custos finds their sealing key on it (Ben: an RSA key made earlier)
// or makes one (Ann, Cat: EC P-256, derive only), the credential key on the same card signs the
// binding, the share is sealed in main and opened once in the card. Every bad input — another
// holder's card, a wrong PIN, a card not inserted, a sealing key that could not open a share, the
// wrong envelope in the verification round — is refused with its own code and loses nothing. Then
// a restore into a fresh SoftHSM2 token (and the NSS softoken where installed) and a share audit
// open the envelopes; an envelope sealed to any other key is refused against the backup's record.
// The CLI test runs the whole sitting with --envelope files, is killed mid-distribution, resumes.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CKM } from '../../electron/hsm/protocol/constants';
import { KeyService } from '../../electron/services/key-service';
import { sealingKeyLabel, sealingKeyType } from '../../electron/services/shares/cards';
import { CardShareService, parseSealedShareJson, serializeSealedShare } from '../../electron/services/shares/index';
import { sealingKeyBinding } from '../../electron/services/ceremony/steps-backup-sealed';
import { credentialFromPublic, verifyCredential } from '../../electron/services/ceremony/credentials';
import type { TranscriptCredential } from '../../shared/ceremony/transcript';
import type { RunView } from '../../shared/ceremony/view';
import { parseShareSetRecordJson, type ShareSetRecord } from '../../shared/shares';
import { failure } from '../helpers/hsm-ops';
import { NSS_DB_TOKEN, NSS_MODULE, nssAvailable, nssDb, type NssFixture } from '../helpers/nss';
import { HsmClient } from '../../electron/hsm/client';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { DIST, HOST_SCRIPT, SOFTHSM_MODULE, softhsm } from '../helpers/softhsm';
import { cast, ceremonyFixture, PEOPLE, rollCall, runSetup, WS, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let nss: NssFixture | null = null;
const REPLACEMENT = { label: 'Replacement HSM', so: '11223344', user: '55667788' };
const everyone = PEOPLE.map((p) => p.name);
const HOLDERS = ['Ann Archer', 'Ben Baker', 'Cat Cole'];
const id: Record<string, string> = {};
let backupRun = '';
let setupBundle = '';
let record: ShareSetRecord;
/** Each holder's envelope as written at the backup. */
const envelope: Record<string, string> = {};
/** The words inside, read by the test from the cards after the ceremony (to prove none leaked). */
const words: Record<string, string> = {};

const card = (name: string, over: { token?: string; pin?: string } = {}) => {
  const p = f.person(name);
  return { module: SOFTHSM_MODULE, token: over.token ?? p.card, pin: over.pin ?? p.pin };
};
const refusal = (p: Promise<unknown>) => failure(p);
const seal = (run: string, holder: string, c = card(holder)) => f.service.act(f.session, run, { kind: 'seal-share', holder, card: c }, null);
const unseal = (run: string, holder: string, env: string, c = card(holder)) => f.service.act(f.session, run, { kind: 'unseal-share', holder, envelope: env, card: c }, null);

function expectNoShareWords(text: string): void {
  const t = text.toLowerCase();
  for (const m of Object.values(words)) {
    const w = m.split(' ');
    for (let i = 0; i + 1 < w.length; i++) expect(t).not.toContain(`${w[i]} ${w[i + 1]}`);
  }
}

/** Runs `fn` logged in to a holder's card as its user. */
async function onCard<T>(name: string, fn: (t: { module: string; token: string }) => Promise<T>): Promise<T> {
  const t = { module: SOFTHSM_MODULE, token: f.person(name).card };
  await f.hsm.call('login', { path: t.module, token: t.token, role: 'user', pin: f.person(name).pin });
  try {
    return await fn(t);
  } finally {
    await f.hsm.call('logout', { path: t.module, token: t.token }).catch(() => undefined);
  }
}

async function upToHandOver(holders = HOLDERS): Promise<{ run: string; view: RunView }> {
  let v = await f.service.plan(f.session, { definition: 'custos/backup', params: { targets: ['archive-kek', 'archive-mac'], scheme: 'sealed', threshold: 2, holders }, participants: cast() });
  const run = v.run;
  for (const h of v.params.holders as Array<{ person: string; name: string }>) id[h.name] = h.person;
  v = await rollCall(f, run, everyone);
  v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'commit-backup', person: c, proof: f.card(c) });
  v = await f.act(run, { kind: 'run' }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Otto Operator');
  return { run, view: v };
}

async function signOff(run: string): Promise<{ steps: Array<{ kind: string; outcome: Record<string, unknown> | null; progress: Array<Record<string, unknown>> }> }> {
  await f.act(run, { kind: 'tick' }, 'Wes Witness');
  await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  expect(done.view.status).toBe('completed');
  expect((await f.service.verifyBundle(done.bundle!.path)).ok).toBe(true);
  return JSON.parse(readFileSync(join(done.bundle!.path, 'transcript.json'), 'utf8'));
}

beforeAll(async () => {
  nss = nssAvailable() ? nssDb('custos-sealedbk-nss-') : null;
  f = await ceremonyFixture('custos-sealedbk-', undefined, { extraTokens: [REPLACEMENT], env: nss ? { CUSTOS_NSS_CONFIGDIR: nss.dir } : {} });
  setupBundle = (await runSetup(f)).bundle;
}, 300_000);

afterAll(async () => {
  await f?.close();
  nss?.cleanup();
});

describe('a backup sealed to the holders’ cards', () => {
  it('seals each share to its holder’s own card (found or made there, bound by the credential), proves each opens, and refuses every wrong card, PIN, key and envelope by name', async () => {
    const { run, view } = await upToHandOver();
    expect(view.current!.input).toMatchObject({ kind: 'hand-over', sealed: true, holders: [{ name: 'Ann Archer', card: { label: 'Card Ann' } }, { name: 'Ben Baker' }, { name: 'Cat Cole' }] });
    // Ben already has a sealing key under his label (RSA, unwrap only); Cat has one that could not open a share (sign only).
    const keys = new KeyService(f.hsm);
    await onCard('Ben Baker', (t) => keys.generate(t, { type: 'rsa-2048', label: sealingKeyLabel(id['Ben Baker']!), usages: ['wrap'], extractable: false }));
    await onCard('Cat Cole', (t) => keys.generate(t, { type: 'ec-p256', label: sealingKeyLabel(id['Cat Cole']!), usages: ['sign'], extractable: false }));

    // The words are never shown: reveal and a typed hand-over are refused.
    expect((await refusal(f.service.act(f.session, run, { kind: 'reveal', holder: 'Ann Archer' }, null))).code).toBe('CEREMONY_STEP_BLOCKED');
    expect((await refusal(f.act(run, { kind: 'handed-over', holder: 'Ann Archer' }))).code).toBe('CEREMONY_STEP_BLOCKED');
    // Another holder's card: refused by its serial before its PIN is tried (Ben's PIN would be right for it).
    const wrongCard = await refusal(seal(run, 'Ann Archer', card('Ben Baker')));
    expect(wrongCard.code).toBe('CARD_WRONG');
    expect(wrongCard.message).toMatch(/not Ann Archer’s enrolled card/);
    expect((await refusal(seal(run, 'Ann Archer', card('Ann Archer', { pin: '999999' })))).code).toBe('PIN_INCORRECT');
    expect((await refusal(seal(run, 'Ann Archer', card('Ann Archer', { token: 'Card Nobody' })))).code).toBe('TOKEN_NOT_FOUND');
    expect((await refusal(seal(run, 'Ben Baker'))).code).toBe('CEREMONY_STEP_BLOCKED'); // not his turn
    // Nothing of that counted; the failed tries are in the journal without a holder.
    let v = await f.service.view(run);
    expect(v.current!.input).toMatchObject({ kind: 'hand-over', holders: [{ done: false }, { done: false }, { done: false }] });

    // Ann: no sealing key on her card yet, so one is made there (EC P-256, derive only, never extractable).
    const ann = (await seal(run, 'Ann Archer')).sealed!;
    expect(ann.sealedTo).toMatchObject({ keyType: 'ec-p256', keyLabel: sealingKeyLabel(id['Ann Archer']!), tokenLabel: 'Card Ann', generated: true });
    expect(ann.sealedTo.envelopeSha256).toBe(createHash('sha256').update(ann.envelope).digest('hex'));
    const annKey = await onCard('Ann Archer', (t) => f.hsm.call('objects', { path: t.module, token: t.token, ref: { label: sealingKeyLabel(id['Ann Archer']!), kind: 'private' } }));
    expect(annKey).toHaveLength(1);
    expect(annKey[0]).toMatchObject({ keyType: 'ec', onToken: true, sensitive: true, extractable: false, usage: { derive: true, sign: false, decrypt: false, unwrap: false } });
    // The binding: Ann's enrolled credential signed the sealing key's fingerprint inside her card.
    const setup = JSON.parse(readFileSync(join(setupBundle, 'transcript.json'), 'utf8')) as { steps: Array<{ kind: string; progress: Array<{ name?: string; credential?: TranscriptCredential }> }> };
    const annCred = credentialFromPublic(setup.steps.find((s) => s.kind === 'enrol')!.progress.find((p) => p.name === 'Ann Archer')!.credential!);
    expect(ann.sealedTo.binding.credential).toBe(annCred.fingerprint);
    expect(ann.sealedTo.binding.message).toBe(sealingKeyBinding({ run, person: id['Ann Archer']!, credential: annCred.fingerprint, serial: ann.sealedTo.tokenSerial, spkiSha256: ann.sealedTo.spkiSha256 }));
    expect(verifyCredential(annCred, ann.sealedTo.binding.message, ann.sealedTo.binding.signature)).toBe(true);
    envelope['Ann Archer'] = ann.envelope;
    v = await f.act(run, { kind: 'envelope-saved', holder: 'Ann Archer' });

    // Ben: the RSA key already on his card is used, not a new one.
    const ben = (await seal(run, 'Ben Baker')).sealed!;
    expect(ben.sealedTo).toMatchObject({ keyType: 'rsa', alg: 'RSA-OAEP-SHA1+A256GCM', generated: false, tokenLabel: 'Card Ben' });
    envelope['Ben Baker'] = ben.envelope;
    v = await f.act(run, { kind: 'envelope-saved', holder: 'Ben Baker' });

    // Cat: the key under her label cannot open a share: refused, not used; once it is gone, one is made.
    const unusable = await refusal(seal(run, 'Cat Cole'));
    expect(unusable.code).toBe('KEY_USAGE_NOT_PERMITTED');
    await onCard('Cat Cole', (t) => f.hsm.call('destroy', { path: t.module, token: t.token, ref: { label: sealingKeyLabel(id['Cat Cole']!) } }));
    const cat = (await seal(run, 'Cat Cole')).sealed!;
    expect(cat.sealedTo).toMatchObject({ keyType: 'ec-p256', generated: true });
    envelope['Cat Cole'] = cat.envelope;
    v = await f.act(run, { kind: 'envelope-saved', holder: 'Cat Cole' });
    expect(v.current!.input).toMatchObject({ kind: 'verify-share', sealed: true });

    // The verification round opens each file in its holder's card.
    expect((await refusal(f.act(run, { kind: 'verify-share', holder: 'Ann Archer', share: 'academic acid' }))).code).toBe('CEREMONY_STEP_BLOCKED');
    expect((await refusal(unseal(run, 'Ann Archer', envelope['Ben Baker']!, card('Ann Archer')))).code).toBe('SHARE_WRONG_HOLDER');
    const altered = JSON.stringify({ ...JSON.parse(envelope['Ann Archer']!), createdAt: '2026-01-01T00:00:00.000Z' }, null, 2) + '\n';
    expect((await refusal(unseal(run, 'Ann Archer', altered))).code).toBe('SEALED_SHARE_INVALID');
    expect((await refusal(unseal(run, 'Ann Archer', envelope['Ann Archer']!, card('Ann Archer', { token: f.person('Cat Cole').card })))).code).toBe('CARD_WRONG');
    expect((await refusal(unseal(run, 'Ann Archer', envelope['Ann Archer']!, card('Ann Archer', { pin: '000000' })))).code).toBe('PIN_INCORRECT');
    for (const h of HOLDERS) v = (await unseal(run, h, envelope[h]!)).view;
    expect(v.steps.find((s) => s.kind === 'verify-shares')!.status).toBe('done');
    v = await f.act(run, { kind: 'commit', soPin: WS.so }, 'Otto Operator');
    const transcript = await signOff(run);
    backupRun = run;

    // The record: per holder, the card key (fingerprint, label, serial) and the envelope's SHA-256.
    const commit = transcript.steps.find((s) => s.kind === 'commit-backup')!.outcome as { envelopes: Array<{ name: string; spkiSha256: string; tokenSerial: string; tokenLabel: string; envelopeSha256: string }> };
    expect(commit.envelopes.map((e) => [e.name, e.tokenLabel, e.envelopeSha256])).toEqual(HOLDERS.map((h) => [h, f.person(h).card, createHash('sha256').update(envelope[h]!).digest('hex')]));
    record = parseShareSetRecordJson(JSON.stringify((transcript.steps.find((s) => s.kind === 'split')!.outcome as { shareSetRecord: unknown }).shareSetRecord));
    for (const h of HOLDERS) {
      const env = parseSealedShareJson(envelope[h]!);
      expect(env.recipient.spkiSha256).toBe(commit.envelopes.find((e) => e.name === h)!.spkiSha256);
      words[h] = await onCard(h, (t) => new CardShareService(f.hsm).open(t, env));
    }
    // No word of any share anywhere: results, errors, journal, bundle, archive.
    expectNoShareWords(JSON.stringify(transcript));
    expectNoShareWords(JSON.stringify(v));
    for (const e of [wrongCard, unusable]) expectNoShareWords(`${e.message} ${e.action}`);
    for (const file of ['archive.sqlite', 'archive.sqlite-wal']) if (existsSync(join(f.dataDir, file))) expectNoShareWords(readFileSync(join(f.dataDir, file)).toString('latin1'));
  }, 300_000);

  it('the card’s mechanism list decides the sealing key: EC P-256 with ECDH, else RSA with OAEP, else none (MECHANISM_UNSUPPORTED)', async () => {
    const all = new Set((await f.hsm.call('mechanisms', { path: SOFTHSM_MODULE, token: f.person('Ann Archer').card })).map((m) => m.type));
    const without = (...m: number[]) => new Set([...all].filter((x) => !m.includes(x)));
    expect(sealingKeyType(all)).toBe('ec-p256');
    expect(sealingKeyType(without(CKM.ECDH1_DERIVE))).toBe('rsa-3072');
    expect(sealingKeyType(without(CKM.ECDH1_DERIVE, CKM.RSA_PKCS_OAEP))).toBeNull();
    expect(sealingKeyType(without(CKM.AES_GCM))).toBeNull();
  });

  it('a card that can do neither ECDH nor RSA-OAEP (SoftHSM2 with those mechanisms disabled) is refused with MECHANISM_UNSUPPORTED, and nothing is made on it', async () => {
    const fx = softhsm('custos-nomech-');
    // SoftHSM 2.6 reads a negative list after "-" but drops its first entry: hence ECDH named twice.
    appendFileSync(fx.conf, 'slots.mechanisms = -CKM_ECDH1_DERIVE,CKM_ECDH1_DERIVE,CKM_RSA_PKCS_OAEP\n');
    fx.initToken('Card Nomech', { user: '246810' });
    const hsm = new HsmClient(nodeHostSpawner(HOST_SCRIPT, fx.env));
    const t = { module: SOFTHSM_MODULE, token: 'Card Nomech' };
    try {
      await hsm.call('load', { path: SOFTHSM_MODULE });
      const mechs = new Set((await hsm.call('mechanisms', { path: t.module, token: t.token })).map((m) => m.type));
      expect(mechs.has(CKM.ECDH1_DERIVE) || mechs.has(CKM.RSA_PKCS_OAEP)).toBe(false);
      await hsm.call('login', { path: t.module, token: t.token, role: 'user', pin: '246810' });
      const e = await refusal(new CardShareService(hsm).sealingKey(t, sealingKeyLabel('p-1'), { label: 'Card Nomech', serial: 'x' }));
      expect(e.code).toBe('MECHANISM_UNSUPPORTED');
      expect(e.message).toMatch(/can make neither an EC P-256 key with ECDH nor an RSA key with OAEP/);
      expect(await hsm.call('objects', { path: t.module, token: t.token, ref: {} })).toHaveLength(0);
    } finally {
      await hsm.close();
      fx.cleanup();
    }
  });

  it('a holder with a passphrase credential (no card) cannot be planned to receive a sealed share', async () => {
    // Pat is enrolled with a passphrase: the enrolment is driven to its end input by input.
    let v = await f.service.plan(f.session, { definition: 'custos/enrolment', params: { add: [{ name: 'Pat Phrase', roles: ['custodian'], credential: 'passphrase' }], retire: [] }, participants: cast() });
    const run = v.run;
    const nameOf = (id: string) => v.participants.find((p) => p.person === id)?.name ?? id;
    for (let guard = 0; v.status === 'running' && guard < 100; guard++) {
      const cur = v.current!;
      const input = cur.input;
      const by = cur.actors[0]?.person ?? null;
      if (input.kind === 'presence') v = await f.act(run, { kind: 'present', person: input.persons[0]!, proof: f.card(nameOf(input.persons[0]!)) });
      else if (input.kind === 'enrol') v = await f.act(run, { kind: 'enrol', person: input.persons[0]!, proof: { passphrase: 'pat: seven blue herons at dawn' } });
      else if (input.kind === 'approve') v = await f.act(run, { kind: 'approve', step: input.step, person: input.persons[0]!, proof: f.card(nameOf(input.persons[0]!)) });
      else if (input.kind === 'sign-off') v = await f.act(run, { kind: 'approve', step: cur.id, person: input.persons[0]!, proof: f.card(nameOf(input.persons[0]!)) });
      else if (input.kind === 'login') v = await f.act(run, { kind: 'login', pin: null }, by);
      else if (input.kind === 'confirm-fingerprint') v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, by);
      else if (input.kind === 'tick') v = await f.act(run, { kind: 'tick', step: input.step }, by);
      else v = await f.act(run, { kind: 'run' }, by);
    }
    expect(v.status).toBe('completed');
    const participants = [...cast(), { person: 'Pat Phrase', roles: ['custodian' as const] }];
    const e = await refusal(f.service.plan(f.session, { definition: 'custos/backup', params: { targets: ['archive-kek'], scheme: 'sealed', threshold: 2, holders: ['Ann Archer', 'Pat Phrase'] }, participants }));
    expect(e.code).toBe('CARD_WRONG');
    expect(e.message).toMatch(/Pat Phrase has no enrolled card/);
    // The same holders with written shares: planned.
    const ok = await f.service.plan(f.session, { definition: 'custos/backup', params: { targets: ['archive-kek'], scheme: 'slip39', threshold: 2, holders: ['Ann Archer', 'Pat Phrase'] }, participants });
    await f.act(ok.run, { kind: 'abort', reason: 'planning only' }, 'Ada Admin');
  }, 300_000);

  it('the plan names each holder’s enrolled card, so the fingerprint read aloud covers where each share will be sealed', async () => {
    const v = await f.service.plan(f.session, { definition: 'custos/backup', params: { targets: ['archive-kek'], scheme: 'sealed', threshold: 2, holders: HOLDERS }, participants: cast() });
    expect((v.params.holders as Array<{ name: string; card?: { label: string } }>).map((h) => [h.name, h.card?.label])).toEqual(HOLDERS.map((h) => [h, f.person(h).card]));
    await f.act(v.run, { kind: 'abort', reason: 'planning only' }, 'Ada Admin');
  });
});

describe('restoring from the envelopes of a sealed backup', () => {
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

  it('restores the Archive KEK and MAC key into a fresh SoftHSM token from two envelopes; an envelope sealed to another key on the right card is refused against the record', async () => {
    const run = await upToShares('custos/restore', { backup: backupRun, holders: ['Ann Archer', 'Cat Cole'], destination: { token: REPLACEMENT.label } }, ['Ann Archer', 'Ben Baker']);
    // Ann's own share, re-sealed to another key on her own card: the header is right, but the backup recorded another key.
    await onCard('Ann Archer', (t) => new KeyService(f.hsm).generate(t, { type: 'ec-p256', label: 'custodian', usages: ['derive'], extractable: false }));
    const moved = serializeSealedShare(await new CardShareService(f.hsm).sealToToken({ module: SOFTHSM_MODULE, token: f.person('Ann Archer').card }, 'custodian', { mnemonic: words['Ann Archer']!, record, holder: 'Ann Archer' }));
    const e = await refusal(unseal(run, 'Ann Archer', moved));
    expect(e.code).toBe('SEALED_SHARE_WRONG_RECIPIENT');
    expect(e.message).toMatch(/not to the key the backup sealed Ann Archer’s share to/);
    await f.hsm.call('login', { path: SOFTHSM_MODULE, token: REPLACEMENT.label, role: 'user', pin: REPLACEMENT.user });
    try {
      await unseal(run, 'Ann Archer', envelope['Ann Archer']!);
      await unseal(run, 'Cat Cole', envelope['Cat Cole']!);
      await f.act(run, { kind: 'run' }, 'Otto Operator');
      const v = await f.act(run, { kind: 'unwrap', destPin: null }, 'Otto Operator');
      const out = v.steps.find((s) => s.kind === 'unwrap-targets')!.outcome as { results: Array<{ matches: boolean }>; kept: boolean };
      expect(out.kept).toBe(true);
      expect(out.results).toHaveLength(2);
      expect(out.results.every((r) => r.matches)).toBe(true);
      for (const idHex of (v.params.targets as Array<{ idHex: string }>).map((t) => t.idHex)) expect(await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: REPLACEMENT.label, ref: { idHex } })).not.toHaveLength(0);
      expectNoShareWords(JSON.stringify(await signOff(run)));
    } finally {
      await f.hsm.call('logout', { path: SOFTHSM_MODULE, token: REPLACEMENT.label }).catch(() => undefined);
    }
  }, 300_000);

  it.skipIf(!nssAvailable())('restores the same backup into the NSS softoken (Ben’s RSA envelope, Cat’s EC one)', async () => {
    const run = await upToShares('custos/restore', { backup: backupRun, holders: ['Ben Baker', 'Cat Cole'], destination: { module: NSS_MODULE, token: NSS_DB_TOKEN } }, ['Ben Baker', 'Cat Cole']);
    await unseal(run, 'Ben Baker', envelope['Ben Baker']!);
    await unseal(run, 'Cat Cole', envelope['Cat Cole']!);
    await f.act(run, { kind: 'run' }, 'Otto Operator');
    const v = await f.act(run, { kind: 'unwrap', destPin: null }, 'Otto Operator');
    expect((v.steps.find((s) => s.kind === 'unwrap-targets')!.outcome as { results: Array<{ matches: boolean }> }).results.every((r) => r.matches)).toBe(true);
    await signOff(run);
  }, 300_000);

  it('a share audit opens every envelope in its holder’s card', async () => {
    let v = await f.service.plan(f.session, { definition: 'custos/share-audit', params: { backup: backupRun, holders: HOLDERS }, participants: cast() });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    for (const h of HOLDERS) v = (await unseal(run, h, envelope[h]!)).view;
    expect((v.steps.find((s) => s.kind === 'audit-shares')!.outcome as { checked: string[] }).checked).toEqual(HOLDERS);
    await signOff(run);
  }, 300_000);
});

describe('a re-share from the envelopes of a sealed backup', () => {
  it('rebuilds the Backup Key from two envelopes opened in their holders’ cards', async () => {
    const params = { backup: backupRun, from: ['Ben Baker', 'Cat Cole'], scheme: 'slip39', threshold: 2, holders: ['Ann Archer', 'Ben Baker', 'Cat Cole'] };
    let v = await f.service.plan(f.session, { definition: 'custos/reshare', params, participants: cast() });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'commit-reshare', person: c, proof: f.card(c) });
    await unseal(run, 'Ben Baker', envelope['Ben Baker']!);
    await unseal(run, 'Cat Cole', envelope['Cat Cole']!);
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    expect(v.steps.find((s) => s.kind === 'rebuild-backup-key')!.outcome!.matches).toBe(true);
    await f.act(run, { kind: 'abort', reason: 'test over: the rebuild from sealed envelopes is what was to be shown' }, 'Ada Admin');
  }, 300_000);
});

describe('the CLI’s sealed backup sitting', () => {
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
        resolve({ code, signal, stdout, stderr });
      });
      child.stdin.end(input);
    });
  }
  const events = (out: string) => out.split('\n').filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; code?: string; holder?: string; file?: string });

  it('writes each envelope to its --envelope file; an existing file is refused before anything is made; killed mid-distribution, it resumes with a new share set', async () => {
    const holders = ['Ann Archer', 'Ben Baker'];
    const { run } = await (async () => {
      // Up to the Backup Key, as the CLI's own sitting expects it (make-backup-key next).
      let v = await f.service.plan(f.session, { definition: 'custos/backup', params: { targets: ['archive-kek'], scheme: 'sealed', threshold: 2, holders }, participants: cast() });
      const r = v.run;
      v = await rollCall(f, r, everyone);
      v = await f.act(r, { kind: 'login', pin: null }, 'Otto Operator');
      v = await f.act(r, { kind: 'run' }, 'Ada Admin');
      v = await f.act(r, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
      v = await f.act(r, { kind: 'run' }, 'Ada Admin');
      for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(r, { kind: 'approve', step: 'commit-backup', person: c, proof: f.card(c) });
      return { run: r };
    })();
    const dir = join(f.fx.dir, 'envelopes');
    mkdirSync(dir, { recursive: true });
    const pinFile = join(f.fx.dir, 'ws.pin');
    writeFileSync(pinFile, `${WS.user}\n`, { mode: 0o600 });
    const soFile = join(f.fx.dir, 'so.pin');
    writeFileSync(soFile, `${WS.so}\n`, { mode: 0o600 });
    const pin = (h: string) => f.person(h).pin;
    const sitting = (files: Record<string, string>) => ['--token', WS.label, '--pin-file', pinFile, '--json', 'ceremony', 'shares', '--run', run, '--so-pin-file', soFile, ...holders.flatMap((h) => ['--envelope', `${h}=${files[h]}`])];

    // An envelope file that exists already, or a folder that does not: refused before the Backup Key is made.
    writeFileSync(join(dir, 'taken.json'), 'keep me\n');
    const taken = await cli(sitting({ 'Ann Archer': join(dir, 'taken.json'), 'Ben Baker': join(dir, 'ben1.json') }), '');
    expect(taken.code, taken.stderr).toBe(2);
    expect(taken.stdout + taken.stderr).toMatch(/already exists; Custos does not overwrite it/);
    expect(readFileSync(join(dir, 'taken.json'), 'utf8')).toBe('keep me\n');
    const nofolder = await cli(sitting({ 'Ann Archer': join(dir, 'nowhere', 'ann.json'), 'Ben Baker': join(dir, 'ben1.json') }), '');
    expect(nofolder.code, nofolder.stderr).toBe(2);
    expect(nofolder.stdout + nofolder.stderr).toMatch(/does not exist/);
    expect((await f.service.view(run)).current!.kind).toBe('make-backup-key');

    // First sitting: Ann's PIN mistyped once, then her envelope is written; killed before Ben's turn.
    const first1 = { 'Ann Archer': join(dir, 'ann1.json'), 'Ben Baker': join(dir, 'ben1.json') };
    const killed = await cli(sitting(first1), `000000\n${pin('Ann Archer')}\n`, { CUSTOS_CEREMONY_TEST_HOOKS: '1', CUSTOS_CEREMONY_KILL_AT: 'seal:1' });
    expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');
    expect(events(killed.stdout).map((e) => e.code ?? e.event)).toEqual(['PIN_INCORRECT', 'sealed']);
    const voidEnvelope = parseSealedShareJson(readFileSync(first1['Ann Archer'], 'utf8'));
    expect(existsSync(first1['Ben Baker'])).toBe(false);
    expect((await f.service.view(run)).status).toBe('interrupted');
    const r = await cli(['--token', WS.label, '--pin-file', pinFile, '--json', 'ceremony', 'resume', '--run', run, '--as', 'Ada Admin'], '');
    expect(r.code, r.stdout + r.stderr).toBe(0);

    // Second sitting (new files): both sealed, both opened again from the files, committed.
    const second = { 'Ann Archer': join(dir, 'ann2.json'), 'Ben Baker': join(dir, 'ben2.json') };
    const done = await cli(sitting(second), `${pin('Ann Archer')}\n${pin('Ben Baker')}\n${pin('Ann Archer')}\n${pin('Ben Baker')}\n`);
    expect(done.code, done.stdout + done.stderr).toBe(0);
    expect(events(done.stdout).map((e) => `${e.holder}:${e.event}`)).toEqual(['Ann Archer:sealed', 'Ben Baker:sealed', 'Ann Archer:verified', 'Ben Baker:verified']);
    expect(done.stderr).toMatch(/sealed to the sealing key on card "Card Ann"/);
    const fresh = parseSealedShareJson(readFileSync(second['Ann Archer'], 'utf8'));
    // The words never reached the terminal or the JSON lines (read here from Ann's card to compare).
    words['cli'] = await onCard('Ann Archer', (t) => new CardShareService(f.hsm).open(t, fresh));
    for (const out of [killed, done]) expectNoShareWords(out.stdout + out.stderr);
    // The envelope of the voided set is of another set: a restore would refuse it by its set identifier.
    expect(fresh.share.setId).not.toBe(voidEnvelope.share.setId);
    expect(readdirSync(dir).sort()).toEqual(['ann1.json', 'ann2.json', 'ben2.json', 'taken.json']);
    const v = await f.service.view(run);
    expect(v.current!.kind).toBe('sign-off');
    const commit = v.steps.find((s) => s.kind === 'commit-backup')!.outcome as { envelopes: Array<{ name: string; envelopeSha256: string }> };
    expect(commit.envelopes.map((e) => e.envelopeSha256)).toEqual(holders.map((h) => createHash('sha256').update(readFileSync(second[h as keyof typeof second])).digest('hex')));
  }, 300_000);
});
