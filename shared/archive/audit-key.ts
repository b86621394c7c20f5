// The audit key's status in words, the same for the CLI and the app: whose key the archive names,
// against the fingerprint this workstation pinned and the HSM's key (issue #11 part 2).
import type { AuditKeyStatus } from './types';

/** True when the stored key is certainly not the archive's own: it must not be trusted or handed out. */
export function auditKeyMismatch(k: AuditKeyStatus): boolean {
  return k.matchesPin === false || k.matchesHsm === false || k.recorded !== k.stored;
}

/** One line: the stored key's fingerprint and what it was compared with. */
export function auditKeyLine(k: AuditKeyStatus): string {
  const notes: string[] = [];
  if (k.matchesPin === true) notes.push('pinned on this workstation: matches');
  else if (k.matchesPin === false) notes.push(`DIFFERS from the key this workstation pinned (${k.pinned})`);
  else notes.push('not pinned on this workstation: compare it with the fingerprint written down when the archive was created');
  if (k.matchesHsm === true) notes.push("the HSM's audit key: matches");
  else if (k.matchesHsm === false) notes.push(`DIFFERS from the HSM's audit key (${k.hsm})`);
  if (k.recorded !== k.stored) notes.push(`DIFFERS from the fingerprint recorded beside it (${k.recorded})`);
  return `audit key ${k.stored}; ${notes.join('; ')}`;
}
