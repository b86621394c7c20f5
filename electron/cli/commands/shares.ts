// `custos shares …`: SLIP-39 split knowledge without an HSM — split a secret into shares, write
// the share-set record and the share sheets, check one share against the record alone, and
// recombine. See docs/FORMAT.md for the record and the sheet, docs/CLI.md for the commands.
import { Option, type Command } from 'commander';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatHex, groupHex } from '../../../shared/components';
import { CustosError } from '../../../shared/result';
import {
  createShareSetRecord,
  formatFingerprint,
  normalizeHolder,
  parseShareSetRecordJson,
  serializeShareSetRecord,
  shareCheckError,
  sharePosition,
  slip39AppError,
  verifyShareAgainstRecord,
  type SecretCheckValue,
  type ShareSetRecord,
} from '../../../shared/shares';
import { combineMnemonics, decodeMnemonic, Slip39Error, splitSecret, webCryptoSlip39, type GroupSpec } from '../../../shared/slip39';
import { keyCheckValues, secretCheckValue } from '../../services/kcv';
import { renderShareSheet } from '../../services/sheets';
import {
  describeRecipient,
  envelopeRecordEntry,
  envelopeTokenSelector,
  parseSealedShareJson,
  sealShare,
  serializeSealedShare,
  type SealedShare,
} from '../../services/cardshares';
import type { Services } from '../../services/index';
import { parsePublicKey } from '../../services/formats/publicKey';
import type { TokenRef } from '../../../shared/keys';
import type { SealKdf } from '../../hsm/protocol';
import { readSecret } from '../secrets';
import { out, pickToken, withServices, type GlobalOptions, type TokenSlot } from '../context';
import {
  decodeSecretBytes,
  parseMnemonicText,
  promptHidden,
  readInputFile,
  readPassphraseFile,
  readStdin,
  refuseExisting,
  stdinIsTerminal,
  type SecretEncoding,
} from '../input';

const crypto = webCryptoSlip39(globalThis.crypto);

export const PASSPHRASE_WARNING =
  'SLIP-39 cannot detect a wrong passphrase: a wrong one recovers a different secret without any error. ' +
  'Compare the check value above with the one recorded at the ceremony before using the secret.';

function usage(message: string, action: string): CustosError {
  return new CustosError({ code: 'INVALID_INPUT', message, action });
}

/** Runs SLIP-39 code, turning its errors into Custos errors (no words, no secrets in them). */
async function slip39<T>(fn: () => Promise<T> | T, ctx: { splitting?: boolean } = {}): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Slip39Error) throw new CustosError(slip39AppError(e, ctx));
    throw e;
  }
}

function int(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw usage(`${name} must be a whole number from ${min} to ${max}.`, `Correct ${name}.`);
    return n;
  };
}

/** "GT:M1/N1,M2/N2,…" — GT groups needed; group i needs M_i of its N_i shares. */
export function parseGroups(spec: string): { groupThreshold: number; groups: GroupSpec[] } {
  const m = /^\s*(\d+)\s*:\s*(\d+\s*\/\s*\d+(?:\s*,\s*\d+\s*\/\s*\d+)*)\s*$/.exec(spec);
  if (!m) {
    throw usage(
      `--groups "${spec}" is not of the form GT:M1/N1,M2/N2,… .`,
      'Example: --groups "2:2/3,1/1,3/5" means 2 of 3 groups are needed: 2 of 3 shares from group 1, the 1 share of group 2, or 3 of 5 shares from group 3.',
    );
  }
  const groups = m[2]!.split(',').map((g) => {
    const [t, n] = g.split('/').map((x) => Number(x.trim()));
    return { threshold: t!, count: n! };
  });
  return { groupThreshold: Number(m[1]), groups };
}

function describeCheck(c: SecretCheckValue): string {
  return c.method === 'AES-CMAC'
    ? `${groupHex(c.value)} (AES-CMAC of the secret as an AES key, X9.24-1:2017, 5 bytes)`
    : `${groupHex(c.value)} (SHA-256, custos.secret-check.v1, 5 bytes)`;
}

function readRecord(path: string): ShareSetRecord {
  const buf = readInputFile(path, 'share-set record');
  return parseShareSetRecordJson(buf.toString('utf8'));
}

/** One mnemonic: all of stdin (lines joined; numbered sheet text allowed), or a hidden prompt. */
async function readOneMnemonic(): Promise<string> {
  const buf = stdinIsTerminal() ? await promptHidden('Share words (not shown): ') : await readStdin();
  const text = buf.toString('utf8');
  buf.fill(0);
  const mnemonic = parseMnemonicText(text);
  if (mnemonic === '') throw new CustosError({ code: 'SHARE_WORD_COUNT', message: 'No share was given.', action: 'Type the share words, or pipe them on stdin.' });
  return mnemonic;
}

/** Several mnemonics, one per line (blank lines ignored); on a terminal, one hidden prompt each. */
async function readMnemonicLines(allowNone = false): Promise<string[]> {
  const lines: string[] = [];
  if (stdinIsTerminal()) {
    for (;;) {
      const buf = await promptHidden(`Share ${lines.length + 1} (not shown; empty line when done): `);
      const text = buf.toString('utf8');
      buf.fill(0);
      if (text.trim() === '') break;
      lines.push(parseMnemonicText(text, `Share ${lines.length + 1}`));
    }
  } else {
    const buf = await readStdin();
    const text = buf.toString('utf8');
    buf.fill(0);
    for (const line of text.split(/\r?\n/)) if (line.trim() !== '') lines.push(parseMnemonicText(line, `Share ${lines.length + 1}`));
  }
  if (lines.length === 0 && !allowNone) {
    throw new CustosError({ code: 'QUORUM_NOT_MET', message: 'No shares were given.', action: 'Enter the shares, one per line.' });
  }
  return lines;
}

const slug = (s: string): string =>
  s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40) || 'holder';

/** File name of a share sheet: set, group, member and holder, so a folder of sheets sorts well. */
export function sheetFileName(record: ShareSetRecord, groupIndex: number, memberIndex: number, holder: string | null): string {
  return `set${record.set.identifier}-g${groupIndex + 1}-s${memberIndex + 1}${holder ? `-${slug(holder)}` : ''}.pdf`;
}

function writePrivate(path: string, data: Uint8Array | string): void {
  // 'wx': never overwrite; 0600: sheets hold shares.
  writeFileSync(path, data, { flag: 'wx', mode: 0o600 });
}

interface SplitOptions {
  threshold?: number;
  shares?: number;
  groups?: string;
  secretFile?: string;
  encoding: SecretEncoding;
  passphraseFile?: string;
  holders?: string;
  recordOut?: string;
  sheetsDir?: string;
  ceremony?: string;
  label?: string;
  date?: string;
  qr?: boolean;
  iterationExponent: number;
}

async function readSplitSecret(o: SplitOptions): Promise<Uint8Array> {
  let buf: Buffer;
  if (o.secretFile) buf = readInputFile(o.secretFile, 'secret');
  else if (!stdinIsTerminal()) buf = await readStdin();
  else buf = await promptHidden('Secret to split, in hexadecimal (not shown): ');
  try {
    return decodeSecretBytes(buf, stdinIsTerminal() && !o.secretFile ? 'hex' : o.encoding, 'secret');
  } finally {
    buf.fill(0);
  }
}

export function registerShareCommands(program: Command): void {
  const shares = program.command('shares').description('SLIP-39 secret sharing: split, check, recombine; share-set records and share sheets');
  const globals = () => program.opts<GlobalOptions>();

  shares
    .command('split')
    .description('split a secret into SLIP-39 shares (secret from --secret-file, stdin or a prompt)')
    .addOption(new Option('--threshold <M>', 'shares needed (one group)').argParser(int('--threshold', 1, 16)))
    .addOption(new Option('--shares <N>', 'shares to make (one group)').argParser(int('--shares', 1, 16)))
    .addOption(new Option('--groups <spec>', 'two-level split "GT:M1/N1,M2/N2,…" instead of --threshold/--shares'))
    .addOption(new Option('--secret-file <file>', 'the secret: raw bytes, or hexadecimal text (see --encoding)'))
    .addOption(new Option('--encoding <enc>', 'how the secret file is written').choices(['auto', 'hex', 'raw']).default('auto'))
    .addOption(new Option('--passphrase-file <file>', 'SLIP-39 passphrase from the first line of FILE (printable ASCII)'))
    .addOption(new Option('--holders <names>', 'holder names, comma-separated, one per share in order (group 1 first)'))
    .addOption(new Option('--record-out <file>', 'write the share-set record (custos.shareset v1 JSON) to FILE'))
    .addOption(new Option('--sheets-dir <dir>', 'write one PDF share sheet per share into DIR'))
    .addOption(new Option('--qr', 'put a QR code of the share on each sheet (anyone who photographs it has the share)'))
    .addOption(new Option('--ceremony <id>', 'ceremony identifier, for the record and the sheets'))
    .addOption(new Option('--label <text>', 'what the secret is, for the record and the sheets'))
    .addOption(new Option('--date <date>', 'ceremony date (YYYY-MM-DD or ISO 8601; default: now)'))
    .addOption(new Option('--iteration-exponent <e>', 'SLIP-39 PBKDF2 work factor e: 10000·2^e iterations').argParser(int('--iteration-exponent', 0, 15)).default(1))
    .action(async (o: SplitOptions) => {
      const opts = globals();
      // Everything that can be checked is checked before anything is read, made or written.
      let layout: { groupThreshold: number; groups: GroupSpec[] };
      if (o.groups !== undefined) {
        if (o.threshold !== undefined || o.shares !== undefined) throw usage('--groups cannot be combined with --threshold/--shares.', 'Use either --threshold M --shares N (one group) or --groups.');
        layout = parseGroups(o.groups);
      } else {
        if (o.threshold === undefined || o.shares === undefined) throw usage('How many shares to make, and how many are needed, was not given.', 'Pass --threshold M --shares N, or --groups "GT:M1/N1,…".');
        layout = { groupThreshold: 1, groups: [{ threshold: o.threshold, count: o.shares }] };
      }
      const total = layout.groups.reduce((n, g) => n + g.count, 0);
      const holders = o.holders === undefined ? undefined : o.holders.split(',').map((h) => normalizeHolder(h));
      if (holders && holders.length !== total) {
        throw usage(`${holders.length} holder name${holders.length === 1 ? ' was' : 's were'} given for ${total} shares.`, 'Give one name per share, in order: group 1 first.');
      }
      const createdAt = o.date ?? new Date().toISOString();
      if (Number.isNaN(Date.parse(createdAt))) throw usage(`--date "${o.date}" is not a date.`, 'Use YYYY-MM-DD or an ISO 8601 date-time.');
      if (o.recordOut) refuseExisting([o.recordOut]);
      const passphrase = o.passphraseFile ? readPassphraseFile(o.passphraseFile) : new Uint8Array(0);
      const secret = await readSplitSecret(o);
      let mnemonics: string[][];
      let check: SecretCheckValue;
      try {
        check = secretCheckValue(secret);
        mnemonics = await slip39(
          () => splitSecret({ secret, passphrase, groupThreshold: layout.groupThreshold, groups: layout.groups, iterationExponent: o.iterationExponent }, { ...crypto, randomBytes: (n) => Uint8Array.from(nodeRandomBytes(n)) }),
          { splitting: true },
        );
      } finally {
        secret.fill(0);
        passphrase.fill(0);
      }
      const record = await createShareSetRecord({
        mnemonics,
        ...(holders ? { holders } : {}),
        createdAt,
        ceremonyId: o.ceremony ?? null,
        label: o.label ?? null,
        secretCheck: check,
      });

      // Render every sheet before writing anything, so a failure leaves nothing behind.
      const sheets: { path: string; pdf: Buffer }[] = [];
      if (o.sheetsDir) {
        const flat = mnemonics.flat();
        for (const [i, m] of flat.entries()) {
          const entry = record.shares[i]!;
          sheets.push({ path: join(o.sheetsDir, sheetFileName(record, entry.groupIndex, entry.memberIndex, entry.holder)), pdf: await renderShareSheet(m, record, { qr: !!o.qr }) });
        }
        refuseExisting(sheets.map((s) => s.path));
      }
      if (o.recordOut) writeFileSync(o.recordOut, serializeShareSetRecord(record), { flag: 'wx', mode: 0o644 });
      if (o.sheetsDir) {
        mkdirSync(o.sheetsDir, { recursive: true, mode: 0o700 });
        for (const s of sheets) {
          writePrivate(s.path, s.pdf);
          s.pdf.fill(0);
        }
      }

      const flat = mnemonics.flat();
      out(
        opts,
        {
          record,
          shares: record.shares.map((e, i) => ({ ...e, position: sharePosition(record, e.groupIndex, e.memberIndex), mnemonic: flat[i] })),
          files: { record: o.recordOut ?? null, sheets: sheets.map((s) => s.path) },
          warning: o.qr ? 'The sheets carry QR codes of the shares.' : undefined,
        },
        () => {
          const r = record;
          const lines: string[] = [];
          const need =
            r.set.groupCount === 1
              ? `${r.groups[0]!.memberThreshold} of ${r.groups[0]!.memberCount} share${r.groups[0]!.memberCount === 1 ? '' : 's'} needed`
              : `shares from ${r.set.groupThreshold} of ${r.set.groupCount} groups needed`;
          lines.push(`Split a ${r.set.secretBytes}-byte secret into ${flat.length} shares of set ${r.set.identifier} (${need}).`);
          lines.push(`Secret check value: ${describeCheck(check)}.`);
          lines.push('  Keep it with the record: after recovery it tells the right secret (and passphrase) from a wrong one.');
          for (const g of r.groups) {
            lines.push('');
            if (r.set.groupCount > 1) lines.push(`Group ${g.groupIndex + 1} (${g.memberThreshold} of ${g.memberCount} share${g.memberCount === 1 ? '' : 's'} needed)`);
            r.shares.forEach((e, i) => {
              if (e.groupIndex !== g.groupIndex) return;
              lines.push(`  Share ${e.memberIndex + 1} of ${g.memberCount}${e.holder ? ` — ${e.holder}` : ''} — fingerprint ${formatFingerprint(e.fingerprint)}`);
              lines.push(`    ${flat[i]}`);
            });
          }
          lines.push('');
          if (o.recordOut) lines.push(`Record written to ${o.recordOut}.`);
          if (o.sheetsDir) lines.push(`${sheets.length} share sheet${sheets.length === 1 ? '' : 's'} written to ${o.sheetsDir}${o.qr ? ' (with QR codes: anyone who photographs a sheet has its share)' : ''}.`);
          return lines.join('\n');
        },
      );
    });

  shares
    .command('combine')
    .description('recover the secret from shares given one per line on stdin (or prompts)')
    .addOption(new Option('--passphrase-file <file>', 'SLIP-39 passphrase from the first line of FILE'))
    .addOption(new Option('--record <file>', 'check every share and the recovered secret against this share-set record'))
    .addOption(new Option('--reveal', 'print the recovered secret in hexadecimal'))
    .addOption(new Option('--sealed <file>', 'also a share sealed to a custodian card (custos shares seal); repeatable; needs --record').argParser(collect).default([]))
    .action(async (o: { passphraseFile?: string; record?: string; reveal?: boolean; sealed: string[] }) => {
      const opts = globals();
      const record = o.record ? readRecord(o.record) : undefined;
      const sealed = checkSealedOptions(o.sealed, record, opts);
      const passphrase = o.passphraseFile ? readPassphraseFile(o.passphraseFile) : new Uint8Array(0);
      const mnemonics = [...(await readMnemonicLines(sealed.length > 0)), ...(await unsealForCombine(program, sealed, record))];
      if (record) {
        for (const [i, m] of mnemonics.entries()) {
          const check = await verifyShareAgainstRecord(m, record);
          if (!check.ok) {
            const e = shareCheckError(check);
            throw new CustosError({ ...e, message: `Share ${i + 1}: ${e.message}`, details: { ...e.details, share: i + 1 } });
          }
        }
      }
      let secret: Uint8Array;
      try {
        secret = await slip39(() => combineMnemonics(mnemonics, passphrase, crypto));
      } finally {
        passphrase.fill(0);
      }
      try {
        const first = decodeMnemonic(mnemonics[0]!);
        first.value.fill(0);
        const check = secretCheckValue(secret);
        const legacy = check.method === 'AES-CMAC' ? keyCheckValues('AES', secret).legacy : undefined;
        if (record?.secretCheck && (record.secretCheck.method !== check.method || record.secretCheck.value !== check.value)) {
          throw new CustosError({
            code: 'CHECK_VALUE_MISMATCH',
            message:
              `The recovered secret's check value ${groupHex(check.value)} differs from the recorded ${groupHex(record.secretCheck.value)}. ` +
              'The shares are consistent, so the passphrase is most likely wrong: SLIP-39 cannot detect a wrong passphrase.',
            action: 'Check the passphrase (case, spaces, keyboard layout) and try again. Do not use this secret.',
            details: { expected: record.secretCheck.value, actual: check.value },
          });
        }
        out(
          opts,
          {
            set: first.identifier,
            shares: mnemonics.length,
            secretBytes: secret.length,
            checkValue: check,
            ...(legacy ? { legacyCheckValue: legacy } : {}),
            matchesRecord: record?.secretCheck ? true : null,
            ...(o.reveal ? { secret: Buffer.from(secret).toString('hex') } : {}),
            warning: PASSPHRASE_WARNING,
          },
          () =>
            [
              `Recovered a ${secret.length}-byte secret from ${mnemonics.length} share${mnemonics.length === 1 ? '' : 's'} of set ${first.identifier}.`,
              `Check value: ${describeCheck(check)}${legacy ? `; legacy AES-ECB check value ${legacy.toUpperCase()}` : ''}.`,
              record?.secretCheck ? 'It matches the check value in the record.' : `WARNING: ${PASSPHRASE_WARNING}`,
              ...(o.reveal ? ['', `Secret: ${formatHex(secret)}`] : ['(The secret itself is shown only with --reveal.)']),
            ].join('\n'),
        );
      } finally {
        secret.fill(0);
      }
    });

  shares
    .command('verify')
    .description('check ONE share (stdin or prompt) against the share-set record, without any other share')
    .requiredOption('--record <file>', 'share-set record written at the ceremony')
    .addOption(new Option('--holder <name>', 'the share must be the one recorded for this holder'))
    .action(async (o: { record: string; holder?: string }) => {
      const opts = globals();
      const record = readRecord(o.record);
      const mnemonic = await readOneMnemonic();
      const check = await verifyShareAgainstRecord(mnemonic, record, o.holder === undefined ? {} : { holder: o.holder });
      if (!check.ok) throw new CustosError(shareCheckError(check));
      out(
        opts,
        { ok: true, set: record.set.identifier, ceremonyId: record.ceremonyId, share: check.entry, position: sharePosition(record, check.entry.groupIndex, check.entry.memberIndex), message: check.message },
        () => check.message,
      );
    });

  shares
    .command('sheet')
    .description("write one custodian's share sheet (PDF); the share is read from stdin or a prompt")
    .requiredOption('--record <file>', 'share-set record written at the ceremony')
    .requiredOption('--out <file.pdf>', 'where to write the sheet (never overwritten)')
    .addOption(new Option('--holder <name>', 'the share must be the one recorded for this holder'))
    .addOption(new Option('--qr', 'add a QR code of the share (anyone who photographs it has the share)'))
    .action(async (o: { record: string; out: string; holder?: string; qr?: boolean }) => {
      const opts = globals();
      const record = readRecord(o.record);
      refuseExisting([o.out]);
      const mnemonic = await readOneMnemonic();
      const pdf = await renderShareSheet(mnemonic, record, { ...(o.holder !== undefined ? { holder: o.holder } : {}), qr: !!o.qr });
      try {
        writePrivate(o.out, pdf);
      } finally {
        pdf.fill(0);
      }
      const check = await verifyShareAgainstRecord(mnemonic, record);
      const entry = check.ok ? check.entry : undefined;
      out(
        opts,
        { written: o.out, share: entry ?? null, qr: !!o.qr },
        () =>
          `Share sheet for ${entry ? sharePosition(record, entry.groupIndex, entry.memberIndex) : 'the share'} of set ${record.set.identifier}${entry?.holder ? ` (${entry.holder})` : ''} written to ${o.out}.` +
          (o.qr ? '\nThe sheet carries a QR code of the share: anyone who photographs it has the share.' : ''),
      );
    });

  registerSealCommands(program, shares);
}

// ---- Shares sealed to custodian cards (custos.sealedshare v1, docs/FORMAT.md) ------------------
// `shares seal` encrypts one share to a custodian card's public key (in this process, no PIN);
// `shares unseal` opens it inside that card after its PIN, and checks it against the record;
// `shares combine --sealed FILE` lets a quorum restore by inserting cards instead of typing words.

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function readEnvelope(path: string): SealedShare {
  return parseSealedShareJson(readInputFile(path, 'sealed share').toString('utf8'));
}

const holderOf = (env: SealedShare): string => env.share.holder ?? 'the holder';

/** --sealed files for combine: read and matched against the record before any share is typed or card touched. */
function checkSealedOptions(files: string[], record: ShareSetRecord | undefined, opts: GlobalOptions): SealedShare[] {
  if (files.length === 0) return [];
  if (!record) throw usage('--sealed needs --record: a share from a card is checked against the share-set record before it is used.', 'Add --record FILE.');
  if (!stdinIsTerminal() && !opts.pinFile) {
    throw usage("Standard input carries the typed shares, so the cards' PINs cannot come from it too.", "Give the PIN with --pin-file FILE (used for every card), or run on a terminal to be asked for each card's PIN.");
  }
  const envs = files.map(readEnvelope);
  for (const e of envs) envelopeRecordEntry(e, record);
  return envs;
}

/**
 * Logs in as the user when the token wants it: the PIN from --pin-file, a hidden prompt, or (when
 * stdin carries no data) stdin. Shared with `components combine --import`.
 */
export async function tokenLogin(s: Services, opts: GlobalOptions, slot: TokenSlot, prompt: string, stdinBusy: boolean): Promise<TokenRef> {
  const t = { module: slot.module, token: slot.token.uri };
  if (slot.token.flags.loginRequired && slot.token.loggedIn !== 'user') {
    if (stdinBusy && !opts.pinFile && !stdinIsTerminal()) {
      throw usage('Standard input carries the data, so the PIN cannot come from it too.', 'Give the PIN with --pin-file FILE.');
    }
    const pin = await readSecret({ file: opts.pinFile, prompt });
    try {
      await s.tokens.login(slot.module, slot.token.uri, pin.value, 'user', false);
    } finally {
      pin.wipe();
    }
  }
  return t;
}

/** The card an envelope was sealed to. On a terminal, waits for it to be inserted. */
async function cardFor(s: Services, opts: GlobalOptions, env: SealedShare, preferGlobal: boolean): Promise<TokenSlot> {
  const named = envelopeTokenSelector(env);
  const selector = preferGlobal ? (opts.token ?? named) : (named ?? opts.token);
  if (!selector) {
    throw usage('This envelope does not say which card it was sealed to (it was sealed offline to a public key).', 'Name the card with --token LABEL or --token "pkcs11:…".');
  }
  for (;;) {
    try {
      return await pickToken(s, { ...opts, token: selector });
    } catch (e) {
      if (!(e instanceof CustosError) || e.appError.code !== 'TOKEN_NOT_FOUND') throw e;
      if (!stdinIsTerminal()) {
        throw new CustosError({ ...e.appError, message: `The card for ${holderOf(env)}'s share is not present: it was sealed to ${describeRecipient(env)}.`, action: 'Insert that card (or name it with --token) and run the command again.' });
      }
      const b = await promptHidden(`Insert the card of ${holderOf(env)} (${describeRecipient(env)}), then press Enter: `);
      b.fill(0);
    }
  }
}

async function unsealOne(s: Services, opts: GlobalOptions, env: SealedShare, record: ShareSetRecord, preferGlobal: boolean, stdinBusy: boolean) {
  const slot = await cardFor(s, opts, env, preferGlobal);
  const t = await tokenLogin(s, opts, slot, `PIN for card "${slot.token.label}" (${holderOf(env)}): `, stdinBusy);
  try {
    return { result: await s.cardShares.unseal(t, env, record), slot };
  } finally {
    // The card proved its holder's presence for this one share; do not leave it logged in.
    await s.tokens.logout(slot.module, slot.token.uri).catch(() => undefined);
  }
}

async function unsealForCombine(program: Command, envs: SealedShare[], record: ShareSetRecord | undefined): Promise<string[]> {
  if (envs.length === 0 || !record) return [];
  const mnemonics: string[] = [];
  await withServices(program, async (s, opts) => {
    for (const [i, env] of envs.entries()) {
      const { result, slot } = await unsealOne(s, opts, env, record, false, true).catch((e: unknown) => {
        if (e instanceof CustosError) throw new CustosError({ ...e.appError, message: `Sealed share ${i + 1}: ${e.appError.message}`, details: { ...e.appError.details, sealed: i + 1 } });
        throw e;
      });
      process.stderr.write(`Card "${slot.token.label}": ${result.message}\n`);
      mnemonics.push(result.mnemonic);
    }
  });
  return mnemonics;
}

function registerSealCommands(program: Command, shares: Command): void {
  const globals = () => program.opts<GlobalOptions>();

  shares
    .command('seal')
    .description("seal ONE share (stdin or prompt) to a custodian card's key, so that only that card can open it")
    .requiredOption('--record <file>', 'share-set record written at the ceremony')
    .requiredOption('--holder <name>', 'the share must be the one recorded for this holder')
    .requiredOption('--out <file>', 'where to write the sealed share (custos.sealedshare v1 JSON; never overwritten)')
    .addOption(new Option('--to-key <label|uri>', 'the custodian key on the card named by --token (RSA: wrap/encrypt; EC P-256: derive)'))
    .addOption(new Option('--to-public-key <file>', 'seal offline to this public key (PEM or JWK) instead of a card'))
    .addOption(new Option('--oaep-hash <hash>', 'RSA keys: OAEP hash (SoftHSM and many cards do only SHA-1)').choices(['sha1', 'sha256']).default('sha1'))
    .addOption(new Option('--kdf <kdf>', 'EC keys: none (Z is the key), x963-sha256, or auto (x963-sha256 when the card computes it)').choices(['auto', 'none', 'x963-sha256']).default('auto'))
    .action(async (o: { record: string; holder: string; out: string; toKey?: string; toPublicKey?: string; oaepHash: 'sha1' | 'sha256'; kdf: SealKdf | 'auto' }) => {
      const opts = globals();
      if ((o.toKey === undefined) === (o.toPublicKey === undefined)) {
        throw usage('Say whom to seal the share to: --to-key (a key on the card named by --token) or --to-public-key FILE, not both.', 'Example: --token "Alice card" --to-key custodian');
      }
      refuseExisting([o.out]);
      const record = readRecord(o.record);
      const holder = normalizeHolder(o.holder);
      let env: SealedShare;
      if (o.toPublicKey !== undefined) {
        const pem = readInputFile(o.toPublicKey, 'public key').toString('utf8');
        const mnemonic = await readOneMnemonic();
        // Offline: the card is not here to say whether its ECDH computes the X9.63 KDF, so "auto" is "none".
        env = await sealShare({ mnemonic, record, holder, recipient: { spki: parsePublicKey(pem).spki }, oaepHash: o.oaepHash, kdf: o.kdf === 'auto' ? 'none' : o.kdf });
      } else {
        let sealed: SealedShare | undefined;
        await withServices(program, async (s) => {
          const slot = await pickToken(s, opts);
          // Public keys need no PIN; with --pin-file, log in (for cards that hide public keys).
          const t = opts.pinFile ? await tokenLogin(s, opts, slot, '', true) : { module: slot.module, token: slot.token.uri };
          await s.cardShares.recipientFromToken(t, o.toKey!); // the key is checked before the share is typed
          const mnemonic = await readOneMnemonic();
          sealed = await s.cardShares.sealToToken(t, o.toKey!, { mnemonic, record, holder, oaepHash: o.oaepHash, kdf: o.kdf });
        });
        env = sealed!;
      }
      writeFileSync(o.out, serializeSealedShare(env), { flag: 'wx', mode: 0o600 });
      const position = sharePosition(record, env.share.groupIndex, env.share.memberIndex);
      out(
        opts,
        { written: o.out, set: env.share.setId, position, share: env.share, recipient: env.recipient, alg: env.alg, kdf: env.kdf },
        () =>
          [
            `Sealed ${position} of set ${env.share.setId}${env.share.holder ? ` (held by ${env.share.holder})` : ''}, fingerprint ${formatFingerprint(env.share.fingerprint)},`,
            `to ${describeRecipient(env)} (${env.alg}${env.kdf ? `, KDF ${env.kdf}` : ''}).`,
            `Written to ${o.out}. Only that card can open it: custos shares unseal --in ${o.out} --record ${o.record}`,
          ].join('\n'),
      );
    });

  shares
    .command('unseal')
    .description('open a sealed share on its custodian card (PIN) and check it against the record; the words only with --reveal')
    .requiredOption('--in <file>', 'the sealed share (custos shares seal --out)')
    .requiredOption('--record <file>', 'share-set record: the share is checked against it')
    .addOption(new Option('--reveal', 'print the share words'))
    .action(async (o: { in: string; record: string; reveal?: boolean }) => {
      const env = readEnvelope(o.in);
      const record = readRecord(o.record);
      envelopeRecordEntry(env, record);
      await withServices(program, async (s, opts) => {
        const { result, slot } = await unsealOne(s, opts, env, record, true, false);
        out(
          opts,
          {
            ok: true,
            matchesRecord: true,
            set: record.set.identifier,
            ceremonyId: record.ceremonyId,
            share: result.entry,
            position: result.position,
            fingerprint: result.fingerprint,
            card: { label: slot.token.label, serial: slot.token.serial },
            ...(o.reveal ? { mnemonic: result.mnemonic } : {}),
          },
          () =>
            [
              `Opened on card "${slot.token.label}": ${result.message}`,
              'It matches the record.',
              ...(o.reveal ? ['', result.mnemonic] : ['(The share words are shown only with --reveal.)']),
            ].join('\n'),
        );
      });
    });
}
