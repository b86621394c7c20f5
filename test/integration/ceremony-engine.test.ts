// The three ceremonies of issue #9 end to end through the ceremony service: a SoftHSM2 token as
// the workstation HSM and a SoftHSM2 token per person as their card. Set-up enrols six people with
// key pairs made in their cards; key generation runs under two custodians' card-signed approvals;
// a split-knowledge backup of the Archive KEK and MAC key hands SLIP-39 shares to three holders one
// at a time, verifies every share, and commits under the SO. Each ends with a bundle that verifies.
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combineMnemonics, webCryptoSlip39 } from '../../shared/slip39';
import { keyCheckValues } from '../../electron/services/kcv';
import { failure } from '../helpers/hsm-ops';
import { NSS_DB_TOKEN, NSS_MODULE, nssAvailable, nssDb, type NssFixture } from '../helpers/nss';
import { SOFTHSM_MODULE } from '../helpers/softhsm';
import { splitSecret } from '../../shared/slip39';
import type { RunView } from '../../shared/ceremony/view';
import { cast, ceremonyFixture, rollCall, runSetup, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let nss: NssFixture | null = null;
/** The backup made below, and its three shares (Ann's, Ben's, Cat's), for the restore tests. */
let backupRun = '';
const backupShares: Record<string, string> = {};
const REPLACEMENT = { label: 'Replacement HSM', so: '11223344', user: '55667788' };
const everyone = ['Ada Admin', 'Otto Operator', 'Ann Archer', 'Ben Baker', 'Cat Cole', 'Wes Witness'];

beforeAll(async () => {
  nss = nssAvailable() ? nssDb('custos-ceremony-nss-') : null;
  f = await ceremonyFixture('custos-ceremony-', undefined, { extraTokens: [REPLACEMENT], env: nss ? { CUSTOS_NSS_CONFIGDIR: nss.dir } : {} });
}, 120_000);

afterAll(async () => {
  await f?.close();
  nss?.cleanup();
});

describe('workstation set-up and enrolment', () => {
  it('creates the record, enrols six people with card key pairs, sets the policy under the new custodians, and ends with a bundle', async () => {
    const { bundle } = await runSetup(f);
    const status = await f.service.status();
    expect(status.exists).toBe(true);
    expect(status.people.map((p) => p.name).sort()).toEqual([...everyone].sort());
    expect(status.people.every((p) => p.credential?.kind === 'card' && p.status === 'active')).toBe(true);
    expect(status.policy.approvals['key-generation']).toBe(2);
    const v = await f.service.verifyBundle(bundle);
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.ok && v.pinned).toBe(true);
    expect(v.manifest!.type).toBe('workstation-setup');
  }, 120_000);
});

describe('key generation', () => {
  it('runs under two card-signed approvals, reads the check value, tests and archives the key, and ends with a bundle', async () => {
    let v = await f.service.plan(f.session, {
      definition: 'custos/key-generation',
      params: { keyType: 'aes-256', label: 'Payments DEK 2026', usages: ['encrypt'], extractable: true, purpose: 'data-encryption', tags: ['payments'], custodians: ['Ann Archer'] },
      participants: cast(),
    });
    const run = v.run;
    expect(v.fingerprint.words).toHaveLength(8);
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // checks
    expect(v.steps.find((s) => s.id === 'check')!.outcome!.checks).toEqual(expect.arrayContaining([expect.stringMatching(/label “Payments DEK 2026” is free/)]));
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');

    // One approval is not enough: the engine, not the screen, refuses.
    v = await f.act(run, { kind: 'approve', step: 'generate', person: 'Ann Archer', proof: f.card('Ann Archer') });
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator'))).code).toBe('QUORUM_NOT_MET');
    // The same person twice counts once; a witness cannot approve a custodian step.
    expect((await failure(f.service.act(f.session, run, { kind: 'approve', step: 'generate', person: 'Ann Archer', proof: f.card('Ann Archer') }, null))).code).toBe('APPROVAL_DUPLICATE');
    expect((await failure(f.service.act(f.session, run, { kind: 'approve', step: 'generate', person: 'Wes Witness', proof: f.card('Wes Witness') }, null))).code).toBe('ROLE_MISSING');
    // Ben's approval with Cat's card: refused before the PIN is tried.
    expect((await failure(f.service.act(f.session, run, { kind: 'approve', step: 'generate', person: 'Ben Baker', proof: f.card('Cat Cole') }, null))).code).toBe('CARD_WRONG');
    v = await f.act(run, { kind: 'approve', step: 'generate', person: 'Ben Baker', proof: f.card('Ben Baker') });
    expect(v.current!.input.kind).toBe('run');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // generate
    const gen = v.steps.find((s) => s.id === 'generate')!.outcome!;
    expect(gen.checkValue).toMatch(/^[0-9A-F]{10}$/i);
    // The witness ticks before the next step may start.
    expect(v.current!.input).toEqual({ kind: 'tick', step: 'generate' });
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Ada Admin'))).code).toBe('CEREMONY_STEP_BLOCKED');
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // show check value
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // test
    expect(v.steps.find((s) => s.id === 'test-operation')!.outcome).toMatchObject({ passed: true });
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // archive
    expect(v.steps.find((s) => s.id === 'archive')!.outcome!.versionId).toBeTruthy();
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // csr: skipped for AES
    expect(v.steps.find((s) => s.id === 'csr')!.status).toBe('skipped');
    v = await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
    const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
    expect(done.view.status).toBe('completed');
    const verdict = await f.service.verifyBundle(done.bundle!.path);
    expect(verdict.checks.filter((c) => !c.ok)).toEqual([]);
    expect(verdict.ok).toBe(true);
    const transcript = JSON.parse(readFileSync(join(done.bundle!.path, 'transcript.json'), 'utf8'));
    expect(transcript.approvals.map((a: { name: string }) => a.name)).toEqual(['Ann Archer', 'Ben Baker', 'Wes Witness']);
  }, 180_000);

  it('refuses a malformed definition before any PKCS#11 call', async () => {
    const before = f.calls.n;
    const bad = await failure(f.service.plan(f.session, { definition: { format: 'custos.ceremony-definition', formatVersion: 1, id: 'x/y', revision: 1, type: 'backup', title: 'Backup without verification', roles: { custodian: { min: 2 } }, steps: [{ id: 'split', kind: 'split' }] } as never, params: {}, participants: [] }));
    expect(bad.code).toBe('CEREMONY_DEFINITION_INVALID');
    expect(bad.message).toMatch(/verification round/);
    expect(f.calls.n).toBe(before);
    const text = await failure(f.service.parseDefinition('format: [unclosed'));
    expect(text.code).toBe('CEREMONY_DEFINITION_INVALID');
    expect(f.calls.n).toBe(before);
  });

  it('refuses a witness who is also a custodian, and people not in the register', async () => {
    const params = { keyType: 'aes-256', label: 'Other', usages: ['encrypt'], extractable: false, purpose: 'data-encryption', tags: [], custodians: [] };
    const both = await failure(f.service.plan(f.session, { definition: 'custos/key-generation', params, participants: [...cast(['Ann Archer', 'Ben Baker']), { person: 'Cat Cole', roles: ['custodian', 'witness'] }] }));
    expect(both.code).toBe('ROLE_MISSING'); // Cat is not a witness in the register
    const nobody = await failure(f.service.plan(f.session, { definition: 'custos/key-generation', params, participants: [...cast(), { person: 'Zed Zero', roles: ['custodian'] }] }));
    expect(nobody.code).toBe('PERSON_NOT_FOUND');
  });
});

describe('split-knowledge backup of the archive keys', () => {
  it('hands each holder their share alone, verifies every share, commits under the SO, and the shares rebuild the Archive KEK', async () => {
    let v = await f.service.plan(f.session, {
      definition: 'custos/backup',
      params: { targets: ['archive-kek', 'archive-mac'], scheme: 'slip39', threshold: 2, holders: ['Ann Archer', 'Ben Baker', 'Cat Cole'] },
      participants: cast(),
    });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // check
    expect(v.steps.find((s) => s.id === 'check')!.outcome!.trustedWrap).toBe(true);
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    // No share is made before the quorum has approved the commit.
    expect(v.current!.input).toMatchObject({ kind: 'approve', step: 'commit-backup' });
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator'))).code).toBe('QUORUM_NOT_MET');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'commit-backup', person: c, proof: f.card(c) });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // make the Backup Key
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // split

    const shares: Record<string, string> = {};
    // One holder at a time, in order.
    expect((await failure(f.service.act(f.session, run, { kind: 'reveal', holder: 'Ben Baker' }, null))).code).toBe('CEREMONY_STEP_BLOCKED');
    for (const h of ['Ann Archer', 'Ben Baker', 'Cat Cole']) {
      const r = await f.service.act(f.session, run, { kind: 'reveal', holder: h }, null);
      expect(r.reveal!.name).toBe(h);
      expect(r.reveal!.share.split(' ')).toHaveLength(33);
      shares[h] = r.reveal!.share;
      backupShares[h] = r.reveal!.share;
      v = await f.act(run, { kind: 'handed-over', holder: h });
    }
    // The verification round: a share entered by the wrong holder is named, and does not count.
    const wrong = await failure(f.service.act(f.session, run, { kind: 'verify-share', holder: 'Ann Archer', share: shares['Ben Baker']! }, null));
    expect(wrong.code).toBe('SHARE_WRONG_HOLDER');
    expect(wrong.message).toMatch(/share 2 \(Ben Baker’s\)/);
    const typo = shares['Cat Cole']!.split(' ');
    typo[5] = typo[5] === 'academic' ? 'acid' : 'academic';
    expect((await failure(f.service.act(f.session, run, { kind: 'verify-share', holder: 'Cat Cole', share: typo.join(' ') }, null))).code).toMatch(/^SHARE_/);
    for (const h of ['Ann Archer', 'Ben Baker', 'Cat Cole']) v = await f.act(run, { kind: 'verify-share', holder: h, share: shares[h]! });
    expect(v.current!.kind).toBe('commit-backup');
    // The SO takes part: without the SO PIN the archive's keys cannot be wrapped.
    expect((await failure(f.service.act(f.session, run, { kind: 'commit', soPin: null }, 'Otto Operator'))).code).toBe('PIN_INVALID');
    v = await f.act(run, { kind: 'commit', soPin: '87654321' }, 'Otto Operator');
    const blobs = v.steps.find((s) => s.id === 'commit-backup')!.outcome!.blobs as Array<{ target: string; wrapped: string }>;
    expect(blobs.map((b) => b.target)).toEqual(['archive-kek', 'archive-mac']);
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
    const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
    expect(done.view.status).toBe('completed');
    expect((await f.service.verifyBundle(done.bundle!.path)).ok).toBe(true);
    backupRun = run;

    // Any two shares rebuild the Backup Key, which unwraps the KEK (RFC 5649) to the recorded check value.
    const bk = await combineMnemonics([shares['Ben Baker']!, shares['Cat Cole']!], new Uint8Array(0), webCryptoSlip39(globalThis.crypto));
    const d = createDecipheriv('id-aes256-wrap-pad', bk, Buffer.from('A65959A6', 'hex'));
    const kek = Buffer.concat([d.update(Buffer.from(blobs[0]!.wrapped, 'hex')), d.final()]);
    const status = await f.service.status();
    expect(status.exists).toBe(true);
    const recorded = readFileSync(join(done.bundle!.path, 'transcript.json'), 'utf8');
    expect(recorded).not.toContain(shares['Ann Archer']!.split(' ').slice(0, 6).join(' '));
    const info = await (await import('../../electron/services/archive/service')).ArchiveService.open(join(f.dataDir, 'archive.sqlite'), { readonly: true });
    try {
      expect(keyCheckValues('AES', kek).cmac).toBe(info.workstation.kek_check);
    } finally {
      info.close();
    }
  }, 240_000);
});

describe('practice and production', () => {
  it('marks everything of a practice record as practice, and a production record refuses its bundles', async () => {
    const p = await ceremonyFixture('custos-ceremony-practice-');
    try {
      const { bundle } = await runSetup(p, true);
      expect((await p.service.status()).practice).toBe(true);
      const own = await p.service.verifyBundle(bundle);
      expect(own.ok).toBe(true);
      expect(own.manifest!.practice).toBe(true);
      expect(bundle).toMatch(/-practice\.evidence$/);
      const refused = await f.service.verifyBundle(bundle);
      expect(refused.ok).toBe(false);
      expect(refused.checks.find((c) => c.check === 'a production record accepts no practice bundle')?.ok).toBe(false);
    } finally {
      await p.close();
    }
  }, 180_000);
});

describe('approvals that must not count', () => {
  it('refuses a replayed approval, an expired one, one over other parameters, and one over a changed message', async () => {
    const v0 = await f.service.plan(f.session, {
      definition: 'custos/key-generation',
      params: { keyType: 'hmac-256', label: 'Replay target', usages: ['sign'], extractable: false, purpose: 'authentication', tags: [], custodians: [] },
      participants: cast(),
    });
    const run = v0.run;
    let v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');

    // Ann signs the current challenge with her card, through the engine's own message.
    const { approvalMessage } = await import('../../shared/ceremony/approval');
    const { signWithCard } = await import('../../electron/services/ceremony/credentials');
    const c1 = (await f.service.act(f.session, run, { kind: 'challenge', step: 'generate' }, null)).challenge!;
    const status = await f.service.status();
    const ann = status.people.find((p) => p.name === 'Ann Archer')!;
    const cred = await (async () => {
      const { ArchiveService } = await import('../../electron/services/archive/service');
      const { ArchiveCeremonyRecord } = await import('../../electron/services/ceremony/store');
      const a = ArchiveService.open(join(f.dataDir, 'archive.sqlite'), { readonly: true });
      try {
        return new ArchiveCeremonyRecord(a, '', 'test').credential(ann.credential!.fingerprint)!;
      } finally {
        a.close();
      }
    })();
    const sign = (m: { counter: number; nonce: string; fingerprint: string }) =>
      signWithCard(f.hsm, cred, (f.card('Ann Archer') as { card: { module: string; token: string; pin: string } }).card, approvalMessage({ purpose: 'approve', run, fingerprint: m.fingerprint, step: 'generate', counter: m.counter, nonce: m.nonce, person: ann.id, credential: cred.fingerprint }));
    const good = { step: 'generate', person: 'Ann Archer', counter: c1.counter, nonce: c1.nonce, fingerprint: c1.fingerprint };

    // Signed over other parameters (a swapped fingerprint): refused, nothing recorded.
    const otherFp = 'ab'.repeat(32);
    const swapped = await failure(f.service.act(f.session, run, { kind: 'approve-signed', ...good, fingerprint: otherFp, signature: await sign({ ...good, fingerprint: otherFp }) }, null));
    expect(swapped.code).toBe('APPROVAL_FINGERPRINT');
    // A signature over another message: refused.
    const forged = await failure(f.service.act(f.session, run, { kind: 'approve-signed', ...good, signature: await sign({ ...good, counter: good.counter + 7 }) }, null));
    expect(forged.code).toBe('APPROVAL_INVALID');
    // The right one counts.
    const sig = await sign(good);
    v = (await f.service.act(f.session, run, { kind: 'approve-signed', ...good, signature: sig }, null)).view;
    expect(v.steps.find((s) => s.id === 'generate')!.quorum!.have).toBe(1);

    // The challenge expires; a new one is issued; the old signature replayed is refused as such.
    f.advance(16 * 60_000);
    const c2 = (await f.service.act(f.session, run, { kind: 'challenge', step: 'generate' }, null)).challenge!;
    expect(c2.nonce).not.toBe(c1.nonce);
    const replay = await failure(f.service.act(f.session, run, { kind: 'approve-signed', ...good, person: 'Ben Baker', signature: sig }, null));
    expect(replay.code).toBe('APPROVAL_REPLAYED');
    // An approval for the new challenge made after it expired: stale.
    f.advance(16 * 60_000);
    const late = await failure(f.service.act(f.session, run, { kind: 'approve-signed', ...good, person: 'Ben Baker', counter: c2.counter, nonce: c2.nonce, signature: await sign({ ...good, counter: c2.counter, nonce: c2.nonce }) }, null));
    expect(late.code).toBe('APPROVAL_STALE');
    const after = await f.service.view(run);
    expect(after.steps.find((s) => s.id === 'generate')!.quorum!.have).toBe(1);
    await f.act(run, { kind: 'abort', reason: 'test over' }, 'Ada Admin');
  }, 120_000);
});

/** Runs a restore or drill up to its shares: roll call, login, check, fingerprint (and the quorum's approvals for a restore). */
async function upToShares(definition: string, params: Record<string, unknown>, approvers: string[] = []): Promise<{ run: string; v: RunView }> {
  let v = await f.service.plan(f.session, { definition, params, participants: cast() });
  const run = v.run;
  v = await rollCall(f, run, everyone);
  v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  for (const c of approvers) v = await f.act(run, { kind: 'approve', step: 'unwrap-targets', person: c, proof: f.card(c) });
  return { run, v };
}

async function signOff(run: string): Promise<string> {
  await f.act(run, { kind: 'tick' }, 'Wes Witness');
  await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  expect(done.view.status).toBe('completed');
  expect((await f.service.verifyBundle(done.bundle!.path)).ok).toBe(true);
  return done.bundle!.path;
}

describe('restore drill and restore (issue #10 parts 1 and 2)', () => {
  it('drills the backup: each share checked as it is entered, the Backup Key rebuilt, every key unwrapped into a session only and matched', async () => {
    expect(backupRun).not.toBe('');
    // Too few holders to rebuild the key: refused at planning.
    const few = await failure(f.service.plan(f.session, { definition: 'custos/restore-drill', params: { backup: backupRun, holders: ['Ann Archer'] }, participants: cast() }));
    expect(few.code).toBe('QUORUM_NOT_MET');
    const { run } = await upToShares('custos/restore-drill', { backup: backupRun, holders: ['Ann Archer', 'Cat Cole'] });
    let v = await f.service.view(run);
    expect(v.current!.input).toMatchObject({ kind: 'enter-share', needed: 2 });
    // Cat's share typed by Ann: named, not counted.
    const wrong = await failure(f.service.act(f.session, run, { kind: 'enter-share', holder: 'Ann Archer', share: backupShares['Cat Cole']! }, null));
    expect(wrong.code).toBe('SHARE_WRONG_HOLDER');
    expect(wrong.message).toMatch(/share 3 \(Cat Cole’s\)/);
    // Ben's share, though Ben is not named for this drill: named all the same, and not counted.
    const unnamed = await failure(f.service.act(f.session, run, { kind: 'enter-share', holder: 'Ann Archer', share: backupShares['Ben Baker']! }, null));
    expect(unnamed.code).toBe('SHARE_WRONG_HOLDER');
    expect(unnamed.message).toMatch(/share 2 \(Ben Baker’s, who is not named to enter one in this drill\), not Ann Archer’s share 1/);
    // A share of another set.
    const [other] = await splitSecret({ secret: new Uint8Array(32).fill(7), groupThreshold: 1, groups: [{ threshold: 2, count: 3 }] }, webCryptoSlip39(globalThis.crypto));
    expect((await failure(f.service.act(f.session, run, { kind: 'enter-share', holder: 'Ann Archer', share: other![0]! }, null))).code).toBe('SHARE_SET_MISMATCH');
    v = await f.act(run, { kind: 'enter-share', holder: 'Ann Archer', share: backupShares['Ann Archer']! });
    // The same share again: refused.
    expect((await failure(f.service.act(f.session, run, { kind: 'enter-share', holder: 'Ann Archer', share: backupShares['Ann Archer']! }, null))).code).toBe('SHARE_DUPLICATE');
    v = await f.act(run, { kind: 'enter-share', holder: 'Cat Cole', share: backupShares['Cat Cole']! });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // rebuild
    expect(v.steps.find((s) => s.kind === 'rebuild-backup-key')!.outcome!.matches).toBe(true);
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // unwrap into the session
    const out = v.steps.find((s) => s.kind === 'unwrap-targets')!.outcome!;
    expect(out.drill).toBe(true);
    expect((out.results as Array<{ matches: boolean }>).map((r) => r.matches)).toEqual([true, true]);
    // Nothing was left on the production token.
    const left = await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: 'Workstation', ref: { label: `custos-drill/${run}/archive-kek` } });
    expect(left).toEqual([]);
    const before = (await f.service.status()).backups.find((b) => b.run === backupRun)!;
    expect(before.lastDrill).toBeNull();
    await signOff(run);
    // The drill is on the dashboard; a year and a month later, the next is overdue (policy: every 12 months).
    const after = (await f.service.status()).backups.find((b) => b.run === backupRun)!;
    expect(after.lastDrill).not.toBeNull();
    expect(after.overdue).toBe(false);
    f.advance(396 * 24 * 3600_000);
    expect((await f.service.status()).backups.find((b) => b.run === backupRun)!.overdue).toBe(true);
    f.advance(-396 * 24 * 3600_000);
  }, 180_000);

  it('restores the Archive KEK and MAC key into a fresh SoftHSM token: quorum first, shares, matching check values, still protected', async () => {
    const { run } = await upToShares('custos/restore', { backup: backupRun, holders: ['Ben Baker', 'Cat Cole'], destination: { token: REPLACEMENT.label } }, ['Ann Archer', 'Ben Baker']);
    let v = await f.act(run, { kind: 'enter-share', holder: 'Ben Baker', share: backupShares['Ben Baker']! });
    v = await f.act(run, { kind: 'enter-share', holder: 'Cat Cole', share: backupShares['Cat Cole']! });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    v = (await f.service.act(f.session, run, { kind: 'unwrap', destPin: REPLACEMENT.user }, 'Otto Operator')).view;
    const out = v.steps.find((s) => s.kind === 'unwrap-targets')!.outcome!;
    expect((out.results as Array<{ matches: boolean }>).every((r) => r.matches)).toBe(true);
    await f.hsm.call('login', { path: SOFTHSM_MODULE, token: REPLACEMENT.label, role: 'user', pin: REPLACEMENT.user });
    try {
      const status = await f.service.status();
      void status;
      const kek = (await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: REPLACEMENT.label, ref: { label: (out.results as Array<{ label: string }>)[0]!.label } }))[0]!;
      expect(kek).toMatchObject({ onToken: true, sensitive: true, extractable: true, wrapWithTrusted: true });
    } finally {
      await f.hsm.call('logout', { path: SOFTHSM_MODULE, token: REPLACEMENT.label });
    }
    await signOff(run);
  }, 180_000);

  it.skipIf(!nssAvailable())('restores the same backup into the NSS softoken, a second PKCS#11 implementation', async () => {
    const { run } = await upToShares('custos/restore', { backup: backupRun, holders: ['Ann Archer', 'Ben Baker'], destination: { module: NSS_MODULE, token: NSS_DB_TOKEN } }, ['Ben Baker', 'Cat Cole']);
    let v = await f.act(run, { kind: 'enter-share', holder: 'Ann Archer', share: backupShares['Ann Archer']! });
    v = await f.act(run, { kind: 'enter-share', holder: 'Ben Baker', share: backupShares['Ben Baker']! });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    v = (await f.service.act(f.session, run, { kind: 'unwrap', destPin: null }, 'Otto Operator')).view;
    const out = v.steps.find((s) => s.kind === 'unwrap-targets')!.outcome!;
    expect((out.results as Array<{ matches: boolean }>).every((r) => r.matches)).toBe(true);
    await signOff(run);
  }, 180_000);
});

describe('archive retrieval under quorum (issue #10 part 3)', () => {
  it('brings an archived version back into the HSM for a stated purpose, with the quorum’s approval bound to both', async () => {
    const params = { version: 'Payments DEK 2026@1', purpose: 'Decrypt the 2026 payment batches for the auditors (ticket 4711).', into: 'token', usages: ['encrypt'], validDays: 30 };
    let v = await f.service.plan(f.session, { definition: 'custos/retrieval', params, participants: cast() });
    const run = v.run;
    // Another purpose is another fingerprint: approvals for one cannot serve the other.
    const other = await f.service.plan(f.session, { definition: 'custos/retrieval', params: { ...params, purpose: 'Something else entirely, for somebody else.' }, participants: cast() });
    expect(other.fingerprint.hex).not.toBe(v.fingerprint.hex);
    await f.act(other.run, { kind: 'abort', reason: 'not needed' }, 'Ada Admin');
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator'))).code).toBe('QUORUM_NOT_MET');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'retrieve', person: c, proof: f.card(c) });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const out = v.steps.find((s) => s.kind === 'retrieve')!.outcome!;
    expect(out).toMatchObject({ into: 'token', checked: true, label: 'Payments DEK 2026 v1 (retrieved)' });
    const there = await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: 'Workstation', ref: { idHex: out.idHex as string } });
    expect(there[0]).toMatchObject({ onToken: true, extractable: false, usage: { encrypt: true, decrypt: true } });
    const bundle = await signOff(run);
    const transcript = JSON.parse(readFileSync(join(bundle, 'transcript.json'), 'utf8')) as { params: { purpose: string } };
    expect(transcript.params.purpose).toMatch(/ticket 4711/);
  }, 180_000);
});

describe('re-share and custodian change (issue #10 part 7)', () => {
  it('rebuilds the Backup Key from two old shares, splits it again for new holders with the verification round, records the old holders’ attestations, and the new set restores', async () => {
    expect(backupRun).not.toBe('');
    const params = { backup: backupRun, from: ['Ann Archer', 'Ben Baker'], scheme: 'slip39', threshold: 2, holders: ['Cat Cole', 'Ann Archer', 'Ben Baker'] };
    // Below the policy's minimum threshold, or too few old shares: refused at planning.
    expect((await failure(f.service.plan(f.session, { definition: 'custos/reshare', params: { ...params, threshold: 1 }, participants: cast() }))).code).toBe('QUORUM_NOT_MET');
    expect((await failure(f.service.plan(f.session, { definition: 'custos/reshare', params: { ...params, from: ['Ann Archer'] }, participants: cast() }))).code).toBe('QUORUM_NOT_MET');
    let v = await f.service.plan(f.session, { definition: 'custos/reshare', params, participants: cast() });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // check
    expect(String(v.steps.find((s) => s.id === 'check')!.outcome!.note)).toMatch(/old shares stay valid/);
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    // The quorum approves the new set before any old share is typed.
    expect(v.current!.input).toMatchObject({ kind: 'approve', step: 'commit-reshare' });
    expect((await failure(f.service.act(f.session, run, { kind: 'enter-share', holder: 'Ann Archer', share: backupShares['Ann Archer']! }, null))).code).toBe('QUORUM_NOT_MET');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'commit-reshare', person: c, proof: f.card(c) });
    expect(v.current!.input).toMatchObject({ kind: 'enter-share', needed: 2 });
    // Cat holds an old share but is not named to enter one: her share is named, and not counted.
    expect((await failure(f.service.act(f.session, run, { kind: 'enter-share', holder: 'Ann Archer', share: backupShares['Cat Cole']! }, null))).message).toMatch(/Cat Cole’s, who is not named to enter one in this re-share/);
    v = await f.act(run, { kind: 'enter-share', holder: 'Ann Archer', share: backupShares['Ann Archer']! });
    expect((await failure(f.service.act(f.session, run, { kind: 'enter-share', holder: 'Ann Archer', share: backupShares['Ann Archer']! }, null))).code).toBe('SHARE_DUPLICATE');
    v = await f.act(run, { kind: 'enter-share', holder: 'Ben Baker', share: backupShares['Ben Baker']! });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // rebuild
    expect(v.steps.find((s) => s.kind === 'rebuild-backup-key')!.outcome!.matches).toBe(true);
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // split
    const fresh: Record<string, string> = {};
    for (const h of ['Cat Cole', 'Ann Archer', 'Ben Baker']) {
      const r = await f.service.act(f.session, run, { kind: 'reveal', holder: h }, null);
      fresh[h] = r.reveal!.share;
      v = await f.act(run, { kind: 'handed-over', holder: h });
    }
    // A new set: no new share is an old one.
    expect(Object.values(fresh).some((s) => Object.values(backupShares).includes(s))).toBe(false);
    // The old share is not the new one: the verification round refuses it.
    expect((await failure(f.service.act(f.session, run, { kind: 'verify-share', holder: 'Ann Archer', share: backupShares['Ann Archer']! }, null))).code).toMatch(/^SHARE_/);
    for (const h of ['Cat Cole', 'Ann Archer', 'Ben Baker']) v = await f.act(run, { kind: 'verify-share', holder: h, share: fresh[h]! });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // commit the new set
    const commit = v.steps.find((s) => s.kind === 'commit-reshare')!.outcome!;
    expect(commit).toMatchObject({ reshareOf: backupRun, oldSharesValid: true });
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    // Attestations: the old holder's own card only; someone who held no old share has nothing to attest.
    expect(v.current!.input).toMatchObject({ kind: 'attest' });
    expect((await failure(f.service.act(f.session, run, { kind: 'attest', person: 'Ben Baker', proof: f.card('Cat Cole') }, null))).code).toBe('CARD_WRONG');
    expect((await failure(f.service.act(f.session, run, { kind: 'attest', person: 'Wes Witness', proof: f.card('Wes Witness') }, null))).code).toBe('PERSON_NOT_FOUND');
    v = await f.act(run, { kind: 'attest', person: 'Ann Archer', proof: f.card('Ann Archer') });
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    const att = v.steps.find((s) => s.kind === 'attest-destroyed')!.outcome!;
    expect((att.attested as Array<{ name: string }>).map((a) => a.name)).toEqual(['Ann Archer']);
    expect((att.notAttested as Array<{ name: string }>).map((a) => a.name).sort()).toEqual(['Ben Baker', 'Cat Cole']);
    const bundle = await signOff(run);
    // The attestation is signed like an approval, and the bundle's verifier checks it.
    const transcript = JSON.parse(readFileSync(join(bundle, 'transcript.json'), 'utf8')) as { approvals: Array<{ step: string; name: string; message: string }> };
    expect(transcript.approvals.find((a) => a.step === 'attest-destroyed')).toMatchObject({ name: 'Ann Archer' });
    expect(JSON.parse(transcript.approvals.find((a) => a.step === 'attest-destroyed')!.message).purpose).toBe('attest');
    expect(JSON.stringify(transcript)).not.toContain(fresh['Cat Cole']!.split(' ').slice(0, 6).join(' '));

    // The dashboard lists the new set as a backup of its own, and the old one as re-shared.
    const status = await f.service.status();
    expect(status.backups.find((b) => b.run === run)).toMatchObject({ reshareOf: backupRun, holders: ['Cat Cole', 'Ann Archer', 'Ben Baker'] });
    expect(status.backups.find((b) => b.run === backupRun)!.resharedBy).toEqual([run]);

    // The new set restores: a drill with two new shares rebuilds the same Backup Key and unwraps every key to its recorded check value.
    const drill = await upToShares('custos/restore-drill', { backup: run, holders: ['Cat Cole', 'Ben Baker'] });
    await f.act(drill.run, { kind: 'enter-share', holder: 'Cat Cole', share: fresh['Cat Cole']! });
    // An old share is of another set now.
    expect((await failure(f.service.act(f.session, drill.run, { kind: 'enter-share', holder: 'Ben Baker', share: backupShares['Ben Baker']! }, null))).code).toBe('SHARE_SET_MISMATCH');
    await f.act(drill.run, { kind: 'enter-share', holder: 'Ben Baker', share: fresh['Ben Baker']! });
    await f.act(drill.run, { kind: 'run' }, 'Otto Operator');
    const dv = await f.act(drill.run, { kind: 'run' }, 'Otto Operator');
    expect((dv.steps.find((s) => s.kind === 'unwrap-targets')!.outcome!.results as Array<{ matches: boolean }>).map((r) => r.matches)).toEqual([true, true]);
    await signOff(drill.run);
  }, 240_000);
});

describe('share audit (issue #10 part 2)', () => {
  it('lets each holder check their own share alone against the record, keeps nothing typed, and turns a sheet that does not pass into an exception', async () => {
    expect(backupRun).not.toBe('');
    let v = await f.service.plan(f.session, { definition: 'custos/share-audit', params: { backup: backupRun, holders: ['Ann Archer', 'Ben Baker', 'Cat Cole'] }, participants: cast() });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // check
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    // No quorum: the audit rebuilds nothing. Ann's share alone is enough to check Ann's share.
    expect(v.current!.input).toMatchObject({ kind: 'audit-share' });
    v = await f.act(run, { kind: 'audit-share', holder: 'Ann Archer', share: backupShares['Ann Archer']! });
    // Ben types Cat's share, then one with a word changed: both recorded as not passed, neither counted.
    expect((await failure(f.service.act(f.session, run, { kind: 'audit-share', holder: 'Ben Baker', share: backupShares['Cat Cole']! }, null))).code).toBe('SHARE_WRONG_HOLDER');
    const typo = backupShares['Ben Baker']!.split(' ');
    typo[7] = typo[7] === 'academic' ? 'acid' : 'academic';
    expect((await failure(f.service.act(f.session, run, { kind: 'audit-share', holder: 'Ben Baker', share: typo.join(' ') }, null))).code).toMatch(/^SHARE_/);
    // Closing before everyone has tried is refused.
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Ada Admin'))).code).toBe('CEREMONY_STEP_BLOCKED');
    v = await f.act(run, { kind: 'audit-share', holder: 'Cat Cole', share: backupShares['Cat Cole']! });
    expect(v.current!.input).toMatchObject({ kind: 'audit-share', holders: [{ done: true }, { done: false, failed: true }, { done: true }] });
    v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // close: Ben's share becomes an exception
    const out = v.steps.find((s) => s.kind === 'audit-shares')!.outcome!;
    expect(out.checked).toEqual(['Ann Archer', 'Cat Cole']);
    expect((out.failed as Array<{ name: string }>).map((x) => x.name)).toEqual(['Ben Baker']);
    expect(v.exceptions).toHaveLength(1);
    expect(v.exceptions[0]!.happened).toMatch(/SHARE_WRONG_HOLDER/);
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness'))).code).toBe('EXCEPTION_OPEN');
    v = await f.act(run, { kind: 'decide', id: v.exceptions[0]!.id, decision: 'Ben’s sheet is damaged: re-share the backup this month.' }, 'Ada Admin');
    v = await f.act(run, { kind: 'acknowledge', id: v.exceptions[0]!.id }, 'Wes Witness');
    const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
    expect(done.view.status).toBe('completed');
    expect((await f.service.verifyBundle(done.bundle!.path)).ok).toBe(true);
    const transcript = readFileSync(join(done.bundle!.path, 'transcript.json'), 'utf8');
    for (const sh of Object.values(backupShares)) expect(transcript).not.toContain(sh.split(' ').slice(3, 8).join(' '));
    expect((await f.service.status()).backups.find((b) => b.run === backupRun)!.lastAudit).not.toBeNull();
  }, 180_000);
});

describe('forming a key from XOR components (issue #10 part 6)', () => {
  it('checks each holder’s component against its printed check value as it is entered, forms the key inside the HSM under the quorum, and compares its check value', async () => {
    const { randomBytes } = await import('node:crypto');
    const { splitKey } = await import('../../shared/components/xor');
    const key = randomBytes(32);
    const parts = splitKey(key, 2, 'AES', (n) => randomBytes(n));
    const hex = parts.map((c) => Buffer.from(c).toString('hex').toUpperCase().match(/.{4}/g)!.join(' '));
    const kcvs = parts.map((c) => keyCheckValues('AES', c).cmac.toUpperCase());
    const params = { label: 'Partner ZMK 2026', algorithm: 'AES', usages: ['wrap'], holders: ['Ann Archer', 'Ben Baker'], componentCheckValues: kcvs, keyCheckValue: keyCheckValues('AES', key).cmac };
    // One check value short: refused at planning, before any PKCS#11 call.
    expect((await failure(f.service.plan(f.session, { definition: 'custos/component-form', params: { ...params, componentCheckValues: [kcvs[0]!] }, participants: cast() }))).code).toBe('INVALID_INPUT');
    let v = await f.service.plan(f.session, { definition: 'custos/component-form', params, participants: cast() });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // check: the label is free
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    // The quorum approves the forming before any envelope is opened.
    expect(v.current!.input).toMatchObject({ kind: 'approve', step: 'form-key' });
    expect((await failure(f.service.act(f.session, run, { kind: 'enter-component', holder: 'Ann Archer', component: hex[0]! }, null))).code).toBe('QUORUM_NOT_MET');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'form-key', person: c, proof: f.card(c) });
    // Ben's component typed by Ann: named. A digit changed: the check value says so.
    const wrong = await failure(f.service.act(f.session, run, { kind: 'enter-component', holder: 'Ann Archer', component: hex[1]! }, null));
    expect(wrong.code).toBe('SHARE_WRONG_HOLDER');
    expect(wrong.message).toMatch(/component 2 \(Ben Baker’s\)/);
    const typo = (hex[0]![0] === 'A' ? 'B' : 'A') + hex[0]!.slice(1);
    expect((await failure(f.service.act(f.session, run, { kind: 'enter-component', holder: 'Ann Archer', component: typo }, null))).code).toBe('CHECK_VALUE_MISMATCH');
    expect((await failure(f.service.act(f.session, run, { kind: 'enter-component', holder: 'Ann Archer', component: 'ABCD' }, null))).code).toBe('COMPONENT_INVALID');
    v = await f.act(run, { kind: 'enter-component', holder: 'Ann Archer', component: hex[0]! });
    v = await f.act(run, { kind: 'enter-component', holder: 'Ben Baker', component: hex[1]! });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // form the key
    const out = v.steps.find((s) => s.kind === 'form-key')!.outcome!;
    expect(String(out.checkValue).toLowerCase()).toBe(keyCheckValues('AES', key).cmac.toLowerCase());
    expect(out.transport).toBe('rsa-oaep-sha1');
    const there = await f.hsm.call('objects', { path: SOFTHSM_MODULE, token: 'Workstation', ref: { label: 'Partner ZMK 2026' } });
    expect(there[0]).toMatchObject({ kind: 'secret', extractable: false, sensitive: true });
    const bundle = await signOff(run);
    const transcript = readFileSync(join(bundle, 'transcript.json'), 'utf8');
    for (const h of hex) expect(transcript.replace(/\s/g, '')).not.toContain(h.replace(/\s/g, '').slice(0, 16));
  }, 180_000);
});


describe('Archive KEK rotation under quorum (issue #10 part 4)', () => {
  it('re-wraps every archived version under a new KEK after the quorum approved a fingerprint naming the old KEK and the count, with progress, and ends with a bundle', async () => {
    const { ArchiveService } = await import('../../electron/services/archive/service');
    const before = ArchiveService.open(join(f.dataDir, 'archive.sqlite'), { readonly: true });
    const info = before.info();
    const labels = before.search({}).items.filter((x) => x.hasMaterial).map((x) => `${x.label}@${x.version}`);
    before.close();
    const params = { kekCheck: info.keys.kek.check, versions: info.counts.withMaterial };
    expect(params.versions).toBeGreaterThan(0);
    // Numbers that are not the archive's are refused at planning, naming the right ones.
    const wrong = await failure(f.service.plan(f.session, { definition: 'custos/kek-rotation', params: { ...params, versions: params.versions + 1 }, participants: cast() }));
    expect(wrong.code).toBe('INVALID_INPUT');
    expect(wrong.message).toMatch(new RegExp(`holds ${params.versions} version`));
    expect((await failure(f.service.plan(f.session, { definition: 'custos/kek-rotation', params: { ...params, kekCheck: '0000000000' }, participants: cast() }))).code).toBe('CHECK_VALUE_MISMATCH');
    let v = await f.service.plan(f.session, { definition: 'custos/kek-rotation', params, participants: cast() });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    expect(v.steps.find((s) => s.kind === 'check')!.outcome).toMatchObject({ kekCheck: params.kekCheck, versions: params.versions });
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator'))).code).toBe('QUORUM_NOT_MET');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'rotate-kek', person: c, proof: f.card(c) });
    const seen = f.events.length;
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const out = v.steps.find((s) => s.kind === 'rotate-kek')!.outcome!;
    // The progress event of the custos:event channel, once per batch, ending at the total.
    const progress = f.events.slice(seen).filter((e) => e.type === 'progress');
    expect(progress.at(-1)).toMatchObject({ type: 'progress', run, step: 'rotate-kek', done: params.versions, total: params.versions });
    expect((progress.at(-1) as { message: string }).message).toMatch(/re-wrapped and verified/);
    expect(out).toMatchObject({ from: params.kekCheck, rewrapped: params.versions, versions: params.versions, oldKek: 'retired (kept in the HSM)' });
    const after = ArchiveService.open(join(f.dataDir, 'archive.sqlite'), { readonly: true });
    try {
      expect(after.info().keys.kek).toMatchObject({ check: out.to, incoming: null });
      for (const l of labels) expect(after.version(l).kekCheck).toBe(out.to);
      expect(after.auditTrail({ action: 'archive.kek.rotated' }).entries[0]!.actor).toMatch(/Otto Operator/);
    } finally {
      after.close();
    }
    // The KEK's check value now differs, so a second plan with the old numbers is refused.
    expect((await failure(f.service.plan(f.session, { definition: 'custos/kek-rotation', params, participants: cast() }))).code).toBe('CHECK_VALUE_MISMATCH');
    await signOff(run);
  }, 180_000);
});
