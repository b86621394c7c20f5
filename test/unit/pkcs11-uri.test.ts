import { describe, expect, it } from 'vitest';
import { matchesSelector, parsePkcs11Uri, pctEncode, tokenUri, UriError } from '../../shared/pkcs11-uri';

const token = { label: 'Custos demo', manufacturer: 'SoftHSM project', model: 'SoftHSM v2', serial: 'a74cb14ea915b14b' };

describe('PKCS#11 URIs (RFC 7512)', () => {
  it('builds a token URI with percent-encoded values', () => {
    expect(tokenUri(token)).toBe('pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=a74cb14ea915b14b;token=Custos%20demo');
  });

  it('round-trips unusual labels, including UTF-8, ";" and "%"', () => {
    for (const label of ['Ключ 1', 'a;b=c', '100%', 'x/y?z', '  spaces  ']) {
      const uri = tokenUri({ ...token, label });
      expect(parsePkcs11Uri(uri).path.token).toBe(label);
      expect(matchesSelector(uri, { ...token, label })).toBe(true);
    }
  });

  it('parses the RFC 7512 §3.3 examples', () => {
    expect(parsePkcs11Uri('pkcs11:').path).toEqual({});
    const u = parsePkcs11Uri('pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin');
    expect(u.path.token).toBe('The Software PKCS#11 Softtoken');
    expect(u.path.manufacturer).toBe('Snake Oil, Inc.');
    expect(u.query['pin-source']).toBe('file:/etc/token_pin');
    expect(u.path.id).toBe('69953e5cf4bdec91');
    expect(parsePkcs11Uri('pkcs11:slot-description=Sun%20Metaslot').path['slot-description']).toBe('Sun Metaslot');
  });

  it('matches by any subset of attributes, and by plain label', () => {
    expect(matchesSelector('pkcs11:token=Custos%20demo', token)).toBe(true);
    expect(matchesSelector('pkcs11:serial=a74cb14ea915b14b', token)).toBe(true);
    expect(matchesSelector('pkcs11:serial=other', token)).toBe(false);
    expect(matchesSelector('Custos demo', token)).toBe(true);
    expect(matchesSelector('Custos', token)).toBe(false);
  });

  it('rejects malformed URIs with a reason', () => {
    for (const bad of ['token=x', 'pkcs11:token', 'pkcs11:token=%zz', 'pkcs11:token=a;token=b', 'pkcs11:colour=red', 'pkcs11:token=%C3']) {
      expect(() => parsePkcs11Uri(bad)).toThrow();
    }
    expect(() => parsePkcs11Uri('pkcs11:token=%zz')).toThrow(UriError);
  });

  it('leaves unreserved characters alone', () => {
    expect(pctEncode('abc-._~XYZ019')).toBe('abc-._~XYZ019');
  });
});
