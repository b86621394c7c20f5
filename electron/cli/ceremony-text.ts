// How `custos ceremony` shows a run in a terminal: where the ceremony is, who acts now and what they
// must do, and the exact command that does it. The same view as the app's Ceremonies screen
// (shared/ceremony/view.ts), in words.
import { ROLE_TITLES } from '../../shared/ceremony/roles';
import type { RunView } from '../../shared/ceremony/view';

const MARK: Record<string, string> = { done: '✓', skipped: '–', active: '→', 'in-flight': '!', pending: '·' };

/** The command that does what the current step needs, for the text output. */
function nextCommand(v: RunView): string[] {
  const run = `--run ${v.run}`;
  const c = v.current;
  if (v.status === 'interrupted') return [`custos ceremony resume ${run}   (or: custos ceremony abort ${run} --reason TEXT)`];
  if (!c) return [];
  const i = c.input;
  const name = (id: string) => v.participants.find((p) => p.person === id)?.name ?? id;
  switch (i.kind) {
    case 'presence':
      return i.persons.map((p) => `custos ceremony present ${run} --person "${name(p)}" --card-token CARD --card-pin-file FILE`);
    case 'confirm-fingerprint':
      return [`custos ceremony confirm-fingerprint ${run} --words "${v.fingerprint.words.join(' ')}" --as ADMINISTRATOR`];
    case 'login':
    case 'run':
      return [`custos ceremony step ${run} --as "${c.actors[0]?.name ?? 'NAME'}"`];
    case 'enrol':
      return i.persons.map((p) => `custos ceremony enrol ${run} --person "${name(p)}" --card-token CARD --card-pin-file FILE   (or --passphrase-file FILE)`);
    case 'approve':
      return i.persons.map((p) => `custos ceremony approve ${run} --step ${i.step} --person "${name(p)}" --card-token CARD --card-pin-file FILE`);
    case 'tick':
      return [`custos ceremony tick ${run} --as "${c.actors[0]?.name ?? 'WITNESS'}"`];
    case 'sign-off':
      return i.persons.map((p) => `custos ceremony sign-off ${run} --person "${name(p)}" --card-token CARD --card-pin-file FILE`);
    case 'enter-share':
      return v.type === 'reshare'
        ? [`custos ceremony reshare-shares ${run}   (the old shares are entered, the Backup Key rebuilt, split for the new holders, handed out, verified and committed in one sitting)`]
        : [`custos ceremony restore-shares ${run}   (the shares are entered, the Backup Key rebuilt and the keys unwrapped in one sitting)`];
    case 'unwrap':
      return [`custos ceremony restore-shares ${run}   (the shares are entered, the Backup Key rebuilt and the keys unwrapped in one sitting)`];
    case 'enter-component':
      return [`custos ceremony enter-components ${run}   (each holder types their component alone; then the key is formed in the HSM)`];
    case 'component-sheet':
    case 'seal-component':
      return [`custos ceremony component-sheets ${run}   (each holder's sheet printed to a file the operator names; then each holder types its check value and the envelope's serial)`];
    case 'audit-share':
      return [`custos ceremony audit-shares ${run}   (each holder in turn types their share, alone at the keyboard; nothing is rebuilt or kept)`];
    case 'attest':
      return [
        ...i.holders.filter((h) => !h.done).map((h) => `custos ceremony attest ${run} --person "${h.name}" --card-token CARD --card-pin-file FILE   (only once the old share is destroyed)`),
        `custos ceremony step ${run} --as "${v.participants.find((p) => p.roles.includes('administrator'))?.name ?? 'ADMINISTRATOR'}"   (when everyone who can has attested)`,
      ];
    case 'hand-over':
    case 'verify-share':
    case 'none':
      if (v.type === 'component-creation' && (c.kind === 'print-components' || c.kind === 'seal-components')) return [`custos ceremony resume ${run}   (the components were lost with the process that made them: new ones are made)`];
      if (v.type === 'reshare') return [`custos ceremony resume ${run}   (the re-share's secret part runs in one sitting: custos ceremony reshare-shares)`];
      return c.kind === 'make-backup-key' || c.kind === 'split' || c.kind === 'hand-over' || c.kind === 'verify-shares' || c.kind === 'commit-backup'
        ? [
            v.params.scheme === 'sealed'
              ? `custos ceremony shares ${run} --so-pin-file FILE --envelope "NAME=FILE"…   (the Backup Key is made, each share sealed to its holder's card and written to their file, opened again, and committed in one sitting)`
              : `custos ceremony shares ${run} --so-pin-file FILE   (the Backup Key is made, handed over, verified and committed in one sitting)`,
          ]
        : [];
  }
}

export function runText(v: RunView): string {
  const lines: string[] = [];
  lines.push(`${v.practice ? 'PRACTICE — ' : ''}${v.title}  (${v.definition.id} rev ${v.definition.revision})`);
  lines.push(`run ${v.run}  ${v.status.toUpperCase()}  record “${v.record}”  started ${v.startedAt}${v.endedAt ? `  ended ${v.endedAt}` : ''}`);
  lines.push(`fingerprint  ${v.fingerprint.words.join(' ')}${v.fingerprint.confirmed ? '  (confirmed aloud)' : ''}`);
  lines.push(`             ${v.fingerprint.groups}`);
  lines.push('people');
  for (const p of v.participants) lines.push(`  ${p.name.padEnd(22)} ${p.roleTitles.join(', ').padEnd(32)} ${p.credential ? `${p.credential.kind} ${p.credential.fingerprint.slice(0, 16)}` : 'not enrolled'}${p.present ? '  present' : ''}`);
  lines.push('steps');
  for (const s of v.steps) {
    const extra = [s.quorum ? `${s.quorum.have}/${s.quorum.threshold} approvals` : null, s.ticked ? `ticked by ${s.ticked}` : null, s.lastError ? `last attempt failed: ${s.lastError.message}` : null].filter(Boolean).join('; ');
    lines.push(`  ${MARK[s.status] ?? '·'} ${String(s.index + 1).padStart(2)}. ${s.title}${extra ? `  [${extra}]` : ''}`);
  }
  if (v.current) {
    const c = v.current;
    lines.push('');
    lines.push(`NOW  step ${c.index + 1}: ${c.title}`);
    if (c.actors.length) lines.push(`     who acts: ${c.actors.map((a) => `${a.name} (${ROLE_TITLES[a.role]})`).join(', ')}`);
    lines.push(`     read aloud: ${c.say}`);
    for (const n of c.needs) lines.push(`     needed: ${n}`);
    for (const cmd of nextCommand(v)) lines.push(`     next: ${cmd}`);
  } else if (v.status === 'interrupted') {
    lines.push('');
    lines.push(`INTERRUPTED at “${v.interrupted?.title}”. ${nextCommand(v)[0]}`);
  }
  const open = v.exceptions.filter((e) => !e.decision || !e.acknowledged);
  for (const e of v.exceptions) {
    lines.push(`exception ${e.id.slice(0, 8)}${e.step ? ` at ${e.step}` : ''}: expected “${e.expected}”, happened “${e.happened}”; ${e.decision ? `decided “${e.decision.text}” by ${e.decision.by.name}` : 'NOT DECIDED'}; ${e.acknowledged ? `acknowledged by ${e.acknowledged.by.name}` : 'NOT ACKNOWLEDGED'}`);
  }
  if (open.length) lines.push(`${open.length} open exception(s) block the sign-off.`);
  if (v.bundle) lines.push(`evidence bundle ${v.bundle.name}  sha256 ${v.bundle.hash}`);
  if (v.abortReason) lines.push(`aborted: ${v.abortReason}`);
  return lines.join('\n');
}
