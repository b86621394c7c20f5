// Splitting a secret into SLIP-39 shares at a ceremony (DESIGN.md ceremony 3): the shares, the
// share-set record kept beside them (custos.shareset v1) and, when asked, one printable sheet per
// share. Everything is made before anything is written, so the caller can refuse to overwrite a
// file and then write all of it or nothing.
import { createShareSetRecord, normalizeHolder, type SecretCheckValue, type ShareRecordEntry, type ShareSetRecord } from '../../../shared/shares';
import { invalidInput } from '../../../shared/result';
import { splitSecret, type GroupSpec } from '../../../shared/slip39';
import { secretCheckValue } from '../kcv';
import { nodeSha256, nodeSlip39Crypto, slip39 } from './secret';
import { renderShareSheet, sheetFileName } from './sheets';

export interface SplitLayout {
  /** Groups needed to recover. */
  groupThreshold: number;
  /** Per group: shares needed, shares made. */
  groups: GroupSpec[];
}

export interface SplitPlan {
  layout: SplitLayout;
  /** One name per share, in order (group 1 first), as the record will hold them. */
  holders?: string[];
}

/** Checks what can be checked before the secret is read: one holder name per share. */
export function planSplit(layout: SplitLayout, holders?: readonly string[]): SplitPlan {
  const total = layout.groups.reduce((n, g) => n + g.count, 0);
  const names = holders?.map((h) => normalizeHolder(h));
  if (names && names.length !== total) {
    invalidInput(`${names.length} holder name${names.length === 1 ? ' was' : 's were'} given for ${total} shares.`, 'Give one name per share, in order: group 1 first.');
  }
  return { layout, ...(names ? { holders: names } : {}) };
}

export interface SplitInput {
  /** The secret; wiped here. */
  secret: Uint8Array;
  /** The SLIP-39 passphrase (empty for none); wiped here. */
  passphrase: Uint8Array;
  /** SLIP-39 PBKDF2 work factor e: 10000·2^e iterations. */
  iterationExponent: number;
  createdAt: string;
  ceremonyId: string | null;
  label: string | null;
  /** Render one sheet per share; `qr` puts a QR code of the share on each. */
  sheets?: { qr: boolean };
}

export interface ShareSheet {
  entry: ShareRecordEntry;
  /** File name for the sheet (sheetFileName), to be written in the caller's folder. */
  fileName: string;
  /** The PDF, which holds the share: the caller writes it, then wipes it. */
  pdf: Buffer;
}

export interface SplitResult {
  record: ShareSetRecord;
  /** The shares, per group. Strings cannot be wiped: the caller shows or writes them and drops them. */
  mnemonics: string[][];
  checkValue: SecretCheckValue;
  sheets: ShareSheet[];
}

/** Splits the secret as planned, makes the record and (if asked) the sheets. The secret and passphrase are wiped. */
export async function splitIntoShares(plan: SplitPlan, input: SplitInput): Promise<SplitResult> {
  const { secret, passphrase } = input;
  let mnemonics: string[][];
  let checkValue: SecretCheckValue;
  try {
    checkValue = secretCheckValue(secret);
    mnemonics = await slip39(
      () => splitSecret({ secret, passphrase, groupThreshold: plan.layout.groupThreshold, groups: plan.layout.groups, iterationExponent: input.iterationExponent }, nodeSlip39Crypto),
      { splitting: true },
    );
  } finally {
    secret.fill(0);
    passphrase.fill(0);
  }
  const record = await createShareSetRecord(
    {
      mnemonics,
      ...(plan.holders ? { holders: plan.holders } : {}),
      createdAt: input.createdAt,
      ceremonyId: input.ceremonyId,
      label: input.label,
      secretCheck: checkValue,
    },
    nodeSha256,
  );
  const sheets: ShareSheet[] = [];
  if (input.sheets) {
    for (const [i, m] of mnemonics.flat().entries()) {
      const entry = record.shares[i]!;
      sheets.push({ entry, fileName: sheetFileName(record, entry.groupIndex, entry.memberIndex, entry.holder), pdf: await renderShareSheet(m, record, { qr: input.sheets.qr, sha256: nodeSha256 }) });
    }
  }
  return { record, mnemonics, checkValue, sheets };
}
