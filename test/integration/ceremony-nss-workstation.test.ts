// The NSS softoken (libsoftokn3, a second and independent PKCS#11 implementation) as the
// workstation HSM, with SoftHSM2 cards for the people: a workstation set-up, then the ceremonies
// that otherwise run on SoftHSM2 only: creating a key as XOR components (custos/component-creation)
// and rotating the audit key and the MAC key under the quorum (custos/workstation-key-rotation). What a holder
// reads off the printed sheet forms the key the NSS token holds; the bundle signed by the new audit
// key verifies, and so do the ones the old key signed.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveDoor } from '../../electron/services/archive/door';
import type { ArchiveService } from '../../electron/services/archive/service';
import { keyCheckValues } from '../../electron/services/kcv';
import { componentKeyGaps } from '../../electron/services/ceremony/steps-component-create';
import { auditKeyGaps } from '../../electron/services/ceremony/steps-workstation-key';
import { CKM } from '../../electron/hsm/protocol/constants';
import { combineComponents } from '../../shared/components';
import { failure } from '../helpers/hsm-ops';
import { NSS_DB_TOKEN, NSS_MODULE, nssAvailable, nssDb, type NssFixture } from '../helpers/nss';
import { cast, ceremonyFixture, rollCall, runSetup, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
let nss: NssFixture;
let door: ArchiveDoor;
let setupBundle: string;
const WS_TOKEN = { path: NSS_MODULE, token: NSS_DB_TOKEN };
const archive = <T>(fn: (a: ArchiveService) => Promise<T> | T) => door.write(door.existing(), f.session, fn);

beforeAll(async () => {
  if (!nssAvailable()) return;
  nss = nssDb('custos-nss-ws-');
  // NSS's key database made with --empty-password: the user PIN is the empty string.
  f = await ceremonyFixture('custos-nss-ws-', undefined, { env: { CUSTOS_NSS_CONFIGDIR: nss.dir }, workstation: { module: NSS_MODULE, token: NSS_DB_TOKEN, pin: '' } });
  door = new ArchiveDoor(f.hsm, f.dataDir);
  setupBundle = (await runSetup(f)).bundle;
}, 240_000);

afterAll(async () => {
  await f?.close();
  nss?.cleanup();
});

function pdfText(pdf: Buffer, name: string): string {
  const path = join(f.fx.dir, name);
  writeFileSync(path, pdf, { mode: 0o600 });
  return execFileSync('pdftotext', ['-layout', path, '-'], { encoding: 'utf8' });
}

/** The component as printed: the hex lines of the box, read back off the sheet. */
function componentOf(text: string, bytes: number): Buffer {
  const lines = text.split('\n').filter((l) => /^\s*\d\s+([0-9A-F]{4}\s+){0,7}[0-9A-F]{4}\s*$/.test(l));
  const hex = lines.map((l) => l.trim().replace(/^\d\s+/, '').replace(/\s+/g, '')).join('');
  expect(hex).toHaveLength(bytes * 2);
  return Buffer.from(hex, 'hex');
}

async function upToQuorum(definition: string, params: Record<string, unknown>, custodians = ['Ann Archer', 'Ben Baker', 'Cat Cole']) {
  let v = await f.service.plan(f.session, { definition, params, participants: cast(custodians) });
  const run = v.run;
  v = await rollCall(f, run, ['Ada Admin', 'Otto Operator', ...custodians, 'Wes Witness']);
  v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // check
  v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  return { run, v };
}

async function signOff(run: string): Promise<string> {
  const v = await f.service.view(run);
  if (v.current?.input.kind === 'tick') await f.act(run, { kind: 'tick' }, 'Wes Witness');
  await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  expect(done.view.status).toBe('completed');
  expect((await f.service.verifyBundle(done.bundle!.path)).checks.filter((c) => !c.ok)).toEqual([]);
  return done.bundle!.path;
}

describe.skipIf(!nssAvailable())('the NSS softoken as the workstation HSM', () => {
  it('the workstation was set up on NSS: its archive KEK, MAC key and audit key are NSS objects', async () => {
    const info = await archive((a) => a.info());
    expect(info.keys.kek.check).toMatch(/^[0-9a-f]+$/i);
    const ws = await archive((a) => a.workstation);
    for (const label of [ws.kek_label, ws.mac_label, ws.audit_label]) expect((await f.hsm.call('objects', { ...WS_TOKEN, ref: { label } })).length, label).toBeGreaterThan(0);
    expect((await archive((a) => a.verify({ withHsm: true }))).problems).toEqual([]);
  });

  it('NSS lists every mechanism both ceremonies need; a token without one is named at the check step, before anything is made', async () => {
    const mechs = await f.hsm.call('mechanisms', WS_TOKEN);
    for (const [alg, bytes] of [['aes-128', 16], ['aes-192', 24], ['aes-256', 32], ['tdes-2key', 16], ['tdes-3key', 24]] as const) expect(componentKeyGaps(alg, bytes, mechs), alg).toEqual([]);
    expect(auditKeyGaps(mechs)).toEqual([]);
    // NSS's own list with one mechanism taken out: what the refusal names.
    expect(auditKeyGaps(mechs.filter((m) => m.type !== CKM.ECDSA))).toEqual([expect.stringMatching(/ECDSA/)]);
    expect(auditKeyGaps(mechs.filter((m) => m.type !== CKM.EC_KEY_PAIR_GEN))).toEqual([expect.stringMatching(/P-256 key pairs/)]);
    expect(auditKeyGaps(mechs.map((m) => (m.type === CKM.ECDSA ? { ...m, flags: m.flags & ~0x800 } : m)))).toEqual([expect.stringMatching(/ECDSA/)]);
    expect(auditKeyGaps(mechs.map((m) => (m.type === CKM.EC_KEY_PAIR_GEN ? { ...m, minKeySize: 384 } : m)))[0]).toMatch(/P-256/);
    expect(componentKeyGaps('aes-256', 32, mechs.filter((m) => m.type !== CKM.AES_CMAC))[0]).toMatch(/AES-256 keys with CMAC/);
    expect(componentKeyGaps('tdes-3key', 24, mechs.filter((m) => m.type !== CKM.DES3_ECB))[0]).toMatch(/Triple DES/);
  });

  for (const [algorithm, bytes, family] of [
    ['aes-256', 32, 'AES'],
    ['tdes-2key', 16, 'TDES'],
  ] as const) {
    it(`creates a ${algorithm} key as XOR components in NSS: the sheets form the key NSS holds, checked and sealed, and the bundle verifies`, async () => {
      const label = `NSS ZMK ${algorithm}`;
      const { run, v: v0 } = await upToQuorum('custos/component-creation', { label, algorithm, usages: ['wrap', 'encrypt'], holders: ['Ann Archer', 'Ben Baker'], purpose: 'key-wrapping' }, ['Ann Archer', 'Ben Baker']);
      let v = v0;
      expect(v.steps.find((s) => s.kind === 'check')!.status).toBe('done');
      for (const c of ['Ann Archer', 'Ben Baker']) v = await f.act(run, { kind: 'approve', step: 'make-components', person: c, proof: f.card(c) });
      v = await f.act(run, { kind: 'run' }, 'Otto Operator');
      const made = v.steps.find((s) => s.kind === 'make-components')!.outcome! as { checkValue: string; transport: string; components: Array<{ checkValue: string }> };
      expect(made.transport).toBe('rsa-oaep-sha1');
      // NSS's own check value of the key it holds (computed inside NSS) is the one recorded.
      const [key] = await f.hsm.call('objects', { ...WS_TOKEN, ref: { label } });
      expect(key).toMatchObject({ kind: 'secret', extractable: false, sensitive: true });
      const hsmKcv = await f.hsm.call('checkValue', { ...WS_TOKEN, ref: { idHex: key!.idHex, kind: 'secret' } });
      expect((family === 'AES' ? hsmKcv.cmacHex : hsmKcv.ecbHex)!.toUpperCase()).toMatch(new RegExp(`^${made.checkValue}`));
      v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
      const parts: Buffer[] = [];
      for (const [i, name] of ['Ann Archer', 'Ben Baker'].entries()) {
        const r = await f.service.act(f.session, run, { kind: 'component-sheet', holder: name }, null);
        const c = componentOf(pdfText(r.sheet!.pdf, `nss-${algorithm}-${i}.pdf`), bytes);
        const kcv = keyCheckValues(family, c);
        expect((family === 'AES' ? kcv.cmac : kcv.legacy).toUpperCase()).toBe(made.components[i]!.checkValue);
        parts.push(c);
        r.sheet!.pdf.fill(0);
        v = await f.act(run, { kind: 'component-printed', holder: name });
      }
      const formed = keyCheckValues(family, combineComponents(parts, family).key);
      expect((family === 'AES' ? formed.cmac : formed.legacy).toUpperCase()).toBe(made.checkValue);
      expect((await failure(f.service.act(f.session, run, { kind: 'seal-component', holder: 'Ann Archer', checkValue: made.components[1]!.checkValue, envelope: 'N-1' }, null))).code).toBe('SHARE_WRONG_HOLDER');
      v = await f.act(run, { kind: 'seal-component', holder: 'Ann Archer', checkValue: made.components[0]!.checkValue, envelope: `NSS-${algorithm}-1` });
      v = await f.act(run, { kind: 'seal-component', holder: 'Ben Baker', checkValue: made.components[1]!.checkValue, envelope: `NSS-${algorithm}-2` });
      v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
      v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // archive: skipped, the key is not extractable
      expect(v.steps.find((s) => s.kind === 'archive')!.status).toBe('skipped');
      await signOff(run);
      for (const p of parts) p.fill(0);
    }, 240_000);
  }

  it('rotates the audit key in NSS after two card-signed approvals; the old key may no longer sign; the bundles before and after verify', async () => {
    const old = await archive((a) => a.workstation.audit_fingerprint);
    const { run, v: v0 } = await upToQuorum('custos/workstation-key-rotation', { key: 'audit', current: old });
    let v = v0;
    expect(v.steps.find((s) => s.kind === 'check')!.outcome).toMatchObject({ key: 'audit', fingerprint: old });
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'rotate-audit-key', person: c, proof: f.card(c) });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const out = v.steps.find((s) => s.kind === 'rotate-workstation-key')!.outcome!;
    const now = await archive((a) => a.workstation.audit_fingerprint);
    expect(out).toMatchObject({ key: 'audit', from: old, to: now, oldKey: expect.stringMatching(/may no longer sign/) });
    expect(now).not.toBe(old);
    const bundle = await signOff(run);
    expect(readFileSync(join(bundle, 'transcript.json'), 'utf8')).toContain(old);
    expect((await f.service.verifyBundle(bundle)).auditKey).toBe(now);
    const before = await f.service.verifyBundle(setupBundle);
    expect(before.checks.filter((c) => !c.ok)).toEqual([]);
    expect(before.auditKey).toBe(old);
    const info = await archive(async (a) => ({ info: a.info(), verdict: await a.verify({ withHsm: true }) }));
    expect(info.verdict.problems).toEqual([]);
    expect(info.info.keys.audit.retired.map((k) => k.fingerprint)).toEqual([old]);
    // The retired private key is still in NSS, and NSS refuses to sign with it.
    const gone = (await archive((a) => a.auditKeys())).find((k) => k.fingerprint === old)!;
    const [priv] = await f.hsm.call('objects', { ...WS_TOKEN, ref: { label: gone.label, idHex: gone.key_id, kind: 'private' } });
    expect(priv).toMatchObject({ kind: 'private', usage: expect.objectContaining({ sign: false }) });
    const refused = await failure(f.hsm.call('sign', { ...WS_TOKEN, ref: { label: gone.label, idHex: gone.key_id, kind: 'private' }, mechanism: 'ecdsa-sha256', data: [Buffer.from('after retirement')] }));
    expect(refused.code).toBe('KEY_USAGE_NOT_PERMITTED');
  }, 240_000);

  it('rotates the MAC key in NSS after two card-signed approvals: every row checked under the old key and re-MACed under the new one; the archive verifies', async () => {
    const old = await archive((a) => a.workstation.mac_check);
    const { run, v: v0 } = await upToQuorum('custos/workstation-key-rotation', { key: 'mac', current: old });
    let v = v0;
    expect(v.steps.find((s) => s.kind === 'check')!.outcome).toMatchObject({ key: 'mac', check: old });
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'rotate-audit-key', person: c, proof: f.card(c) });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const out = v.steps.find((s) => s.kind === 'rotate-workstation-key')!.outcome!;
    const now = await archive((a) => a.workstation.mac_check);
    expect(out).toMatchObject({ key: 'mac', from: old, to: now });
    expect(now).not.toBe(old);
    await signOff(run);
    const after = await archive(async (a) => ({ verdict: await a.verify({ withHsm: true }), keys: a.macKeys(), st: a.macRotationState(), under: a.internals.db.prepare('SELECT DISTINCT mac_key FROM ceremony_journal').pluck().all() }));
    expect(after.verdict.problems).toEqual([]);
    expect(after.st).toMatchObject({ incoming: null, remaining: 0 });
    expect(after.keys.map((k) => [k.mac_check, k.state]).sort()).toEqual([[now, 'current'], [old, 'retired']].sort());
    expect(after.under).toEqual([now]);
    // Both keys are NSS objects: the retired one is kept, as the handover says.
    for (const k of after.keys) expect(await f.hsm.call('objects', { ...WS_TOKEN, ref: { label: k.mac_label, idHex: k.mac_id, kind: 'secret' } })).toHaveLength(1);
  }, 240_000);
});
