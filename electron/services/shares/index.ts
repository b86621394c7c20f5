// The share service: split knowledge with SLIP-39 shares and XOR key components, the one place both
// the app's handlers and the CLI's commands call (issue #9 part 1). The front ends read files, type
// and print; the flows are here. One module per topic:
//
//   split.ts             a secret into shares, the share-set record and the share sheets
//   records.ts           records as the app shows them; one share checked against its record
//   secret.ts            SLIP-39 on node:crypto; recovering a secret, its check value compared
//   drill.ts             restore drills: a quorum proves the shares still work, importing nothing
//   sheets.ts            printable share sheets (PDF)
//   sealed.ts, cards.ts  shares sealed to a custodian's card: the envelope, and the card's side
//   components.ts        XOR key components with their check values
//   component-import.ts  components combined into a new key inside the HSM
//
// Operations that need no HSM are functions; those that do are ShareService methods, on the
// services' HSM client.
import type { TokenRef } from '../../../shared/keys';
import type { ShareSetRecord } from '../../../shared/shares';
import type { HsmClient } from '../../hsm/client';
import { CardShareService, type UnsealResult } from './cards';
import { ComponentImportService, type ComponentImportInput, type ComponentImportResult } from './component-import';
import type { Recipient, SealedShare, SealInput } from './sealed';
import type { SealKdf } from '../../hsm/protocol';

export { combineFromComponents, describeKcv, resolveAlgorithm, splitIntoComponents, type CombinedKey, type ComponentSplit } from './components';
export { ComponentImportService, type ComponentImportInput, type ComponentImportResult } from './component-import';
export { CardShareService, type UnsealResult } from './cards';
export { DRILL_IDLE_MS, DrillService, MAX_DRILLS, type DrillServiceOptions } from './drill';
export { checkEveryShare, checkShare, MAX_SCREEN_WORDS, readRecord, readRecordView, recordView, verifyShare, type CheckedShare } from './records';
export { checkValueMismatch, nodeSha256, nodeSlip39Crypto, PASSPHRASE_WARNING, recoverSecret, slip39, type RecoveredSecret } from './secret';
export {
  describeRecipient,
  envelopeRecordEntry,
  envelopeTokenSelector,
  openSealedShareWithPrivateKey,
  parseSealedShare,
  parseSealedShareJson,
  sealedAad,
  sealShare,
  sealToPublicKey,
  serializeSealedShare,
  SEALED_FORMAT,
  SEALED_SHARED_INFO,
  SEALED_VERSION,
  x963Sha256,
  type OaepHash,
  type Recipient,
  type SealedShare,
  type SealInput,
} from './sealed';
export { renderShareSheet, sheetFileName, type ShareSheetOptions } from './sheets';
export { planSplit, splitIntoShares, type ShareSheet, type SplitInput, type SplitLayout, type SplitPlan, type SplitResult } from './split';

type Hsm = Pick<HsmClient, 'call'>;

/** The share operations that use a token: sealing to a custodian's card, opening there, and entering components into the HSM. */
export class ShareService {
  private readonly cards: CardShareService;
  private readonly componentImport: ComponentImportService;

  constructor(hsm: Hsm) {
    this.cards = new CardShareService(hsm);
    this.componentImport = new ComponentImportService(hsm);
  }

  /** The custodian key on a token (label or URI), checked for a usage that can open shares: done before the share is typed. */
  recipientFromToken(t: TokenRef, selector: string): Promise<Recipient> {
    return this.cards.recipientFromToken(t, selector);
  }

  /** Seals one share to the custodian key on a token (the card's public key only; no PIN needed). */
  sealToToken(t: TokenRef, selector: string, input: Omit<SealInput, 'recipient' | 'kdf'> & { kdf?: SealKdf | 'auto' }): Promise<SealedShare> {
    return this.cards.sealToToken(t, selector, input);
  }

  /** Seals one share to a public key given as PEM or JWK (offline: no card attached). */
  sealToPublicKey(publicKeyText: string, input: Omit<SealInput, 'recipient'>): Promise<SealedShare> {
    return this.cards.sealToPublicKey(publicKeyText, input);
  }

  /** Opens a sealed share inside the logged-in card and checks it against the record. */
  unseal(t: TokenRef, env: SealedShare, record: ShareSetRecord): Promise<UnsealResult> {
    return this.cards.unseal(t, env, record);
  }

  /** Combines components in this process and enters the key into the token, confirmed by its in-HSM check value. */
  importComponents(t: TokenRef, input: ComponentImportInput): Promise<ComponentImportResult> {
    return this.componentImport.importComponents(t, input);
  }
}
