// Shares sealed to custodian cards (custos.sealedshare v1, docs/FORMAT.md), for `custos shares`:
// `shares seal` encrypts one share to a custodian card's public key (in this process, no PIN);
// `shares unseal` opens it inside that card after its PIN, and checks it against the record;
// `shares combine --sealed FILE` lets a quorum restore by inserting cards instead of typing words.
// Loaded only for these commands: the envelope format and the card's keys need the ASN.1 and
// schema libraries that the other share commands do not.
import type { Command } from 'commander';
import type { TokenRef } from '../../../shared/keys';
import { CustosError, invalidInput } from '../../../shared/result';
import { formatFingerprint, normalizeHolder, sharePosition, type ShareSetRecord } from '../../../shared/shares';
import type { SealKdf } from '../../hsm/protocol';
import type { CoreServices } from '../../services/core';
import {
  describeRecipient,
  envelopeRecordEntry,
  envelopeTokenSelector,
  parseSealedShareJson,
  sealToPublicKey,
  serializeSealedShare,
  ShareService,
  type OaepHash,
  type SealedShare,
} from '../../services/shares/index';
import { out, pickToken, withCore, type GlobalOptions, type TokenSlot } from '../context';
import { checkOutputFile } from '../files';
import { promptHidden, readInputFile, stdinIsTerminal } from '../input';
import { logIn } from '../session';
import { readOneMnemonic, readRecordFile, writePrivate } from '../share-input';

export interface SealOptions {
  record: string;
  holder: string;
  out: string;
  toKey?: string;
  toPublicKey?: string;
  oaepHash: OaepHash;
  kdf: SealKdf | 'auto';
}

export interface UnsealOptions {
  in: string;
  record: string;
  reveal?: boolean;
}

/** Standard input carries the typed shares or the share to seal: the PIN must come from elsewhere. */
const PIN_NOT_FROM_STDIN = 'Give the PIN with --pin-file FILE.';

function readEnvelope(path: string): SealedShare {
  return parseSealedShareJson(readInputFile(path, 'sealed share').toString('utf8'));
}

const holderOf = (env: SealedShare): string => env.share.holder ?? 'the holder';

/** --sealed files for combine: read and matched against the record before any share is typed or card touched. */
export function checkSealedOptions(files: string[], record: ShareSetRecord | undefined, opts: GlobalOptions): SealedShare[] {
  if (files.length === 0) return [];
  if (!record) invalidInput('--sealed needs --record: a share from a card is checked against the share-set record before it is used.', 'Add --record FILE.');
  if (!stdinIsTerminal() && !opts.pinFile) {
    invalidInput("Standard input carries the typed shares, so the cards' PINs cannot come from it too.", "Give the PIN with --pin-file FILE (used for every card), or run on a terminal to be asked for each card's PIN.");
  }
  const envs = files.map(readEnvelope);
  for (const e of envs) envelopeRecordEntry(e, record);
  return envs;
}

/** The card an envelope was sealed to. On a terminal, waits for it to be inserted. */
async function cardFor(s: CoreServices, opts: GlobalOptions, env: SealedShare, preferGlobal: boolean): Promise<TokenSlot> {
  const named = envelopeTokenSelector(env);
  const selector = preferGlobal ? (opts.token ?? named) : (named ?? opts.token);
  if (!selector) {
    invalidInput('This envelope does not say which card it was sealed to (it was sealed offline to a public key).', 'Name the card with --token LABEL or --token "pkcs11:…".');
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

async function unsealOne(s: CoreServices, shares: ShareService, opts: GlobalOptions, env: SealedShare, record: ShareSetRecord, preferGlobal: boolean, stdinBusy: boolean) {
  const slot = await cardFor(s, opts, env, preferGlobal);
  const t = await logIn(s, opts, slot, { prompt: `PIN for card "${slot.token.label}" (${holderOf(env)}): `, ...(stdinBusy ? { stdinBusy: PIN_NOT_FROM_STDIN } : {}) });
  try {
    return { result: await shares.unseal(t, env, record), slot };
  } finally {
    // The card proved its holder's presence for this one share; do not leave it logged in.
    await s.tokens.logout(slot.module, slot.token.uri).catch(() => undefined);
  }
}

/** The shares in the --sealed envelopes, each opened on its own card (one after the other). */
export async function unsealForCombine(program: Command, envs: SealedShare[], record: ShareSetRecord): Promise<string[]> {
  if (envs.length === 0) return [];
  const mnemonics: string[] = [];
  await withCore(program, async (s, opts) => {
    // The CLI opens only the core services; the share service runs on their HSM client.
    const shares = new ShareService(s.hsm);
    for (const [i, env] of envs.entries()) {
      const { result, slot } = await unsealOne(s, shares, opts, env, record, false, true).catch((e: unknown) => {
        if (e instanceof CustosError) throw new CustosError({ ...e.appError, message: `Sealed share ${i + 1}: ${e.appError.message}`, details: { ...e.appError.details, sealed: i + 1 } });
        throw e;
      });
      process.stderr.write(`Card "${slot.token.label}": ${result.message}\n`);
      mnemonics.push(result.mnemonic);
    }
  });
  return mnemonics;
}

export async function seal(program: Command, o: SealOptions): Promise<void> {
  const opts = program.opts<GlobalOptions>();
  if ((o.toKey === undefined) === (o.toPublicKey === undefined)) {
    invalidInput('Say whom to seal the share to: --to-key (a key on the card named by --token) or --to-public-key FILE, not both.', 'Example: --token "Alice card" --to-key custodian');
  }
  checkOutputFile(o.out, 'sealed share', { fresh: true });
  const record = readRecordFile(o.record);
  const holder = normalizeHolder(o.holder);
  let env: SealedShare;
  if (o.toPublicKey !== undefined) {
    const pem = readInputFile(o.toPublicKey, 'public key').toString('utf8');
    const mnemonic = await readOneMnemonic();
    // Offline: the card is not here to say whether its ECDH computes the X9.63 KDF, so "auto" is "none".
    env = await sealToPublicKey(pem, { mnemonic, record, holder, oaepHash: o.oaepHash, kdf: o.kdf === 'auto' ? 'none' : o.kdf });
  } else {
    const toKey = o.toKey!;
    let sealed: SealedShare | undefined;
    await withCore(program, async (s) => {
      const shares = new ShareService(s.hsm);
      const slot = await pickToken(s, opts);
      // Public keys need no PIN; with --pin-file, log in (for cards that hide public keys).
      const t: TokenRef = opts.pinFile ? await logIn(s, opts, slot, { prompt: '', stdinBusy: PIN_NOT_FROM_STDIN }) : { module: slot.module, token: slot.token.uri };
      await shares.recipientFromToken(t, toKey); // the key is checked before the share is typed
      const mnemonic = await readOneMnemonic();
      sealed = await shares.sealToToken(t, toKey, { mnemonic, record, holder, oaepHash: o.oaepHash, kdf: o.kdf });
    });
    env = sealed!;
  }
  writePrivate(o.out, serializeSealedShare(env), 'sealed share');
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
}

export async function unseal(program: Command, o: UnsealOptions): Promise<void> {
  const env = readEnvelope(o.in);
  const record = readRecordFile(o.record);
  envelopeRecordEntry(env, record);
  await withCore(program, async (s, opts) => {
    const { result, slot } = await unsealOne(s, new ShareService(s.hsm), opts, env, record, true, false);
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
}
