// PKCS#10 certification requests (RFC 2986) signed by a key that never leaves the token.
//
// buildCsr assembles CertificationRequestInfo, hands its DER to a `sign` callback (which the HSM host
// implements), checks the returned signature against the public key with Node's crypto, and only then
// wraps everything into the CertificationRequest. A CSR whose signature does not verify is worthless
// to a CA and usually means the wrong key or mechanism, so it is caught here, not at the CA.
//
// What the `sign` callback must return, per signature algorithm (X.509 encodings):
//   ecdsa-sha256 / ecdsa-sha384  DER Ecdsa-Sig-Value. With PKCS#11: CKM_ECDSA over hashForEcdsa(hash, tbs)
//                                (or CKM_ECDSA_SHA256/384 over tbs), then ecdsaRawToDer on the r‖s result.
//   rsa-pkcs1-sha256             the k-byte signature. CKM_SHA256_RSA_PKCS over tbs, or CKM_RSA_PKCS over
//                                digestInfo('sha256', sha256(tbs)).
//   rsa-pss-sha256               the k-byte signature. CKM_SHA256_RSA_PKCS_PSS over tbs with
//                                CK_RSA_PKCS_PSS_PARAMS { CKM_SHA256, CKG_MGF1_SHA256, sLen 32 }.
//   ed25519                      the 64-byte signature. CKM_EDDSA over tbs (PureEdDSA, no hashing).
//
// Standards: RFC 2986 (PKCS#10); RFC 5280 §4.1.2.4/§4.2.1.3/§4.2.1.6/§4.2.1.9 and Appendix A (names,
// key usage, SAN, basic constraints, attribute upper bounds); RFC 2985 §5.4.2 (extensionRequest);
// RFC 4514 (string form of a DN); RFC 5758 §3.2 (ECDSA signature AlgorithmIdentifiers, no parameters);
// RFC 4055 §3.1 and §5 (RSASSA-PSS parameters; sha256WithRSAEncryption with NULL); RFC 8410 §3 and §5
// (Ed25519 identifiers and permitted key usages); RFC 5480 §3 (EC key usages); RFC 7468 §7 (PEM label).

import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Attribute, BasicConstraints, Extension, Extensions, GeneralName, KeyUsage, SubjectAlternativeName } from '@peculiar/asn1-x509';
import { RsaSaPssParams, id_mgf1, sha256 } from '@peculiar/asn1-rsa';
import { fail, invalidInput } from '../../../shared/result';
import { TAG, bitString, sequence, tlv, toPem } from './der';
import { ECDSA_COMPONENT_SIZE, ecdsaDerToRaw } from './ecdsa';
import { inspectSpki } from './publicKey';
import type { ParsedPublicKey } from './spki';
import { buildName, parseSubject } from './subjectName';

export type CsrSignatureAlgorithm = 'ecdsa-sha256' | 'ecdsa-sha384' | 'rsa-pkcs1-sha256' | 'rsa-pss-sha256' | 'ed25519';

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

export interface CsrExtensions {
  /** RFC 5280 §4.2.1.3 names (case-insensitive; "contentCommitment" is accepted for nonRepudiation). */
  keyUsage?: string[];
  basicConstraints?: { ca: boolean; pathLen?: number };
  /** DNS names (RFC 5280 §4.2.1.6 dNSName, "preferred name syntax"); a leading "*." wildcard is allowed. */
  subjectAltNames?: string[];
}

export interface BuildCsrOptions {
  /** RFC 4514 string, most specific RDN first: "CN=Root CA 2026,O=Example,C=GB". */
  subject: string;
  /** Canonical SubjectPublicKeyInfo DER of the key that will sign. */
  spki: Buffer;
  signatureAlgorithm: CsrSignatureAlgorithm;
  /** Signs the DER CertificationRequestInfo; returns the signature in X.509 encoding (see file header). */
  sign: (tbs: Buffer) => Promise<Buffer>;
  extensions?: CsrExtensions;
}

// ---------------------------------------------------------------------------------------------
// Extensions

const KEY_USAGE_BITS: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
};
const KEY_USAGE_BY_LOWER = new Map<string, KeyUsageName>([
  ...(Object.keys(KEY_USAGE_BITS) as KeyUsageName[]).map((k) => [k.toLowerCase(), k] as [string, KeyUsageName]),
  ['contentcommitment', 'nonRepudiation'],
]);

// Usages a key type can have at all: RFC 5480 §3 (EC: no keyEncipherment/dataEncipherment),
// RFC 8410 §5 (Ed25519: digitalSignature, nonRepudiation, keyCertSign, cRLSign only).
const ALLOWED_USAGES: Record<ParsedPublicKey['kind'], ReadonlySet<KeyUsageName>> = {
  rsa: new Set<KeyUsageName>(['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyCertSign', 'cRLSign']),
  ec: new Set<KeyUsageName>(['digitalSignature', 'nonRepudiation', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly']),
  ed25519: new Set<KeyUsageName>(['digitalSignature', 'nonRepudiation', 'keyCertSign', 'cRLSign']),
};

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function checkDnsName(name: string): string {
  const help = 'Use DNS names such as www.example.com (punycode "xn--" form for non-ASCII names).';
  if (typeof name !== 'string' || name === '') invalidInput('A subject alternative name is empty.', help);
  if (name.endsWith('.')) invalidInput(`The DNS name "${name}" ends with a dot.`, 'Remove the trailing dot.');
  if (name.length > 253) invalidInput(`The DNS name "${name.slice(0, 40)}…" is longer than 253 characters.`, help);
  const labels = name.split('.');
  const rest = labels[0] === '*' && labels.length > 2 ? labels.slice(1) : labels;
  for (const label of rest) {
    if (!DNS_LABEL.test(label)) invalidInput(`"${name}" is not a valid DNS name (bad label "${label}").`, help);
  }
  if (/^\d+$/.test(rest[rest.length - 1]!)) {
    invalidInput(`"${name}" looks like an IP address; only DNS names are supported as subject alternative names.`, help);
  }
  return name;
}

function buildExtensions(ext: CsrExtensions, kind: ParsedPublicKey['kind']): Extension[] {
  const out: Extension[] = [];
  const extension = (extnID: string, critical: boolean, value: unknown) =>
    new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

  let usages: KeyUsageName[] | undefined;
  if (ext.keyUsage !== undefined) {
    if (!Array.isArray(ext.keyUsage) || ext.keyUsage.length === 0) {
      invalidInput('keyUsage is empty; RFC 5280 §4.2.1.3 requires at least one bit to be set.', 'List the usages or leave keyUsage out.');
    }
    usages = [];
    for (const raw of ext.keyUsage) {
      const name = typeof raw === 'string' ? KEY_USAGE_BY_LOWER.get(raw.toLowerCase()) : undefined;
      if (!name) invalidInput(`"${String(raw)}" is not a key usage.`, `Use: ${Object.keys(KEY_USAGE_BITS).join(', ')}.`);
      if (!ALLOWED_USAGES[kind].has(name)) invalidInput(`${name} is not a valid key usage for an ${kind === 'ed25519' ? 'Ed25519' : kind.toUpperCase()} key.`, 'Remove it (RFC 5480 §3, RFC 8410 §5 and RFC 5280 §4.2.1.3 list the valid usages).');
      if (!usages.includes(name)) usages.push(name);
    }
    if ((usages.includes('encipherOnly') || usages.includes('decipherOnly')) && !usages.includes('keyAgreement')) {
      invalidInput('encipherOnly and decipherOnly only mean something together with keyAgreement (RFC 5280 §4.2.1.3).', 'Add keyAgreement or remove them.');
    }
  }

  const bc = ext.basicConstraints;
  if (bc !== undefined) {
    if (typeof bc !== 'object' || bc === null || typeof bc.ca !== 'boolean') invalidInput('basicConstraints needs ca: true or false.', 'Set basicConstraints.ca.');
    if (bc.pathLen !== undefined) {
      if (!bc.ca) invalidInput('pathLen is only allowed when ca is true (RFC 5280 §4.2.1.9).', 'Remove pathLen or set ca: true.');
      if (!Number.isSafeInteger(bc.pathLen) || bc.pathLen < 0) invalidInput(`pathLen must be a whole number of 0 or more; got ${String(bc.pathLen)}.`, 'Fix pathLen.');
    }
    // RFC 5280 §4.2.1.9: CAs MUST mark basicConstraints critical in CA certificates; we request the
    // same for end entities, which is what most CA profiles issue.
    out.push(extension('2.5.29.19', true, new BasicConstraints(bc.pathLen === undefined ? { cA: bc.ca } : { cA: bc.ca, pathLenConstraint: bc.pathLen })));
  }
  if (usages?.includes('keyCertSign') && !bc?.ca) {
    invalidInput('keyCertSign requires basicConstraints with ca: true (RFC 5280 §4.2.1.3).', 'Add basicConstraints: { ca: true } or remove keyCertSign.');
  }
  if (usages) {
    const flags = usages.reduce((acc, u) => acc | (1 << KEY_USAGE_BITS[u]), 0);
    // RFC 5280 §4.2.1.3: "conforming CAs SHOULD mark this extension as critical".
    out.push(extension('2.5.29.15', true, new KeyUsage(flags)));
  }

  if (ext.subjectAltNames !== undefined) {
    if (!Array.isArray(ext.subjectAltNames) || ext.subjectAltNames.length === 0) {
      invalidInput('subjectAltNames is empty; the extension needs at least one name (RFC 5280 §4.2.1.6).', 'List the DNS names or leave subjectAltNames out.');
    }
    const seen = new Set<string>();
    const names = ext.subjectAltNames.map((n) => {
      const name = checkDnsName(n);
      if (seen.has(name.toLowerCase())) invalidInput(`The DNS name "${name}" is listed twice.`, 'List each name once.');
      seen.add(name.toLowerCase());
      return new GeneralName({ dNSName: name });
    });
    // Not critical: the subject is never empty here (RFC 5280 §4.2.1.6).
    out.push(extension('2.5.29.17', false, new SubjectAlternativeName(names)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Signature algorithms

const ALGORITHMS: Record<CsrSignatureAlgorithm, { kind: ParsedPublicKey['kind']; algId: () => Buffer }> = {
  // RFC 5758 §3.2: ecdsa-with-SHA256/384, "the parameters field MUST be absent".
  'ecdsa-sha256': { kind: 'ec', algId: () => algorithmIdentifier('1.2.840.10045.4.3.2') },
  'ecdsa-sha384': { kind: 'ec', algId: () => algorithmIdentifier('1.2.840.10045.4.3.3') },
  // RFC 4055 §5: sha256WithRSAEncryption with NULL parameters.
  'rsa-pkcs1-sha256': { kind: 'rsa', algId: () => algorithmIdentifier('1.2.840.113549.1.1.11', null) },
  // RFC 4055 §3.1: id-RSASSA-PSS with explicit SHA-256, MGF1-SHA-256 and a 32-byte salt (the hash
  // length, as RFC 8017 §9.1 recommends); trailerField keeps its default and is omitted.
  'rsa-pss-sha256': {
    kind: 'rsa',
    algId: () =>
      algorithmIdentifier(
        '1.2.840.113549.1.1.10',
        AsnConvert.serialize(
          new RsaSaPssParams({
            hashAlgorithm: sha256,
            maskGenAlgorithm: new AlgorithmIdentifier({ algorithm: id_mgf1, parameters: AsnConvert.serialize(sha256) }),
            saltLength: 32,
          }),
        ),
      ),
  },
  // RFC 8410 §3: id-Ed25519, parameters absent.
  ed25519: { kind: 'ed25519', algId: () => algorithmIdentifier('1.3.101.112') },
};

function algorithmIdentifier(algorithm: string, parameters?: ArrayBuffer | null): Buffer {
  return Buffer.from(AsnConvert.serialize(new AlgorithmIdentifier(parameters === undefined ? { algorithm } : { algorithm, parameters })));
}

function checkSignature(alg: CsrSignatureAlgorithm, info: ParsedPublicKey, key: KeyObject, tbs: Buffer, signature: Buffer): void {
  const mismatch = (why: string): never =>
    fail('FUNCTION_FAILED', `The signature for the certificate request ${why}.`, 'Check that the token signed with the private key that belongs to this public key, using the mechanism for this algorithm.', {
      signatureAlgorithm: alg,
    });
  let ok: boolean;
  switch (alg) {
    case 'ecdsa-sha256':
    case 'ecdsa-sha384': {
      // Strict DER check first: this also catches raw r‖s passed by mistake, with a clear message.
      ecdsaDerToRaw(signature, ECDSA_COMPONENT_SIZE[info.curve as keyof typeof ECDSA_COMPONENT_SIZE]);
      ok = verify(alg === 'ecdsa-sha256' ? 'sha256' : 'sha384', tbs, { key, dsaEncoding: 'der' }, signature);
      break;
    }
    case 'rsa-pkcs1-sha256':
    case 'rsa-pss-sha256': {
      const k = Math.ceil(info.bits! / 8);
      if (signature.length !== k) mismatch(`is ${signature.length} bytes, but a ${info.bits}-bit RSA signature is ${k} bytes`);
      ok =
        alg === 'rsa-pkcs1-sha256'
          ? verify('sha256', tbs, key, signature)
          : verify('sha256', tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
      break;
    }
    case 'ed25519':
      if (signature.length !== 64) mismatch(`is ${signature.length} bytes, but an Ed25519 signature is 64 bytes`);
      ok = verify(null, tbs, key, signature);
      break;
  }
  if (!ok) mismatch('does not verify against the public key');
}

/**
 * Builds and signs a PKCS#10 CSR. The signature is verified with Node's crypto before the CSR is
 * returned. Throws CustosError INVALID_INPUT for bad options and FUNCTION_FAILED when the returned
 * signature is wrong.
 */
export async function buildCsr(options: BuildCsrOptions): Promise<{ der: Buffer; pem: string }> {
  if (typeof options !== 'object' || options === null) invalidInput('No CSR options were given.', 'Pass subject, spki, signatureAlgorithm and sign.');
  const { subject, spki, signatureAlgorithm, sign, extensions } = options;
  const alg = ALGORITHMS[signatureAlgorithm];
  if (!alg) invalidInput(`"${String(signatureAlgorithm)}" is not a supported signature algorithm.`, `Use one of: ${Object.keys(ALGORITHMS).join(', ')}.`);
  if (typeof sign !== 'function') invalidInput('No sign function was given.', 'Pass a function that signs the request with the token.');

  const info = inspectSpki(spki);
  if (info.kind !== alg.kind) {
    invalidInput(`${signatureAlgorithm} needs an ${alg.kind === 'ed25519' ? 'Ed25519' : alg.kind.toUpperCase()} key, but this is an ${info.kind === 'ed25519' ? 'Ed25519' : info.kind.toUpperCase()} key.`, 'Choose the signature algorithm that matches the key.');
  }
  const name = buildName(parseSubject(subject));

  const extensionList = extensions === undefined ? [] : buildExtensions(extensions, info.kind);
  // RFC 2986 §4.1: attributes [0] IMPLICIT SET OF Attribute — present even when empty. The only
  // attribute we add is PKCS#9 extensionRequest (RFC 2985 §5.4.2, 1.2.840.113549.1.9.14).
  const attributes = extensionList.length
    ? [Buffer.from(AsnConvert.serialize(new Attribute({ type: '1.2.840.113549.1.9.14', values: [AsnConvert.serialize(new Extensions(extensionList))] })))]
    : [];

  // CertificationRequestInfo is assembled by hand around the caller's SPKI bytes, so the key in the
  // request is byte-for-byte the one that was inspected (and fingerprinted) above.
  const tbs = sequence(
    tlv(TAG.INTEGER, Buffer.from([0])), // version v1(0)
    Buffer.from(AsnConvert.serialize(name)),
    info.spki,
    tlv(0xa0, Buffer.concat(attributes)),
  );

  const signature = await sign(Buffer.from(tbs));
  if (!(signature instanceof Uint8Array) || signature.length === 0) {
    fail('FUNCTION_FAILED', 'The signer returned no signature for the certificate request.', 'Try again; if it repeats, check the token.');
  }
  const sig = Buffer.from(signature);
  checkSignature(signatureAlgorithm, info, createPublicKey({ key: info.spki, format: 'der', type: 'spki' }), tbs, sig);

  const der = sequence(tbs, alg.algId(), bitString(sig));
  return { der, pem: toPem('CERTIFICATE REQUEST', der) };
}
