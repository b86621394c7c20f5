// The bad-input table (issue #11): what a custodian or a script may get wrong on the command line,
// each case with the error code and exit status docs/CLI.md promises. Every case runs the built CLI
// (`node dist/cli.cjs --json …`) against one fixture, in parallel batches; every one must come back
// typed (never INTERNAL), print no stack trace, and change nothing (the token's keys, the archive
// and every file are digested before and after). Over 400 lines: it is the table itself.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../shared/result';
import { inBatches, makeFixture, runCli, SO_PIN, USER_PIN, type Fixture, type Run } from './cli-badinput-helpers';

interface Case {
  id: string;
  args: string[];
  code: ErrorCode;
  exit: number;
  /** The command logs in to the fixture token (--module, --token, --pin-file are added). */
  hsm?: boolean;
  stdin?: string | Buffer;
  /**
   * Runs after the parallel batches, alone. A wrong PIN makes SoftHSM rewrite its token file (it
   * sets CKF_USER_PIN_COUNT_LOW, and clears it at the next good login); a process listing the slots
   * at that moment may see no token at all. Real tokens keep their counters inside the device.
   */
  alone?: boolean;
}

let f: Fixture;
let before: string[];

const USAGE = 2;
const FAILED = 1;
const MODULE = 3;
const TOKEN = 4;
const AUTH = 5;
const SHARE = 7;
const QUORUM = 8;
const CHECK = 9;
const CEREMONY_STATE = 11;

function cases(): Case[] {
  const p = f.file;
  const a = ['--archive', f.archive];
  const [m1, m2, m3] = f.mnemonics as [string, string, string];
  const noDir = p('no-such-folder');
  const c = (id: string, args: string[], code: ErrorCode, exit: number, more: Partial<Case> = {}): Case => ({ id, args, code, exit, ...more });
  const h = (id: string, args: string[], code: ErrorCode, exit: number, more: Partial<Case> = {}): Case => c(id, args, code, exit, { hsm: true, ...more });
  const withPin = (pin: string) => ['--module', f.hsm[1]!, '--token', 'BadIn', '--pin-file', pin];

  return [
    // ---- the command line itself
    c('unknown command', ['frobnicate'], 'INVALID_INPUT', USAGE),
    c('unknown option', ['tokens', '--frobnicate'], 'INVALID_INPUT', USAGE),
    c('a secret typed as an option', ['login', '--pin=123456'], 'INVALID_INPUT', USAGE),
    c('missing option value', ['key', 'show', '--key'], 'INVALID_INPUT', USAGE),
    c('missing mandatory option', ['sign', '--mechanism', 'ecdsa-sha256'], 'INVALID_INPUT', USAGE),
    c('value outside the choices', ['key', 'generate', '--type', 'aes-999', '--label', 'x'], 'INVALID_INPUT', USAGE),

    // ---- modules and tokens
    c('module that does not exist', ['tokens', '--module', p('no.so')], 'MODULE_NOT_FOUND', MODULE),
    c('module that is not a library', ['tokens', '--module', p('notes.txt')], 'MODULE_INVALID', MODULE),
    c('module that is a folder', ['tokens', '--module', p('folder')], 'MODULE_INVALID', MODULE),
    c('module that is not PKCS#11', ['tokens', '--module', '/usr/lib/x86_64-linux-gnu/libz.so.1'], 'MODULE_INVALID', MODULE),
    c('no module configured', ['tokens', '--data-dir', p('empty-data')], 'MODULE_NOT_CONFIGURED', MODULE),
    c('data folder that is a file', ['tokens', '--data-dir', p('notes.txt')], 'INVALID_INPUT', USAGE),
    c('data folder that is a file, for the archive', ['archive', 'search', ...a, '--data-dir', p('notes.txt')], 'INVALID_INPUT', USAGE),
    c('data folder that cannot be made', ['key', 'list', ...withPin(p('pin')), '--data-dir', `${p('notes.txt')}/data`], 'INVALID_INPUT', USAGE),
    c('no token named', ['login', '--module', f.hsm[1]!, '--pin-file', p('pin')], 'INVALID_INPUT', USAGE),
    c('token not present', ['login', '--module', f.hsm[1]!, '--token', 'Nope', '--pin-file', p('pin')], 'TOKEN_NOT_FOUND', TOKEN),
    c('token URI with bad percent-encoding', ['login', '--module', f.hsm[1]!, '--token', 'pkcs11:token=%ZZ', '--pin-file', p('pin')], 'INVALID_INPUT', USAGE),
    c('token URI with an unknown attribute', ['login', '--module', f.hsm[1]!, '--token', 'pkcs11:foo=bar', '--pin-file', p('pin')], 'INVALID_INPUT', USAGE),
    c('token URI with an attribute twice', ['login', '--module', f.hsm[1]!, '--token', 'pkcs11:token=BadIn;token=BadIn', '--pin-file', p('pin')], 'INVALID_INPUT', USAGE),
    c('token URI without a value', ['login', '--module', f.hsm[1]!, '--token', 'pkcs11:token', '--pin-file', p('pin')], 'INVALID_INPUT', USAGE),
    c('token URI that is not UTF-8', ['login', '--module', f.hsm[1]!, '--token', 'pkcs11:token=%C3%28', '--pin-file', p('pin')], 'INVALID_INPUT', USAGE),
    c('token URI on key list', ['key', 'list', '--module', f.hsm[1]!, '--token', 'pkcs11:serial=%Z1', '--pin-file', p('pin')], 'INVALID_INPUT', USAGE),
    c('token caps of a missing token', ['token', 'caps', '--module', f.hsm[1]!, '--token', 'Nope', '--pin-file', p('pin')], 'TOKEN_NOT_FOUND', TOKEN),

    // ---- PINs: files, stdin, lengths (a PIN of the wrong length never reaches C_Login)
    c('PIN file missing', ['login', ...withPin(p('no-pin'))], 'INVALID_INPUT', USAGE),
    c('PIN file is a folder', ['login', ...withPin(p('folder'))], 'INVALID_INPUT', USAGE),
    c('PIN file is /dev/zero', ['login', ...withPin('/dev/zero')], 'INVALID_INPUT', USAGE),
    c('PIN file empty', ['login', ...withPin(p('pin-empty'))], 'INVALID_INPUT', USAGE),
    c('PIN wrong', ['login', ...withPin(p('pin-wrong'))], 'PIN_INCORRECT', AUTH, { alone: true }),
    c('PIN too short for the token', ['login', ...withPin(p('pin-short'))], 'PIN_LEN_RANGE', AUTH),
    c('PIN too long for the token', ['login', ...withPin(p('pin-long'))], 'PIN_LEN_RANGE', AUTH),
    c('SO PIN too short', ['login', '--so', ...withPin(p('pin-short'))], 'PIN_LEN_RANGE', AUTH),
    c('PIN on stdin too short', ['login', '--module', f.hsm[1]!, '--token', 'BadIn'], 'PIN_LEN_RANGE', AUTH, { stdin: '12\n' }),
    c('PIN on stdin endless', ['login', '--module', f.hsm[1]!, '--token', 'BadIn'], 'INVALID_INPUT', USAGE, { stdin: Buffer.alloc(1 << 20, 0x37) }),
    c('PIN on stdin empty', ['login', '--module', f.hsm[1]!, '--token', 'BadIn'], 'INVALID_INPUT', USAGE),
    c('PIN too short for a key command', ['key', 'list', ...withPin(p('pin-short'))], 'PIN_LEN_RANGE', AUTH),
    c('PIN too long for an archive write', ['archive', 'add', ...a, '--key', 'dek', ...withPin(p('pin-long'))], 'PIN_LEN_RANGE', AUTH),
    h('new PIN too short', ['token', 'change-pin', '--new-pin-file', p('pin-new-short')], 'PIN_LEN_RANGE', AUTH),
    h('new PIN file /dev/zero', ['token', 'change-pin', '--new-pin-file', '/dev/zero'], 'INVALID_INPUT', USAGE),
    h('new PIN file missing', ['token', 'change-pin', '--new-pin-file', p('no-pin')], 'INVALID_INPUT', USAGE),
    c('current PIN too short for change-pin', ['token', 'change-pin', ...withPin(p('pin-short')), '--new-pin-file', p('pin')], 'PIN_LEN_RANGE', AUTH),

    // ---- keys
    h('key not on the token', ['key', 'show', '--key', 'nope'], 'OBJECT_NOT_FOUND', TOKEN),
    h('key URI with bad percent-encoding', ['key', 'show', '--key', 'pkcs11:object=%ZZ'], 'INVALID_INPUT', USAGE),
    h('key URI with an unknown attribute', ['key', 'show', '--key', 'pkcs11:foo=bar'], 'INVALID_INPUT', USAGE),
    h('key URI of a certificate', ['key', 'show', '--key', 'pkcs11:object=x;type=cert'], 'INVALID_INPUT', USAGE),
    h('key URI naming no object', ['key', 'show', '--key', 'pkcs11:type=secret-key'], 'INVALID_INPUT', USAGE),
    h('key named by an empty label', ['key', 'show', '--key', ''], 'INVALID_INPUT', USAGE),
    h('generate: label taken', ['key', 'generate', '--type', 'aes-256', '--label', 'dek'], 'INVALID_INPUT', USAGE),
    h('generate: usage the type cannot have', ['key', 'generate', '--type', 'ec-p256', '--label', 'n1', '--usage', 'encrypt'], 'INVALID_INPUT', USAGE),
    h('generate: usage that does not exist', ['key', 'generate', '--type', 'aes-256', '--label', 'n2', '--usage', 'frobnicate'], 'INVALID_INPUT', USAGE),
    h('generate: empty label', ['key', 'generate', '--type', 'aes-256', '--label', ''], 'INVALID_INPUT', USAGE),
    h('generate: no label', ['key', 'generate', '--type', 'aes-256'], 'INVALID_INPUT', USAGE),
    h('export-public of a secret key', ['key', 'export-public', '--key', 'dek'], 'KEY_TYPE_MISMATCH', FAILED),
    h('export-public in an unknown format', ['key', 'export-public', '--key', 'ec', '--format', 'xml'], 'INVALID_INPUT', USAGE),
    h('export-public into a missing folder', ['key', 'export-public', '--key', 'ec', '--out', `${noDir}/ec.pem`], 'INVALID_INPUT', USAGE),
    h('export-public onto a folder', ['key', 'export-public', '--key', 'ec', '--out', p('folder')], 'INVALID_INPUT', USAGE),
    h('import-public: file missing', ['key', 'import-public', '--file', p('no.pem'), '--label', 'n3'], 'INVALID_INPUT', USAGE),
    h('import-public: a folder', ['key', 'import-public', '--file', p('folder'), '--label', 'n4'], 'INVALID_INPUT', USAGE),
    h('import-public: /dev/zero', ['key', 'import-public', '--file', '/dev/zero', '--label', 'n5'], 'INVALID_INPUT', USAGE),
    h('import-public: brainpool', ['key', 'import-public', '--file', p('brainpool.pem'), '--label', 'n6', '--usage', 'sign'], 'INVALID_INPUT', USAGE),
    h('import-public: secp256k1', ['key', 'import-public', '--file', p('secp256k1.pem'), '--label', 'n7', '--usage', 'sign'], 'INVALID_INPUT', USAGE),
    h('import-public: X25519', ['key', 'import-public', '--file', p('x25519.pem'), '--label', 'n8', '--usage', 'sign'], 'INVALID_INPUT', USAGE),
    h('import-public: Ed448', ['key', 'import-public', '--file', p('ed448.pem'), '--label', 'n9', '--usage', 'sign'], 'INVALID_INPUT', USAGE),
    h('import-public: DSA', ['key', 'import-public', '--file', p('dsa.pem'), '--label', 'n10', '--usage', 'sign'], 'INVALID_INPUT', USAGE),
    h('import-public: RSA-512', ['key', 'import-public', '--file', p('rsa512.pem'), '--label', 'n11', '--usage', 'sign'], 'INVALID_INPUT', USAGE),
    h('import-public: a private key', ['key', 'import-public', '--file', p('private.pem'), '--label', 'n12'], 'INVALID_INPUT', USAGE),
    h('import-public: a private JWK', ['key', 'import-public', '--file', p('ec-private.jwk'), '--label', 'n13'], 'INVALID_INPUT', USAGE),
    h('import-public: a secret JWK', ['key', 'import-public', '--file', p('oct.jwk'), '--label', 'n14'], 'INVALID_INPUT', USAGE),
    h('import-public: not a key', ['key', 'import-public', '--file', p('notes.txt'), '--label', 'n15'], 'INVALID_INPUT', USAGE),
    h('import-public: RSA-1024 to wrap', ['key', 'import-public', '--file', p('rsa1024.pem'), '--label', 'n16'], 'WRAPPING_KEY_TOO_WEAK', FAILED),
    h('import-public: RSA-1024 to encrypt', ['key', 'import-public', '--file', p('rsa1024.pem'), '--label', 'n17', '--usage', 'encrypt'], 'WRAPPING_KEY_TOO_WEAK', FAILED),
    h('import-public: EC key to wrap', ['key', 'import-public', '--file', p('p256.pem'), '--label', 'n18', '--usage', 'wrap'], 'INVALID_INPUT', USAGE),
    h('import-public: unknown usage', ['key', 'import-public', '--file', p('rsa2048.pem'), '--label', 'n19', '--usage', 'frobnicate'], 'INVALID_INPUT', USAGE),
    h('import-public: label taken', ['key', 'import-public', '--file', p('rsa2048.pem'), '--label', 'kms2048'], 'INVALID_INPUT', USAGE),
    h('csr for a secret key', ['key', 'csr', '--key', 'dek', '--subject', 'CN=x'], 'KEY_TYPE_MISMATCH', FAILED),
    h('csr with a malformed subject', ['key', 'csr', '--key', 'ec', '--subject', 'garbage'], 'INVALID_INPUT', USAGE),
    h('csr with an empty subject', ['key', 'csr', '--key', 'ec', '--subject', ''], 'INVALID_INPUT', USAGE),
    h('csr into a missing folder', ['key', 'csr', '--key', 'ec', '--subject', 'CN=x', '--out', `${noDir}/x.csr`], 'INVALID_INPUT', USAGE),
    h('relabel a missing key', ['key', 'relabel', '--key', 'nope', '--label', 'n20'], 'OBJECT_NOT_FOUND', TOKEN),
    h('relabel onto a label taken', ['key', 'relabel', '--key', 'dek', '--label', 'ec'], 'INVALID_INPUT', USAGE),
    h('destroy with the wrong confirmation', ['key', 'destroy', '--key', 'dek', '--confirm', 'DEK'], 'INVALID_INPUT', USAGE),
    h('destroy a missing key', ['key', 'destroy', '--key', 'nope', '--confirm', 'nope'], 'OBJECT_NOT_FOUND', TOKEN),
    h('copy a key pair', ['key', 'copy', '--key', 'rsa', '--to-token', 'BadIn', '--to-pin-file', p('pin')], 'MECHANISM_UNSUPPORTED', FAILED),
    h('copy to a missing token', ['key', 'copy', '--key', 'dek', '--to-token', 'Nope', '--to-pin-file', p('pin')], 'TOKEN_NOT_FOUND', TOKEN),
    h('copy a non-extractable key', ['key', 'copy', '--key', 'fixed', '--to-token', 'BadIn', '--to-pin-file', p('pin')], 'KEY_NOT_EXTRACTABLE', FAILED),

    // ---- operations
    h('sign: unknown mechanism', ['sign', '--key', 'ec', '--mechanism', 'md5', '--in', p('data.bin')], 'INVALID_INPUT', USAGE),
    h('sign: input missing', ['sign', '--key', 'ec', '--mechanism', 'ecdsa-sha256', '--in', p('no.bin')], 'INVALID_INPUT', USAGE),
    h('sign: input is a folder', ['sign', '--key', 'ec', '--mechanism', 'ecdsa-sha256', '--in', p('folder')], 'INVALID_INPUT', USAGE),
    h('sign: input is /dev/zero', ['sign', '--key', 'ec', '--mechanism', 'ecdsa-sha256', '--in', '/dev/zero'], 'INVALID_INPUT', USAGE),
    h('sign: missing key', ['sign', '--key', 'nope', '--mechanism', 'ecdsa-sha256', '--in', p('data.bin')], 'OBJECT_NOT_FOUND', TOKEN),
    h('sign: ECDSA with an AES key', ['sign', '--key', 'dek', '--mechanism', 'ecdsa-sha256', '--in', p('data.bin')], 'KEY_TYPE_MISMATCH', FAILED),
    h('sign: output into a missing folder', ['sign', '--key', 'ec', '--mechanism', 'ecdsa-sha256', '--in', p('data.bin'), '--out', `${noDir}/s`], 'INVALID_INPUT', USAGE),
    h('sign: unknown signature format', ['sign', '--key', 'ec', '--mechanism', 'ecdsa-sha256', '--in', p('data.bin'), '--format', 'pem'], 'INVALID_INPUT', USAGE),
    c('sign: data and PIN both on stdin', ['sign', '--module', f.hsm[1]!, '--token', 'BadIn', '--key', 'ec', '--mechanism', 'ecdsa-sha256'], 'INVALID_INPUT', USAGE, { stdin: 'data' }),
    h('verify: signature file missing', ['verify', '--key', 'ec', '--mechanism', 'ecdsa-sha256', '--signature', p('no.sig'), '--in', p('data.bin')], 'INVALID_INPUT', USAGE),
    h('verify: signature is a folder', ['verify', '--key', 'ec', '--mechanism', 'ecdsa-sha256', '--signature', p('folder'), '--in', p('data.bin')], 'INVALID_INPUT', USAGE),
    h('verify: signature of random bytes', ['verify', '--key', 'ec', '--mechanism', 'ecdsa-sha256', '--signature', p('short.bin'), '--in', p('data.bin')], 'SIGNATURE_INVALID', FAILED),
    h('verify: malformed DER signature', ['verify', '--key', 'ec', '--mechanism', 'ecdsa-sha256', '--signature', p('bad-der.sig'), '--in', p('data.bin')], 'SIGNATURE_INVALID', FAILED),
    h('hmac: unknown hash', ['hmac', '--key', 'dek', '--hash', 'md5', '--in', p('data.bin')], 'INVALID_INPUT', USAGE),
    h('hmac: with an EC key', ['hmac', '--key', 'ec', '--in', p('data.bin')], 'KEY_TYPE_MISMATCH', FAILED),
    h('encrypt: AES-GCM with an EC key', ['encrypt', '--key', 'ec', '--in', p('data.bin'), '--out', p('out-ct0')], 'KEY_TYPE_MISMATCH', FAILED),
    h('encrypt: AAD file missing', ['encrypt', '--key', 'dek', '--in', p('data.bin'), '--out', p('out-ct'), '--aad-file', p('no.aad')], 'INVALID_INPUT', USAGE),
    h('encrypt: output into a missing folder', ['encrypt', '--key', 'dek', '--in', p('data.bin'), '--out', `${noDir}/ct`], 'INVALID_INPUT', USAGE),
    h('encrypt: no output', ['encrypt', '--key', 'dek', '--in', p('data.bin')], 'INVALID_INPUT', USAGE),
    h('decrypt: too short for AES-GCM', ['decrypt', '--key', 'dek', '--in', p('short.bin'), '--out', p('out-pt1')], 'DATA_INVALID', FAILED),
    h('decrypt: not our ciphertext', ['decrypt', '--key', 'dek', '--in', p('garbage.bin'), '--out', p('out-pt2')], 'DECRYPTION_FAILED', FAILED),
    h('decrypt: OAEP of random bytes', ['decrypt', '--key', 'rsa', '--mechanism', 'rsa-oaep-sha1', '--in', p('garbage.bin'), '--out', p('out-pt3')], 'DECRYPTION_FAILED', FAILED),
    h('random: zero bytes', ['random', '--bytes', '0'], 'INVALID_INPUT', USAGE),
    h('random: not a number', ['random', '--bytes', 'abc'], 'INVALID_INPUT', USAGE),
    h('random: too many', ['random', '--bytes', '65537'], 'INVALID_INPUT', USAGE),
    h('random: exponent notation', ['random', '--bytes', '1e3'], 'INVALID_INPUT', USAGE),
    h('random: hexadecimal', ['random', '--bytes', '0x10'], 'INVALID_INPUT', USAGE),
    h('random: a fraction', ['random', '--bytes', '12.5'], 'INVALID_INPUT', USAGE),
    h('random: negative', ['random', '--bytes=-5'], 'INVALID_INPUT', USAGE),
    h('random: output into a missing folder', ['random', '--bytes', '16', '--out', `${noDir}/r`], 'INVALID_INPUT', USAGE),
    h('wrap: AES-256 under RSA-2048', ['wrap', '--key', 'dek', '--wrapping-key', 'kms2048', '--mechanism', 'rsa-aes-kwp-sha1', '--out', p('out-w1')], 'WRAPPING_KEY_TOO_WEAK', FAILED),
    h('wrap: AES-256 under RSA-2048 OAEP', ['wrap', '--key', 'dek', '--wrapping-key', 'kms2048', '--mechanism', 'rsa-oaep-sha1', '--out', p('out-w2')], 'WRAPPING_KEY_TOO_WEAK', FAILED),
    h('wrap: AES-256 under AES-128', ['wrap', '--key', 'dek', '--wrapping-key', 'kek128', '--mechanism', 'aes-kwp', '--out', p('out-w3')], 'WRAPPING_KEY_TOO_WEAK', FAILED),
    h('wrap: AES-256 under TDES', ['wrap', '--key', 'dek', '--wrapping-key', 'tdes', '--mechanism', 'aes-kw', '--out', p('out-w4')], 'KEY_TYPE_MISMATCH', FAILED),
    h('wrap: under RSA-1024, even when told weaker is fine', ['wrap', '--key', 'kek128', '--wrapping-key', 'old1024', '--mechanism', 'rsa-oaep-sha1', '--out', p('out-w5'), '--allow-weaker-wrapping-key'], 'WRAPPING_KEY_TOO_WEAK', FAILED),
    h('wrap: RSA with an AES mechanism', ['wrap', '--key', 'dek', '--wrapping-key', 'kms2048', '--mechanism', 'aes-kwp', '--out', p('out-w6')], 'KEY_TYPE_MISMATCH', FAILED),
    h('wrap: under an EC key', ['wrap', '--key', 'kek128', '--wrapping-key', 'ec', '--mechanism', 'rsa-oaep-sha1', '--out', p('out-w7')], 'KEY_TYPE_MISMATCH', FAILED),
    h('wrap: a non-extractable key', ['wrap', '--key', 'fixed', '--wrapping-key', 'kek256', '--mechanism', 'aes-kwp', '--out', p('out-w8')], 'KEY_NOT_EXTRACTABLE', FAILED),
    h('wrap: a private key with AES-KWP where the token pads wrongly', ['wrap', '--key', 'rsa', '--wrapping-key', 'kek256', '--mechanism', 'aes-kwp', '--out', p('out-w9')], 'WRAP_MECHANISM_UNTRUSTED', FAILED),
    h('wrap: missing wrapping key', ['wrap', '--key', 'dek', '--wrapping-key', 'nope', '--mechanism', 'aes-kwp', '--out', p('out-w10')], 'OBJECT_NOT_FOUND', TOKEN),
    h('wrap: unknown mechanism', ['wrap', '--key', 'dek', '--wrapping-key', 'kek256', '--mechanism', 'des-cbc', '--out', p('out-w11')], 'INVALID_INPUT', USAGE),
    h('wrap: output into a missing folder', ['wrap', '--key', 'kek128', '--wrapping-key', 'kek256', '--mechanism', 'aes-kwp', '--out', `${noDir}/w`], 'INVALID_INPUT', USAGE),
    h('unwrap: input missing', ['unwrap', '--wrapping-key', 'kek256', '--mechanism', 'aes-kwp', '--in', p('no.bin'), '--type', 'aes-256', '--label', 'n21'], 'INVALID_INPUT', USAGE),
    h('unwrap: random bytes', ['unwrap', '--wrapping-key', 'kek256', '--mechanism', 'aes-kwp', '--in', p('garbage.bin'), '--type', 'aes-256', '--label', 'n22'], 'WRAPPED_KEY_INVALID', FAILED),
    h('unwrap: usage the type cannot have', ['unwrap', '--wrapping-key', 'kek256', '--mechanism', 'aes-kwp', '--in', p('garbage.bin'), '--type', 'ec-p256', '--label', 'n23', '--usage', 'encrypt'], 'INVALID_INPUT', USAGE),
    h('unwrap: label taken', ['unwrap', '--wrapping-key', 'kek256', '--mechanism', 'aes-kwp', '--in', p('garbage.bin'), '--type', 'aes-256', '--label', 'dek'], 'INVALID_INPUT', USAGE),
    h('unwrap: input is /dev/zero', ['unwrap', '--wrapping-key', 'kek256', '--mechanism', 'aes-kwp', '--in', '/dev/zero', '--type', 'aes-256', '--label', 'n24'], 'INVALID_INPUT', USAGE),

    // ---- SLIP-39 shares
    c('split: threshold 0', ['shares', 'split', '--threshold', '0', '--shares', '3', '--secret-file', p('secret.hex')], 'INVALID_INPUT', USAGE),
    c('split: threshold above the count', ['shares', 'split', '--threshold', '3', '--shares', '2', '--secret-file', p('secret.hex')], 'INVALID_INPUT', USAGE),
    c('split: 17 shares', ['shares', 'split', '--threshold', '2', '--shares', '17', '--secret-file', p('secret.hex')], 'INVALID_INPUT', USAGE),
    c('split: threshold not a number', ['shares', 'split', '--threshold', 'two', '--shares', '3', '--secret-file', p('secret.hex')], 'INVALID_INPUT', USAGE),
    c('split: malformed groups', ['shares', 'split', '--groups', '2 of 3', '--secret-file', p('secret.hex')], 'INVALID_INPUT', USAGE),
    c('split: more groups needed than given', ['shares', 'split', '--groups', '3:2/3,1/1', '--secret-file', p('secret.hex')], 'INVALID_INPUT', USAGE),
    c('split: groups and threshold together', ['shares', 'split', '--groups', '1:2/3', '--threshold', '2', '--secret-file', p('secret.hex')], 'INVALID_INPUT', USAGE),
    c('split: no layout', ['shares', 'split', '--secret-file', p('secret.hex')], 'INVALID_INPUT', USAGE),
    c('split: secret file missing', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('no.hex')], 'INVALID_INPUT', USAGE),
    c('split: secret file /dev/zero', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', '/dev/zero'], 'INVALID_INPUT', USAGE),
    c('split: secret of 15 bytes', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret-15.hex')], 'INVALID_INPUT', USAGE),
    c('split: odd number of hex digits', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret-odd.hex'), '--encoding', 'hex'], 'INVALID_INPUT', USAGE),
    c('split: not hexadecimal', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret-nothex.txt'), '--encoding', 'hex'], 'INVALID_INPUT', USAGE),
    c('split: secret on stdin endless', ['shares', 'split', '--threshold', '2', '--shares', '3'], 'INVALID_INPUT', USAGE, { stdin: Buffer.alloc(2 << 20, 0x61) }),
    c('split: holders do not match the shares', ['shares', 'split', '--threshold', '2', '--shares', '3', '--holders', 'Ann,Ben', '--secret-file', p('secret.hex')], 'INVALID_INPUT', USAGE),
    c('split: record into a missing folder', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--record-out', `${noDir}/r.json`], 'INVALID_INPUT', USAGE),
    c('split: record over an existing file', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--record-out', f.record], 'FILE_EXISTS', USAGE),
    c('split: sheets folder is a file', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--sheets-dir', p('notes.txt')], 'INVALID_INPUT', USAGE),
    c('split: date not a date', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--date', 'yesterday'], 'INVALID_INPUT', USAGE),
    c('split: 31 February', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--date', '2026-02-31'], 'INVALID_INPUT', USAGE),
    c('split: a bare number as date', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--date', '1'], 'INVALID_INPUT', USAGE),
    c('split: iteration exponent 16', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--iteration-exponent', '16'], 'INVALID_INPUT', USAGE),
    c('split: iteration exponent negative', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--iteration-exponent=-1'], 'INVALID_INPUT', USAGE),
    c('split: passphrase file missing', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--passphrase-file', p('no-pass')], 'INVALID_INPUT', USAGE),
    c('split: passphrase file /dev/zero', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--passphrase-file', '/dev/zero'], 'INVALID_INPUT', USAGE),
    c('split: passphrase file with an empty line', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--passphrase-file', p('pass-empty')], 'INVALID_INPUT', USAGE),
    c('split: unknown encoding', ['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', p('secret.hex'), '--encoding', 'base64'], 'INVALID_INPUT', USAGE),
    c('combine: no shares', ['shares', 'combine'], 'QUORUM_NOT_MET', QUORUM),
    c('combine: words that are not SLIP-39', ['shares', 'combine'], 'SHARE_UNKNOWN_WORD', SHARE, { stdin: 'correct horse battery staple\n' }),
    c('combine: one share of two', ['shares', 'combine'], 'QUORUM_NOT_MET', QUORUM, { stdin: `${m1}\n` }),
    c('combine: a word changed', ['shares', 'combine'], 'SHARE_CHECKSUM', SHARE, { stdin: `${swapWord(m1)}\n${m2}\n` }),
    c('combine: the same share twice', ['shares', 'combine'], 'SHARE_DUPLICATE', SHARE, { stdin: `${m1}\n${m1}\n` }),
    c('combine: shares of two sets', ['shares', 'combine'], 'SHARE_SET_MISMATCH', SHARE, { stdin: `${m1}\n${f.otherMnemonic}\n` }),
    c('combine: a word missing', ['shares', 'combine'], 'SHARE_WORD_COUNT', SHARE, { stdin: `${m1.split(' ').slice(1).join(' ')}\n${m2}\n` }),
    c('combine: numbered and unnumbered words', ['shares', 'combine'], 'INVALID_INPUT', USAGE, { stdin: `1. ${m1}\n` }),
    c('combine: stdin endless', ['shares', 'combine'], 'INVALID_INPUT', USAGE, { stdin: Buffer.alloc(3 << 20, 0x61) }),
    c('combine: record missing', ['shares', 'combine', '--record', p('no.json')], 'INVALID_INPUT', USAGE, { stdin: `${m1}\n${m2}\n` }),
    c('combine: record not a record', ['shares', 'combine', '--record', p('garbage.json')], 'RECORD_INVALID', SHARE, { stdin: `${m1}\n${m2}\n` }),
    c('combine: record not JSON', ['shares', 'combine', '--record', p('not-json.txt')], 'RECORD_INVALID', SHARE, { stdin: `${m1}\n${m2}\n` }),
    c('combine: record /dev/zero', ['shares', 'combine', '--record', '/dev/zero'], 'INVALID_INPUT', USAGE, { stdin: `${m1}\n${m2}\n` }),
    c('combine: shares of another record', ['shares', 'combine', '--record', f.otherRecord], 'SHARE_SET_MISMATCH', SHARE, { stdin: `${m1}\n${m2}\n` }),
    c('combine: sealed share without a record', ['shares', 'combine', '--sealed', p('sealed-garbage.json')], 'INVALID_INPUT', USAGE, { stdin: `${m1}\n` }),
    c('combine: passphrase file /dev/zero', ['shares', 'combine', '--passphrase-file', '/dev/zero'], 'INVALID_INPUT', USAGE, { stdin: `${m1}\n${m2}\n` }),
    c('verify: a share of another set', ['shares', 'verify', '--record', f.record], 'SHARE_SET_MISMATCH', SHARE, { stdin: `${f.otherMnemonic}\n` }),
    c('verify: another holder', ['shares', 'verify', '--record', f.record, '--holder', 'Ann'], 'SHARE_WRONG_HOLDER', SHARE, { stdin: `${m3}\n` }),
    c('verify: no share', ['shares', 'verify', '--record', f.record], 'SHARE_WORD_COUNT', SHARE),
    c('verify: too few words', ['shares', 'verify', '--record', f.record], 'SHARE_WORD_COUNT', SHARE, { stdin: 'academic acid\n' }),
    c('verify: record is a folder', ['shares', 'verify', '--record', p('folder')], 'INVALID_INPUT', USAGE, { stdin: `${m1}\n` }),
    c('sheet: over an existing file', ['shares', 'sheet', '--record', f.record, '--out', p('notes.txt')], 'FILE_EXISTS', USAGE, { stdin: `${m1}\n` }),
    c('sheet: into a missing folder', ['shares', 'sheet', '--record', f.record, '--out', `${noDir}/s.pdf`], 'INVALID_INPUT', USAGE, { stdin: `${m1}\n` }),
    c('seal: to a key and a public key', ['shares', 'seal', '--record', f.record, '--holder', 'Ann', '--out', p('out-s1'), '--to-key', 'x', '--to-public-key', p('rsa2048.pem')], 'INVALID_INPUT', USAGE, { stdin: `${m1}\n` }),
    c('seal: to a DSA key', ['shares', 'seal', '--record', f.record, '--holder', 'Ann', '--out', p('out-s2'), '--to-public-key', p('dsa.pem')], 'INVALID_INPUT', USAGE, { stdin: `${m1}\n` }),
    c('seal: to a brainpool key', ['shares', 'seal', '--record', f.record, '--holder', 'Ann', '--out', p('out-s3'), '--to-public-key', p('brainpool.pem')], 'INVALID_INPUT', USAGE, { stdin: `${m1}\n` }),
    c('seal: to an RSA-1024 key', ['shares', 'seal', '--record', f.record, '--holder', 'Ann', '--out', p('out-s5'), '--to-public-key', p('rsa1024.pem')], 'KEY_SIZE_UNSUPPORTED', FAILED, { stdin: `${m1}\n` }),
    c('seal: the wrong holder', ['shares', 'seal', '--record', f.record, '--holder', 'Ben', '--out', p('out-s4'), '--to-public-key', p('rsa2048.pem')], 'SHARE_WRONG_HOLDER', SHARE, { stdin: `${m1}\n` }),
    c('seal: into a missing folder', ['shares', 'seal', '--record', f.record, '--holder', 'Ann', '--out', `${noDir}/s.json`, '--to-public-key', p('rsa2048.pem')], 'INVALID_INPUT', USAGE, { stdin: `${m1}\n` }),
    c('unseal: envelope missing', ['shares', 'unseal', '--in', p('no.json'), '--record', f.record], 'INVALID_INPUT', USAGE),
    c('unseal: not an envelope', ['shares', 'unseal', '--in', p('sealed-garbage.json'), '--record', f.record], 'SEALED_SHARE_INVALID', SHARE),

    // ---- XOR components
    c('components: one', ['components', 'split', '--count', '1', '--key-file', p('key-16.hex'), '--algorithm', 'aes'], 'INVALID_INPUT', USAGE),
    c('components: ten', ['components', 'split', '--count', '10', '--key-file', p('key-16.hex'), '--algorithm', 'aes'], 'INVALID_INPUT', USAGE),
    c('components: key file missing', ['components', 'split', '--count', '2', '--key-file', p('no.hex'), '--algorithm', 'aes'], 'INVALID_INPUT', USAGE),
    c('components: key file /dev/zero', ['components', 'split', '--count', '2', '--key-file', '/dev/zero', '--algorithm', 'aes'], 'INVALID_INPUT', USAGE),
    c('components: all-zero key', ['components', 'split', '--count', '2', '--key-file', p('key-zero.hex'), '--algorithm', 'aes'], 'INVALID_INPUT', USAGE),
    c('components: 16 bytes, algorithm not said', ['components', 'split', '--count', '2', '--key-file', p('key-16.hex')], 'INVALID_INPUT', USAGE),
    c('components: unknown algorithm', ['components', 'split', '--count', '2', '--key-file', p('key-16.hex'), '--algorithm', 'des'], 'INVALID_INPUT', USAGE),
    c('combine components: one of two', ['components', 'combine', '--count', '2', '--algorithm', 'aes'], 'QUORUM_NOT_MET', QUORUM, { stdin: `${f.components.hex[0]}\n` }),
    c('combine components: not hexadecimal', ['components', 'combine', '--count', '2', '--algorithm', 'aes'], 'COMPONENT_INVALID', SHARE, { stdin: `${f.components.hex[0]}\nxyz\n` }),
    c('combine components: one entered twice', ['components', 'combine', '--count', '2', '--algorithm', 'aes'], 'COMPONENT_INVALID', SHARE, { stdin: `${f.components.hex[0]}\n${f.components.hex[0]}\n` }),
    c('combine components: too few check values', ['components', 'combine', '--count', '2', '--algorithm', 'aes', '--kcvs', f.components.kcvs[0]!], 'INVALID_INPUT', USAGE, { stdin: `${f.components.hex.join('\n')}\n` }),
    c('combine components: a check value that is not hex', ['components', 'combine', '--count', '2', '--algorithm', 'aes', '--kcvs', 'zz,yy'], 'INVALID_INPUT', USAGE, { stdin: `${f.components.hex.join('\n')}\n` }),
    c('combine components: a component check value differs', ['components', 'combine', '--count', '2', '--algorithm', 'aes', '--kcvs', `${f.components.kcvs[1]},${f.components.kcvs[0]}`], 'CHECK_VALUE_MISMATCH', CHECK, { stdin: `${f.components.hex.join('\n')}\n` }),
    c('combine components: the key check value differs', ['components', 'combine', '--count', '2', '--algorithm', 'aes', '--kcv', '000000'], 'CHECK_VALUE_MISMATCH', CHECK, { stdin: `${f.components.hex.join('\n')}\n` }),
    c('combine components: stdin endless', ['components', 'combine', '--count', '2', '--algorithm', 'aes'], 'INVALID_INPUT', USAGE, { stdin: Buffer.alloc(2 << 20, 0x61) }),
    h('combine components --import: no label', ['components', 'combine', '--count', '2', '--algorithm', 'aes', '--kcvs', f.components.kcvs.join(','), '--import'], 'INVALID_INPUT', USAGE),
    h('combine components --import --reveal', ['components', 'combine', '--count', '2', '--algorithm', 'aes', '--kcvs', f.components.kcvs.join(','), '--import', '--label', 'n25', '--reveal'], 'INVALID_INPUT', USAGE),

    // ---- archive
    h('archive init: no name', ['archive', 'init', '--archive', p('out-a1.custos')], 'INVALID_INPUT', USAGE),
    h('archive init: empty name', ['archive', 'init', '--archive', p('out-a2.custos'), '--name', ' '], 'INVALID_INPUT', USAGE),
    h('archive init: into a missing folder', ['archive', 'init', '--archive', `${noDir}/a.custos`, '--name', 'X'], 'INVALID_INPUT', USAGE),
    h('archive init: over an archive', ['archive', 'init', ...a, '--name', 'X'], 'ARCHIVE_EXISTS', FAILED),
    h('archive init: over a folder', ['archive', 'init', '--archive', p('folder'), '--name', 'X'], 'ARCHIVE_EXISTS', FAILED),
    h('archive add: new key without purpose', ['archive', 'add', ...a, '--key', 'kek128'], 'INVALID_INPUT', USAGE),
    h('archive add: unknown purpose', ['archive', 'add', ...a, '--key', 'kek128', '--purpose', 'fun'], 'INVALID_INPUT', USAGE),
    h('archive add: months not a number', ['archive', 'add', ...a, '--key', 'kek128', '--purpose', 'key-wrapping', '--oup-months', 'abc'], 'INVALID_INPUT', USAGE),
    h('archive add: negative months', ['archive', 'add', ...a, '--key', 'kek128', '--purpose', 'key-wrapping', '--oup-months=-3'], 'INVALID_INPUT', USAGE),
    h('archive add: fractional extra months', ['archive', 'add', ...a, '--key', 'kek128', '--purpose', 'key-wrapping', '--oup-months', '12', '--rup-extra-months', '1.5'], 'INVALID_INPUT', USAGE),
    h('archive add: activation date not a date', ['archive', 'add', ...a, '--key', 'kek128', '--purpose', 'key-wrapping', '--activate', '--activation-date', 'soon'], 'INVALID_INPUT', USAGE),
    h('archive add: activation date without --activate', ['archive', 'add', ...a, '--key', 'kek128', '--purpose', 'key-wrapping', '--activation-date', '2026-01-01'], 'INVALID_INPUT', USAGE),
    h('archive add: key not on the token', ['archive', 'add', ...a, '--key', 'nope', '--purpose', 'key-wrapping'], 'OBJECT_NOT_FOUND', TOKEN),
    h('archive add: non-extractable key', ['archive', 'add', ...a, '--key', 'fixed', '--purpose', 'key-wrapping'], 'KEY_NOT_EXTRACTABLE', FAILED),
    h('archive add: archive missing', ['archive', 'add', '--archive', p('no.custos'), '--key', 'kek128', '--purpose', 'key-wrapping'], 'ARCHIVE_NOT_FOUND', FAILED),
    h('archive add: key URI malformed', ['archive', 'add', ...a, '--key', 'pkcs11:object=%ZZ', '--purpose', 'key-wrapping'], 'INVALID_INPUT', USAGE),
    c('archive search: limit not a number', ['archive', 'search', ...a, '--limit', 'abc'], 'INVALID_INPUT', USAGE),
    c('archive search: limit 0', ['archive', 'search', ...a, '--limit', '0'], 'INVALID_INPUT', USAGE),
    c('archive search: limit 501', ['archive', 'search', ...a, '--limit', '501'], 'INVALID_INPUT', USAGE),
    c('archive search: offset negative', ['archive', 'search', ...a, '--offset=-1'], 'INVALID_INPUT', USAGE),
    c('archive search: offset a fraction', ['archive', 'search', ...a, '--offset', '0.5'], 'INVALID_INPUT', USAGE),
    c('archive search: created-from not a date', ['archive', 'search', ...a, '--created-from', 'abc'], 'INVALID_INPUT', USAGE),
    c('archive search: created-to 31 February', ['archive', 'search', ...a, '--created-to', '2026-02-31'], 'INVALID_INPUT', USAGE),
    c('archive search: activated-from month 13', ['archive', 'search', ...a, '--activated-from', '2026-13-01'], 'INVALID_INPUT', USAGE),
    c('archive search: activated-to not a date', ['archive', 'search', ...a, '--activated-to', 'later'], 'INVALID_INPUT', USAGE),
    c('archive search: rotation-due-before not a date', ['archive', 'search', ...a, '--rotation-due-before', 'x'], 'INVALID_INPUT', USAGE),
    c('archive search: --on not a date', ['archive', 'search', ...a, '--active-for', 'data-encryption', '--on', 'abc'], 'INVALID_INPUT', USAGE),
    c('archive search: --active-for without --on', ['archive', 'search', ...a, '--active-for', 'data-encryption'], 'INVALID_INPUT', USAGE),
    c('archive search: unknown state', ['archive', 'search', ...a, '--state', 'happy'], 'INVALID_INPUT', USAGE),
    c('archive search: unknown purpose', ['archive', 'search', ...a, '--purpose', 'fun'], 'INVALID_INPUT', USAGE),
    c('archive search: unknown sort', ['archive', 'search', ...a, '--sort', 'size'], 'INVALID_INPUT', USAGE),
    c('archive search: not an archive', ['archive', 'search', '--archive', p('notes.txt')], 'ARCHIVE_NOT_ARCHIVE', FAILED),
    c('archive search: a folder', ['archive', 'search', '--archive', p('folder')], 'ARCHIVE_NOT_ARCHIVE', FAILED),
    c('archive search: archive missing', ['archive', 'search', '--archive', p('no.custos')], 'ARCHIVE_NOT_FOUND', FAILED),
    c('archive show: no such version', ['archive', 'show', ...a, 'nope'], 'ARCHIVE_RECORD_NOT_FOUND', FAILED),
    c('archive show: version number not a number', ['archive', 'show', ...a, 'dek@x'], 'ARCHIVE_RECORD_NOT_FOUND', FAILED),
    h('archive state: unknown action', ['archive', 'state', ...a, 'dek@1', '--action', 'explode'], 'INVALID_INPUT', USAGE),
    h('archive state: no such version', ['archive', 'state', ...a, 'nope@1', '--action', 'suspend'], 'ARCHIVE_RECORD_NOT_FOUND', FAILED),
    h('archive state: a transition SP 800-57 forbids', ['archive', 'state', ...a, 'dek@1', '--action', 'resume'], 'LIFECYCLE_TRANSITION_INVALID', FAILED),
    c('archive verify: not an archive', ['archive', 'verify', '--no-hsm', '--archive', p('garbage.bin')], 'ARCHIVE_NOT_ARCHIVE', FAILED),
    c('archive verify: report into a missing folder', ['archive', 'verify', '--no-hsm', ...a, '--report', `${noDir}/r.json`], 'INVALID_INPUT', USAGE),
    h('archive export: into a missing folder', ['archive', 'export', ...a, '--out', `${noDir}/b.jsonl`], 'INVALID_INPUT', USAGE),
    h('archive export: over a file', ['archive', 'export', ...a, '--out', f.bundle], 'FILE_EXISTS', USAGE),
    h('archive export: a key not archived', ['archive', 'export', ...a, '--out', p('out-b2.jsonl'), '--key', 'nope'], 'ARCHIVE_RECORD_NOT_FOUND', FAILED),
    h('archive import: a folder', ['archive', 'import', ...a, p('folder')], 'INVALID_INPUT', USAGE),
    h('archive import: file missing', ['archive', 'import', ...a, p('no.jsonl')], 'INVALID_INPUT', USAGE),
    h('archive import: not a bundle', ['archive', 'import', ...a, p('bundle-garbage')], 'BUNDLE_INVALID', FAILED),
    h('archive import: /dev/zero', ['archive', 'import', ...a, '/dev/zero'], 'INVALID_INPUT', USAGE),
    h('archive trust: key file missing', ['archive', 'trust', ...a, '--public-key', p('no.pem'), '--name', 'B'], 'INVALID_INPUT', USAGE),
    h('archive trust: a brainpool key', ['archive', 'trust', ...a, '--public-key', p('brainpool.pem'), '--name', 'B'], 'INVALID_INPUT', USAGE),
    h('archive trust: an RSA key', ['archive', 'trust', ...a, '--public-key', p('rsa2048.pem'), '--name', 'B'], 'KEY_TYPE_MISMATCH', FAILED),
    h('archive trust: no name', ['archive', 'trust', ...a, '--public-key', p('p256.pem')], 'INVALID_INPUT', USAGE),
    c('archive info: key out into a missing folder', ['archive', 'info', ...a, '--public-key-out', `${noDir}/k.pem`], 'INVALID_INPUT', USAGE),

    // ---- audit
    c('audit trail: limit not a number', ['audit', 'trail', ...a, '--limit', 'abc'], 'INVALID_INPUT', USAGE),
    c('audit trail: limit 0', ['audit', 'trail', ...a, '--limit', '0'], 'INVALID_INPUT', USAGE),
    c('audit trail: limit negative', ['audit', 'trail', ...a, '--limit=-4'], 'INVALID_INPUT', USAGE),
    c('audit trail: limit huge', ['audit', 'trail', ...a, '--limit', '1e9'], 'INVALID_INPUT', USAGE),
    c('audit trail: before not a number', ['audit', 'trail', ...a, '--before', 'abc'], 'INVALID_INPUT', USAGE),
    c('audit trail: before 0', ['audit', 'trail', ...a, '--before', '0'], 'INVALID_INPUT', USAGE),
    c('audit trail: before a date', ['audit', 'trail', ...a, '--before', '2026-01-01'], 'INVALID_INPUT', USAGE),
    c('audit trail: a key not archived', ['audit', 'trail', ...a, '--key', 'nope'], 'ARCHIVE_RECORD_NOT_FOUND', FAILED),
    c('audit verify: key file missing', ['audit', 'verify', ...a, '--public-key', p('no.pem')], 'INVALID_INPUT', USAGE),
    c('audit verify: another key', ['audit', 'verify', ...a, '--public-key', p('p256.pem')], 'AUDIT_CHAIN_BROKEN', FAILED),
    c('audit verify: archive missing', ['audit', 'verify', '--archive', p('no.custos')], 'ARCHIVE_NOT_FOUND', FAILED),
    c('audit export: into a file', ['audit', 'export', ...a, '--out', p('notes.txt')], 'INVALID_INPUT', USAGE),
    c('audit export: into a missing folder', ['audit', 'export', ...a, '--out', `${noDir}/deeper/still`], 'INVALID_INPUT', USAGE),

    // ---- ceremonies: this data folder has no workstation record yet, so no run exists either
    c('ceremony status before any record', ['ceremony', 'status', '--run', 'r1'], 'CEREMONY_NOT_FOUND', CEREMONY_STATE),
    h('ceremony step before any record', ['ceremony', 'step', '--run', 'r1'], 'CEREMONY_NOT_FOUND', CEREMONY_STATE),
    h('ceremony plan before any record', ['ceremony', 'plan', 'custos/enrolment'], 'RECORD_MISSING', CEREMONY_STATE),
    c('ceremony bundle before any record', ['ceremony', 'bundle', '--run', 'r1'], 'CEREMONY_NOT_FOUND', CEREMONY_STATE),
    c('ceremony lint: file missing', ['ceremony', 'lint', p('no.yaml')], 'INVALID_INPUT', USAGE),
    c('ceremony lint: not a definition', ['ceremony', 'lint', p('definition-bad.yaml')], 'CEREMONY_DEFINITION_INVALID', USAGE),
    h('ceremony plan: parameters not a mapping', ['ceremony', 'plan', 'custos/workstation-setup', '--params', p('params-bad.yaml')], 'INVALID_INPUT', USAGE),
    h('ceremony plan: parameters file missing', ['ceremony', 'plan', 'custos/workstation-setup', '--params', p('no.yaml')], 'INVALID_INPUT', USAGE),
    h('ceremony plan: malformed participant', ['ceremony', 'plan', 'custos/workstation-setup', '--participant', 'Ann'], 'INVALID_INPUT', USAGE),
    h('ceremony plan: unknown role', ['ceremony', 'plan', 'custos/workstation-setup', '--participant', 'Ann=king'], 'INVALID_INPUT', USAGE),
    h('ceremony abort without a reason', ['ceremony', 'abort', '--run', 'r1'], 'INVALID_INPUT', USAGE),
    c('ceremony verify-bundle: folder missing', ['ceremony', 'verify-bundle', p('no.evidence')], 'INVALID_INPUT', USAGE),
  ];
}

/** The mnemonic with its third word replaced: same length, checksum broken. */
function swapWord(m: string): string {
  const w = m.split(' ');
  w[2] = w[2] === 'acid' ? 'acne' : 'acid';
  return w.join(' ');
}

const STACK = /\n\s+at .+[(:]\d+:\d+\)?/;

beforeAll(async () => {
  f = await makeFixture();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(f.file('bad-der.sig'), Buffer.from('3006020101020101ff', 'hex'));
  before = await f.snapshot();
  journalBefore = readJournal();
}, 180_000);

/** The data folder's pending audit journal (refused logins and actions are recorded there before set-up). */
const readJournal = (): string => {
  const p = join(f.dir, 'data', 'audit-pending.jsonl');
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
};
let journalBefore = '';

afterAll(() => f?.cleanup());

describe('the CLI with bad input', () => {
  it('gives every case its documented code and exit status, typed, without a stack trace, changing nothing', async () => {
    const table = cases();
    expect(table.length).toBeGreaterThanOrEqual(150);
    expect(new Set(table.map((x) => x.id)).size).toBe(table.length);
    for (const x of table) expect(ERROR_CODES).toContain(x.code);
    const run = (x: Case) => (lane: number) => runCli(['--json', ...(x.hsm ? f.hsm : []), ...x.args], f.lanes[lane]!, x.stdin ?? '');
    const together = await inBatches(table.filter((x) => !x.alone).map(run), f.lanes.length);
    const alone = await inBatches(table.filter((x) => x.alone).map(run), 1);
    const runs = table.map((x) => (x.alone ? alone : together).shift()!);
    const wrong: string[] = [];
    let typed = 0;
    let internal = 0;
    let stacks = 0;
    runs.forEach((r: Run, i) => {
      const x = table[i]!;
      let code: string | undefined;
      try {
        code = (JSON.parse(r.stdout) as { error?: { code?: string } }).error?.code;
      } catch {
        code = undefined;
      }
      if (code === 'INTERNAL') internal++;
      if (STACK.test(r.stdout + r.stderr)) stacks++;
      if (code !== undefined && code !== 'INTERNAL' && ERROR_CODES.includes(code as ErrorCode)) typed++;
      if (code !== x.code || r.code !== x.exit || STACK.test(r.stdout + r.stderr) || r.stdout.includes(SO_PIN)) {
        wrong.push(`${x.id}: got ${code ?? '(no JSON)'} exit ${r.code} in ${r.ms} ms, expected ${x.code} exit ${x.exit}\n    ${(r.stdout + r.stderr).trim().split('\n').slice(0, 6).join('\n    ')}`);
      }
    });
    console.log(`bad input: ${typed}/${table.length} typed, ${table.length - wrong.length}/${table.length} as documented, ${internal} INTERNAL, ${stacks} stack traces, slowest ${Math.max(...runs.map((r) => r.ms))} ms`);
    expect(wrong, wrong.join('\n')).toEqual([]);
    expect(await f.snapshot()).toEqual(before);
    // The only change anywhere: audit entries appended for what was refused, none holding a PIN.
    const journal = readJournal();
    expect(journal.startsWith(journalBefore)).toBe(true);
    expect(journal.length).toBeGreaterThan(journalBefore.length);
    expect(journal).not.toContain(SO_PIN);
    expect(journal).not.toContain(USER_PIN);
    for (const line of journal.slice(journalBefore.length).trimEnd().split('\n')) expect(JSON.parse(line)).toHaveProperty('entry.action');
  }, 600_000);
});
