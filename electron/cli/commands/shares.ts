// `custos shares …`: SLIP-39 split knowledge — split a secret into shares, write the share-set record
// and the share sheets, check one share against the record alone, and recombine; and shares sealed
// to custodians' cards (shares-cards.ts, loaded only for those). The flows are the share service's
// (electron/services/shares); these commands read files and stdin, call it, and print. See
// docs/FORMAT.md for the record and the sheet, docs/CLI.md for the commands.
import { Option, type Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatHex } from '../../../shared/components';
import { invalidInput } from '../../../shared/result';
import { decodeMnemonic, type GroupSpec } from '../../../shared/slip39';
import { formatFingerprint, serializeShareSetRecord, sharePosition, type SecretCheckValue } from '../../../shared/shares';
import { checkEveryShare, checkShare, checkValueMismatch, PASSPHRASE_WARNING, planSplit, recoverSecret, renderShareSheet, splitIntoShares, type SplitLayout } from '../../services/shares/index';
import { tokenlessActivity } from '../data-dir';
import { loadCliModule } from '../load';
import { out, type GlobalOptions } from '../output';
import { checkOutputFile, checkOutputFolder, LIMITS, refuseExisting, writeOutputFile } from '../files';
import { decodeSecretBytes, promptHidden, readInputFile, readPassphraseFile, readStdin, stdinIsTerminal, type SecretEncoding } from '../input';
import { dateOption, intOption } from '../options';
import { readMnemonicLines, readOneMnemonic, readRecordFile, writePrivate } from '../share-input';
import type { SealOptions, UnsealOptions } from './shares-cards';
import { checkValueText } from '../../../shared/check-value';

// Sealed shares need the envelope format and the card's keys (ASN.1, more schemas): a module of their
// own, loaded only for those commands.
const cards = () => loadCliModule<typeof import('./shares-cards')>('commands/shares-cards.mjs');

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** "GT:M1/N1,M2/N2,…" — GT groups needed; group i needs M_i of its N_i shares. */
export function parseGroups(spec: string): SplitLayout {
  const m = /^\s*(\d+)\s*:\s*(\d+\s*\/\s*\d+(?:\s*,\s*\d+\s*\/\s*\d+)*)\s*$/.exec(spec);
  if (!m) {
    invalidInput(
      `--groups "${spec}" is not of the form GT:M1/N1,M2/N2,… .`,
      'Example: --groups "2:2/3,1/1,3/5" means 2 of 3 groups are needed: 2 of 3 shares from group 1, the 1 share of group 2, or 3 of 5 shares from group 3.',
    );
  }
  const groups: GroupSpec[] = m[2]!.split(',').map((g) => {
    const [t, n] = g.split('/').map((x) => Number(x.trim()));
    return { threshold: t!, count: n! };
  });
  return { groupThreshold: Number(m[1]), groups };
}

function describeCheck(c: SecretCheckValue): string {
  return c.method === 'AES-CMAC'
    ? `${checkValueText(c.value)} (AES-CMAC of the secret as an AES key, X9.24-1:2017, 5 bytes)`
    : `${checkValueText(c.value)} (SHA-256, custos.secret-check.v1, 5 bytes)`;
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

function layoutOf(o: SplitOptions): SplitLayout {
  if (o.groups !== undefined) {
    if (o.threshold !== undefined || o.shares !== undefined) invalidInput('--groups cannot be combined with --threshold/--shares.', 'Use either --threshold M --shares N (one group) or --groups.');
    return parseGroups(o.groups);
  }
  if (o.threshold === undefined || o.shares === undefined) invalidInput('How many shares to make, and how many are needed, was not given.', 'Pass --threshold M --shares N, or --groups "GT:M1/N1,…".');
  return { groupThreshold: 1, groups: [{ threshold: o.threshold, count: o.shares }] };
}

async function readSplitSecret(o: SplitOptions): Promise<Uint8Array> {
  let buf: Buffer;
  if (o.secretFile) buf = readInputFile(o.secretFile, 'secret');
  else if (!stdinIsTerminal()) buf = await readStdin(LIMITS.small, 'secret');
  else buf = await promptHidden('Secret to split, in hexadecimal (not shown): ');
  try {
    return decodeSecretBytes(buf, stdinIsTerminal() && !o.secretFile ? 'hex' : o.encoding, 'secret');
  } finally {
    buf.fill(0);
  }
}

async function split(opts: GlobalOptions, o: SplitOptions): Promise<void> {
  // Everything that can be checked is checked before anything is read, made or written.
  const plan = planSplit(layoutOf(o), o.holders?.split(','));
  const createdAt = o.date ?? new Date().toISOString();
  if (o.recordOut) checkOutputFile(o.recordOut, 'share-set record', { fresh: true });
  if (o.sheetsDir) checkOutputFolder(o.sheetsDir, 'share sheets');
  const passphrase = o.passphraseFile ? readPassphraseFile(o.passphraseFile) : new Uint8Array(0);
  const secret = await readSplitSecret(o);
  const made = await splitIntoShares(plan, {
    secret,
    passphrase,
    iterationExponent: o.iterationExponent,
    createdAt,
    ceremonyId: o.ceremony ?? null,
    label: o.label ?? null,
    ...(o.sheetsDir ? { sheets: { qr: !!o.qr } } : {}),
  });
  const { record, checkValue: check } = made;

  // Every sheet was rendered before anything is written, so a failure leaves nothing behind.
  const sheets = made.sheets.map((s) => ({ path: join(o.sheetsDir ?? '', s.fileName), pdf: s.pdf }));
  refuseExisting(sheets.map((s) => s.path));
  // The record holds no secret (docs/FORMAT.md): it is filed with the minutes and given to every custodian.
  if (o.recordOut) writeOutputFile(o.recordOut, serializeShareSetRecord(record), 'share-set record', { fresh: true, mode: 0o644 });
  if (o.sheetsDir) {
    mkdirSync(o.sheetsDir, { recursive: true, mode: 0o700 });
    for (const s of sheets) {
      writePrivate(s.path, s.pdf, 'share sheet');
      s.pdf.fill(0);
    }
  }

  const flat = made.mnemonics.flat();
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
}

interface CombineOptions {
  passphraseFile?: string;
  record?: string;
  reveal?: boolean;
  sealed: string[];
}

async function combine(program: Command, opts: GlobalOptions, o: CombineOptions): Promise<void> {
  const record = o.record ? readRecordFile(o.record) : undefined;
  const sealed = o.sealed.length > 0 ? await cards() : undefined;
  const envelopes = sealed ? sealed.checkSealedOptions(o.sealed, record, opts) : [];
  const passphrase = o.passphraseFile ? readPassphraseFile(o.passphraseFile) : new Uint8Array(0);
  const mnemonics = [...(await readMnemonicLines(envelopes.length > 0)), ...(sealed && record ? await sealed.unsealForCombine(program, envelopes, record) : [])];
  if (record) await checkEveryShare(record, mnemonics);
  let recovered: Awaited<ReturnType<typeof recoverSecret>>;
  try {
    recovered = await recoverSecret(mnemonics, passphrase, record?.secretCheck);
  } finally {
    passphrase.fill(0);
  }
  const { secret, checkValue: check, legacyCheckValue: legacy } = recovered;
  try {
    if (recovered.matches === false) throw checkValueMismatch(check, record!.secretCheck!);
    const first = decodeMnemonic(mnemonics[0]!);
    first.value.fill(0);
    out(
      opts,
      {
        set: first.identifier,
        shares: mnemonics.length,
        secretBytes: secret.length,
        checkValue: check,
        ...(legacy ? { legacyCheckValue: legacy } : {}),
        matchesRecord: recovered.matches ? true : null,
        ...(o.reveal ? { secret: Buffer.from(secret).toString('hex') } : {}),
        warning: PASSPHRASE_WARNING,
      },
      () =>
        [
          `Recovered a ${secret.length}-byte secret from ${mnemonics.length} share${mnemonics.length === 1 ? '' : 's'} of set ${first.identifier}.`,
          `Check value: ${describeCheck(check)}${legacy ? `; legacy AES-ECB check value ${legacy.toUpperCase()}` : ''}.`,
          recovered.matches ? 'It matches the check value in the record.' : `WARNING: ${PASSPHRASE_WARNING}`,
          ...(o.reveal ? ['', `Secret: ${formatHex(secret)}`] : ['(The secret itself is shown only with --reveal.)']),
        ].join('\n'),
    );
  } finally {
    secret.fill(0);
  }
}

export function registerShareCommands(program: Command): void {
  const shares = program.command('shares').description('SLIP-39 secret sharing: split, check, recombine; share-set records and share sheets');
  const globals = () => program.opts<GlobalOptions>();

  shares
    .command('split')
    .description('split a secret into SLIP-39 shares (secret from --secret-file, stdin or a prompt)')
    .addOption(new Option('--threshold <M>', 'shares needed (one group)').argParser(intOption('--threshold', 1, 16)))
    .addOption(new Option('--shares <N>', 'shares to make (one group)').argParser(intOption('--shares', 1, 16)))
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
    .addOption(new Option('--date <date>', 'ceremony date (YYYY-MM-DD or ISO 8601; default: now)').argParser(dateOption('--date')))
    .addOption(new Option('--iteration-exponent <e>', 'SLIP-39 PBKDF2 work factor e: 10000·2^e iterations').argParser(intOption('--iteration-exponent', 0, 15)).default(1))
    .action(async (o: SplitOptions) => {
      // Recorded (who, what layout; never the secret or a share) in the workstation's audit log.
      const activity = await tokenlessActivity(globals());
      const layout = o.groups ?? `${o.threshold ?? '?'} of ${o.shares ?? '?'}`;
      await activity.run({ action: 'shares.split', details: { layout, holders: o.holders ?? null, ceremony: o.ceremony ?? null, label: o.label ?? null, record: o.recordOut ?? null } }, () => split(globals(), o));
    });

  shares
    .command('combine')
    .description('recover the secret from shares given one per line on stdin (or prompts)')
    .addOption(new Option('--passphrase-file <file>', 'SLIP-39 passphrase from the first line of FILE'))
    .addOption(new Option('--record <file>', 'check every share and the recovered secret against this share-set record'))
    .addOption(new Option('--reveal', 'print the recovered secret in hexadecimal'))
    .addOption(new Option('--sealed <file>', 'also a share sealed to a custodian card (custos shares seal); repeatable; needs --record').argParser(collect).default([]))
    .action(async (o: CombineOptions) => {
      const activity = await tokenlessActivity(globals());
      await activity.run({ action: 'shares.combine', details: { record: o.record ?? null, sealed: o.sealed.length, reveal: o.reveal === true } }, () => combine(program, globals(), o));
    });

  shares
    .command('verify')
    .description('check ONE share (stdin or prompt) against the share-set record, without any other share')
    .requiredOption('--record <file>', 'share-set record written at the ceremony')
    .addOption(new Option('--holder <name>', 'the share must be the one recorded for this holder'))
    .action(async (o: { record: string; holder?: string }) => {
      const opts = globals();
      const record = readRecordFile(o.record);
      // A custodian may check their own share: recorded with the set and the share's position, never its
      // words. Who checks is settled before the share is asked for.
      const activity = await tokenlessActivity(opts);
      const check = await activity.run(
        { action: 'shares.verify', alsoRoles: ['custodian'], details: { set: record.set.identifier, ceremony: record.ceremonyId ?? null, holder: o.holder ?? null } },
        async () => checkShare(record, await readOneMnemonic(), o.holder),
        (c) => ({ details: { position: c.position, fingerprint: c.entry.fingerprint } }),
      );
      out(opts, { ok: true, set: record.set.identifier, ceremonyId: record.ceremonyId, share: check.entry, position: check.position, message: check.message }, () => check.message);
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
      const record = readRecordFile(o.record);
      checkOutputFile(o.out, 'share sheet', { fresh: true });
      const mnemonic = await readOneMnemonic();
      const pdf = await renderShareSheet(mnemonic, record, { ...(o.holder !== undefined ? { holder: o.holder } : {}), qr: !!o.qr });
      try {
        writePrivate(o.out, pdf, 'share sheet');
      } finally {
        pdf.fill(0);
      }
      // The sheet was rendered only for a share of this record (and this holder), so this check passes.
      const { entry } = await checkShare(record, mnemonic);
      out(
        opts,
        { written: o.out, share: entry, qr: !!o.qr },
        () =>
          `Share sheet for ${sharePosition(record, entry.groupIndex, entry.memberIndex)} of set ${record.set.identifier}${entry.holder ? ` (${entry.holder})` : ''} written to ${o.out}.` +
          (o.qr ? '\nThe sheet carries a QR code of the share: anyone who photographs it has the share.' : ''),
      );
    });

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
    .action(async (o: SealOptions) => (await cards()).seal(program, o));

  shares
    .command('unseal')
    .description('open a sealed share on its custodian card (PIN) and check it against the record; the words only with --reveal')
    .requiredOption('--in <file>', 'the sealed share (custos shares seal --out)')
    .requiredOption('--record <file>', 'share-set record: the share is checked against it')
    .addOption(new Option('--reveal', 'print the share words'))
    .action(async (o: UnsealOptions) => (await cards()).unseal(program, o));
}
