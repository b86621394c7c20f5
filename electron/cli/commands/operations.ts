// `custos sign|verify|hmac|encrypt|decrypt|random|wrap|unwrap`: one operation with a key in the
// token. Data comes from --in or stdin; when stdin carries it, the PIN must come from --pin-file.
import { Option, type Command } from 'commander';
import { SIGN_MECHANISMS, WRAP_MECHANISMS, type KeyTypeName, type SignMechanismName, type WrapMechanismName } from '../../../shared/keys';
import { CustosError, fail, invalidInput } from '../../../shared/result';
import { ecdsaDerToRaw, ecdsaRawToDer } from '../../services/formats/ecdsa';
import { out, withCore } from '../context';
import { checkOutputFile, LIMITS, readBounded, writeOutputFile } from '../files';
import { readStdin, stdinIsTerminal } from '../input';
import { intOption } from '../options';
import type { GlobalOptions } from '../output';
import { openSession } from '../session';
import { describeKey, keyTypeOption, list, usagesFor } from './key';

const STDIN_BUSY = 'Give the PIN with --pin-file FILE, or the data with --in FILE.';

/** The data of one operation, from --in or stdin, at most LIMITS.data bytes (it crosses to the HSM host in one message). */
async function readInput(file: string | undefined, what = 'input'): Promise<Buffer> {
  if (file) return readBounded(file, LIMITS.data, what);
  if (stdinIsTerminal()) invalidInput('No input was given.', 'Give the data with --in FILE or on standard input.');
  return readStdin(LIMITS.data, what);
}

/** A small side file (a signature, additional authenticated data). */
const readSide = (file: string, what: string): Buffer => readBounded(file, LIMITS.data, what);

/** Output files may hold plaintext or key material: readable by their owner only. */
function writeOutput(file: string | undefined, data: Buffer, what: string, opts: GlobalOptions): void {
  if (file) writeOutputFile(file, data, what, { mode: 0o600, force: !!opts.force });
}

/** Every --out is checked before the token is touched, so a typo in a folder costs no HSM work. */
const checkOut = (file: string | undefined, what: string, opts: GlobalOptions) => file !== undefined && checkOutputFile(file, what, { force: !!opts.force });

export function registerOperationCommands(program: Command): void {
  program
    .command('sign')
    .description('sign data (file or stdin) with a key in the token')
    .requiredOption('--key <label|uri>', 'signing key')
    .addOption(new Option('--mechanism <m>', 'signature mechanism').choices([...SIGN_MECHANISMS]).makeOptionMandatory())
    .addOption(new Option('--in <file>', 'data to sign (default: standard input)'))
    .addOption(new Option('--out <file>', 'write the signature (binary) to FILE'))
    .addOption(new Option('--format <f>', 'ECDSA signature encoding: der (X.509, OpenSSL) or raw (r‖s, PKCS#11)').choices(['der', 'raw']).default('der'))
    .action((cmd: { key: string; mechanism: SignMechanismName; in?: string; out?: string; format: 'der' | 'raw' }) =>
      withCore(program, async (s, opts) => {
        checkOut(cmd.out, 'signature', opts);
        const data = await readInput(cmd.in);
        const { t } = await openSession(s, opts, !cmd.in ? { stdinBusy: STDIN_BUSY } : {});
        let sig = await s.keys.sign(t, cmd.key, cmd.mechanism, data);
        if (cmd.mechanism.startsWith('ecdsa') && cmd.format === 'der') sig = ecdsaRawToDer(sig);
        writeOutput(cmd.out, sig, 'signature', opts);
        out(opts, { mechanism: cmd.mechanism, signature: sig.toString('hex') }, () => (cmd.out ? `signature written to ${cmd.out}` : sig.toString('hex')));
      }),
    );
  program
    .command('verify')
    .description('verify a signature; exits 0 when valid, 1 when not')
    .requiredOption('--key <label|uri>', 'key (public half, or the secret key for MACs)')
    .addOption(new Option('--mechanism <m>', 'signature mechanism').choices([...SIGN_MECHANISMS]).makeOptionMandatory())
    .requiredOption('--signature <file>', 'signature file (binary; ECDSA as DER or raw r‖s)')
    .addOption(new Option('--in <file>', 'signed data (default: standard input)'))
    .action((cmd: { key: string; mechanism: SignMechanismName; signature: string; in?: string }) =>
      withCore(program, async (s, opts) => {
        let sig: Buffer = readSide(cmd.signature, 'signature');
        const data = await readInput(cmd.in);
        const { t } = await openSession(s, opts, !cmd.in ? { stdinBusy: STDIN_BUSY } : {});
        if (cmd.mechanism.startsWith('ecdsa') && sig[0] === 0x30) {
          const k = await s.keys.show(t, cmd.key);
          try {
            sig = ecdsaDerToRaw(sig, k.curve === 'P-384' ? 48 : k.curve === 'P-521' ? 66 : 32);
          } catch (e) {
            // Not an X.509 ECDSA-Sig-Value (RFC 3279 §2.2.3): it cannot be a signature by this key.
            if (!(e instanceof CustosError)) throw e;
            throw new CustosError({ code: 'SIGNATURE_INVALID', message: `The signature file is not a valid ECDSA signature: ${e.appError.message}`, action: 'Do not trust the data: check that the signature file is the one made for it.' });
          }
        }
        const valid = await s.keys.verify(t, cmd.key, cmd.mechanism, data, sig);
        if (!valid) {
          throw new CustosError({ code: 'SIGNATURE_INVALID', message: 'The signature is NOT valid for this data and key.', action: 'Do not trust the data: it was altered, or signed by another key.' });
        }
        out(opts, { valid: true }, () => 'signature valid');
      }),
    );
  program
    .command('hmac')
    .description('HMAC of data (file or stdin) with a secret key in the token')
    .requiredOption('--key <label|uri>', 'HMAC key')
    .addOption(new Option('--hash <h>', 'hash').choices(['sha256', 'sha384', 'sha512']).default('sha256'))
    .addOption(new Option('--in <file>', 'data (default: standard input)'))
    .action((cmd: { key: string; hash: 'sha256' | 'sha384' | 'sha512'; in?: string }) =>
      withCore(program, async (s, opts) => {
        const data = await readInput(cmd.in);
        const { t } = await openSession(s, opts, !cmd.in ? { stdinBusy: STDIN_BUSY } : {});
        const mac = await s.keys.sign(t, cmd.key, `hmac-${cmd.hash}`, data);
        out(opts, { hash: cmd.hash, mac: mac.toString('hex') }, () => mac.toString('hex'));
      }),
    );
  program
    .command('encrypt')
    .description('encrypt data with a key in the token; AES-GCM output is IV (12 bytes) ‖ ciphertext ‖ tag (16 bytes)')
    .requiredOption('--key <label|uri>', 'AES key, or RSA public key for OAEP')
    .addOption(new Option('--mechanism <m>', 'mechanism').choices(['aes-gcm', 'rsa-oaep-sha1', 'rsa-oaep-sha256']).default('aes-gcm'))
    .addOption(new Option('--in <file>', 'plaintext (default: standard input)'))
    .requiredOption('--out <file>', 'ciphertext file')
    .addOption(new Option('--aad-file <file>', 'additional authenticated data (AES-GCM)'))
    .action((cmd: { key: string; mechanism: 'aes-gcm' | 'rsa-oaep-sha1' | 'rsa-oaep-sha256'; in?: string; out: string; aadFile?: string }) =>
      withCore(program, async (s, opts) => {
        checkOut(cmd.out, 'ciphertext', opts);
        const aad = cmd.aadFile ? readSide(cmd.aadFile, 'additional authenticated data') : undefined;
        const data = await readInput(cmd.in);
        const { t } = await openSession(s, opts, !cmd.in ? { stdinBusy: STDIN_BUSY } : {});
        const r = await s.keys.encrypt(t, cmd.key, cmd.mechanism, data, aad);
        data.fill(0);
        const blob = Buffer.concat([r.iv ? Buffer.from(r.iv) : Buffer.alloc(0), Buffer.from(r.ciphertext)]);
        writeOutput(cmd.out, blob, 'ciphertext', opts);
        out(opts, { mechanism: cmd.mechanism, bytes: blob.length, out: cmd.out }, () => `${blob.length} bytes written to ${cmd.out}`);
      }),
    );
  program
    .command('decrypt')
    .description('decrypt data made by `custos encrypt`')
    .requiredOption('--key <label|uri>', 'AES key, or RSA private key for OAEP')
    .addOption(new Option('--mechanism <m>', 'mechanism').choices(['aes-gcm', 'rsa-oaep-sha1', 'rsa-oaep-sha256']).default('aes-gcm'))
    .addOption(new Option('--in <file>', 'ciphertext (default: standard input)'))
    .requiredOption('--out <file>', 'plaintext file (created with mode 600)')
    .addOption(new Option('--aad-file <file>', 'additional authenticated data (AES-GCM)'))
    .action((cmd: { key: string; mechanism: 'aes-gcm' | 'rsa-oaep-sha1' | 'rsa-oaep-sha256'; in?: string; out: string; aadFile?: string }) =>
      withCore(program, async (s, opts) => {
        checkOut(cmd.out, 'plaintext', opts);
        const aad = cmd.aadFile ? readSide(cmd.aadFile, 'additional authenticated data') : undefined;
        const blob = await readInput(cmd.in);
        const { t } = await openSession(s, opts, !cmd.in ? { stdinBusy: STDIN_BUSY } : {});
        const gcm = cmd.mechanism === 'aes-gcm';
        if (gcm && blob.length < 28) fail('DATA_INVALID', 'The input is too short to be AES-GCM output (IV and tag alone are 28 bytes).', 'Check that this is the file `custos encrypt` wrote.');
        const pt = Buffer.from(await s.keys.decrypt(t, cmd.key, cmd.mechanism, gcm ? blob.subarray(12) : blob, gcm ? blob.subarray(0, 12) : undefined, aad));
        writeOutput(cmd.out, pt, 'plaintext', opts);
        const n = pt.length;
        pt.fill(0);
        out(opts, { bytes: n, out: cmd.out }, () => `${n} bytes written to ${cmd.out}`);
      }),
    );
  program
    .command('random')
    .description("random bytes from the token's generator")
    .addOption(new Option('--bytes <n>', 'how many bytes (1–65536)').argParser(intOption('--bytes', 1, 65536)).makeOptionMandatory())
    .addOption(new Option('--out <file>', 'write binary to FILE instead of printing hex'))
    .action((cmd: { bytes: number; out?: string }) =>
      withCore(program, async (s, opts) => {
        checkOut(cmd.out, 'random bytes', opts);
        const { t } = await openSession(s, opts);
        const r = Buffer.from(await s.keys.random(t, cmd.bytes));
        writeOutput(cmd.out, r, 'random bytes', opts);
        out(opts, cmd.out ? { bytes: r.length, out: cmd.out } : { hex: r.toString('hex') }, () => (cmd.out ? `${r.length} bytes written to ${cmd.out}` : r.toString('hex')));
        r.fill(0);
      }),
    );
  program
    .command('wrap')
    .description('wrap (encrypt) a key under another key, for export, backup or cloud KMS import')
    .requiredOption('--key <label|uri>', 'the key to wrap (must be extractable)')
    .requiredOption('--wrapping-key <label|uri>', 'AES key-encryption key, or RSA public key (e.g. imported from a cloud KMS)')
    .addOption(new Option('--mechanism <m>', 'wrap mechanism').choices([...WRAP_MECHANISMS]).makeOptionMandatory())
    .requiredOption('--out <file>', 'wrapped key file')
    .addOption(new Option('--allow-weaker-wrapping-key', 'wrap even though the wrapping key is weaker than the key (never below 112 bits): for a receiver that accepts nothing stronger'))
    .action((cmd: { key: string; wrappingKey: string; mechanism: WrapMechanismName; out: string; allowWeakerWrappingKey?: boolean }) =>
      withCore(program, async (s, opts) => {
        checkOut(cmd.out, 'wrapped key', opts);
        const { t } = await openSession(s, opts);
        const w = await s.keys.wrap(t, cmd.wrappingKey, cmd.key, cmd.mechanism, { allowWeaker: cmd.allowWeakerWrappingKey === true });
        writeOutput(cmd.out, w.wrapped, 'wrapped key', opts);
        const text = () =>
          `${w.wrapped.length} bytes written to ${cmd.out}` +
          (w.strength.weaker ? `\nwarning: the wrapping key gives about ${w.strength.wrappingKey} bits of security, the key ${w.strength.target} (NIST SP 800-57 Part 1 Table 2): the exported key is only as strong as the wrapping key.` : '');
        out(opts, { mechanism: cmd.mechanism, bytes: w.wrapped.length, out: cmd.out, strength: w.strength }, text);
      }),
    );
  program
    .command('unwrap')
    .description('unwrap a wrapped key into the token as a new key')
    .requiredOption('--wrapping-key <label|uri>', 'AES key-encryption key, or RSA private key')
    .addOption(new Option('--mechanism <m>', 'wrap mechanism').choices([...WRAP_MECHANISMS]).makeOptionMandatory())
    .requiredOption('--in <file>', 'wrapped key file')
    .addOption(keyTypeOption())
    .requiredOption('--label <name>', 'label of the new key')
    .addOption(new Option('--usage <list>', 'comma-separated usages of the new key'))
    .addOption(new Option('--extractable', 'the new key may leave the token wrapped'))
    .action((cmd: { wrappingKey: string; mechanism: WrapMechanismName; in: string; type: KeyTypeName; label: string; usage?: string; extractable?: boolean }) =>
      withCore(program, async (s, opts) => {
        const wrapped = await readInput(cmd.in, 'wrapped key');
        const { t } = await openSession(s, opts);
        const k = await s.keys.unwrap(t, cmd.wrappingKey, wrapped, cmd.mechanism, {
          type: cmd.type,
          label: cmd.label,
          usages: usagesFor(cmd.type, cmd.usage ? list(cmd.usage) : undefined),
          extractable: !!cmd.extractable,
        });
        out(opts, k, () => `unwrapped\n${describeKey(k)}`);
      }),
    );
}
