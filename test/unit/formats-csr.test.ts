import { execFileSync, spawnSync } from 'node:child_process';
import { constants, createHash, generateKeyPairSync, privateEncrypt, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCsr, type BuildCsrOptions, type CsrSignatureAlgorithm } from '../../electron/services/formats/csr';
import { parseSubject } from '../../electron/services/formats/subjectName';
import { digestInfo, ecdsaRawToDer } from '../../electron/services/formats/ecdsa';
import { CustosError } from '../../shared/result';

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const keys: Record<string, Pair> = {};
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'custos-csr-'));
  keys.p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys.p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  keys.p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  keys.rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys.ed = generateKeyPairSync('ed25519');
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spki = (p: Pair) => p.publicKey.export({ type: 'spki', format: 'der' });

/** Signers that behave like the HSM host: the PKCS#11 mechanism, then the X.509 encoding. */
function tokenSigner(alg: CsrSignatureAlgorithm, key: KeyObject): (tbs: Buffer) => Promise<Buffer> {
  return async (tbs) => {
    switch (alg) {
      case 'ecdsa-sha256':
      case 'ecdsa-sha384':
        // CKM_ECDSA returns r‖s; the host converts it.
        return ecdsaRawToDer(sign(alg === 'ecdsa-sha256' ? 'sha256' : 'sha384', tbs, { key, dsaEncoding: 'ieee-p1363' }));
      case 'rsa-pkcs1-sha256':
        // CKM_RSA_PKCS over the DigestInfo.
        return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo('sha256', createHash('sha256').update(tbs).digest()));
      case 'rsa-pss-sha256':
        return sign('sha256', tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
      case 'ed25519':
        return sign(null, tbs, key);
    }
  };
}

function opensslReq(pem: string, args: string[]): { status: number | null; out: string } {
  const file = join(dir, `req-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, pem);
  const r = spawnSync('openssl', ['req', '-in', file, ...args], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof CustosError) return `${e.appError.code}: ${e.appError.message}`;
    throw e;
  }
  throw new Error('expected a CustosError');
}

const SUBJECT = 'CN=Root CA 2026,O=Example,C=GB';

describe('buildCsr signs with every algorithm and OpenSSL verifies the result', () => {
  const cases: { alg: CsrSignatureAlgorithm; key: string; opensslAlg: RegExp; extra?: RegExp[] }[] = [
    { alg: 'ecdsa-sha256', key: 'p256', opensslAlg: /Signature Algorithm: ecdsa-with-SHA256/ },
    { alg: 'ecdsa-sha384', key: 'p384', opensslAlg: /Signature Algorithm: ecdsa-with-SHA384/ },
    { alg: 'ecdsa-sha384', key: 'p521', opensslAlg: /Signature Algorithm: ecdsa-with-SHA384/ },
    { alg: 'rsa-pkcs1-sha256', key: 'rsa', opensslAlg: /Signature Algorithm: sha256WithRSAEncryption/ },
    {
      alg: 'rsa-pss-sha256',
      key: 'rsa',
      opensslAlg: /Signature Algorithm: rsassaPss/,
      extra: [/Hash Algorithm: sha256/, /Mask Algorithm: mgf1 with sha256/, /Salt Length: 0x20/],
    },
    { alg: 'ed25519', key: 'ed', opensslAlg: /Signature Algorithm: ED25519/ },
  ];

  it.each(cases)('$alg with $key', async ({ alg, key, opensslAlg, extra }) => {
    const pair = keys[key]!;
    let signed: Buffer | undefined;
    const { der, pem } = await buildCsr({
      subject: SUBJECT,
      spki: spki(pair),
      signatureAlgorithm: alg,
      sign: async (tbs) => {
        signed = tbs;
        return tokenSigner(alg, pair.privateKey)(tbs);
      },
      extensions: {
        basicConstraints: { ca: true, pathLen: 0 },
        keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
        subjectAltNames: ['ca.example.com', '*.pki.example.com'],
      },
    });
    expect(pem).toBe(`-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`);

    const verified = opensslReq(pem, ['-verify', '-noout']);
    expect(verified.status, verified.out).toBe(0);
    expect(verified.out).toMatch(/verify OK/);

    const text = opensslReq(pem, ['-noout', '-text']);
    expect(text.status, text.out).toBe(0);
    expect(text.out).toMatch(/Version: 1 \(0x0\)/);
    expect(text.out).toMatch(/Subject: C = GB, O = Example, CN = Root CA 2026/);
    expect(text.out).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text.out).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    expect(text.out).toMatch(/X509v3 Subject Alternative Name: \s*DNS:ca\.example\.com, DNS:\*\.pki\.example\.com/);
    expect(text.out).toMatch(opensslAlg);
    for (const re of extra ?? []) expect(text.out).toMatch(re);

    // The public key in the request is exactly the one given.
    const pub = opensslReq(pem, ['-noout', '-pubkey']);
    expect(pub.out).toBe(pair.publicKey.export({ type: 'spki', format: 'pem' }));

    // The bytes handed to the signer are the CertificationRequestInfo embedded in the request.
    const parsed = AsnConvert.parse(der, CertificationRequest);
    expect(parsed.certificationRequestInfo.version).toBe(0);
    expect(der.indexOf(signed!)).toBeGreaterThan(0);
    expect(Buffer.from(AsnConvert.serialize(parsed.certificationRequestInfo)).equals(signed!)).toBe(true);
  });

  it('writes an empty [0] attributes set when there are no extensions (RFC 2986 §4.1)', async () => {
    let tbs: Buffer | undefined;
    const { pem } = await buildCsr({
      subject: 'CN=leaf',
      spki: spki(keys.p256!),
      signatureAlgorithm: 'ecdsa-sha256',
      sign: async (t) => {
        tbs = t;
        return tokenSigner('ecdsa-sha256', keys.p256!.privateKey)(t);
      },
    });
    expect(tbs!.subarray(-2).toString('hex')).toBe('a000');
    expect(opensslReq(pem, ['-verify', '-noout']).status).toBe(0);
    expect(opensslReq(pem, ['-noout', '-text']).out).toMatch(/Attributes:\s+\(none\)|Attributes:\s*\n\s*a0:00/);
  });

  it('encodes the subject exactly as OpenSSL does for the same names (UTF8String, PrintableString for C, IA5String for e-mail)', async () => {
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, keys.p256!.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const theirs = execFileSync('openssl', [
      'req', '-new', '-key', keyFile, '-utf8', '-outform', 'DER',
      '-subj', '/C=GB/ST=Greater London/L=London/O=Exa, mple Ltd/OU=PKI/OU=Ops/CN=Zürich \\+1 "root"/emailAddress=pki@example.com',
    ]);
    const ours = await buildCsr({
      subject: 'emailAddress=pki@example.com,CN=Z\\C3\\BCrich \\+1 \\"root\\",OU=Ops,OU=PKI,O=Exa\\, mple Ltd,L=London,ST=Greater London,C=GB',
      spki: spki(keys.p256!),
      signatureAlgorithm: 'ecdsa-sha256',
      sign: tokenSigner('ecdsa-sha256', keys.p256!.privateKey),
    });
    const subjectOf = (der: Buffer) => Buffer.from(AsnConvert.serialize(AsnConvert.parse(der, CertificationRequest).certificationRequestInfo.subject));
    expect(subjectOf(ours.der).toString('hex')).toBe(subjectOf(theirs).toString('hex'));
    // And OpenSSL prints it back in RFC 4514 order with the same escapes.
    expect(opensslReq(ours.pem, ['-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb']).out.trim()).toBe(
      'subject=emailAddress=pki@example.com,CN=Zürich \\+1 \\"root\\",OU=Ops,OU=PKI,O=Exa\\, mple Ltd,L=London,ST=Greater London,C=GB',
    );
  });
});

describe('buildCsr refuses what would be a bad request', () => {
  const base = (): BuildCsrOptions => ({
    subject: SUBJECT,
    spki: spki(keys.p256!),
    signatureAlgorithm: 'ecdsa-sha256',
    sign: tokenSigner('ecdsa-sha256', keys.p256!.privateKey),
  });

  it('checks the algorithm against the key', async () => {
    expect(await codeOf(buildCsr({ ...base(), signatureAlgorithm: 'rsa-pss-sha256' }))).toMatch(/INVALID_INPUT: rsa-pss-sha256 needs an RSA key, but this is an EC key/);
    expect(await codeOf(buildCsr({ ...base(), spki: spki(keys.rsa!) }))).toMatch(/ecdsa-sha256 needs an EC key, but this is an RSA key/);
    expect(await codeOf(buildCsr({ ...base(), spki: spki(keys.ed!), signatureAlgorithm: 'ecdsa-sha384' }))).toMatch(/needs an EC key, but this is an Ed25519 key/);
    expect(await codeOf(buildCsr({ ...base(), signatureAlgorithm: 'rsa-sha1' as never }))).toMatch(/"rsa-sha1" is not a supported signature algorithm/);
    expect(await codeOf(buildCsr({ ...base(), sign: undefined as never }))).toMatch(/No sign function/);
    expect(await codeOf(buildCsr({ ...base(), spki: Buffer.alloc(0) }))).toMatch(/empty/);
    expect(await codeOf(buildCsr(null as never))).toMatch(/No CSR options/);
  });

  it('catches a signer that returns raw r‖s, the wrong key, the wrong length or nothing', async () => {
    const rawSigner = async (tbs: Buffer) => sign('sha256', tbs, { key: keys.p256!.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(await codeOf(buildCsr({ ...base(), sign: rawSigner }))).toMatch(/INVALID_INPUT: .*looks like raw r‖s/);

    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(await codeOf(buildCsr({ ...base(), sign: tokenSigner('ecdsa-sha256', other.privateKey) }))).toBe(
      'FUNCTION_FAILED: The signature for the certificate request does not verify against the public key.',
    );
    expect(await codeOf(buildCsr({ ...base(), signatureAlgorithm: 'ecdsa-sha384' }))).toMatch(/FUNCTION_FAILED: .*does not verify/);

    const rsa = { ...base(), spki: spki(keys.rsa!), signatureAlgorithm: 'rsa-pkcs1-sha256' as const };
    expect(await codeOf(buildCsr({ ...rsa, sign: tokenSigner('rsa-pss-sha256', keys.rsa!.privateKey) }))).toMatch(/FUNCTION_FAILED: .*does not verify/);
    expect(await codeOf(buildCsr({ ...rsa, sign: async () => Buffer.alloc(255, 1) }))).toMatch(/FUNCTION_FAILED: .*is 255 bytes, but a 2048-bit RSA signature is 256 bytes/);
    expect(await codeOf(buildCsr({ ...rsa, signatureAlgorithm: 'rsa-pss-sha256', sign: tokenSigner('rsa-pkcs1-sha256', keys.rsa!.privateKey) }))).toMatch(/does not verify/);
    const ed = { ...base(), spki: spki(keys.ed!), signatureAlgorithm: 'ed25519' as const };
    expect(await codeOf(buildCsr({ ...ed, sign: async () => Buffer.alloc(63, 1) }))).toMatch(/FUNCTION_FAILED: .*is 63 bytes, but an Ed25519 signature is 64 bytes/);
    expect(await codeOf(buildCsr({ ...ed, sign: async () => Buffer.alloc(64, 1) }))).toMatch(/FUNCTION_FAILED: .*does not verify/);
    expect(await codeOf(buildCsr({ ...base(), sign: async () => Buffer.alloc(0) }))).toMatch(/FUNCTION_FAILED: The signer returned no signature/);
    expect(await codeOf(buildCsr({ ...base(), sign: async () => 'sig' as never }))).toMatch(/FUNCTION_FAILED: The signer returned no signature/);
  });

  it('passes a signer failure through unchanged', async () => {
    const err = new CustosError({ code: 'PIN_LOCKED', message: 'locked', action: 'unlock' });
    await expect(buildCsr({ ...base(), sign: async () => Promise.reject(err) })).rejects.toBe(err);
  });

  it('checks extensions against RFC 5280, RFC 5480 and RFC 8410', async () => {
    const withExt = (extensions: BuildCsrOptions['extensions'], key = 'p256') => {
      const alg: CsrSignatureAlgorithm = key === 'rsa' ? 'rsa-pkcs1-sha256' : key === 'ed' ? 'ed25519' : 'ecdsa-sha256';
      return buildCsr({ subject: SUBJECT, spki: spki(keys[key]!), signatureAlgorithm: alg, sign: tokenSigner(alg, keys[key]!.privateKey), extensions });
    };
    const cases: [BuildCsrOptions['extensions'], string, RegExp][] = [
      [{ keyUsage: [] }, 'p256', /keyUsage is empty/],
      [{ keyUsage: ['signing'] }, 'p256', /"signing" is not a key usage/],
      [{ keyUsage: [42 as never] }, 'p256', /"42" is not a key usage/],
      [{ keyUsage: ['keyEncipherment'] }, 'p256', /keyEncipherment is not a valid key usage for an EC key/],
      [{ keyUsage: ['dataEncipherment'] }, 'p256', /dataEncipherment is not a valid key usage for an EC key/],
      [{ keyUsage: ['keyAgreement'] }, 'ed', /keyAgreement is not a valid key usage for an Ed25519 key/],
      [{ keyUsage: ['keyAgreement'] }, 'rsa', /keyAgreement is not a valid key usage for an RSA key/],
      [{ keyUsage: ['encipherOnly'] }, 'p256', /only mean something together with keyAgreement/],
      [{ keyUsage: ['keyCertSign'] }, 'p256', /keyCertSign requires basicConstraints with ca: true/],
      [{ keyUsage: ['keyCertSign'], basicConstraints: { ca: false } }, 'p256', /keyCertSign requires basicConstraints/],
      [{ basicConstraints: { ca: false, pathLen: 0 } }, 'p256', /pathLen is only allowed when ca is true/],
      [{ basicConstraints: { ca: true, pathLen: -1 } }, 'p256', /pathLen must be a whole number/],
      [{ basicConstraints: { ca: true, pathLen: 1.5 } }, 'p256', /pathLen must be a whole number/],
      [{ basicConstraints: {} as never }, 'p256', /basicConstraints needs ca/],
      [{ subjectAltNames: [] }, 'p256', /subjectAltNames is empty/],
      [{ subjectAltNames: [''] }, 'p256', /subject alternative name is empty/],
      [{ subjectAltNames: ['bad_name.example'] }, 'p256', /not a valid DNS name \(bad label "bad_name"\)/],
      [{ subjectAltNames: ['-a.example'] }, 'p256', /bad label "-a"/],
      [{ subjectAltNames: ['a..example'] }, 'p256', /bad label ""/],
      [{ subjectAltNames: [`${'a'.repeat(64)}.example`] }, 'p256', /bad label/],
      [{ subjectAltNames: [`${'a.'.repeat(127)}com`] }, 'p256', /longer than 253/],
      [{ subjectAltNames: ['example.com.'] }, 'p256', /ends with a dot/],
      [{ subjectAltNames: ['10.0.0.1'] }, 'p256', /looks like an IP address/],
      [{ subjectAltNames: ['*.com.*'] }, 'p256', /bad label "\*"/],
      [{ subjectAltNames: ['a.*.example'] }, 'p256', /bad label "\*"/],
      [{ subjectAltNames: ['bücher.example'] }, 'p256', /bad label "bücher"/],
      [{ subjectAltNames: ['a.example', 'A.example'] }, 'p256', /"A.example" is listed twice/],
    ];
    for (const [ext, key, pattern] of cases) {
      const e = await codeOf(withExt(ext, key));
      expect(e, JSON.stringify(ext)).toMatch(/^INVALID_INPUT: /);
      expect(e, JSON.stringify(ext)).toMatch(pattern);
    }
    // Accepted variants: aliases, case, an end-entity basicConstraints, RSA keyEncipherment, an Ed25519 signing usage.
    const ok = await withExt({ keyUsage: ['DIGITALSIGNATURE', 'contentCommitment', 'keyAgreement', 'decipherOnly'], basicConstraints: { ca: false }, subjectAltNames: ['xn--bcher-kva.example', 'localhost'] });
    const text = opensslReq(ok.pem, ['-noout', '-text']).out;
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Non Repudiation, Key Agreement, Decipher Only/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/DNS:xn--bcher-kva\.example, DNS:localhost/);
    expect(opensslReq((await withExt({ keyUsage: ['digitalSignature', 'keyEncipherment'] }, 'rsa')).pem, ['-verify', '-noout']).status).toBe(0);
    expect(opensslReq((await withExt({ keyUsage: ['digitalSignature'] }, 'ed')).pem, ['-verify', '-noout']).status).toBe(0);
    expect(opensslReq((await withExt({ basicConstraints: { ca: true } })).pem, ['-noout', '-text']).out).toMatch(/CA:TRUE\n/);
  });
});

describe('parseSubject (RFC 4514)', () => {
  it('keeps string order and handles escapes, hex escapes, spaces and case', () => {
    expect(parseSubject(SUBJECT)).toEqual([
      { type: 'CN', oid: '2.5.4.3', value: 'Root CA 2026' },
      { type: 'O', oid: '2.5.4.10', value: 'Example' },
      { type: 'C', oid: '2.5.4.6', value: 'GB' },
    ]);
    expect(parseSubject('cn = Smith\\, John , o=Acme\\; Co\\+Partners, ou=R&D=1').map((a) => a.value)).toEqual(['Smith, John', 'Acme; Co+Partners', 'R&D=1']);
    expect(parseSubject('CN=Z\\C3\\BCrich')[0]!.value).toBe('Zürich');
    expect(parseSubject('CN=\\D0\\9A\\D0\\BB\\D1\\8E\\D1\\87 1')[0]!.value).toBe('Ключ 1');
    expect(parseSubject('CN=Ключ')[0]!.value).toBe('Ключ');
    expect(parseSubject('CN=\\ padded\\ ')[0]!.value).toBe(' padded ');
    expect(parseSubject('CN=\\#hash,O=a#b')[0]!.value).toBe('#hash');
    expect(parseSubject('CN=a\\\\b\\"c\\<d\\>e\\=f')[0]!.value).toBe('a\\b"c<d>e=f');
    expect(parseSubject('EMAILADDRESS=a@b.example,St=Kent,l=Canterbury')).toEqual([
      { type: 'emailAddress', oid: '1.2.840.113549.1.9.1', value: 'a@b.example' },
      { type: 'ST', oid: '2.5.4.8', value: 'Kent' },
      { type: 'L', oid: '2.5.4.7', value: 'Canterbury' },
    ]);
    expect(parseSubject('OU=a,OU=b').map((a) => a.value)).toEqual(['a', 'b']);
    expect(parseSubject(`CN=${'x'.repeat(64)}`)[0]!.value.length).toBe(64);
    expect(parseSubject(`CN=${'é'.repeat(64)}`)[0]!.value.length).toBe(64);
  });

  it('refuses malformed subjects with a reason', async () => {
    const cases: [string, RegExp][] = [
      ['', /subject is empty/],
      ['   ', /subject is empty/],
      ['Root CA', /"Root CA" in the subject has no "="/],
      ['CN=a,Example', /"Example" in the subject has no "="/],
      ['=value', /value without an attribute type/],
      ['X=1', /attribute type "X" is not supported/],
      ['2.5.4.3=foo', /attribute type "2.5.4.3" is not supported/],
      ['SERIALNUMBER=1', /not supported/],
      ['CN=a+OU=b', /multi-valued RDNs are not supported/],
      ['CN=a;O=b', /unescaped ";"/],
      ['CN="quoted"', /unescaped "/],
      ['CN=a<b', /unescaped </],
      ['CN=#0403666f6f', /starts with "#"/],
      ['CN=a\\qb', /backslash at position 5 that does not escape/],
      ['CN=a\\', /backslash at position 5/],
      ['CN=a\\4', /backslash/],
      ['CN=\\ff\\fe', /not valid UTF-8/],
      ['CN=\\C3', /not valid UTF-8/],
      ['CN=', /CN value is empty/],
      ['CN=  ', /CN value is empty/],
      ['CN=a,', /ends with a ","/],
      ['CN=a, ', /ends with a ","/],
      ['CN=a,,O=b', /has no "="/],
      ['C=gb', /two-letter upper-case ISO 3166/],
      ['C=GBR', /C value is 3 characters; RFC 5280 allows at most 2/],
      ['C=G1', /two-letter/],
      [`CN=${'x'.repeat(65)}`, /CN value is 65 characters; RFC 5280 allows at most 64/],
      [`L=${'x'.repeat(129)}`, /at most 128/],
      ['emailAddress=jürgen@example.com', /must be ASCII/],
      ['emailAddress=not-an-address', /is not an e-mail address/],
      ['CN=a\\0Ab', /control character/],
      ['CN=a\u0007b', /control character/],
    ];
    for (const [subject, pattern] of cases) {
      const e = await codeOf(() => parseSubject(subject));
      expect(e, subject).toMatch(/^INVALID_INPUT: /);
      expect(e, subject).toMatch(pattern);
    }
    expect(await codeOf(() => parseSubject(undefined as never))).toMatch(/subject is empty/);
    // And buildCsr reports the same.
    expect(
      await codeOf(buildCsr({ subject: 'CN=a+OU=b', spki: spki(keys.p256!), signatureAlgorithm: 'ecdsa-sha256', sign: tokenSigner('ecdsa-sha256', keys.p256!.privateKey) })),
    ).toMatch(/multi-valued/);
  });
});

describe('PEM output is what files on disk look like', () => {
  it('round-trips through openssl req -outform PEM unchanged', async () => {
    const { pem } = await buildCsr({ subject: 'CN=x', spki: spki(keys.ed!), signatureAlgorithm: 'ed25519', sign: tokenSigner('ed25519', keys.ed!.privateKey) });
    const inFile = join(dir, 'in.pem');
    const outFile = join(dir, 'out.pem');
    writeFileSync(inFile, pem);
    execFileSync('openssl', ['req', '-in', inFile, '-out', outFile]);
    expect(readFileSync(outFile, 'utf8')).toBe(pem);
  });
});
