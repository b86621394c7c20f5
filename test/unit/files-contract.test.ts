import { describe, expect, it } from 'vitest';
import { contract } from '../../shared/contract';
import { ARTEFACT_KINDS, artefactSchema } from '../../shared/files';

// What the window may ask main to save is a closed list of public or audit artefacts. Adding a
// kind changes this test on purpose: a reviewer then sees that something new can leave the
// workstation, and checks that it is not secret.
describe('the save contract', () => {
  it('names exactly these artefacts, none of them secret', () => {
    expect([...ARTEFACT_KINDS].sort()).toEqual(['audit-export', 'bundle', 'bundle-pdf', 'csr', 'public-key', 'share-set-record', 'wrapped-export']);
    // wrapped-export is a key wrapped for its receiver (AES-KWP / RSA-OAEP + AES-KWP), never plaintext (SP 800-57 Part 2 §6.7).
    for (const k of ARTEFACT_KINDS) expect(k).not.toMatch(/share$|shares|pin|secret|private|component|plain|mnemonic/);
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

  it('loads only public records, by a plain name', () => {
    const open = contract['files.open'].input;
    expect(open.safeParse({ kind: 'share-set-record', name: 'set1-record.json' }).success).toBe(true);
    for (const x of [{ kind: 'sealed-share' }, { kind: 'share-set-record', name: '../x.json' }, { kind: 'share-set-record', name: '/etc/passwd' }, { kind: 'share-set-record', name: '.hidden' }]) {
      expect(open.safeParse(x).success, JSON.stringify(x)).toBe(false);
    }
  });
});
