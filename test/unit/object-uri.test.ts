import { describe, expect, it } from 'vitest';
import { parseKeyRef } from '../../electron/services/key-refs';
import { objectUri, parsePkcs11Uri } from '../../shared/pkcs11-uri';

// Issue #11: the archive recorded key URIs with type=secret, which is not an RFC 7512 class, and
// parseKeyRef refused its own app's output. One objectUri now builds every key URI.
describe('object URIs (RFC 7512 §2.3)', () => {
  const token = 'pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=a74cb14ea915b14b;token=Archive';

  it('names the classes as RFC 7512 does: secret-key, private, public', () => {
    expect(parsePkcs11Uri(objectUri(token, { label: 'k', kind: 'secret' })).path.type).toBe('secret-key');
    expect(parsePkcs11Uri(objectUri(token, { label: 'k', kind: 'private' })).path.type).toBe('private');
    expect(parsePkcs11Uri(objectUri(token, { label: 'k', kind: 'public' })).path.type).toBe('public');
  });

  it('is accepted by parseKeyRef for secret, private and public keys, with label and id intact', () => {
    for (const kind of ['secret', 'private', 'public'] as const) {
      expect(parseKeyRef(objectUri(token, { label: 'Payments DEK; 2026', idHex: '00ff10ab', kind }))).toEqual({ label: 'Payments DEK; 2026', idHex: '00ff10ab', kind });
      expect(parseKeyRef(objectUri(token, { label: 'Ключ', kind }))).toEqual({ label: 'Ключ', kind });
      expect(parseKeyRef(objectUri(token, { idHex: '0102', kind }))).toEqual({ idHex: '0102', kind });
    }
  });
});
