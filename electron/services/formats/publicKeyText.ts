// Reading a public key that a person pasted: PEM "PUBLIC KEY" (SPKI), PEM "RSA PUBLIC KEY"
// (PKCS#1) or a JWK. Forgiving about layout, honest about everything else: private keys are refused
// outright, and each other mistake is named with what to do. Standards: RFC 7468 (PEM);
// RFC 7517/7518/8037 (JWK for RSA, EC and OKP); RFC 7515 §2 (base64url).
import { createPublicKey, type KeyObject } from 'node:crypto';
import { invalidInput } from '../../../shared/result';
import { CHECK_SOURCE, TAG, readOnly, stripLeadingZeros } from './der';
import { CURVES } from './ecParams';
import { checkRsaNumbers, describeKey, ecSpki, ed25519Spki, loadKeyObject, rsaSpki, type ParsedPublicKey } from './spki';

const PRIVATE_REFUSAL = 'this is a PRIVATE key; only public keys are accepted';
const PRIVATE_ACTION = 'Do not paste private keys anywhere. Export only the public half (for example: openssl pkey -in key.pem -pubout).';

function privateRefusal(where: string): never {
  return invalidInput(`The ${where} is not a public key: ${PRIVATE_REFUSAL}.`, PRIVATE_ACTION);
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function jwkBytes(jwk: Record<string, unknown>, member: string, expectedLength?: number): Buffer {
  const v = jwk[member];
  if (v === undefined) invalidInput(`The JWK is missing its "${member}" member.`, 'Paste the complete JWK.');
  if (typeof v !== 'string' || !B64URL.test(v) || v.length % 4 === 1) {
    invalidInput(`The JWK member "${member}" is not base64url (RFC 7515 §2: letters, digits, "-" and "_", no padding).`, CHECK_SOURCE);
  }
  const bytes = Buffer.from(v, 'base64url');
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    // RFC 7518 §6.2.1.2–3: EC coordinates are always the full field length.
    invalidInput(`The JWK member "${member}" is ${bytes.length} bytes; it must be exactly ${expectedLength}.`, CHECK_SOURCE);
  }
  return bytes;
}

export function parseJwkText(text: string): ParsedPublicKey {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return invalidInput(`The text looks like JSON but does not parse (${e instanceof Error ? e.message : String(e)}).`, 'Paste the complete JWK object.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalidInput('The JSON is not a JWK object.', 'Paste a single JWK such as {"kty":"EC",...}.');
  const jwk = value as Record<string, unknown>;
  if (Array.isArray(jwk.keys)) {
    if (jwk.keys.some((k) => typeof k === 'object' && k !== null && 'd' in k)) privateRefusal('JWK Set');
    invalidInput(`This is a JWK Set with ${jwk.keys.length} key(s).`, 'Paste the one key you mean, not the whole set.');
  }
  // RFC 7518 §6.2.2 (EC "d"), §6.3.2 (RSA "d", "p", "q", "dp", "dq", "qi", "oth"), RFC 8037 §2 (OKP "d").
  if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'].some((m) => m in jwk)) privateRefusal('JWK');
  if (jwk.kty === 'oct' || 'k' in jwk) {
    invalidInput('The JWK is a symmetric (secret) key, not a public key.', 'Never paste secret keys. Paste the public key of an asymmetric key pair.');
  }
  if (jwk.kty === undefined) invalidInput('The JWK has no "kty" member, so its key type is unknown.', 'Paste a JWK with kty EC, RSA or OKP.');

  let key: KeyObject;
  if (jwk.kty === 'EC') {
    const crv = jwk.crv;
    if (crv !== 'P-256' && crv !== 'P-384' && crv !== 'P-521') {
      invalidInput(`The JWK curve ${crv === undefined ? 'is missing' : `"${String(crv)}" is not supported`}.`, 'Use crv P-256, P-384 or P-521.');
    }
    const f = CURVES[crv].fieldBytes;
    const x = jwkBytes(jwk, 'x', f);
    const y = jwkBytes(jwk, 'y', f);
    const spki = ecSpki(crv, Buffer.concat([Buffer.from([4]), x, y]));
    key = loadKeyObject(spki, 'The JWK');
  } else if (jwk.kty === 'OKP') {
    if (jwk.crv !== 'Ed25519') {
      invalidInput(`The JWK curve ${jwk.crv === undefined ? 'is missing' : `"${String(jwk.crv)}" is not supported`}.`, 'Use crv Ed25519 (RFC 8037).');
    }
    key = loadKeyObject(ed25519Spki(jwkBytes(jwk, 'x', 32)), 'The JWK');
  } else if (jwk.kty === 'RSA') {
    const n = stripLeadingZeros(jwkBytes(jwk, 'n'));
    const e = stripLeadingZeros(jwkBytes(jwk, 'e'));
    checkRsaNumbers(n, e, 'The JWK');
    key = loadKeyObject(rsaSpki(n, e), 'The JWK');
  } else {
    return invalidInput(`The JWK key type "${String(jwk.kty)}" is not supported.`, 'Use kty EC, RSA or OKP.');
  }
  return describeKey(key, 'The JWK').info;
}

const PEM_BLOCK = /-----BEGIN ([^\r\n-]*)-----([\s\S]*?)-----END ([^\r\n-]*)-----/g;

function decodePemBody(label: string, body: string): Buffer {
  if (/^[ \t]*[A-Za-z-]+:/m.test(body)) {
    // RFC 1421 headers (Proc-Type, DEK-Info) only appear on legacy encrypted private keys.
    invalidInput(`The PEM block "${label}" has RFC 1421 headers, which public keys never have.`, 'Paste a plain "PUBLIC KEY" block.');
  }
  const b64 = body.replace(/\s+/g, '');
  if (b64.length === 0) invalidInput(`The PEM block "${label}" is empty.`, CHECK_SOURCE);
  // RFC 7468 §3: standard base64 alphabet, padding only at the end, whole quanta.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    invalidInput(`The PEM block "${label}" is not valid base64 (stray characters, bad padding, or a truncated line).`, 'Copy the whole block again, including every line.');
  }
  const der = Buffer.from(b64, 'base64');
  if (der.toString('base64') !== b64) invalidInput(`The PEM block "${label}" is not canonical base64.`, 'Copy the whole block again, including every line.');
  return der;
}

export function parsePemText(text: string): ParsedPublicKey {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const begins = (text.match(/-----BEGIN /g) ?? []).length;
  const labels = blocks.map((b) => b[1]!.trim());
  if (labels.some((l) => /PRIVATE KEY$/.test(l)) || /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) privateRefusal('PEM block');
  if (begins === 0) invalidInput('No PEM block was found.', 'Paste a key that starts with -----BEGIN PUBLIC KEY-----, or a JWK.');
  if (blocks.length !== begins) invalidInput('A PEM block is not closed with a matching -----END ...----- line.', 'Copy the whole block again, including the END line.');
  if (blocks.length > 1) invalidInput(`The text holds ${blocks.length} PEM blocks (${labels.join(', ')}).`, 'Paste exactly one public key.');
  const block = blocks[0]!;
  const label = labels[0]!;
  if (label !== block[3]!.trim()) invalidInput(`The PEM block begins as "${label}" but ends as "${block[3]!.trim()}".`, 'Copy the whole block again.');

  if (label === 'CERTIFICATE' || label === 'TRUSTED CERTIFICATE' || label === 'X509 CERTIFICATE') {
    invalidInput('This is a certificate, not a bare public key.', 'Extract its public key first: openssl x509 -in cert.pem -pubkey -noout');
  }
  if (label === 'CERTIFICATE REQUEST' || label === 'NEW CERTIFICATE REQUEST') {
    invalidInput('This is a certificate signing request, not a bare public key.', 'Extract its public key first: openssl req -in req.pem -pubkey -noout');
  }
  if (label !== 'PUBLIC KEY' && label !== 'RSA PUBLIC KEY') {
    invalidInput(`The PEM label "${label}" is not a public key.`, 'Paste a "PUBLIC KEY" (SPKI) or "RSA PUBLIC KEY" (PKCS#1) block.');
  }
  const der = decodePemBody(label, block[2]!);
  const what = label === 'PUBLIC KEY' ? 'The PUBLIC KEY block' : 'The RSA PUBLIC KEY block';
  // Strict outer structure first, so trailing junk inside the base64 is reported rather than ignored.
  readOnly(der, TAG.SEQUENCE, what);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: label === 'PUBLIC KEY' ? 'spki' : 'pkcs1' });
  } catch (e) {
    return invalidInput(`${what} does not hold a valid key (${e instanceof Error ? e.message : String(e)}).`, 'Check that the block was copied completely and has the right label.');
  }
  return describeKey(key, what).info;
}
