// `custos token caps|change-pin`, `custos key …` and the operations `custos sign|verify|hmac|
// encrypt|decrypt|random|wrap|unwrap`. Every command logs in when the token needs it, with the PIN
// from --pin-file, stdin or a prompt — never from an argument.
import { Option, type Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { KEY_TYPES, SIGN_MECHANISMS, WRAP_MECHANISMS, type KeyDetail, type KeyEntry, type KeyTypeName, type SignMechanismName, type WrapMechanismName } from '../../../shared/keys';
import { CustosError, fail } from '../../../shared/result';
import type { KeyUsage } from '../../hsm/protocol';
import { ecdsaDerToRaw, ecdsaRawToDer } from '../../services/formats/ecdsa';
import type { Services } from '../../services/index';
import type { TokenRef } from '../../../shared/keys';
import { out, pickToken, withServices, type GlobalOptions, type TokenSlot } from '../context';
import { readSecret } from '../secrets';

/** Logs in as the user when the token wants it. `stdinBusy`: stdin carries data, not the PIN. */
async function session(s: Services, opts: GlobalOptions, stdinBusy = false): Promise<{ slot: TokenSlot; t: TokenRef }> {
  const slot = await pickToken(s, opts);
  const t = { module: slot.module, token: slot.token.uri };
  if (slot.token.flags.loginRequired && slot.token.loggedIn !== 'user') {
    if (stdinBusy && !opts.pinFile && !process.stdin.isTTY) {
      fail('INVALID_INPUT', 'Standard input carries the data, so the PIN cannot come from it too.', 'Give the PIN with --pin-file FILE, or the data with --in FILE.');
    }
    const pin = await readSecret({ file: opts.pinFile, prompt: `PIN for "${slot.token.label}": ` });
    try {
      await s.tokens.login(slot.module, slot.token.uri, pin.value, 'user', false);
    } finally {
      pin.wipe();
    }
  }
  return { slot, t };
}

async function readInput(file: string | undefined): Promise<Buffer> {
  if (file) {
    if (!existsSync(file)) fail('INVALID_INPUT', `The input file ${file} does not exist.`, 'Check the path given with --in.');
    return readFileSync(file);
  }
  if (process.stdin.isTTY) fail('INVALID_INPUT', 'No input was given.', 'Give the data with --in FILE or on standard input.');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function writeOutput(file: string | undefined, data: Buffer): void {
  if (file) writeFileSync(file, data, { mode: 0o600 });
}

const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);

function describeKey(k: KeyEntry | KeyDetail): string {
  const size = k.curve ?? (k.bits ? `${k.bits}-bit` : '');
  const type = `${k.keyType ?? '?'} ${size}`.trim();
  const uses = Object.entries(k.usage).filter(([, v]) => v).map(([u]) => u).join(',') || 'none';
  const lines = [`${k.label || '(no label)'}  ${type}  ${k.kind}  uses: ${uses}  ${k.extractable ? 'extractable under wrap' : 'never leaves the token'}`, `  uri ${k.uri}`];
  if ('checkValue' in k && k.checkValue) {
    lines.push(`  check value (CMAC, X9.24-1:2017) ${k.checkValue.cmac ?? 'n/a'}   legacy (ECB) ${k.checkValue.legacy ?? 'n/a'}${k.checkValue.note ? `\n  note: ${k.checkValue.note}` : ''}`);
  }
  if ('fingerprint' in k && k.fingerprint) lines.push(`  SHA-256 fingerprint ${k.fingerprint.sha256}\n  short ${k.fingerprint.short}`);
  return lines.join('\n');
}

function usagesFor(type: KeyTypeName, given: string[] | undefined): KeyUsage[] {
  const info = KEY_TYPES.find((k) => k.type === type)!;
  const usages = (given ?? [info.usages[0]!]) as KeyUsage[];
  for (const u of usages) {
    if (!info.usages.includes(u)) fail('INVALID_INPUT', `A ${type} key cannot be used for "${u}".`, `Choose from: ${info.usages.join(', ')}.`);
  }
  return usages;
}

const keyTypeOption = () => new Option('--type <type>', 'key type').choices(KEY_TYPES.map((k) => k.type)).makeOptionMandatory();

export function registerKeyCommands(program: Command): void {
  const token = program.command('token').description('token capabilities and PINs');
  token
    .command('caps')
    .description("the token's mechanisms, and which key types, signatures and wraps Custos can use on it")
    .action(() =>
      withServices(program, async (s, opts) => {
        const { slot, t } = await session(s, opts);
        const caps = await s.keys.capabilities(t);
        out(opts, caps, () =>
          [
            `token "${slot.token.label}"`,
            `key types: ${caps.keyTypes.join(', ')}`,
            `signatures: ${caps.sign.join(', ')}`,
            `wraps: ${caps.wrap.join(', ')}`,
            `AES-KW (RFC 3394 vectors): ${caps.wrapProbe.aesKw ?? 'none that passes'}`,
            `AES-KWP (RFC 5649 vectors): ${caps.wrapProbe.aesKwp ? `${caps.wrapProbe.aesKwp.mechanism}, wrap output standard for ${caps.wrapProbe.aesKwp.wrap === 'any' ? 'any key' : caps.wrapProbe.aesKwp.wrap === 'aligned' ? 'keys whose length is a multiple of 8 bytes only' : 'no key'}` : 'none that passes'}`,
            ...caps.wrapProbe.notes.map((n) => `  note: ${n}`),
            `mechanisms (${caps.mechanisms.length}):`,
            ...caps.mechanisms.map((m) => `  ${m.name.padEnd(28)} ${m.minKeySize}–${m.maxKeySize}  flags 0x${m.flags.toString(16)}`),
          ].join('\n'),
        );
      }),
    );
  token
    .command('change-pin')
    .description('change the user PIN (or with --so the SO PIN); old PIN from --pin-file or a prompt, the new one from --new-pin-file or a prompt')
    .addOption(new Option('--so', 'change the security officer PIN'))
    .addOption(new Option('--new-pin-file <file>', 'read the new PIN from FILE'))
    .action((cmd: { so?: boolean; newPinFile?: string }) =>
      withServices(program, async (s, opts) => {
        const slot = await pickToken(s, opts);
        const role = cmd.so ? 'so' : 'user';
        const oldPin = await readSecret({ file: opts.pinFile, prompt: `Current ${role === 'so' ? 'SO ' : ''}PIN: ` });
        try {
          const newPin = await readSecret({ file: cmd.newPinFile, prompt: 'New PIN: ' });
          try {
            if (!cmd.newPinFile && process.stdin.isTTY) {
              const again = await readSecret({ prompt: 'New PIN again: ' });
              const same = again.value === newPin.value;
              again.wipe();
              if (!same) fail('INVALID_INPUT', 'The two new PINs differ; nothing was changed.', 'Run the command again.');
            }
            await s.tokens.changePin(slot.module, slot.token.uri, oldPin.value, newPin.value, role, false);
          } finally {
            newPin.wipe();
          }
        } finally {
          oldPin.wipe();
        }
        out(opts, { changed: true, role }, () => `The ${role === 'so' ? 'SO ' : ''}PIN of "${slot.token.label}" was changed.`);
      }),
    );

  const key = program.command('key').description('keys on a token');
  key
    .command('list')
    .description('list keys (pairs grouped)')
    .action(() =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        const keys = await s.keys.list(t);
        out(opts, keys, () => (keys.length ? keys.map(describeKey).join('\n') : 'no keys'));
      }),
    );
  key
    .command('show')
    .description('one key, with its check value (secret keys) or public-key fingerprint')
    .requiredOption('--key <label|uri>', 'the key')
    .action((cmd: { key: string }) =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        const k = await s.keys.show(t, cmd.key);
        out(opts, k, () => describeKey(k));
      }),
    );
  key
    .command('generate')
    .description('generate a key inside the token (non-extractable unless --extractable)')
    .addOption(keyTypeOption())
    .requiredOption('--label <name>', 'label (unique on the token)')
    .addOption(new Option('--usage <list>', 'comma-separated: encrypt, sign, wrap, derive (default: the usual one for the type)'))
    .addOption(new Option('--extractable', 'allow the key to leave the token wrapped under another key (for backup/archive); never in plaintext'))
    .action((cmd: { type: KeyTypeName; label: string; usage?: string; extractable?: boolean }) =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        const k = await s.keys.generate(t, { type: cmd.type, label: cmd.label, usages: usagesFor(cmd.type, cmd.usage ? list(cmd.usage) : undefined), extractable: !!cmd.extractable });
        out(opts, k, () => `generated\n${describeKey(k)}`);
      }),
    );
  key
    .command('export-public')
    .description('export the public key as PEM (SPKI) or JWK')
    .requiredOption('--key <label|uri>', 'the key pair')
    .addOption(new Option('--format <format>', 'pem or jwk').choices(['pem', 'jwk']).default('pem'))
    .addOption(new Option('--out <file>', 'write to FILE instead of standard output'))
    .action((cmd: { key: string; format: 'pem' | 'jwk'; out?: string }) =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        const text = await s.keys.exportPublic(t, cmd.key, cmd.format);
        if (cmd.out) writeFileSync(cmd.out, text);
        if (opts.json) out(opts, { format: cmd.format, text }, () => text);
        else if (!cmd.out) process.stdout.write(text);
      }),
    );
  key
    .command('import-public')
    .description("import a public key (PEM or JWK), e.g. a cloud KMS's wrapping key for bring-your-own-key")
    .requiredOption('--file <file>', 'PEM or JWK file')
    .requiredOption('--label <name>', 'label on the token')
    .addOption(new Option('--usage <list>', 'comma-separated: wrap, encrypt, sign (verify)').default('wrap'))
    .action((cmd: { file: string; label: string; usage: string }) =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        if (!existsSync(cmd.file)) fail('INVALID_INPUT', `The file ${cmd.file} does not exist.`, 'Check the path given with --file.');
        const k = await s.keys.importPublic(t, readFileSync(cmd.file, 'utf8'), cmd.label, list(cmd.usage) as KeyUsage[]);
        out(opts, k, () => `imported\n${describeKey(k)}`);
      }),
    );
  key
    .command('csr')
    .description('create a PKCS#10 certificate signing request signed by the key in the token')
    .requiredOption('--key <label|uri>', 'the key pair')
    .requiredOption('--subject <dn>', 'subject, e.g. "CN=Root CA 2026,O=Example,C=GB"')
    .addOption(new Option('--out <file>', 'write the PEM to FILE'))
    .action((cmd: { key: string; subject: string; out?: string }) =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        const pem = await s.keys.csr(t, cmd.key, cmd.subject);
        if (cmd.out) writeFileSync(cmd.out, pem);
        if (opts.json) out(opts, { pem }, () => pem);
        else if (!cmd.out) process.stdout.write(pem);
      }),
    );
  key
    .command('copy')
    .description('copy a secret key (AES, TDES, HMAC) to another token under an ephemeral RSA transport key; check values compared')
    .requiredOption('--key <label|uri>', 'the key to copy (must be extractable under wrap)')
    .requiredOption('--to-token <label|uri>', 'destination token')
    .addOption(new Option('--to-module <path>', 'destination module (default: the same as --module)'))
    .addOption(new Option('--to-pin-file <file>', 'PIN of the destination token (default: prompt)'))
    .addOption(new Option('--label <name>', 'label on the destination (default: the same)'))
    .action((cmd: { key: string; toToken: string; toModule?: string; toPinFile?: string; label?: string }) =>
      withServices(program, async (s, opts) => {
        const { t: from } = await session(s, opts);
        const dest = await session(s, { ...opts, token: cmd.toToken, ...(cmd.toModule ? { module: cmd.toModule } : {}), ...(cmd.toPinFile ? { pinFile: cmd.toPinFile } : { pinFile: undefined }) });
        const k = await s.keys.copy(from, dest.t, cmd.key, cmd.label);
        out(opts, k, () => `copied to "${dest.slot.token.label}"; check values match\n${describeKey(k)}`);
      }),
    );
  key
    .command('relabel')
    .description('change the label of a key (both halves of a pair)')
    .requiredOption('--key <label|uri>', 'the key')
    .requiredOption('--label <name>', 'the new label')
    .action((cmd: { key: string; label: string }) =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        const k = await s.keys.relabel(t, cmd.key, cmd.label);
        out(opts, k, () => `relabelled\n${describeKey(k)}`);
      }),
    );
  key
    .command('destroy')
    .description('destroy a key (both halves of a pair); irreversible')
    .requiredOption('--key <label|uri>', 'the key')
    .requiredOption('--confirm <label>', "repeat the key's label to confirm")
    .action((cmd: { key: string; confirm: string }) =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        const r = await s.keys.destroy(t, cmd.key, cmd.confirm);
        out(opts, { destroyed: r.destroyed, key: r.key }, () => `destroyed "${r.key.label}" (${r.destroyed} object${r.destroyed === 1 ? '' : 's'})`);
      }),
    );

  program
    .command('sign')
    .description('sign data (file or stdin) with a key in the token')
    .requiredOption('--key <label|uri>', 'signing key')
    .addOption(new Option('--mechanism <m>', 'signature mechanism').choices([...SIGN_MECHANISMS]).makeOptionMandatory())
    .addOption(new Option('--in <file>', 'data to sign (default: standard input)'))
    .addOption(new Option('--out <file>', 'write the signature (binary) to FILE'))
    .addOption(new Option('--format <f>', 'ECDSA signature encoding: der (X.509, OpenSSL) or raw (r‖s, PKCS#11)').choices(['der', 'raw']).default('der'))
    .action((cmd: { key: string; mechanism: SignMechanismName; in?: string; out?: string; format: 'der' | 'raw' }) =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts, !cmd.in);
        const data = await readInput(cmd.in);
        let sig = await s.keys.sign(t, cmd.key, cmd.mechanism, data);
        if (cmd.mechanism.startsWith('ecdsa') && cmd.format === 'der') sig = ecdsaRawToDer(sig);
        writeOutput(cmd.out, sig);
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
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts, !cmd.in);
        const data = await readInput(cmd.in);
        let sig: Buffer = readFileSync(cmd.signature);
        if (cmd.mechanism.startsWith('ecdsa') && sig[0] === 0x30) {
          const k = await s.keys.show(t, cmd.key);
          sig = ecdsaDerToRaw(sig, k.curve === 'P-384' ? 48 : k.curve === 'P-521' ? 66 : 32);
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
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts, !cmd.in);
        const mac = await s.keys.sign(t, cmd.key, `hmac-${cmd.hash}`, await readInput(cmd.in));
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
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts, !cmd.in);
        const data = await readInput(cmd.in);
        const r = await s.keys.encrypt(t, cmd.key, cmd.mechanism, data, cmd.aadFile ? readFileSync(cmd.aadFile) : undefined);
        data.fill(0);
        const blob = Buffer.concat([r.iv ? Buffer.from(r.iv) : Buffer.alloc(0), Buffer.from(r.ciphertext)]);
        writeOutput(cmd.out, blob);
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
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts, !cmd.in);
        const blob = await readInput(cmd.in);
        const gcm = cmd.mechanism === 'aes-gcm';
        if (gcm && blob.length < 28) fail('DATA_INVALID', 'The input is too short to be AES-GCM output (IV and tag alone are 28 bytes).', 'Check that this is the file `custos encrypt` wrote.');
        const pt = Buffer.from(await s.keys.decrypt(t, cmd.key, cmd.mechanism, gcm ? blob.subarray(12) : blob, gcm ? blob.subarray(0, 12) : undefined, cmd.aadFile ? readFileSync(cmd.aadFile) : undefined));
        writeOutput(cmd.out, pt);
        const n = pt.length;
        pt.fill(0);
        out(opts, { bytes: n, out: cmd.out }, () => `${n} bytes written to ${cmd.out}`);
      }),
    );
  program
    .command('random')
    .description("random bytes from the token's generator")
    .requiredOption('--bytes <n>', 'how many bytes (1–65536)')
    .addOption(new Option('--out <file>', 'write binary to FILE instead of printing hex'))
    .action((cmd: { bytes: string; out?: string }) =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        const r = Buffer.from(await s.keys.random(t, Number(cmd.bytes)));
        writeOutput(cmd.out, r);
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
    .action((cmd: { key: string; wrappingKey: string; mechanism: WrapMechanismName; out: string }) =>
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        const w = await s.keys.wrap(t, cmd.wrappingKey, cmd.key, cmd.mechanism);
        writeOutput(cmd.out, w);
        out(opts, { mechanism: cmd.mechanism, bytes: w.length, out: cmd.out }, () => `${w.length} bytes written to ${cmd.out}`);
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
      withServices(program, async (s, opts) => {
        const { t } = await session(s, opts);
        const k = await s.keys.unwrap(t, cmd.wrappingKey, await readInput(cmd.in), cmd.mechanism, {
          type: cmd.type,
          label: cmd.label,
          usages: usagesFor(cmd.type, cmd.usage ? list(cmd.usage) : undefined),
          extractable: !!cmd.extractable,
        });
        out(opts, k, () => `unwrapped\n${describeKey(k)}`);
      }),
    );
}
