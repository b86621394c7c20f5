// `custos key …`: keys on a token — list, show, generate, export the public half, import a public
// key, CSR, copy to another token, relabel, destroy. Each command opens the token (logging in when it
// asks for it) and makes one KeyService call; --json and the text come from the same value.
import { Option, type Command } from 'commander';
import { KEY_TYPES, type KeyDetail, type KeyEntry, type KeyTypeName } from '../../../shared/keys';
import { invalidInput } from '../../../shared/result';
import type { KeyUsage } from '../../hsm/protocol';
import { out, withCore } from '../context';
import { checkOutputFile, LIMITS, readBounded, writeOutputFile } from '../files';
import { openSession } from '../session';

/** A comma-separated option value as a list. */
export const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);

/** A key in the text output: label, type, usages, where it may go, URI, check value or fingerprint. */
export function describeKey(k: KeyEntry | KeyDetail): string {
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

/** The usages asked for (or the type's usual one), each checked against the key type. */
export function usagesFor(type: KeyTypeName, given: string[] | undefined): KeyUsage[] {
  const info = KEY_TYPES.find((k) => k.type === type)!;
  const usages = (given ?? [info.usages[0]!]) as KeyUsage[];
  for (const u of usages) {
    if (!info.usages.includes(u)) invalidInput(`A ${type} key cannot be used for "${u}".`, `Choose from: ${info.usages.join(', ')}.`);
  }
  return usages;
}

/** What an imported public key may be used for: wrap and encrypt (RSA), verify signatures (any). */
const IMPORT_USAGES = ['wrap', 'encrypt', 'sign'];

export const keyTypeOption = () => new Option('--type <type>', 'key type').choices(KEY_TYPES.map((k) => k.type)).makeOptionMandatory();

export function registerKeyCommands(program: Command): void {
  const key = program.command('key').description('keys on a token');
  key
    .command('list')
    .description('list keys (pairs grouped)')
    .action(() =>
      withCore(program, async (s, opts) => {
        const { t } = await openSession(s, opts);
        const keys = await s.keys.list(t);
        out(opts, keys, () => (keys.length ? keys.map(describeKey).join('\n') : 'no keys'));
      }),
    );
  key
    .command('show')
    .description('one key, with its check value (secret keys) or public-key fingerprint')
    .requiredOption('--key <label|uri>', 'the key')
    .action((cmd: { key: string }) =>
      withCore(program, async (s, opts) => {
        const { t } = await openSession(s, opts);
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
      withCore(program, async (s, opts) => {
        const { t } = await openSession(s, opts);
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
      withCore(program, async (s, opts) => {
        if (cmd.out) checkOutputFile(cmd.out, 'public key', { force: !!opts.force });
        const { t } = await openSession(s, opts);
        const text = await s.keys.exportPublic(t, cmd.key, cmd.format);
        if (cmd.out) writeOutputFile(cmd.out, text, 'public key', { force: !!opts.force });
        if (opts.json) out(opts, { format: cmd.format, text }, () => text);
        else if (!cmd.out) process.stdout.write(text);
      }),
    );
  key
    .command('import-public')
    .description("import a public key (PEM or JWK), e.g. a cloud KMS's wrapping key for bring-your-own-key")
    .requiredOption('--file <file>', 'PEM or JWK file')
    .requiredOption('--label <name>', 'label on the token')
    .addOption(new Option('--usage <list>', 'comma-separated: wrap, encrypt (RSA only), sign (verify)').default('wrap'))
    .action((cmd: { file: string; label: string; usage: string }) =>
      withCore(program, async (s, opts) => {
        const text = readBounded(cmd.file, LIMITS.small, 'public key').toString('utf8');
        const usages = list(cmd.usage);
        for (const u of usages) if (!IMPORT_USAGES.includes(u)) invalidInput(`"${u}" is not a usage of a public key.`, `Choose from: ${IMPORT_USAGES.join(', ')}.`);
        const { t } = await openSession(s, opts);
        const k = await s.keys.importPublic(t, text, cmd.label, usages as KeyUsage[]);
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
      withCore(program, async (s, opts) => {
        if (cmd.out) checkOutputFile(cmd.out, 'certificate signing request', { force: !!opts.force });
        const { t } = await openSession(s, opts);
        const pem = await s.keys.csr(t, cmd.key, cmd.subject);
        if (cmd.out) writeOutputFile(cmd.out, pem, 'certificate signing request', { force: !!opts.force });
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
      withCore(program, async (s, opts) => {
        const { t: from } = await openSession(s, opts);
        const dest = await openSession(s, { ...opts, token: cmd.toToken, ...(cmd.toModule ? { module: cmd.toModule } : {}), ...(cmd.toPinFile ? { pinFile: cmd.toPinFile } : { pinFile: undefined }) });
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
      withCore(program, async (s, opts) => {
        const { t } = await openSession(s, opts);
        const k = await s.keys.relabel(t, cmd.key, cmd.label);
        out(opts, k, () => `relabelled\n${describeKey(k)}`);
      }),
    );
  key
    .command('expired')
    .description('keys past their end date (CKA_END_DATE) or with no uses left, as a retrieval limited them; --destroy removes them (audited)')
    .addOption(new Option('--destroy', 'destroy every key listed, with its use counter (irreversible; keys still valid are never touched)'))
    .action((cmd: { destroy?: boolean }) =>
      withCore(program, async (s, opts) => {
        const { t } = await openSession(s, opts);
        if (cmd.destroy) {
          const r = await s.keys.destroyExpired(t);
          out(opts, { destroyed: r }, () => (r.length ? r.map((x) => `destroyed "${x.key.label}" (${x.why === 'uses' ? 'no uses left' : `valid until ${x.limits.validUntil}`})`).join('\n') : 'no expired keys'));
          return;
        }
        const r = await s.keys.expired(t);
        out(opts, { expired: r }, () => (r.length ? r.map((x) => `"${x.key.label}": ${x.why === 'uses' ? `used ${x.limits.used} of ${x.limits.maxUses} times` : `valid until ${x.limits.validUntil}`}`).join('\n') + '\nRemove them with `custos key expired --destroy`.' : 'no expired keys'));
      }),
    );
  key
    .command('destroy')
    .description('destroy a key (both halves of a pair); irreversible')
    .requiredOption('--key <label|uri>', 'the key')
    .requiredOption('--confirm <label>', "repeat the key's label to confirm")
    .action((cmd: { key: string; confirm: string }) =>
      withCore(program, async (s, opts) => {
        const { t } = await openSession(s, opts);
        const r = await s.keys.destroy(t, cmd.key, cmd.confirm);
        out(opts, { destroyed: r.destroyed, key: r.key }, () => `destroyed "${r.key.label}" (${r.destroyed} object${r.destroyed === 1 ? '' : 's'})`);
      }),
    );

}
