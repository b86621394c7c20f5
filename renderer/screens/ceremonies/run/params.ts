import type { StepInput, RunView } from '../../../../shared/ceremony/view';
import type { TokenListing } from '../../../../shared/contract';
import { presentSlots } from '../../../stores/tokens';

// The resolved parameters of a restore, a drill and a retrieval, as the run view carries them (the
// engine's plan: electron/services/ceremony/plan.ts resolveRestore, resolveRetrieval). Read
// defensively: a view is data from main, and a field missing from an older run must not break the page.

export interface RestoreView {
  drill: boolean;
  backupRun: string;
  scheme: string;
  threshold: number;
  keys: Array<{ target: string; label: string; checkValue: string | null }>;
  holders: Array<{ person: string; name: string; index: number }>;
  /** The token restored into, when it is not the workstation token (a restore only). */
  destination: string | null;
  /** A re-share: the new set, for the new holders (the keys wrapped under the Backup Key stay as they are). */
  reshare: { scheme: string; threshold: number; holders: string[]; rotate: boolean } | null;
  /** A share audit: each holder checks their own share; nothing is rebuilt. */
  audit: boolean;
}

export interface RetrievalView {
  version: { id: string; label: string; version: number; algorithm: string; state: string; checkValue: string | null; fingerprint: string | null };
  purpose: string;
  into: 'session' | 'token' | 'export';
  label: string;
  usages: string[];
  validDays: number | null;
  maxUses: number | null;
  /** An export: the receiver as the plan fixed it (a KEK's check value, or a public key's fingerprint). */
  export: { mechanism: string; kek: { label: string; checkValue: string } | null; publicKey: { fingerprint: string; short: string; bits: number; profile: string | null } | null } | null;
}

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
const text = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const num = (v: unknown, fallback = 0): number => (typeof v === 'number' ? v : fallback);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function restoreView(view: RunView): RestoreView | null {
  // A re-share's first half is a restore's: the old holders enter their shares.
  if (view.type !== 'restore' && view.type !== 'restore-drill' && view.type !== 'reshare' && view.type !== 'share-audit') return null;
  const p = view.params;
  const b = obj(p.backup);
  return {
    drill: view.type === 'restore-drill',
    backupRun: text(b.run),
    scheme: text(b.scheme, 'slip39'),
    threshold: num(b.threshold),
    keys: list(p.targets).map((t) => ({ target: text(obj(t).target), label: text(obj(t).label), checkValue: typeof obj(t).checkValue === 'string' ? (obj(t).checkValue as string) : null })),
    holders: list(view.type === 'reshare' ? p.from : p.holders).map((h) => ({ person: text(obj(h).person), name: text(obj(h).name), index: num(obj(h).index) })),
    destination: p.destination ? text(obj(obj(p.destination).token).label) || null : null,
    audit: view.type === 'share-audit',
    reshare: view.type === 'reshare' ? { scheme: text(p.scheme, 'slip39'), threshold: num(p.threshold), holders: list(p.holders).map((h) => text(obj(h).name)), rotate: p.rotateBackupKey === true } : null,
  };
}

export function retrievalView(view: RunView): RetrievalView | null {
  if (view.type !== 'retrieval') return null;
  const p = view.params;
  const v = obj(p.version);
  return {
    version: {
      id: text(v.id),
      label: text(v.label),
      version: num(v.version),
      algorithm: text(v.algorithm),
      state: text(v.state),
      checkValue: typeof v.checkValue === 'string' ? v.checkValue : null,
      fingerprint: typeof v.fingerprint === 'string' ? v.fingerprint : null,
    },
    purpose: text(p.purpose),
    into: p.into === 'token' ? 'token' : p.into === 'export' ? 'export' : 'session',
    label: text(p.label),
    usages: list(p.usages).map((u) => text(u)),
    validDays: typeof p.validDays === 'number' ? p.validDays : null,
    maxUses: typeof p.maxUses === 'number' ? p.maxUses : null,
    export: exportOf(p.export),
  };
}

/**
 * The unwrap into another token needs that token's user PIN unless this app is logged in to it
 * already (main would log in a second time and fail).
 */
export function destinationNeedsPin(input: StepInput, listing: TokenListing | null): boolean {
  if (input.kind !== 'unwrap' || input.destination === null) return false;
  const slot = presentSlots(listing).find((s) => s.token?.label === input.destination);
  return slot?.token?.loggedIn !== 'user';
}

/** The outcome of a done step of this kind, if any. */
export const outcomeOf = (view: RunView, kind: string): Record<string, unknown> | null => view.steps.find((s) => s.kind === kind && s.status === 'done')?.outcome ?? null;

function exportOf(v: unknown): RetrievalView['export'] {
  if (!v || typeof v !== 'object') return null;
  const e = obj(v);
  const k = e.kek ? obj(e.kek) : null;
  const pk = e.publicKey ? obj(e.publicKey) : null;
  return {
    mechanism: text(e.mechanism),
    kek: k ? { label: text(k.label), checkValue: text(k.checkValue) } : null,
    publicKey: pk ? { fingerprint: text(pk.fingerprint), short: text(pk.short), bits: num(pk.bits), profile: typeof pk.profile === 'string' ? pk.profile : null } : null,
  };
}

/** Where an export goes, in words: the receiver as the custodians approve it. */
export function exportTargetWords(e: NonNullable<RetrievalView['export']>): string {
  if (e.kek) return `wrapped with AES-KWP (RFC 5649) under the KEK “${e.kek.label}” (check value ${e.kek.checkValue.toUpperCase()})`;
  const pk = e.publicKey;
  return pk ? `wrapped with RSA-OAEP + AES-KWP to the RSA-${pk.bits} public key ${pk.short}${pk.profile ? ` (${pk.profile})` : ''}` : 'wrapped';
}
