import type { Policy } from '../../../shared/ceremony/policy';
import { ROLE_TITLES, type Role } from '../../../shared/ceremony/roles';
import type { RunView } from '../../../shared/ceremony/view';
import { checkValueText } from '../../../shared/check-value';

// Ceremonies in words: statuses, who does what, step outcomes. Pure functions, so the list, the
// run and the finished page say the same thing about the same run.

export type Tone = 'ok' | 'info' | 'warn' | 'danger' | 'muted';

export const RUN_STATUS: Record<RunView['status'], { name: string; tone: Tone; meaning: string }> = {
  running: { name: 'Running', tone: 'info', meaning: 'Steps remain; the ceremony goes on from the current step.' },
  interrupted: { name: 'Interrupted', tone: 'warn', meaning: 'A step was cut off (the app or the computer stopped). Resume it, or abort the ceremony.' },
  completed: { name: 'Finished', tone: 'ok', meaning: 'Every step is done and the evidence bundle is written.' },
  aborted: { name: 'Aborted', tone: 'muted', meaning: 'Stopped before the end; nothing more can be done in it.' },
};

export const STEP_STATUS: Record<string, string> = {
  pending: 'not started',
  active: 'current',
  'in-flight': 'in progress',
  done: 'done',
  skipped: 'skipped',
};

export const roleTitle = (r: Role): string => ROLE_TITLES[r];

/** "Ann Archer (Custodian)" */
export const personWithRole = (a: { name: string; role: Role }): string => `${a.name} (${ROLE_TITLES[a.role]})`;

/** "Ann, Ben and Cat" */
export function namesList(names: string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** "Ben Baker or Cat Cole"; "Ann, Ben or Cat" */
export function orList(names: string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/** Hex in groups of four for reading aloud ("ABCD 1234 …"). */
export const hexGroups = (hex: string, size = 4): string => (hex.toUpperCase().match(new RegExp(`.{1,${size}}`, 'g')) ?? []).join(' ');

/** What a step produced, as label/value pairs a witness can read (no secret is ever in an outcome). */
export function outcomeFacts(outcome: Record<string, unknown> | null): Array<{ label: string; value: string; readout?: boolean; block?: boolean }> {
  if (!outcome) return [];
  const facts: Array<{ label: string; value: string; readout?: boolean; block?: boolean }> = [];
  const str = (k: string) => (typeof outcome[k] === 'string' || typeof outcome[k] === 'number' ? String(outcome[k]) : null);
  if (typeof outcome.skipped === 'string') facts.push({ label: 'Skipped', value: outcome.skipped });
  if (str('label')) facts.push({ label: 'Key label', value: str('label')! });
  if (str('checkValue')) {
    const how = outcome.checkMethod === 'hmac-sha256-zeros' ? 'HMAC of zeros' : typeof outcome.checkMethod === 'string' && outcome.checkMethod.includes('legacy') ? 'X9.24-1 legacy, TDES-ECB' : 'X9.24-1 CMAC';
    facts.push({ label: `Check value (${how})`, value: checkValueText(str('checkValue')!), readout: true });
  }
  if (str('legacyCheckValue')) facts.push({ label: 'Legacy check value (ECB)', value: checkValueText(str('legacyCheckValue')!) });
  if (str('spki') && str('fingerprint')) facts.push({ label: 'Public-key fingerprint (SHA-256 of the SPKI)', value: hexGroups(str('fingerprint')!), readout: true });
  if (str('readAloud')) facts.push({ label: 'Read aloud', value: hexGroups(str('readAloud')!, str('readAloud')!.length <= 12 ? 5 : 4), readout: true });
  if (str('test')) facts.push({ label: 'Test', value: `${str('test')}${outcome.passed === true ? ' — passed' : ''}` });
  // A number: the version a key generation archived; a string: the version a retrieval found (LABEL@N).
  if (typeof outcome.version === 'number') facts.push({ label: 'Archived as', value: `version ${outcome.version}` });
  else if (str('version')) facts.push({ label: 'Version', value: str('version')! });
  // A rotation's archive step: what happened to the version it replaced (dates per the key's policy).
  const old = outcome.old as { version?: number; state?: string; deactivationDate?: string; processStopDate?: string | null } | undefined;
  if (old && typeof old.version === 'number') facts.push({ label: 'Replaced version', value: `version ${old.version} ${old.state ?? ''}${old.deactivationDate ? ` on ${old.deactivationDate.slice(0, 10)}` : ''}; decrypts old data until ${old.processStopDate ? old.processStopDate.slice(0, 10) : 'its policy ends'}` });
  if (str('rotationDue')) facts.push({ label: 'Next rotation due', value: str('rotationDue')!.slice(0, 10) });
  if (Array.isArray(outcome.stillProtecting)) {
    const still = outcome.stillProtecting as string[];
    facts.push({ label: 'Old version on the token', value: still.length === 0 ? 'decrypts and verifies only: encrypt, sign and wrap are off' : `the token refused to turn off: ${still.join(', ')}` });
  }
  if (str('note')) facts.push({ label: 'Note', value: str('note')! });
  if (str('material')) facts.push({ label: 'Wrapped material', value: str('material')! });
  if (str('token') && str('serial')) facts.push({ label: 'Token', value: `${str('token')} (serial ${str('serial')})` });
  if (str('record')) facts.push({ label: 'Record', value: str('record')! });
  if (outcome.matches === true) facts.push({ label: 'Compared with the backup', value: '✓ the same check value as recorded at the backup' });
  if (str('kekCheck')) facts.push({ label: 'Archive KEK check value', value: checkValueText(str('kekCheck')!), readout: true });
  // A KEK rotation: the witness compares the old check value with the one read at the check step.
  if (str('from') && str('to') && typeof outcome.rewrapped === 'number') {
    facts.push({ label: 'Old Archive KEK (retired, kept in the HSM)', value: checkValueText(str('from')!), readout: true });
    facts.push({ label: 'New Archive KEK', value: checkValueText(str('to')!), readout: true });
    facts.push({ label: 'Versions re-wrapped and verified', value: `${outcome.rewrapped.toLocaleString('en')}${typeof outcome.versions === 'number' ? ` (the archive now holds ${outcome.versions.toLocaleString('en')}, all under the new KEK)` : ''}` });
  }
  // Creating a key as components: each component's check value, and the envelope each is sealed in.
  if (Array.isArray(outcome.components)) facts.push({ label: 'Component check values', value: (outcome.components as Array<{ index: number; name: string; checkValue: string }>).map((c) => `${c.index}. ${c.name}: ${checkValueText(c.checkValue)}`).join(' · ') });
  // A sealed backup's commit: the card key each share was sealed to, and the hash of the file saved.
  type Sealed = { index: number; name: string; envelope?: string; tokenLabel?: string; tokenSerial?: string; spkiSha256?: string; envelopeSha256?: string };
  const envelopes = Array.isArray(outcome.envelopes) ? (outcome.envelopes as Sealed[]) : [];
  if (envelopes.length && envelopes[0]!.spkiSha256)
    facts.push({ label: 'Shares sealed to cards', value: envelopes.map((e) => `${e.index}. ${e.name}: card “${e.tokenLabel}” (serial ${e.tokenSerial}), key ${hexGroups(e.spkiSha256!.slice(0, 16))}…, file SHA-256 ${hexGroups(e.envelopeSha256!.slice(0, 16))}…`).join(' · ') });
  else if (envelopes.length) facts.push({ label: 'Sealed envelopes', value: envelopes.map((e) => `${e.index}. ${e.name}: ${e.envelope}`).join(' · ') });
  // An audit key rotation: the key the check step read in the HSM, then the handover's two keys.
  if (str('key') === 'audit' && str('fingerprint') && !str('to')) facts.push({ label: 'Audit key in the HSM (fingerprint)', value: hexGroups(str('fingerprint')!), readout: true });
  if (str('key') === 'audit' && str('from') && str('to')) {
    facts.push({ label: 'Old audit key (retired: kept, may no longer sign)', value: hexGroups(str('from')!), readout: true });
    facts.push({ label: 'New audit key', value: hexGroups(str('to')!), readout: true });
    if (typeof outcome.handoverEntry === 'number') facts.push({ label: 'Handover', value: `audit entry ${outcome.handoverEntry}, signed by the old key and the new` });
  }
  // A MAC key rotation: the key the check step read in the HSM, then the handover's two keys.
  if (str('key') === 'mac' && str('check') && !str('to')) facts.push({ label: 'MAC key in the HSM (check value)', value: hexGroups(str('check')!, 5), readout: true });
  if (str('key') === 'mac' && str('from') && str('to')) {
    facts.push({ label: 'Old MAC key (retired, kept in the HSM)', value: hexGroups(str('from')!, 5), readout: true });
    facts.push({ label: 'New MAC key', value: hexGroups(str('to')!, 5), readout: true });
    if (typeof outcome.remaced === 'number') facts.push({ label: 'Rows verified and re-MACed', value: outcome.remaced.toLocaleString('en') });
    if (typeof outcome.handoverEntry === 'number') facts.push({ label: 'Handover', value: `audit entry ${outcome.handoverEntry}` });
  }
  if (Array.isArray(outcome.checks)) facts.push({ label: 'Checks', value: (outcome.checks as unknown[]).map(String).join(' · ') });
  if (Array.isArray(outcome.present)) facts.push({ label: 'Present', value: (outcome.present as unknown[]).map(String).join(', ') });
  if (Array.isArray(outcome.people)) facts.push({ label: 'Register', value: (outcome.people as unknown[]).map(String).join(' · ') });
  if (typeof outcome.trustedWrap === 'boolean') facts.push({ label: 'Trusted wrapping', value: outcome.trustedWrap ? 'enforced by the token (only a key the SO trusts can wrap the archive’s keys)' : 'NOT enforced by the token — an exception was recorded' });
  if (str('scheme') && str('threshold') && str('count')) facts.push({ label: 'Shares', value: `${str('scheme') === 'xor' ? 'XOR components' : str('scheme') === 'sealed' ? 'SLIP-39, each sealed to its holder’s card' : 'SLIP-39'}, ${str('threshold')} of ${str('count')} to restore` });
  if (Array.isArray(outcome.blobs)) facts.push({ label: 'Wrapped under the Backup Key', value: (outcome.blobs as Array<{ label?: string }>).map((b) => b.label ?? '').join(', ') });
  if (str('subject')) facts.push({ label: 'CSR subject', value: str('subject')! });
  if (str('csrPem')) facts.push({ label: 'Certificate signing request', value: str('csrPem')!, block: true });
  return facts;
}

/**
 * The policy in the room's words, from the policy main sent. (shared/ceremony/policy.ts has the
 * printed record's lines, but importing it — or definition.ts — would bring their schemas, and
 * zod, into the page.) A
 * practice record needs one approval for each ceremony and lets a witness also be a custodian.
 */
export function policyLines(p: Policy, practice: boolean, titleOf: (type: string) => string): string[] {
  const approvals = Object.entries(p.approvals).map(([type, n]) => {
    const k = practice ? 1 : n;
    return `${titleOf(type)}: ${k} custodian approval${k === 1 ? '' : 's'}${p.witnessRequired.includes(type as Policy['witnessRequired'][number]) ? ', and a witness signs off' : ''}.`;
  });
  return [
    ...approvals,
    practice || p.witnessMayBeCustodian ? 'A witness may also be a custodian in the same ceremony.' : 'A witness may not be a custodian in the same ceremony.',
    p.passphraseCredentials === 'allowed' ? 'Passphrases are accepted instead of cards (they are weaker).' : 'Every person needs a card: passphrases are not accepted.',
    `A backup needs at least ${p.minimumShareThreshold} shares to restore.`,
    `Each backup is drilled at least every ${p.drillIntervalMonths ?? 12} months.`,
  ];
}

/** A backup target in words: the archive's own keys by name, any other key by its label. */
export function targetTitle(target: string): string {
  if (target === 'archive-kek') return 'Archive KEK';
  if (target === 'archive-mac') return 'Archive MAC key';
  return `“${target}”`;
}

/** The same, inside a sentence: "the Archive KEK", "the Archive MAC key", "“Payments DEK 2026”". */
export const targetInSentence = (target: string): string => (target.startsWith('archive-') ? `the ${targetTitle(target)}` : targetTitle(target));

/** "SLIP-39 shares, any 2 of 3" / "XOR components, all 3". */
export function schemeWords(scheme: string, threshold: number, count: number): string {
  return scheme === 'xor' ? `XOR components, all ${count} needed` : `SLIP-39 shares, any ${threshold} of ${count}`;
}

/** How a backup is named to the room: the day it was made, and the start of its ceremony id. */
export const backupName = (b: { run: string; at: string }): string => `Backup of ${b.at.slice(0, 10)} (${b.run.slice(0, 8)})`;
