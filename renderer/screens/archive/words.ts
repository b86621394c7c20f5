import type { KeyState, LifecycleAction } from '../../../shared/archive/lifecycle';
import type { Purpose } from '../../../shared/archive/policy';
import type { VersionSummary } from '../../../shared/archive/types';
import { groupHex } from '../../keyWords';
import { checkValueText } from '../../../shared/check-value';

// The archive in words: states, lifecycle steps and their confirmations, purposes and dates.
// Pure functions, so the Archive and Audit screens say the same thing about the same record.

export const STATE_WORDS: Record<KeyState, { name: string; tone: 'ok' | 'info' | 'warn' | 'danger' | 'muted'; meaning: string }> = {
  'pre-active': { name: 'Not yet active', tone: 'info', meaning: 'Archived, not yet in use: it neither encrypts new data nor decrypts old data.' },
  active: { name: 'Active', tone: 'ok', meaning: 'In use: it encrypts new data and decrypts old data.' },
  suspended: { name: 'Suspended', tone: 'warn', meaning: 'Paused: it does not encrypt new data, but can still decrypt old data.' },
  deactivated: { name: 'Deactivated', tone: 'muted', meaning: 'It no longer encrypts new data, but can still decrypt old data.' },
  compromised: {
    name: 'Compromised',
    tone: 'danger',
    meaning: 'Known or suspected to be exposed: it must never protect data again, and decrypts old data only under controlled conditions.',
  },
  destroyed: { name: 'Destroyed', tone: 'muted', meaning: 'Its archived material was shredded; only this record remains.' },
  'destroyed-compromised': { name: 'Destroyed after compromise', tone: 'danger', meaning: 'It was compromised and then destroyed; only this record remains.' },
};

export const stateName = (s: KeyState): string => STATE_WORDS[s].name;

export const PURPOSE_WORDS: Record<Purpose, string> = {
  'data-encryption': 'Data encryption',
  'key-wrapping': 'Key wrapping',
  authentication: 'Authentication (MAC)',
  signature: 'Signature',
  'key-transport': 'Key transport',
  'key-agreement': 'Key agreement',
  'master-key': 'Master key (key derivation)',
  authorization: 'Authorization',
};

export const ALGORITHMS: Array<{ id: string; name: string }> = [
  { id: 'aes-128', name: 'AES-128' },
  { id: 'aes-192', name: 'AES-192' },
  { id: 'aes-256', name: 'AES-256' },
  { id: 'tdes', name: 'Triple DES' },
  { id: 'hmac-256', name: 'HMAC secret (256-bit)' },
  { id: 'rsa-2048', name: 'RSA-2048' },
  { id: 'rsa-3072', name: 'RSA-3072' },
  { id: 'rsa-4096', name: 'RSA-4096' },
  { id: 'ec-p256', name: 'EC P-256' },
  { id: 'ec-p384', name: 'EC P-384' },
  { id: 'ed25519', name: 'Ed25519' },
];

export const algorithmName = (id: string): string => ALGORITHMS.find((a) => a.id === id)?.name ?? id.toUpperCase();

/** "2026-03-01 09:30 UTC", or the fallback for a missing date. */
export function when(iso: string | null | undefined, fallback = '—'): string {
  if (!iso) return fallback;
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** "2026-03-01", or the fallback. */
export const day = (iso: string | null | undefined, fallback = '—'): string => (iso ? iso.slice(0, 10) : fallback);

/** What identifies a version when read aloud: its check value, else the start of its fingerprint. */
export function identityOf(v: Pick<VersionSummary, 'checkValue' | 'fingerprint'>): string {
  if (v.checkValue) return checkValueText(v.checkValue);
  if (v.fingerprint) return `${groupHex(v.fingerprint.slice(0, 16), 4)} …`;
  return '—';
}

export const ACTION_BUTTON: Record<LifecycleAction, string> = {
  activate: 'Activate…',
  suspend: 'Suspend…',
  resume: 'Resume…',
  deactivate: 'Deactivate…',
  compromise: 'Mark compromised…',
  destroy: 'Destroy…',
};

export const ACTION_CONFIRM: Record<LifecycleAction, string> = {
  activate: 'Activate',
  suspend: 'Suspend',
  resume: 'Resume',
  deactivate: 'Deactivate',
  compromise: 'Mark as compromised',
  destroy: 'Destroy',
};

/** Steps that cannot be undone get the danger style and say so. */
export const IRREVERSIBLE: readonly LifecycleAction[] = ['compromise', 'destroy'];

/** The plain-language sentence a custodian confirms, naming exactly what will happen. */
export function confirmSentence(action: LifecycleAction, v: Pick<VersionSummary, 'label' | 'version'>, otherActive: number | null): string {
  const what = `version ${v.version} of “${v.label}”`;
  switch (action) {
    case 'activate':
      return `Activate ${what}. It will encrypt new data from now on.${otherActive !== null ? ` Version ${otherActive}, active now, will be deactivated (it can still decrypt old data).` : ''}`;
    case 'resume':
      return `Resume ${what}. It will encrypt new data again.${otherActive !== null ? ` Version ${otherActive}, active now, will be deactivated.` : ''}`;
    case 'suspend':
      return `Suspend ${what}. It will stop encrypting new data until it is resumed, but can still decrypt old data.`;
    case 'deactivate':
      return `Deactivate ${what}. It will no longer encrypt new data but can still decrypt old data. It cannot be made active again.`;
    case 'compromise':
      return `Mark ${what} as compromised. It must never protect data again, and data it protected should be re-encrypted under another key. This cannot be undone.`;
    case 'destroy':
      return `Destroy ${what}. Its archived material is shredded and can never be restored; only the record stays. This cannot be undone.`;
  }
}

/** An audit entry's details as short "name: value" text (never secret: the log holds none). */
export function detailText(details: unknown): string {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object') return String(details);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(details as Record<string, unknown>)) {
    if (v === null || v === undefined || v === '') continue;
    const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
    parts.push(`${k}: ${text.length > 90 ? `${text.slice(0, 87)}…` : text}`);
  }
  return parts.join(' · ');
}

/** Audit actions in words, where a plain phrase exists. */
export function actionWords(action: string): string {
  const known: Record<string, string> = {
    'archive.init': 'Archive created',
    'key.create': 'Key added',
    'version.add': 'Version archived',
    'version.activate': 'Version activated',
    'version.suspend': 'Version suspended',
    'version.resume': 'Version resumed',
    'version.deactivate': 'Version deactivated',
    'version.compromise': 'Version marked compromised',
    'version.destroy': 'Version destroyed',
    'version.retrieve': 'Version restored into an HSM',
  };
  return known[action] ?? action;
}
