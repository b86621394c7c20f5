// Creating a key as XOR components (custos/component-creation, issue #10 part 6) through the
// ceremony service, on SoftHSM2 tokens (workstation HSM and one card per person): the components
// from the token's RNG, the key formed in the HSM, each holder's sheet printed alone (a real PDF,
// read back with pdftotext), the verification round with its bad inputs (a wrong check value,
// another holder's, a missing serial, a duplicate serial), the record and bundle with the envelope
// serials and no component; then the round trip: the components read off the sheets, formed again
// by the component-form ceremony, give the same check value.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Activity } from '../../electron/services/activity/activity';
import { ArchiveDoor } from '../../electron/services/archive/door';
import { FileService } from '../../electron/services/files/service';
import { folderPlaces } from '../../electron/services/files/places';
import { KeyService } from '../../electron/services/key-service';
import { componentKeyGaps } from '../../electron/services/ceremony/steps-component-create';
import { keyCheckValues } from '../../electron/services/kcv';
import { combineComponents } from '../../shared/components';
import { checkValueText } from '../../shared/check-value';
import { outcomeFacts } from '../../renderer/screens/ceremonies/words';
import { CKM } from '../../electron/hsm/protocol/constants';
import { failure } from '../helpers/hsm-ops';
import { SOFTHSM_MODULE } from '../helpers/softhsm';
import type { RunView } from '../../shared/ceremony/view';
import { cast, ceremonyFixture, rollCall, runSetup, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
const everyone = ['Ada Admin', 'Otto Operator', 'Ann Archer', 'Ben Baker', 'Cat Cole', 'Wes Witness'];
const WS_TOKEN = { path: SOFTHSM_MODULE, token: 'Workstation' };

beforeAll(async () => {
  f = await ceremonyFixture('custos-compcreate-');
  await runSetup(f);
}, 180_000);

afterAll(async () => {
  await f?.close();
});

/** The text of a PDF, as a holder reads it (poppler's pdftotext, layout kept). */
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

async function upToMake(params: Record<string, unknown>, custodians = ['Ann Archer', 'Ben Baker', 'Cat Cole']): Promise<{ run: string; v: RunView }> {
  let v = await f.service.plan(f.session, { definition: 'custos/component-creation', params, participants: cast(custodians) });
  const run = v.run;
  v = await rollCall(f, run, ['Ada Admin', 'Otto Operator', ...custodians, 'Wes Witness']);
  v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin'); // check
  v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
  v = await f.act(run, { kind: 'run' }, 'Ada Admin');
  return { run, v };
}

async function signOff(run: string): Promise<string> {
  await f.act(run, { kind: 'approve', step: 'sign-off', person: 'Wes Witness', proof: f.card('Wes Witness') });
  const done = await f.service.act(f.session, run, { kind: 'run' }, 'Wes Witness');
  expect(done.view.status).toBe('completed');
  expect((await f.service.verifyBundle(done.bundle!.path)).ok).toBe(true);
  return done.bundle!.path;
}

describe('creating a key as XOR components', () => {
  it('refuses bad plans at planning, before anything is made', async () => {
    const base = { label: 'Bad plan', algorithm: 'aes-256', usages: ['wrap'], holders: ['Ann Archer', 'Ben Baker'], purpose: 'key-wrapping' };
    expect((await failure(f.service.plan(f.session, { definition: 'custos/component-creation', params: { ...base, holders: ['Ann Archer', 'Ann Archer'] }, participants: cast() }))).message).toMatch(/named twice/);
    expect((await failure(f.service.plan(f.session, { definition: 'custos/component-creation', params: { ...base, holders: ['Ann Archer'] }, participants: cast() }))).code).toBe('INVALID_INPUT');
    expect((await failure(f.service.plan(f.session, { definition: 'custos/component-creation', params: { ...base, algorithm: 'tdes-2key', usages: ['sign'] }, participants: cast() }))).message).toMatch(/TDES/);
    // A holder who does not take part as a custodian cannot hold a component.
    expect((await failure(f.service.plan(f.session, { definition: 'custos/component-creation', params: base, participants: cast(['Ann Archer', 'Cat Cole']) }))).code).toBe('ROLE_MISSING');
    expect(await f.service.list()).toEqual(expect.not.arrayContaining([expect.objectContaining({ type: 'component-creation' })]));
  });

  let sheets: Buffer[] = [];
  let keyKcv = '';

  it('makes three AES-256 components in the HSM, prints each holder’s sheet alone, checks each and records the envelopes, and ends with a bundle that holds no component', async () => {
    const made0 = await upToMake({ label: 'Terminal ZMK 2026', algorithm: 'aes-256', usages: ['wrap', 'encrypt'], holders: ['Ann Archer', 'Ben Baker', 'Cat Cole'], purpose: 'key-wrapping' });
    const run = made0.run;
    let v = made0.v;
    expect(v.steps.find((s) => s.kind === 'check')!.outcome!.checks).toEqual(expect.arrayContaining([expect.stringMatching(/AES-256 keys/)]));
    expect(v.current!.input).toMatchObject({ kind: 'approve', step: 'make-components' });
    expect((await failure(f.service.act(f.session, run, { kind: 'run' }, 'Otto Operator'))).code).toBe('QUORUM_NOT_MET');
    for (const c of ['Ann Archer', 'Ben Baker']) v = await f.act(run, { kind: 'approve', step: 'make-components', person: c, proof: f.card(c) });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const made = v.steps.find((s) => s.kind === 'make-components')!.outcome! as { checkValue: string; components: Array<{ name: string; checkValue: string }>; transport: string };
    keyKcv = made.checkValue;
    expect(made.checkValue).toMatch(/^[0-9A-F]{10}$/);
    expect(made.transport).toBe('rsa-oaep-sha1');
    expect(made.components.map((c) => c.name)).toEqual(['Ann Archer', 'Ben Baker', 'Cat Cole']);
    // The HSM's own check value of the key it holds is the one recorded.
    const [key] = await f.hsm.call('objects', { ...WS_TOKEN, ref: { label: 'Terminal ZMK 2026' } });
    expect(key).toMatchObject({ kind: 'secret', extractable: false, sensitive: true });
    expect((await f.hsm.call('checkValue', { ...WS_TOKEN, ref: { idHex: key!.idHex, kind: 'secret' } })).cmacHex!.toUpperCase()).toBe(made.checkValue);
    // The witness saw the key's check value read aloud.
    expect(v.current!.input.kind).toBe('tick');
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');

    // Print: one holder at a time, in order; nobody else's sheet.
    expect(v.current!.input.kind).toBe('component-sheet');
    expect((await failure(f.service.act(f.session, run, { kind: 'component-sheet', holder: 'Ben Baker' }, null))).code).toBe('CEREMONY_STEP_BLOCKED');
    expect((await failure(f.service.act(f.session, run, { kind: 'component-sheet', holder: 'Wes Witness' }, null))).code).toBe('PERSON_NOT_FOUND');
    // The app's save: main makes the sheet of the holder whose turn it is, and only that one.
    const media = join(f.fx.dir, 'media');
    mkdirSync(media);
    const activity = new Activity({ hsm: f.hsm, dataDir: f.dataDir, via: 'app', modules: () => [SOFTHSM_MODULE] });
    activity.signIn(f.session, 'Otto Operator');
    const files = new FileService({ keys: new KeyService(f.hsm), withConfigured: (_m, work) => work(), archive: () => new ArchiveDoor(f.hsm, f.dataDir), ceremonies: () => f.service, activity, places: folderPlaces(media) });
    const artefact = (holder: string) => ({ kind: 'component-sheet' as const, module: f.session.module, token: f.session.token, run, holder });
    expect((await failure(files.save(artefact('Ben Baker')))).code).toBe('CEREMONY_STEP_BLOCKED');
    const saved = await files.save(artefact('Ann Archer'));
    expect(saved).toMatchObject({ saved: true, mode: '600', path: join(media, 'component-1-of-3-ann-archer.pdf') });
    expect(statSync(join(media, 'component-1-of-3-ann-archer.pdf')).mode & 0o777).toBe(0o600);
    expect(pdfText(readFileSync(join(media, 'component-1-of-3-ann-archer.pdf')), 'saved.pdf')).toContain('Ann Archer');
    sheets = [];
    for (const [i, name] of ['Ann Archer', 'Ben Baker', 'Cat Cole'].entries()) {
      const r = await f.service.act(f.session, run, { kind: 'component-sheet', holder: name }, null);
      expect(r.sheet!.fileName).toBe(`component-${i + 1}-of-3-${name.toLowerCase().replace(' ', '-')}.pdf`);
      sheets.push(Buffer.from(r.sheet!.pdf));
      const text = pdfText(r.sheet!.pdf, `sheet-${i}.pdf`);
      expect(text).toContain(name);
      expect(text).toContain('Terminal ZMK 2026');
      expect(text).toContain(`${i + 1} of 3`);
      expect(text.replace(/\s/g, '')).toContain(made.checkValue);
      expect(text.replace(/\s/g, '')).toContain(made.components[i]!.checkValue);
      // What the holder reads on the sheet is, character for character, what the screen shows.
      const screen = outcomeFacts(made as unknown as Record<string, unknown>);
      const keyOnScreen = screen.find((x) => x.label.startsWith('Check value'))!.value;
      expect(keyOnScreen).toBe(checkValueText(made.checkValue));
      expect(text).toContain(keyOnScreen);
      const mineOnScreen = screen.find((x) => x.label === 'Component check values')!.value.split(' · ')[i]!.replace(/^\d+\. [^:]+: /, '');
      expect(text).toContain(mineOnScreen);
      expect(text).toMatch(/envelope serial number/i);
      expect(text).toMatch(/tamper-evident envelope/);
      expect(text).toMatch(/Who may open the envelope/);
      // The printed component has the check value printed beside it.
      expect(keyCheckValues('AES', componentOf(text, 32)).cmac.toUpperCase()).toBe(made.components[i]!.checkValue);
      v = await f.act(run, { kind: 'component-printed', holder: name });
    }
    // The key is the XOR of what the sheets say.
    const parts = sheets.map((s, i) => componentOf(pdfText(s, `again-${i}.pdf`), 32));
    const { key: formed } = combineComponents(parts, 'AES');
    expect(keyCheckValues('AES', formed).cmac.toUpperCase()).toBe(made.checkValue);

    // The verification round and its bad inputs.
    expect(v.current!.input.kind).toBe('seal-component');
    const kcv = made.components.map((c) => c.checkValue);
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const wrong = await failure(f.service.act(f.session, run, { kind: 'seal-component', holder: 'Ann Archer', checkValue: flip(kcv[0]!), envelope: 'TE-1001' }, null));
    expect(wrong.code).toBe('CHECK_VALUE_MISMATCH');
    expect(wrong.action).toMatch(/misprinted/);
    const swapped = await failure(f.service.act(f.session, run, { kind: 'seal-component', holder: 'Ann Archer', checkValue: kcv[1]!, envelope: 'TE-1001' }, null));
    expect(swapped.code).toBe('SHARE_WRONG_HOLDER');
    expect(swapped.message).toMatch(/component 2 \(Ben Baker’s\)/);
    expect((await failure(f.service.act(f.session, run, { kind: 'seal-component', holder: 'Ann Archer', checkValue: kcv[0]!, envelope: '   ' }, null))).message).toMatch(/No envelope serial number/);
    v = await f.act(run, { kind: 'seal-component', holder: 'Ann Archer', checkValue: kcv[0]!.toLowerCase().replace(/(..)/g, '$1 '), envelope: 'TE-1001' });
    expect(v.current!.input).toMatchObject({ kind: 'seal-component', holders: [{ done: true }, { done: false }, { done: false }] });
    const twice = await failure(f.service.act(f.session, run, { kind: 'seal-component', holder: 'Ben Baker', checkValue: kcv[1]!, envelope: 'te-1001' }, null));
    expect(twice.code).toBe('INVALID_INPUT');
    expect(twice.message).toMatch(/Envelope te-1001 already holds Ann Archer’s component 1/);
    expect((await failure(f.service.act(f.session, run, { kind: 'seal-component', holder: 'Ann Archer', checkValue: kcv[0]!, envelope: 'TE-1009' }, null))).code).toBe('SHARE_DUPLICATE');
    v = await f.act(run, { kind: 'seal-component', holder: 'Ben Baker', checkValue: kcv[1]!, envelope: 'TE-1002' });
    // A component typed into the serial field is refused, not recorded and not echoed back.
    const leaked = await failure(f.service.act(f.session, run, { kind: 'seal-component', holder: 'Cat Cole', checkValue: kcv[2]!, envelope: parts[2]!.toString('hex').toUpperCase() }, null));
    expect(leaked.code).toBe('INVALID_INPUT');
    expect(leaked.message).toMatch(/is a component, not a serial number/);
    expect(JSON.stringify(leaked)).not.toContain(parts[2]!.toString('hex').toUpperCase());
    // The whole component, typed from the sheet, is accepted too.
    v = await f.act(run, { kind: 'seal-component', holder: 'Cat Cole', checkValue: parts[2]!.toString('hex'), envelope: 'TE-1003' });
    const sealed = v.steps.find((s) => s.kind === 'seal-components')!.outcome!;
    expect(sealed.envelopes).toEqual([
      { holder: expect.any(String), name: 'Ann Archer', index: 1, envelope: 'TE-1001' },
      { holder: expect.any(String), name: 'Ben Baker', index: 2, envelope: 'TE-1002' },
      { holder: expect.any(String), name: 'Cat Cole', index: 3, envelope: 'TE-1003' },
    ]);
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // archive: skipped, not extractable
    expect(v.steps.find((s) => s.kind === 'archive')!.status).toBe('skipped');
    const bundle = await signOff(run);

    // No component in the bundle (journal, transcript, record PDF text); the envelopes are there.
    const hexes = parts.map((p) => p.toString('hex'));
    for (const name of readdirSync(bundle)) {
      const raw = readFileSync(join(bundle, name));
      const text = name.endsWith('.pdf') ? pdfText(raw, `bundle-${name}`) : raw.toString('utf8');
      for (const h of hexes) {
        expect(text.toLowerCase().replace(/\s/g, '')).not.toContain(h.slice(0, 16));
        expect(text.toUpperCase().replace(/\s/g, '')).not.toContain(h.toUpperCase().slice(16, 32));
      }
    }
    expect(readFileSync(join(bundle, 'transcript.json'), 'utf8')).toContain('TE-1002');
    for (const p of parts) p.fill(0);
  }, 240_000);

  it('round trip: the components read off the sheets, formed again by the component-form ceremony, give the same check value', async () => {
    expect(sheets).toHaveLength(3);
    const parts = sheets.map((s, i) => componentOf(pdfText(s, `trip-${i}.pdf`), 32));
    const kcvs = parts.map((p) => keyCheckValues('AES', p).cmac.toUpperCase());
    let v = await f.service.plan(f.session, {
      definition: 'custos/component-form',
      params: { label: 'Terminal ZMK 2026 (re-formed)', algorithm: 'AES', usages: ['wrap'], holders: ['Ann Archer', 'Ben Baker', 'Cat Cole'], componentCheckValues: kcvs, keyCheckValue: keyKcv, envelopes: ['TE-1001', 'TE-1002', 'TE-1003'] },
      participants: cast(),
    });
    const run = v.run;
    v = await rollCall(f, run, everyone);
    v = await f.act(run, { kind: 'login', pin: null }, 'Otto Operator');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    v = await f.act(run, { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, 'Ada Admin');
    v = await f.act(run, { kind: 'run' }, 'Ada Admin');
    for (const c of ['Ann Archer', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'form-key', person: c, proof: f.card(c) });
    // The envelopes recorded when the components were sealed are shown before each is opened.
    expect(v.current!.input).toMatchObject({ kind: 'enter-component', holders: [{ envelope: 'TE-1001' }, { envelope: 'TE-1002' }, { envelope: 'TE-1003' }] });
    for (const [i, name] of ['Ann Archer', 'Ben Baker', 'Cat Cole'].entries()) v = await f.act(run, { kind: 'enter-component', holder: name, component: parts[i]!.toString('hex') });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    expect(v.steps.find((s) => s.kind === 'form-key')!.outcome!.checkValue).toBe(keyKcv);
    for (const p of parts) p.fill(0);
    for (const s of sheets) s.fill(0);
  }, 240_000);

  it('makes a two-key TDES key for two holders, extractable, and archives it with its legacy check value', async () => {
    const made0 = await upToMake({ label: 'PIN ZPK 2026', algorithm: 'tdes-2key', usages: ['encrypt', 'wrap'], extractable: true, holders: ['Ben Baker', 'Cat Cole'], purpose: 'key-wrapping' }, ['Ben Baker', 'Cat Cole']);
    const run = made0.run;
    let v = made0.v;
    for (const c of ['Ben Baker', 'Cat Cole']) v = await f.act(run, { kind: 'approve', step: 'make-components', person: c, proof: f.card(c) });
    v = await f.act(run, { kind: 'run' }, 'Otto Operator');
    const made = v.steps.find((s) => s.kind === 'make-components')!.outcome! as { checkValue: string; checkMethod: string; algorithm: string; components: Array<{ checkValue: string }> };
    expect(made.algorithm).toBe('TDES-2key');
    expect(made.checkValue).toMatch(/^[0-9A-F]{6}$/);
    expect(made.checkMethod).toMatch(/legacy/);
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    const parts: Buffer[] = [];
    for (const [i, name] of ['Ben Baker', 'Cat Cole'].entries()) {
      const r = await f.service.act(f.session, run, { kind: 'component-sheet', holder: name }, null);
      const c = componentOf(pdfText(r.sheet!.pdf, `tdes-${i}.pdf`), 16);
      expect(keyCheckValues('TDES', c).legacy.toUpperCase()).toBe(made.components[i]!.checkValue);
      parts.push(c);
      r.sheet!.pdf.fill(0);
      v = await f.act(run, { kind: 'component-printed', holder: name });
    }
    expect(keyCheckValues('TDES', combineComponents(parts, 'TDES').key).legacy.toUpperCase()).toBe(made.checkValue);
    v = await f.act(run, { kind: 'seal-component', holder: 'Ben Baker', checkValue: made.components[0]!.checkValue, envelope: 'PCI-77-0001' });
    v = await f.act(run, { kind: 'seal-component', holder: 'Cat Cole', checkValue: made.components[1]!.checkValue, envelope: 'PCI-77-0002' });
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    v = await f.act(run, { kind: 'run' }, 'Otto Operator'); // archive
    expect(v.steps.find((s) => s.kind === 'archive')!.outcome).toMatchObject({ version: 1 });
    v = await f.act(run, { kind: 'tick' }, 'Wes Witness');
    await signOff(run);
    for (const p of parts) p.fill(0);
  }, 240_000);

  it('names what a token lacks for the key type (the check step refuses such a token before anything is made)', async () => {
    const mechs = await f.hsm.call('mechanisms', WS_TOKEN);
    expect(componentKeyGaps('aes-256', 32, mechs)).toEqual([]);
    expect(componentKeyGaps('tdes-3key', 24, mechs)).toEqual([]);
    // The same token's list without Triple DES, and without AES-CMAC for 256-bit keys: a token that lacks the key type.
    expect(componentKeyGaps('tdes-2key', 16, mechs.filter((m) => m.type !== CKM.DES3_ECB))[0]).toMatch(/Triple DES/);
    expect(componentKeyGaps('aes-256', 32, mechs.map((m) => (m.type === CKM.AES_CMAC ? { ...m, maxKeySize: 16 } : m)))[0]).toMatch(/AES-256/);
    expect(componentKeyGaps('aes-128', 16, mechs.filter((m) => m.type !== CKM.RSA_PKCS_OAEP))[0]).toMatch(/RSA-OAEP/);
  });
});
