import type { RunView } from '../../../../shared/ceremony/view';
import { algorithmName } from '../../archive/words';
import { hexGroups, namesList } from '../words';
import { OneButton, type PanelProps } from './Panels';
import { outcomeOf } from './params';

// A destruction (issue #10 part 5) on the run screen: at every step, exactly what will be
// destroyed — label, CKA_ID or version, algorithm, check value, where it is — and the reason, in
// words a custodian reads aloud; after the check, which items are the last copy and what stops
// working; the destroy step's one button names every item again; afterwards, the proof each is gone.
// The view is data from main, read defensively (params.ts).

export interface DestructionItemView {
  item: string;
  where: 'token' | 'archive';
  label: string;
  idHex: string | null;
  version: number | null;
  algorithm: string;
  checkValue: string | null;
  state: string | null;
  lastCopy: boolean | null;
  copies: string[];
  stops: string | null;
}

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** What the plan (and, once checked, the check step) says will be destroyed. */
export function destructionView(view: RunView): { reason: string; items: DestructionItemView[]; checked: boolean } | null {
  if (view.type !== 'destruction') return null;
  const p = view.params;
  const checked = list(outcomeOf(view, 'check')?.items).map(obj);
  const found = (x: { idHex?: string | null; versionId?: string | null }) => checked.find((c) => (x.versionId ? c.versionId === x.versionId : !!x.idHex && c.idHex === x.idHex));
  const items: DestructionItemView[] = [];
  for (const v of list(p.versions).map(obj)) {
    const c = found({ versionId: text(v.id) });
    items.push({
      item: `version ${text(v.label)}@${String(v.version)}`,
      where: 'archive',
      label: text(v.label) ?? '—',
      idHex: null,
      version: typeof v.version === 'number' ? v.version : null,
      algorithm: text(v.algorithm) ?? '—',
      checkValue: text(v.checkValue) ?? text(v.fingerprint),
      state: text(c?.state) ?? text(v.state),
      lastCopy: c ? c.lastCopy === true : null,
      copies: list(c?.copies).map((x) => String(x)),
      stops: null,
    });
  }
  for (const k of list(p.keys).map(obj)) {
    const c = found({ idHex: text(k.idHex) });
    items.push({
      item: `key ${text(k.label) ?? text(k.selector)}`,
      where: 'token',
      label: text(k.label) ?? text(k.selector) ?? '—',
      idHex: text(k.idHex),
      version: null,
      algorithm: text(k.algorithm) ?? 'found at the check step',
      checkValue: text(k.checkValue),
      state: null,
      lastCopy: c ? c.lastCopy === true : null,
      copies: list(c?.copies).map((x) => String(x)),
      stops: text(c?.stops),
    });
  }
  return { reason: text(p.reason) ?? '', items, checked: checked.length > 0 };
}

const checkText = (cv: string | null) => (cv ? (cv.length > 20 ? `${hexGroups(cv.slice(0, 16))} …` : hexGroups(cv, 5)) : 'none');

/** The head of a destruction run: the reason, and every item with where it is and how it is known. */
export function DestructionSubject({ view }: { view: RunView }) {
  const d = destructionView(view);
  if (!d) return null;
  const gone = outcomeOf(view, 'destroy') !== null;
  return (
    <div className="subject" data-testid="run-subject">
      <div className="purpose" data-testid="destruction-reason">
        <p className="purpose-label">
          Reason for this destruction<span className="purpose-note"> — part of the fingerprint, printed on the certificate</span>
        </p>
        <p className="purpose-text">“{d.reason}”</p>
      </div>
      <ul className="destroy-items" data-testid="destroy-items">
        {d.items.map((it) => (
          <li key={it.item} className={it.lastCopy || it.stops ? 'destroy-item destroy-item-warn' : 'destroy-item'}>
            <p className="destroy-what">
              <strong>{it.where === 'archive' ? `Version ${it.version ?? '?'} of “${it.label}”` : `“${it.label}”`}</strong> ·{' '}
              {it.where === 'archive' ? `archived material (${gone ? 'was ' : ''}${it.state ?? 'state unknown'}); its metadata stays, marked destroyed` : gone ? 'was on the workstation token' : 'on the workstation token'} ·{' '}
              {algorithmName(it.algorithm)}
            </p>
            <p className="hint">
              {it.idHex ? (
                <>
                  id <span className="mono">{it.idHex}</span> ·{' '}
                </>
              ) : null}
              check value <span className="mono">{checkText(it.checkValue)}</span>
            </p>
            {it.lastCopy === true && !gone ? <p className="field-error">Last copy: no other copy is on the token, in the archive or in a backup. An exception must be decided before it goes.</p> : null}
            {it.lastCopy === true && gone ? <p className="hint">It was the last copy; the exception was decided and acknowledged before it went.</p> : null}
            {it.lastCopy === false ? <p className="hint">Other copies remain: {it.copies.join('; ')}.</p> : null}
            {it.stops ? <p className="field-error">{gone ? 'What stopped working' : 'What stops working'}: {it.stops}</p> : null}
          </li>
        ))}
      </ul>
      {!d.checked ? <p className="hint">The check step finds each key on the token, reads its check value and looks for other copies; the fingerprint then covers all of them.</p> : null}
    </div>
  );
}

/** The destruction itself: every item named again, then "destroy now" by the operator. */
export function DestroyPanel({ view, actor, step }: PanelProps) {
  const d = destructionView(view);
  if (!actor || !d) return null;
  const approved = view.approvals.filter((a) => a.step === view.current!.id);
  // Main refuses until every exception is decided and acknowledged; say so instead of offering the button.
  if (view.current!.needs.length) {
    return (
      <p className="notice notice-warn" data-testid="destroy-waits">
        Nothing is destroyed yet. The administrator decides each exception below (the decision is recorded as the reason) and the witness acknowledges it; then{' '}
        {actor.name} destroys the keys.
      </p>
    );
  }
  return (
    <OneButton step={step} testId="do-step" text="Destroy these keys now" busyText="Destroying and looking for each again…" failure="Nothing more was destroyed" onClick={() => void step.act({ kind: 'run' }, actor.person)}>
      {approved.length ? (
        <p className="approved" data-testid="approved">
          ✓ Approved by {namesList(approved.map((a) => a.name))}
        </p>
      ) : null}
      <p className="confirm-sentence" data-testid="destroy-sentence">
        Destroy for ever: {d.items.map((it) => (it.where === 'archive' ? `the archived material of version ${it.version ?? '?'} of “${it.label}”` : `“${it.label}” on the token`)).join('; ')}. Then look for each again and record that
        nothing is found.
      </p>
    </OneButton>
  );
}

/** What the destroy step did, item by item, with the proof that each is gone. */
export function Destroyed({ view }: { view: RunView }) {
  const out = outcomeOf(view, 'destroy');
  if (!out) return null;
  const items = list(out.destroyed).map(obj);
  return (
    <div className="verdict verdict-ok" data-testid="destroyed">
      <p className="verdict-head">✓ Destroyed: {items.length} item{items.length === 1 ? '' : 's'}</p>
      <ul>
        {items.map((it) => (
          <li key={String(it.item)}>
            <strong>{String(it.item)}</strong> — {String(it.how)}
            {it.deactivated === true ? ' (deactivated first)' : ''}. Proof: {String(it.proof)}.
          </li>
        ))}
      </ul>
      <p className="hint">The destruction certificate in the evidence bundle lists these, with the reason, the approvers and the witness.</p>
    </div>
  );
}
