// Generating a key as a custodian decides it, one thing at a time: the algorithm, its uses, whether
// it may ever leave the token, its label; then one sentence that names exactly what will be
// created, read before the token is asked (DESIGN.md: nothing irreversible without a plain-language
// confirmation). Pure, so that the app's wizard, the CLI and the key-generation ceremony walk the
// same steps and say the same sentence. Main checks the request again against the contract.

import type { KeyTypeInfo, KeyTypeName, KeyUsageName } from './keys';
import type { StepTable } from './steps';

/** The longest label, as the contract's `keyLabel` allows. */
export const MAX_LABEL = 128;

/** What the custodian has decided so far. */
export interface GenerateDraft {
  type: KeyTypeName | null;
  usages: readonly KeyUsageName[];
  extractable: boolean;
  label: string;
  /** Labels already on the token: a new key's label must differ from each. */
  taken: readonly string[];
}

export type GenerateStepId = 'type' | 'uses' | 'export' | 'label' | 'confirm';

/** Why a label cannot name a new key on this token, in words; null when it can. */
export function newKeyLabelProblem(label: string, taken: readonly string[]): string | null {
  const l = label.trim();
  if (!l) return 'Give the key a label.';
  if (l.length > MAX_LABEL) return `A label is at most ${MAX_LABEL} characters.`;
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\u0000-\u001f]/.test(l)) return 'A label cannot contain control characters.';
  if (taken.includes(l)) return `A key labelled “${l}” is already on this token. Labels name keys in ceremonies, so they must be unique.`;
  return null;
}

/**
 * The wizard's steps. A step opens only when every step before it is settled, so the confirmation
 * can never be reached with a decision missing. "Export" has no rule because it always has an
 * answer: not extractable, the default, since a key that never leaves the token cannot be copied.
 */
export const GENERATE_STEPS: StepTable<GenerateDraft, GenerateStepId> = [
  { id: 'type', title: 'Algorithm', blocker: (d) => (d.type ? null : 'Choose an algorithm.') },
  { id: 'uses', title: 'Uses', blocker: (d) => (d.usages.length > 0 ? null : 'Choose at least one use.') },
  { id: 'export', title: 'Export' },
  { id: 'label', title: 'Label', blocker: (d) => newKeyLabelProblem(d.label, d.taken) },
  { id: 'confirm', title: 'Confirm' },
];

/** Key pairs are made with C_GenerateKeyPair and have a public half; secret keys do not. */
export const isPairType = (t: Pick<KeyTypeInfo, 'family'>): boolean => t.family === 'asymmetric';

/** The sentence a custodian reads before anything is created (and the witness hears). */
export function generateSentence(t: Pick<KeyTypeInfo, 'title' | 'family'>, label: string, tokenLabel: string, extractable: boolean): string {
  const what = isPairType(t) ? `${t.title} key pair` : `${t.title} key`;
  const article = /^[AEIOU]|^RSA|^HMAC|^Ed/.test(t.title) ? 'an' : 'a';
  const fate = extractable ? 'It can leave the token only wrapped under another key, never in plaintext.' : 'It will never leave the token.';
  return `Generate ${article} ${what} labelled “${label}” on token “${tokenLabel}”. ${fate}`;
}
