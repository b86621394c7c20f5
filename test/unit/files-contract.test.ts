import { describe, expect, it } from 'vitest';
import { contract } from '../../shared/contract';
import { ARTEFACT_KINDS, artefactSchema } from '../../shared/files';

// What the window may ask main to save is a closed list of public or audit artefacts. Adding a
// kind changes this test on purpose: a reviewer then sees that something new can leave the
// workstation, and checks that it is not secret.
describe('the save contract', () => {
  it('names exactly these artefacts, none of them secret but the component sheet', () => {
    expect([...ARTEFACT_KINDS].sort()).toEqual(['audit-export', 'bundle', 'bundle-pdf', 'component-sheet', 'csr', 'public-key', 'sealed-envelope', 'share-set-record', 'wrapped-export']);
    // sealed-envelope is a share sealed to its holder's card (custos.sealedshare v1): ciphertext only that card opens.
    // wrapped-export is a key wrapped for its receiver (AES-KWP / RSA-OAEP + AES-KWP), never plaintext (SP 800-57 Part 2 §6.7).
    // The one secret kind, reviewed: a component-creation ceremony's sheet, which the ceremony makes
    // only for the holder whose turn it is, while the components are in main's memory (tested in
    // ceremony-component-create.test.ts); the window names a run and a holder, never bytes.
    for (const k of ARTEFACT_KINDS.filter((x) => x !== 'component-sheet')) expect(k).not.toMatch(/share$|shares|pin|secret|private|component|plain|mnemonic/);
    const sheet = { kind: 'component-sheet', module: '/usr/lib/softhsm/libsofthsm2.so', token: 'pkcs11:token=A', run: '00000000-0000-4000-8000-000000000000', holder: 'Ann Archer' };
    expect(artefactSchema.safeParse(sheet).success).toBe(true);
    expect(artefactSchema.safeParse({ ...sheet, component: 'AAAA' }).success).toBe(false);
    expect(artefactSchema.safeParse({ ...sheet, pdf: 'AAAA' }).success).toBe(false);
    // The window cannot ask the ceremony for a sheet's bytes: that action is main's own (the save and the CLI).
    const act = contract['ceremony.act'].input;
    const at = { module: sheet.module, token: 'pkcs11:token=A', run: sheet.run, by: null };
    expect(act.safeParse({ ...at, action: { kind: 'component-printed', holder: 'Ann Archer' } }).success).toBe(true);
    expect(act.safeParse({ ...at, action: { kind: 'component-sheet', holder: 'Ann Archer' } }).success).toBe(false);
  });

  it('refuses an unknown kind, extra fields (bytes, a path) and a secret by any name', () => {
    const save = contract['files.save'].input;
    const pub = { kind: 'public-key', module: '/usr/lib/softhsm/libsofthsm2.so', token: 'pkcs11:token=A', key: 'k', format: 'pem' };
    expect(save.safeParse({ artefact: pub }).success).toBe(true);
    for (const artefact of [
      { kind: 'share', run: '00000000-0000-4000-8000-000000000000', index: 1 },
      { kind: 'private-key', module: pub.module, token: pub.token, key: 'k' },
      { kind: 'pin' },
      { ...pub, bytes: 'AAAA' },
      { ...pub, path: '/etc/cron.d/x' },
      { ...pub, format: 'pkcs8' },
      { kind: 'bundle', run: '../../etc' },
    ]) {
      expect(save.safeParse({ artefact }).success, JSON.stringify(artefact)).toBe(false);
    }
    expect(save.safeParse({ artefact: pub, path: '/tmp/x' }).success).toBe(false);
    expect(artefactSchema.safeParse({ kind: 'audit-export', dir: '/tmp' }).success).toBe(false);
  });

  it('loads only public records and sealed shares (ciphertext that only its card opens), by a plain name', () => {
    const open = contract['files.open'].input;
    expect(open.safeParse({ kind: 'share-set-record', name: 'set1-record.json' }).success).toBe(true);
    expect(open.safeParse({ kind: 'sealed-share', name: 'ann.sealed.json' }).success).toBe(true);
    for (const x of [{ kind: 'share' }, { kind: 'component' }, { kind: 'mnemonic' }, { kind: 'sealed-share', name: '../x.json' }, { kind: 'share-set-record', name: '../x.json' }, { kind: 'share-set-record', name: '/etc/passwd' }, { kind: 'share-set-record', name: '.hidden' }]) {
      expect(open.safeParse(x).success, JSON.stringify(x)).toBe(false);
    }
  });
});
