// `custos ceremony component-sheets`: the secret part of creating a key as XOR components, in one
// process, because the components exist only in this process's memory. The components are made
// and the key formed in the HSM (the quorum approved before); then one holder at a time, each
// holder's sheet is written to the file the operator names for that holder (the printer's media,
// or a file sent straight to the printer) and the holder confirms they have it; then each holder
// types the component check value from their sheet and the serial number of the tamper-evident
// envelope they sealed it in. If this command stops half-way, `ceremony resume` voids the
// components (and the key they formed), and this command makes new ones.
//
// Nothing of a component reaches the terminal, the JSON lines or any log: it goes only into the
// sheet file (0600, never overwritten), and the sheet's buffer is zeroised once written.
import type { RunView } from '../../shared/ceremony/view';
import { CustosError, invalidInput } from '../../shared/result';
import { crashHook } from '../services/ceremony/steps-common';
import type { Services } from '../services/index';
import { sitting } from './ceremony-shares';
import { runText } from './ceremony-text';
import { writeOutputFile } from './files';
import type { GlobalOptions } from './output';
import { checkValueText } from '../../shared/check-value';

export async function runComponentSheetsSitting(s: Services, t: { module: string; token: string }, opts: GlobalOptions, o: { run: string; sheet?: string[] }): Promise<RunView> {
  const sit = sitting(s, t, opts, o.run);
  const { say, emit, ask, act } = sit;
  // "NAME=FILE" per holder, given up front (for a script); otherwise the operator is asked.
  const named = new Map<string, string>();
  for (const x of o.sheet ?? []) {
    const at = x.indexOf('=');
    if (at < 1 || at === x.length - 1) invalidInput(`--sheet "${x}" is not NAME=FILE.`, 'Give each holder’s sheet file as --sheet "Ann Archer=/media/printer/ann.pdf".');
    named.set(x.slice(0, at).trim().toLowerCase(), x.slice(at + 1).trim());
  }
  try {
    let v = await s.ceremonies.view(o.run);
    const kinds = ['make-components', 'print-components', 'seal-components'];
    if (!v.current || !kinds.includes(v.current.kind)) invalidInput(`The ceremony is at “${v.current?.title ?? v.status}”, not at making the components.`, 'Finish the steps before it (custos ceremony status shows them).');
    if (v.current.kind !== 'make-components') invalidInput('This key’s components were made by a process that has stopped, so they are lost.', 'Run `custos ceremony resume --run ID`: the components and the key they formed are voided; then run this command again.');
    if (v.current.input.kind === 'approve') invalidInput(`Making the components needs ${v.current.input.threshold} custodian approvals: ${v.current.needs.join(' ')}`, 'Collect them with `custos ceremony approve --step make-components`.');
    v = (await act({ kind: 'run' })).view;
    const out = v.steps.find((x) => x.kind === 'make-components')!.outcome!;
    say(`${String(out.algorithm)} key “${String(out.label)}” formed inside the HSM from ${(out.components as unknown[]).length} components made by the token's random number generator. Its check value: ${checkValueText(String(out.checkValue))} (${String(out.checkMethod)}). Read it aloud.`);
    emit({ event: 'made', checkValue: out.checkValue, components: out.components });
    // The witness ticks the making (the check value read aloud) here: the components live in this process.
    if (v.current?.input.kind === 'tick') {
      const witness = v.current.actors[0]?.name ?? 'the witness';
      await ask.ask(`${witness} (witness): the key's check value was read aloud as shown; press Enter to tick the step.`);
      v = (await act({ kind: 'tick' }, witness)).view;
    }

    while (v.current?.input.kind === 'component-sheet') {
      const next = v.current.input.holders.find((h) => !h.done)!;
      say(`\n=== SHEET ${next.index}: ${next.name} ===\nOnly ${next.name} goes to the printer; everyone else stays away from it.`);
      for (let attempt = 1; ; attempt++) {
        const file = named.get(next.name.toLowerCase()) ?? (await ask.ask(`File for ${next.name}'s sheet (a new file; the printer's spool or media): `)).trim();
        const r = await act({ kind: 'component-sheet', holder: next.person });
        const sheet = r.sheet!;
        try {
          writeOutputFile(file, sheet.pdf, 'component sheet', { mode: 0o600, fresh: true });
          say(`Sheet for ${sheet.name} (component ${sheet.index} of ${sheet.of}) written to ${file}.`);
          emit({ event: 'sheet', holder: sheet.name, index: sheet.index, file });
          break;
        } catch (e) {
          if (!(e instanceof CustosError) || attempt >= 3 || named.has(next.name.toLowerCase())) throw e;
          say(`Not written: ${e.appError.message}\n  ${e.appError.action}`);
        } finally {
          sheet.pdf.fill(0);
        }
      }
      await ask.ask(`${next.name}: print the sheet, take it from the printer yourself, then press Enter.`);
      v = (await act({ kind: 'component-printed', holder: next.person })).view;
      crashHook(`component-sheet:${next.index}`);
    }

    while (v.current?.input.kind === 'seal-component') {
      const next = v.current.input.holders.find((h) => !h.done)!;
      say(`\n=== CHECK AND SEAL ${next.index}: ${next.name} ===`);
      for (let attempt = 1; ; attempt++) {
        const kcv = await ask.ask(`${next.name}, type the component check value printed on your sheet: `);
        const serial = await ask.ask(`${next.name}, seal the sheet in a tamper-evident envelope and type the envelope's serial number: `);
        try {
          v = (await act({ kind: 'seal-component', holder: next.person, checkValue: kcv, envelope: serial })).view;
          say(`${next.name}'s sheet checks out; envelope ${serial.trim()} recorded.`);
          emit({ event: 'sealed', holder: next.name, envelope: serial.trim() });
          crashHook(`seal:${next.index}`);
          break;
        } catch (e) {
          if (!(e instanceof CustosError)) throw e;
          say(`Not accepted: ${e.appError.message}\n  ${e.appError.action}`);
          emit({ event: 'refused', holder: next.name, code: e.appError.code });
          if (attempt >= 3) throw e;
        }
      }
    }
    say('\nEvery sheet is checked and sealed; the components are wiped from memory.');
    if (!opts.json) say(runText(v));
    return v;
  } finally {
    ask.close();
  }
}
